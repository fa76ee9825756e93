"""Unsubscribing from the weekly digest with the link in the email, signed in or not.

The link carries a token signed with the SECRET_KEY (itsdangerous, salt "digest-unsubscribe",
so no other signed value passes for one) holding the member's id. It does not expire: an old
digest's link must still work, and all it can do is turn the digest off. It works for mail
clients' one-click unsubscribe (RFC 8058) too, which POST to it without a session.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..ids import is_storable_id
from ..ledger import write_transaction
from ..models import Member
from .errors import UnsubscribeLinkInvalid

UNSUBSCRIBE_SALT = "digest-unsubscribe"
_INVALID = "This unsubscribe link does not work. It may have been cut short: try copying the whole link from the email."


def _serializer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT)


def make_unsubscribe_token(secret_key: str, member_id: int) -> str:
    return _serializer(secret_key).dumps({"m": member_id})


def _member_id(secret_key: str, token: str) -> int:
    try:
        data = _serializer(secret_key).loads(token)
    except BadSignature as error:
        raise UnsubscribeLinkInvalid(_INVALID) from error
    member_id = data.get("m") if isinstance(data, dict) else None
    if not isinstance(member_id, int) or isinstance(member_id, bool) or not is_storable_id(member_id):
        raise UnsubscribeLinkInvalid(_INVALID)
    return member_id


def member_for_token(session: Session, secret_key: str, token: str) -> Member:
    """The member the link was made for. Raises UnsubscribeLinkInvalid."""
    member = session.get(Member, _member_id(secret_key, token))
    if member is None:
        raise UnsubscribeLinkInvalid(_INVALID)
    return member


def unsubscribe(session: Session, secret_key: str, token: str) -> Member:
    """Turn the member's weekly digest off. Doing it again changes nothing."""
    member_id = _member_id(secret_key, token)
    with write_transaction(session):
        member = session.scalar(select(Member).where(Member.id == member_id).with_for_update())
        if member is None:
            raise UnsubscribeLinkInvalid(_INVALID)
        member.weekly_digest = False
    return member
