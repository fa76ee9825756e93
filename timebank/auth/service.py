"""Joining, signing in and passwords. No Flask here: the routes pass in what these need."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import clock
from ..audit.service import record as audit
from ..ledger import write_transaction
from ..members.service import MemberError, create_member, normalise_email
from ..models import ContactPreference, Member, MemberStatus, Role, SessionEnd, Timebank, utcnow
from ..notifications.emails import RenderedEmail
from ..notifications.service import queue_email
from . import emails
from .errors import (
    InvalidApplication,
    PasswordRejected,
    ResetLinkExpired,
    ResetLinkInvalid,
    TimebankNotJoinable,
)
from .passwords import hash_password, needs_rehash, password_problem, verify_password
from .sessions import SignedOut, sign_out_member
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


def apply_to_join(session: Session, timebank: Timebank, application: Application) -> Member | None:
    """Create the applicant (status "applied") and their account; a coordinator decides later.
    An applicant with an email address is sent an email saying so (through the outbox).

    When the email address already has an account (in any timebank), nothing is created and
    that account's owner is emailed instead ("someone tried to join with your address"), and
    None is returned: the caller must answer exactly as for a new application, "we'll email
    you", so the form never tells who has an account. Both ways hash the password and queue one
    email, so they also take about as long.

    Raises InvalidApplication with the field it is about; on any error nothing is created.
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
        problem = password_problem(password, personal=(name, email, timebank.name))
        if problem:
            raise InvalidApplication(problem, field="password")
    else:
        password = None  # with no email there is nothing to sign in with

    try:
        with write_transaction(session):
            owner = session.scalar(select(Member).where(Member.email == email)) if email else None
            if owner is not None:
                assert password is not None
                hash_password(password)  # the work a new application does, so both take as long
                _tell_owner_of_join_attempt(session, owner, timebank)
                return None
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
            if email is not None:
                _queue(
                    session,
                    emails.application_received(member, timebank),
                    member=member,
                    kind=APPLICATION_RECEIVED_KIND,
                    dedupe_key=f"application-received-{member.id}",
                )
    except (IntegrityError, MemberError):  # the same address applied a moment ago, in another request
        with write_transaction(session):
            owner = session.scalar(select(Member).where(Member.email == email))
            if owner is not None:
                _tell_owner_of_join_attempt(session, owner, timebank)
        return None
    return member


APPLICATION_RECEIVED_KIND = "auth.application_received"
JOIN_ATTEMPT_KIND = "auth.join_attempt"


def _tell_owner_of_join_attempt(session: Session, owner: Member, timebank: Timebank) -> None:
    """Email the owner of an address someone applied with: at most once a day per timebank,
    so the form cannot be used to flood their inbox."""
    _queue(
        session,
        emails.already_registered(owner, timebank),
        member=owner,
        kind=JOIN_ATTEMPT_KIND,
        dedupe_key=f"join-attempt-{owner.id}-{timebank.id}-{utcnow():%Y-%m-%d}",
    )


def _queue(
    session: Session,
    rendered: RenderedEmail,
    *,
    member: Member | None,
    kind: str,
    dedupe_key: str | None,
    to_address: str | None = None,
) -> None:
    """Put one of this area's emails in the outbox (the caller's transaction)."""
    queue_email(
        session,
        member=member,
        kind=kind,
        to_address=to_address,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        dedupe_key=dedupe_key,
    )


# ---------------------------------------------------------------------------------------------
# Passwords

PASSWORD_RESET_KIND = "auth.password_reset"
NO_ACCOUNT_KIND = "auth.password_reset_no_account"


def request_password_reset(session: Session, secret_key: str, email: str) -> None:
    """Answer a forgot-password request by email, through the outbox (nothing is sent here).

    The account with this address gets a reset link; an address with no account is told so (at
    most once a day, so nobody can use the form to flood an inbox), which also helps someone who
    forgot which address they used. Either way the same work is done, one lookup, one token
    signed, one email rendered and queued, so neither the reply nor its timing tells the person
    asking whether the address has an account. The caller answers the same way whatever happens.
    """
    address = normalise_email(email)
    if address is None:
        return
    with write_transaction(session):
        member = session.scalar(select(Member).where(Member.email == address))
        if member is not None:
            rendered = emails.password_reset(member, make_reset_token(secret_key, member.id, member.password_hash))
            kind, dedupe_key = PASSWORD_RESET_KIND, None
        else:
            make_reset_token(secret_key, 0, None)  # the signing a real link costs
            rendered = emails.no_account(address)
            digest = hashlib.sha256(address.encode()).hexdigest()[:32]
            kind, dedupe_key = NO_ACCOUNT_KIND, f"no-account-{digest}-{utcnow():%Y-%m-%d}"
        _queue(session, rendered, member=member, kind=kind, dedupe_key=dedupe_key, to_address=address)


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
    session: Session,
    secret_key: str,
    token: str,
    new_password: str,
    *,
    now: datetime | None = None,
    max_age: int = RESET_MAX_AGE_SECONDS,
) -> Member:
    """Set a new password with a reset token. The token then stops working, and so does every
    web session and API token of the member (whoever knew the old password is signed out)."""
    with write_transaction(session):
        member = member_for_reset_token(session, secret_key, token, max_age=max_age)
        problem = password_problem(new_password, personal=personal_words_of(member))
        if problem:
            raise PasswordRejected(problem, field="password")
        member.password_hash = hash_password(new_password)
        sign_out_member(
            session,
            member,
            SessionEnd.PASSWORD_RESET,
            now or clock.now_utc(),
            actor=member,
            action="member.password_reset",
        )
    return member


def personal_words_of(member: Member) -> tuple[str | None, ...]:
    """What someone who knows the member could try first: never part of their password."""
    return (member.display_name, member.email, member.timebank.name if member.timebank else None)


def change_password(
    session: Session,
    member: Member,
    current_password: str,
    new_password: str,
    *,
    now: datetime | None = None,
    keep_session_id: int | None = None,
) -> None:
    """A signed-in member changes their password; they must know the current one. Every other
    web session of theirs ends and every API token is revoked; the session asking
    (``keep_session_id``) stays signed in."""
    if not verify_password(member.password_hash, current_password):
        raise PasswordRejected("That is not your current password. Check it and try again.", field="current_password")
    problem = password_problem(new_password, personal=personal_words_of(member))
    if problem:
        raise PasswordRejected(problem, field="password")
    if verify_password(member.password_hash, new_password):
        raise PasswordRejected("Your new password must be different from your current one.", field="password")
    with write_transaction(session):
        member.password_hash = hash_password(new_password)
        sign_out_member(
            session,
            member,
            SessionEnd.PASSWORD_CHANGED,
            now or clock.now_utc(),
            actor=member,
            action="member.password_changed",
            keep_session_id=keep_session_id,
        )


def sign_out_everywhere(session: Session, member: Member, now: datetime | None = None) -> SignedOut:
    """The member ends every web session of theirs (this one too) and revokes every API token."""
    with write_transaction(session):
        return sign_out_member(
            session,
            member,
            SessionEnd.SIGNED_OUT_EVERYWHERE,
            now or clock.now_utc(),
            actor=member,
            action="member.signed_out_everywhere",
        )
