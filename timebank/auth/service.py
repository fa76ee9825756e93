"""Joining, signing in and passwords. No Flask here: the routes pass in what these need."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ..audit.service import record as audit
from ..ledger import write_transaction
from ..members.service import MemberError, create_member, normalise_email
from ..models import ContactPreference, Member, MemberStatus, Role, Timebank
from .errors import (
    EmailAlreadyRegistered,
    InvalidApplication,
    PasswordRejected,
    ResetLinkExpired,
    ResetLinkInvalid,
    TimebankNotJoinable,
)
from .passwords import hash_password, needs_rehash, password_problem, verify_password
from .tokens import RESET_MAX_AGE_SECONDS, TokenExpired, TokenInvalid, make_reset_token, read_reset_token

# ---------------------------------------------------------------------------------------------
# Signing in


@dataclass(frozen=True)
class SignInCheck:
    """The right email and password were given. ``may_sign_in`` is False for someone whose
    application is waiting or was declined, or who is suspended: they may see where they stand,
    but not use the service."""

    member: Member

    @property
    def may_sign_in(self) -> bool:
        return self.member.is_active


def check_sign_in(session: Session, email: str, password: str) -> SignInCheck | None:
    """None for every wrong email or password alike, so the page never tells whether an email
    is registered (an unknown email costs the same hash time as a wrong password)."""
    member = session.scalar(select(Member).where(Member.email == normalise_email(email)))
    if not verify_password(member.password_hash if member else None, password):
        return None
    assert member is not None
    if member.password_hash and needs_rehash(member.password_hash):
        member.password_hash = hash_password(password)
        session.commit()
    return SignInCheck(member)


def authenticate(session: Session, email: str, password: str) -> Member | None:
    """The member with this email and password who may use the service, else None."""
    check = check_sign_in(session, email, password)
    return check.member if check is not None and check.may_sign_in else None


def member_by_id(session: Session, member_id: int) -> Member | None:
    return session.get(Member, member_id)


# ---------------------------------------------------------------------------------------------
# Applying to join

NAME_MAX = 120
TEXT_MAX = 2000
_PHONE_CHARACTERS = re.compile(r"^[0-9+()\-. ]+$")


@dataclass(frozen=True)
class Application:
    """What a person tells us when they apply to join a timebank."""

    display_name: str
    email: str | None
    phone: str | None
    contact_preference: ContactPreference
    offers_text: str = ""
    wants_text: str = ""
    password: str | None = None


def joinable_timebanks(session: Session) -> list[Timebank]:
    return list(session.scalars(select(Timebank).order_by(Timebank.name)))


def joinable_timebank(session: Session, *, slug: str | None = None, timebank_id: int | None = None) -> Timebank:
    query = select(Timebank)
    if slug is not None:
        query = query.where(Timebank.slug == slug)
    elif timebank_id is not None:
        query = query.where(Timebank.id == timebank_id)
    else:
        raise TimebankNotJoinable("Choose a timebank to join.", field="timebank")
    timebank = session.scalar(query)
    if timebank is None:
        raise TimebankNotJoinable("We could not find that timebank.", field="timebank")
    return timebank


def normalise_phone(phone: str | None) -> str | None:
    """A phone number as typed, tidied; None when blank. Raises InvalidApplication when it is
    clearly not a phone number (letters, or too few digits)."""
    phone = " ".join((phone or "").split())
    if not phone:
        return None
    digits = sum(character.isdigit() for character in phone)
    if len(phone) > 40 or not _PHONE_CHARACTERS.match(phone) or not 7 <= digits <= 15:
        raise InvalidApplication(
            "Enter a phone number using numbers only, like 07700 900123 or +44 7700 900123.", field="phone"
        )
    return phone


def apply_to_join(session: Session, timebank: Timebank, application: Application) -> Member:
    """Create the applicant (status "applied") and their account; a coordinator decides later.

    Raises InvalidApplication (or EmailAlreadyRegistered) with the field it is about; on any
    error nothing is created.
    """
    name = " ".join(application.display_name.split())
    if not name:
        raise InvalidApplication("Enter your name.", field="display_name")
    if len(name) > NAME_MAX:
        raise InvalidApplication(f"Your name must be {NAME_MAX} characters or fewer.", field="display_name")
    email = normalise_email(application.email)
    if email is not None and (len(email) > 254 or "@" not in email.strip("@")):
        raise InvalidApplication("Enter an email address like name@example.com.", field="email")
    phone = normalise_phone(application.phone)
    if email is None and phone is None:
        raise InvalidApplication(
            "Enter an email address or a phone number, so a coordinator can get in touch with you.", field="email"
        )
    preference = application.contact_preference
    if preference == ContactPreference.EMAIL and email is None:
        raise InvalidApplication("You chose email: enter your email address, or choose another way.", field="email")
    if preference in (ContactPreference.PHONE, ContactPreference.TEXT) and phone is None:
        raise InvalidApplication("You chose phone: enter your phone number, or choose another way.", field="phone")
    for field, text, label in (
        ("offers_text", application.offers_text, "What you could offer"),
        ("wants_text", application.wants_text, "What you would like help with"),
    ):
        if len(text) > TEXT_MAX:
            raise InvalidApplication(f"{label} must be {TEXT_MAX} characters or fewer.", field=field)
    password = application.password or None
    if email is not None:
        if password is None:
            raise InvalidApplication("Choose a password, so you can sign in with your email address.", field="password")
        problem = password_problem(password)
        if problem:
            raise InvalidApplication(problem, field="password")
    else:
        password = None  # with no email there is nothing to sign in with

    try:
        with write_transaction(session):
            if email and session.scalar(select(Member.id).where(Member.email == email)) is not None:
                raise EmailAlreadyRegistered(_EMAIL_TAKEN, field="email")
            member = create_member(
                session,
                timebank=timebank,
                display_name=name,
                email=email,
                phone=phone,
                role=Role.PARTICIPANT,
                status=MemberStatus.APPLIED,
                password=password,
            )
            member.contact_preference = preference
            member.offers_text = application.offers_text.strip()
            member.wants_text = application.wants_text.strip()
            audit(
                session,
                action="member.applied",
                subject_type="member",
                subject_id=member.id,
                actor=member,
                timebank_id=timebank.id,
                after={"status": MemberStatus.APPLIED.value, "contact_preference": preference.value},
            )
    except IntegrityError as error:  # two applications with one email at the same moment
        raise EmailAlreadyRegistered(_EMAIL_TAKEN, field="email") from error
    except MemberError as error:
        raise EmailAlreadyRegistered(_EMAIL_TAKEN, field="email") from error
    return member


_EMAIL_TAKEN = (
    "Someone has already applied or joined with that email address. If it is yours, sign in or "
    "reset your password instead."
)


# ---------------------------------------------------------------------------------------------
# Passwords


def password_reset_token_for(session: Session, secret_key: str, email: str) -> tuple[Member, str] | None:
    """A reset token for the member with this email, or None when there is no such member.

    The caller must answer the person the same way either way (no account enumeration).
    """
    email_normalised = normalise_email(email)
    if email_normalised is None:
        return None
    # With its timebank: the email names it, and is sent after the transaction has ended.
    member = session.scalar(
        select(Member).where(Member.email == email_normalised).options(joinedload(Member.timebank))
    )
    if member is None:
        return None
    return member, make_reset_token(secret_key, member.id, member.password_hash)


def member_for_reset_token(
    session: Session, secret_key: str, token: str, *, max_age: int = RESET_MAX_AGE_SECONDS
) -> Member:
    """The member a genuine, unexpired, unused token is for. Raises ResetLinkExpired or
    ResetLinkInvalid (altered, already used, or the member has gone)."""
    try:
        claim = read_reset_token(secret_key, token, max_age=max_age)
    except TokenExpired as error:
        raise ResetLinkExpired(
            "This link has expired: links to reset a password work for one hour. Ask for a new link below."
        ) from error
    except TokenInvalid as error:
        raise ResetLinkInvalid(_LINK_INVALID) from error
    member = session.get(Member, claim.member_id)
    if member is None or member.email is None or not claim.matches(member.password_hash):
        raise ResetLinkInvalid(_LINK_INVALID)
    return member


_LINK_INVALID = (
    "This link does not work: it has already been used, or it was not copied in full. "
    "Ask for a new link below."
)


def reset_password(
    session: Session, secret_key: str, token: str, new_password: str, *, max_age: int = RESET_MAX_AGE_SECONDS
) -> Member:
    """Set a new password with a reset token. The token then stops working."""
    problem = password_problem(new_password)
    if problem:
        raise PasswordRejected(problem, field="password")
    with write_transaction(session):
        member = member_for_reset_token(session, secret_key, token, max_age=max_age)
        member.password_hash = hash_password(new_password)
        audit(
            session,
            action="member.password_reset",
            subject_type="member",
            subject_id=member.id,
            actor=member,
            timebank_id=member.timebank_id,
        )
    return member


def change_password(session: Session, member: Member, current_password: str, new_password: str) -> None:
    """A signed-in member changes their password; they must know the current one."""
    if not verify_password(member.password_hash, current_password):
        raise PasswordRejected("That is not your current password. Check it and try again.", field="current_password")
    problem = password_problem(new_password)
    if problem:
        raise PasswordRejected(problem, field="password")
    if verify_password(member.password_hash, new_password):
        raise PasswordRejected("Your new password must be different from your current one.", field="password")
    with write_transaction(session):
        member.password_hash = hash_password(new_password)
        audit(
            session,
            action="member.password_changed",
            subject_type="member",
            subject_id=member.id,
            actor=member,
            timebank_id=member.timebank_id,
        )
