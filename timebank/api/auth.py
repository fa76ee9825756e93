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
from flask_limiter.util import get_remote_address
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.routes import LOGIN_LIMIT_PER_ACCOUNT, LOGIN_LIMIT_PER_ADDRESS
from ..auth.service import check_sign_in
from ..extensions import db, limiter
from ..ledger import write_transaction
from ..members.service import normalise_email
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
        g.api_member, g.api_token = member, row
        return view(*args, **kwargs)

    return wrapped


# -- routes ------------------------------------------------------------------------------------


def _email_key() -> str:
    """The account asked about (hashed), like the web sign-in's limit; else the address."""
    body = request.get_json(silent=True)
    given = body.get("email") if isinstance(body, dict) else None
    email = normalise_email(given if isinstance(given, str) else None)
    if not email:
        return f"address:{get_remote_address()}"
    return "email:" + hashlib.sha256(email.encode()).hexdigest()


def _failed(response: object) -> bool:
    return getattr(response, "status_code", 0) == 401


@bp.post("/tokens")
@documented(
    summary="Get an API token",
    description="Exchange an email and password for a bearer token (shown once). Rate-limited like signing in.",
    tags=["Tokens"],
    body=TokenRequestSchema,
    responses={201: TokenSchema, 400: None, 401: None, 403: None, 422: None, 429: None},
    auth=False,
)
@limiter.limit(LOGIN_LIMIT_PER_ADDRESS)
@limiter.limit(LOGIN_LIMIT_PER_ACCOUNT, key_func=_email_key, deduct_when=_failed)
def create_token() -> ResponseReturnValue:
    data = json_body(TokenRequestSchema)
    session = db.session()
    check = check_sign_in(session, data["email"], data["password"])
    if check is None:
        raise ApiError(401, "invalid_credentials", _WRONG_PASSWORD)
    if not check.may_sign_in:
        raise ApiError(403, "account_not_active", _NOT_ACTIVE)
    lifetime = int(current_app.config.get("API_TOKEN_LIFETIME_HOURS", DEFAULT_LIFETIME_HOURS))
    token, row = issue_token(session, check.member, lifetime_hours=lifetime, name=data["name"])
    return TokenSchema().dump({"token": token, "expires_at": row.expires_at}), 201


@bp.delete("/tokens/current")
@documented(summary="Revoke the token used for this request", tags=["Tokens"], responses={204: None})
@token_required
def revoke_current_token() -> ResponseReturnValue:
    current_api_member()
    row = g.api_token
    assert isinstance(row, ApiToken)
    revoke_token(db.session(), row)
    return "", 204
