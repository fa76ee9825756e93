"""Bearer tokens for the JSON API.

``POST /api/v1/tokens`` with an email and password gives a token, shown once; only its sha256
is stored (``ApiToken``). The password check is the web sign-in's own
(``auth.service.check_sign_in``), and so are its rate limits: only approved members (and
installation admins) get a token, exactly those who may sign in. A token expires after
``API_TOKEN_LIFETIME_HOURS`` (30 days by default) and ``DELETE /api/v1/tokens/current`` revokes
it. Every other API route needs ``Authorization: Bearer <token>``; session cookies are ignored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth import two_factor
from ..auth.limits import account_key, note_failed_sign_in, sign_in_limits
from ..auth.service import check_sign_in
from ..auth.two_factor_routes import admins_need_two_factor
from ..extensions import db
from ..ledger import write_transaction
from ..models import ApiToken, Member, utcnow
from .blueprint import bp
from .body import json_body
from .errors import ApiError
from .schemas import TokenRequestSchema, TokenSchema
from .spec import documented

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_LIFETIME_HOURS = 24 * 30
# last_used_at is refreshed at most this often, so reading does not write on every request.
LAST_USED_RESOLUTION = timedelta(hours=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, member: Member, *, lifetime_hours: int = DEFAULT_LIFETIME_HOURS, name: str = ""
) -> tuple[str, ApiToken]:
    """A new token for a member who may use the service; the token itself is returned once."""
    if not member.is_active:
        raise ApiError(403, "account_not_active", _NOT_ACTIVE)
    token = secrets.token_urlsafe(32)
    with write_transaction(session):
        row = ApiToken(
            member_id=member.id,
            token_hash=hash_token(token),
            name=name.strip()[:80],
            expires_at=utcnow() + timedelta(hours=lifetime_hours),
        )
        session.add(row)
    return token, row


def token_row(session: Session, token: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))


def member_for_token(session: Session, token: str, now: datetime | None = None) -> tuple[Member, ApiToken]:
    """The member a live token belongs to; ApiError 401 for an unknown, expired or revoked token,
    or one whose member may no longer use the service."""
    now = now or utcnow()
    row = token_row(session, token)
    if row is None:
        raise ApiError(401, "invalid_token", "This API token is not valid. Get one with POST /api/v1/tokens.")
    if row.revoked_at is not None:
        raise ApiError(401, "token_revoked", "This API token was revoked. Get a new one with POST /api/v1/tokens.")
    if row.expires_at <= now:
        raise ApiError(401, "token_expired", "This API token has expired. Get a new one with POST /api/v1/tokens.")
    member = session.get(Member, row.member_id)
    if member is None or not member.is_active:
        raise ApiError(401, "account_not_active", _NOT_ACTIVE)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        # A write, on a GET too: in a transaction that may write (on SQLite one begun holding the
        # write lock; a read transaction that then writes is refused when another writer is busy).
        with write_transaction(session):
            row.last_used_at = now
    return member, row


def revoke_token(session: Session, row: ApiToken) -> None:
    with write_transaction(session):
        if row.revoked_at is None:
            row.revoked_at = utcnow()


_WRONG_PASSWORD = "That email and password do not match an active account. Check them and try again."
_TWO_FACTOR_REQUIRED = (
    "This account uses two-factor sign-in: send totp_code, the 6 numbers the authenticator app shows now "
    "(or one of the account's recovery codes)."
)
_SET_UP_FIRST = (
    "This account must use two-factor sign-in and has not set it up yet. Sign in on the website to set it up, "
    "then ask for a token with totp_code."
)
_NOT_ACTIVE = "This account may not use the service at the moment (waiting for approval, declined or suspended)."


# -- per request -------------------------------------------------------------------------------


def bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    return value


def current_api_member() -> Member:
    """The member whose token came with this request (inside a ``token_required`` view)."""
    member = g.get("api_member")
    if member is None:
        raise ApiError(401, "unauthorized", "Send a valid API token: Authorization: Bearer <token>.")
    assert isinstance(member, Member)
    return member


def token_required(view: Callable[P, R]) -> Callable[P, R]:
    """401 (JSON) unless the request carries a live bearer token; session cookies never count."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        token = bearer_token()
        if token is None:
            raise ApiError(401, "unauthorized", "Send a valid API token: Authorization: Bearer <token>.")
        member, row = member_for_token(db.session(), token)
        if two_factor.must_set_up(member, admins_need_two_factor=admins_need_two_factor()):
            # Required since the token was issued (an admin switched it on): set it up first.
            raise ApiError(403, "two_factor_setup_required", _SET_UP_FIRST)
        g.api_member, g.api_token = member, row
        return view(*args, **kwargs)

    return wrapped


# -- routes ------------------------------------------------------------------------------------


def _json_account_key() -> str:
    """The account asked about (hashed): the same budget as the web sign-in's (auth/limits.py)."""
    body = request.get_json(silent=True)
    given = body.get("email") if isinstance(body, dict) else None
    return account_key(given if isinstance(given, str) else None)


@bp.post("/tokens")
@documented(
    summary="Get an API token",
    description=(
        "Exchange an email and password (and, for a member with two-factor sign-in, totp_code) for a bearer "
        "token (shown once). One budget of failed attempts per account, shared with the web sign-in."
    ),
    tags=["Tokens"],
    body=TokenRequestSchema,
    responses={201: TokenSchema, 400: None, 401: None, 403: None, 422: None, 429: None},
    auth=False,
)
@sign_in_limits(_json_account_key)
def create_token() -> ResponseReturnValue:
    data = json_body(TokenRequestSchema)
    session = db.session()
    check = check_sign_in(session, data["email"], data["password"])
    if check is None:
        note_failed_sign_in()
        raise ApiError(401, "invalid_credentials", _WRONG_PASSWORD)
    if not check.may_sign_in:
        raise ApiError(403, "account_not_active", _NOT_ACTIVE)
    _check_second_factor(session, check.member, data["totp_code"])
    lifetime = int(current_app.config.get("API_TOKEN_LIFETIME_HOURS", DEFAULT_LIFETIME_HOURS))
    token, row = issue_token(session, check.member, lifetime_hours=lifetime, name=data["name"])
    return TokenSchema().dump({"token": token, "expires_at": row.expires_at}), 201


def _check_second_factor(session: Session, member: Member, code: str | None) -> None:
    """A member with two-factor sign-in gives a code too; one who must have it and has not set it
    up does so on the website first."""
    if member.has_two_factor:
        if not code:
            raise ApiError(401, "two_factor_required", _TWO_FACTOR_REQUIRED)
        if not two_factor.check_second_factor(session, member, code).accepted:
            note_failed_sign_in()
            raise ApiError(401, "invalid_two_factor_code", two_factor.WRONG_CODE)
    elif two_factor.must_set_up(member, admins_need_two_factor=admins_need_two_factor()):
        raise ApiError(403, "two_factor_setup_required", _SET_UP_FIRST)


@bp.delete("/tokens/current")
@documented(summary="Revoke the token used for this request", tags=["Tokens"], responses={204: None})
@token_required
def revoke_current_token() -> ResponseReturnValue:
    current_api_member()
    row = g.api_token
    assert isinstance(row, ApiToken)
    revoke_token(db.session(), row)
    return "", 204
