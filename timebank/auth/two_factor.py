"""Two-factor sign-in: a code from an authenticator app (TOTP, RFC 6238, with pyotp), or one of
ten one-time recovery codes, asked for after the password. No Flask here.

- Turning it on: the member's app is given a new secret (a QR code and the same secret as text),
  and it is saved only when the member types a first code it made, so a mistyped secret never
  locks anyone out. Ten recovery codes are made then, shown once, stored only as sha256.
- Signing in: after the right password, a code (the current 30-second step or the one either
  side, for a phone clock a little out) or an unused recovery code. A code is accepted once:
  the step it was made for is remembered and no earlier or equal step is accepted again; a
  recovery code is marked used. Both are conditional UPDATEs, so two requests racing with one
  code cannot both win.
- Required: a timebank's admin setting makes it required for its coordinators (they see
  private details of vulnerable people), and an installation setting for admins. Someone it is
  required for cannot turn it off; an admin can reset a member's two-factor (a lost phone),
  after which they must set it up again before doing anything else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.service import record as audit
from ..ledger import write_transaction
from ..models import Member, RecoveryCode, utcnow
from .errors import TwoFactorConflict, TwoFactorError, WrongCode
from .passwords import verify_password

ISSUER = "Timebank"
RECOVERY_CODE_COUNT = 10
# Letters and digits that cannot be mistaken for each other when copied by hand (no 0/o, 1/l/i).
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_HALF = 5  # "abcde-fghjk": ten characters, about 50 random bits
# A code from the step before or after the current one is accepted too (a phone's clock a
# little fast or slow, or a code typed as it changed).
VALID_WINDOW = 1


WRONG_CODE = (
    "That code does not match. Type the 6 numbers your authenticator app shows now, "
    "or one of your recovery codes."
)


# -- who must use it -----------------------------------------------------------------------


def is_required_for(member: Member, *, admins_need_two_factor: bool) -> bool:
    """Whether this member must use two-factor sign-in: a coordinator of a timebank that
    requires it, or an installation admin when the installation requires it."""
    if member.is_admin and admins_need_two_factor:
        return True
    return bool(member.is_coordinator and member.timebank is not None and member.timebank.coordinators_need_two_factor)


def must_set_up(member: Member, *, admins_need_two_factor: bool) -> bool:
    """Required but not set up yet: they are sent to set it up before anything else."""
    return not member.has_two_factor and is_required_for(member, admins_need_two_factor=admins_need_two_factor)


# -- setting it up -----------------------------------------------------------------------------


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, member: Member) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=member.email or member.display_name, issuer_name=ISSUER)


def grouped(secret: str) -> str:
    """The secret in blocks of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalised_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _step_matching(secret: str, code: str, now: datetime) -> int | None:
    """The time step the code was made for (within the window), or None."""
    digits = _normalised_code(code)
    if len(digits) != 6 or not digits.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def _new_recovery_codes() -> list[str]:
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(2 * _RECOVERY_HALF))
        codes.add(f"{raw[:_RECOVERY_HALF]}-{raw[_RECOVERY_HALF:]}")
    return sorted(codes)


def _hash_recovery_code(code: str) -> str:
    return hashlib.sha256(_normalised_code(code).encode()).hexdigest()


def _replace_recovery_codes(session: Session, member: Member) -> list[str]:
    codes = _new_recovery_codes()
    session.execute(delete(RecoveryCode).where(RecoveryCode.member_id == member.id))
    session.add_all(RecoveryCode(member_id=member.id, code_hash=_hash_recovery_code(code)) for code in codes)
    return codes


def _locked(session: Session, member: Member) -> Member:
    found = session.scalar(
        select(Member).where(Member.id == member.id).with_for_update().execution_options(populate_existing=True)
    )
    assert found is not None
    return found


def turn_on(session: Session, member: Member, secret: str, code: str, *, now: datetime | None = None) -> list[str]:
    """Save the secret once the member's app has made a matching code; returns the ten new
    recovery codes (the only time they exist in plain text)."""
    moment = now or utcnow()
    step = _step_matching(secret, code, moment)
    if step is None:
        raise WrongCode(
            "That code does not match. Check the app shows “Timebank”, then type the 6 numbers it shows now.",
            field="code",
        )
    with write_transaction(session):
        locked = _locked(session, member)
        if locked.has_two_factor:
            raise TwoFactorConflict("Two-factor sign-in is already on for your account.")
        locked.totp_secret = secret
        locked.two_factor_enabled_at = moment
        locked.totp_last_step = step
        codes = _replace_recovery_codes(session, locked)
        _audit_own(session, locked, "member.two_factor_enabled")
    return codes


