"""Signing in."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..members.service import normalise_email
from ..models import Member
from .passwords import hash_password, needs_rehash, verify_password


def authenticate(session: Session, email: str, password: str) -> Member | None:
    """The member with this email and password who may sign in, else None.

    One answer for every failure, so the login page never tells whether an email is registered.
    """
    member = session.scalar(select(Member).where(Member.email == normalise_email(email)))
    if not verify_password(member.password_hash if member else None, password):
        return None
    assert member is not None
    if not member.is_active:
        return None
    if member.password_hash and needs_rehash(member.password_hash):
        member.password_hash = hash_password(password)
        session.commit()
    return member
