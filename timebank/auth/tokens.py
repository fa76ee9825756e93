"""Signed, expiring, single-use password reset tokens.

A token is signed with the SECRET_KEY (itsdangerous, with its own salt so no other signed value
can be passed off as one) and carries the member's id and a fingerprint of their current
password hash. Setting a new password changes the hash, so the token then stops working: it can
be used once. It also expires after an hour. Nothing is stored in the database.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

RESET_SALT = "timebank.password-reset"
RESET_MAX_AGE_SECONDS = 60 * 60


def password_fingerprint(password_hash: str | None) -> str:
    """A short digest of the password hash: changes whenever the password does."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:20]


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=RESET_SALT)


def make_reset_token(secret_key: str, member_id: int, password_hash: str | None) -> str:
    return _serializer(secret_key).dumps({"m": member_id, "p": password_fingerprint(password_hash)})


@dataclass(frozen=True)
class ResetClaim:
    member_id: int
    fingerprint: str

    def matches(self, password_hash: str | None) -> bool:
        return hmac.compare_digest(self.fingerprint, password_fingerprint(password_hash))


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


def read_reset_token(secret_key: str, token: str, max_age: int = RESET_MAX_AGE_SECONDS) -> ResetClaim:
    """The claim in a genuine, unexpired token. Raises TokenExpired or TokenInvalid."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise TokenExpired from error
    except BadSignature as error:
        raise TokenInvalid from error
    if not (isinstance(data, dict) and isinstance(data.get("m"), int) and isinstance(data.get("p"), str)):
        raise TokenInvalid
    return ResetClaim(member_id=data["m"], fingerprint=data["p"])


# Setting up two-factor sign-in: the new secret travels in the form, signed (and bound to the
# member), so nothing is stored until the member's first code proves their app has it.
SETUP_SALT = "timebank.two-factor-setup"
SETUP_MAX_AGE_SECONDS = 30 * 60


def make_setup_token(secret_key: str, member_id: int, totp_secret: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SETUP_SALT).dumps({"m": member_id, "s": totp_secret})


def read_setup_token(secret_key: str, token: str, member_id: int) -> str | None:
    """The secret in a genuine, recent setup token for this member, else None."""
    try:
        data = URLSafeTimedSerializer(secret_key, salt=SETUP_SALT).loads(token, max_age=SETUP_MAX_AGE_SECONDS)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not (isinstance(data, dict) and data.get("m") == member_id and isinstance(data.get("s"), str)):
        return None
    return str(data["s"])