def _audit_own(session: Session, member: Member, action: str) -> None:
    """An audit event of something a member did to their own sign-in."""
    audit(
        session,
        action=action,
        subject_type="member",
        subject_id=member.id,
        actor=member,
        timebank_id=member.timebank_id,
    )


# -- signing in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecondFactor:
    accepted: bool
    used_recovery_code: bool = False
    recovery_codes_left: int | None = None


def check_second_factor(session: Session, member: Member, code: str, *, now: datetime | None = None) -> SecondFactor:
    """Accept the app's code (once) or an unused recovery code (used up), or neither."""
    moment = now or utcnow()
    if not member.has_two_factor or not code.strip():
        return SecondFactor(accepted=False)
    assert member.totp_secret is not None
    step = _step_matching(member.totp_secret, code, moment)
    with write_transaction(session):
        if step is not None:
            # Only a step later than the last one used: the same code twice is refused.
            taken = session.execute(
                update(Member)
                .where(Member.id == member.id, or_(Member.totp_last_step.is_(None), Member.totp_last_step < step))
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            )
            if getattr(taken, "rowcount", 0) == 1:
                set_committed_value(member, "totp_last_step", step)
                return SecondFactor(accepted=True)
            return SecondFactor(accepted=False)
        used = session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.member_id == member.id,
                RecoveryCode.code_hash == _hash_recovery_code(code),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=moment)
            .execution_options(synchronize_session=False)
        )
        if getattr(used, "rowcount", 0) != 1:
            return SecondFactor(accepted=False)
        _audit_own(session, member, "member.recovery_code_used")
    left = recovery_codes_left(session, member)
    return SecondFactor(accepted=True, used_recovery_code=True, recovery_codes_left=left)


def recovery_codes_left(session: Session, member: Member) -> int:
    return session.scalar(
        select(func.count(RecoveryCode.id)).where(RecoveryCode.member_id == member.id, RecoveryCode.used_at.is_(None))
    ) or 0


# -- changing it -------------------------------------------------------------------------------


def _require_code(session: Session, member: Member, code: str) -> None:
    if not check_second_factor(session, member, code).accepted:
        raise WrongCode(WRONG_CODE, field="code")


def new_recovery_codes(session: Session, member: Member, code: str) -> list[str]:
    """Ten fresh recovery codes (the old ones stop working), for a member who proves it is them."""
    if not member.has_two_factor:
        raise TwoFactorConflict("Two-factor sign-in is not on for your account.")
    _require_code(session, member, code)
    with write_transaction(session):
        locked = _locked(session, member)
        codes = _replace_recovery_codes(session, locked)
        _audit_own(session, locked, "member.recovery_codes_replaced")
    return codes


def _clear(session: Session, member: Member) -> None:
    member.totp_secret = None
    member.two_factor_enabled_at = None
    member.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.member_id == member.id))


def turn_off(session: Session, member: Member, password: str, code: str, *, admins_need_two_factor: bool) -> None:
    """The member turns it off, with their password and a code; never when it is required."""
    if not member.has_two_factor:
        raise TwoFactorConflict("Two-factor sign-in is not on for your account.")
    if is_required_for(member, admins_need_two_factor=admins_need_two_factor):
        raise TwoFactorConflict(
            "Your role needs two-factor sign-in, so it cannot be turned off. If you lost your phone, "
            "ask an administrator to reset it."
        )
    if not verify_password(member.password_hash, password):
        raise TwoFactorError("That is not your password. Check it and try again.", field="password")
    _require_code(session, member, code)
    with write_transaction(session):
        locked = _locked(session, member)
        _clear(session, locked)
        _audit_own(session, locked, "member.two_factor_disabled")


def reset(session: Session, member: Member, *, actor: Member) -> None:
    """Someone else (an admin) turns a member's two-factor off, e.g. after a lost phone. The
    caller checks the actor may, and locks the member, in its own transaction."""
    _clear(session, member)
    audit(
        session,
        action="member.two_factor_reset",
        subject_type="member",
        subject_id=member.id,
        actor=actor,
        timebank_id=member.timebank_id,
    )
