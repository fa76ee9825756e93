"""``Idempotency-Key`` for API requests that create things.

The first request with a key claims it (an ``ApiIdempotencyRecord`` committed before the work
starts; the unique (member, key) constraint lets only one request claim it, even at the same
moment). When the work succeeds, its status and JSON body are stored, and a retry with the same
key and the same request (method, path and body) gets exactly that response again
(``Idempotent-Replayed: true``), without doing anything. The same key with a different request
is a 409 ``idempotency_conflict``; a retry while the first is still running is a 409
``idempotency_in_progress``. A request that fails (4xx) releases its key, so it can be
corrected and sent again with the same key. The services' own request keys (an exchange's
``request_key`` is derived from this key) protect the ledger beneath this as well.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import ParamSpec

from flask import Response, make_response, request
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import ApiIdempotencyRecord, utcnow
from .auth import current_api_member
from .errors import ApiError

P = ParamSpec("P")

HEADER = "Idempotency-Key"
MAX_KEY = 200
IN_PROGRESS = 0  # status_code of a claimed key whose request has not finished
# A claim this old belongs to a request that died (a killed worker): it may be taken over.
ABANDONED_AFTER = timedelta(minutes=5)


def idempotency_key(*, required: bool) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise ApiError(
                400,
                "idempotency_key_missing",
                f"Send an {HEADER} header (any unique text, such as a UUID) so a retry never records it twice.",
            )
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(400, "invalid_idempotency_key", f"The {HEADER} must be 1 to {MAX_KEY} printable characters.")
    return key


def request_fingerprint() -> str:
    """Method, path and body: the JSON body canonically (key order and spacing do not matter)."""
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")) if raw else ""
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(session: Session, member_id: int, key: str, fingerprint: str) -> ApiIdempotencyRecord | None:
    """Claim the key (None) or return the record already holding it."""
    for _attempt in range(2):
        try:
            session.add(
                ApiIdempotencyRecord(
                    member_id=member_id,
                    key=key,
                    method_path=f"{request.method} {request.path}"[:300],
                    fingerprint=fingerprint,
                    status_code=IN_PROGRESS,
                    response_body="",
                )
            )
            session.commit()
            return None
        except IntegrityError:
            session.rollback()
        existing = session.scalar(
            select(ApiIdempotencyRecord).where(
                ApiIdempotencyRecord.member_id == member_id, ApiIdempotencyRecord.key == key
            )
        )
        if existing is None:
            continue  # released meanwhile: claim again
        abandoned = existing.status_code == IN_PROGRESS and existing.created_at < utcnow() - ABANDONED_AFTER
        if not abandoned:
            return existing
        session.execute(
            delete(ApiIdempotencyRecord).where(
                ApiIdempotencyRecord.id == existing.id, ApiIdempotencyRecord.status_code == IN_PROGRESS
            )
        )
        session.commit()
    raise ApiError(409, "idempotency_in_progress", "A request with this Idempotency-Key is still being handled.")


def _release(session: Session, member_id: int, key: str) -> None:
    session.rollback()
    session.execute(
        delete(ApiIdempotencyRecord).where(
            ApiIdempotencyRecord.member_id == member_id,
            ApiIdempotencyRecord.key == key,
            ApiIdempotencyRecord.status_code == IN_PROGRESS,
        )
    )
    session.commit()


def _store(session: Session, member_id: int, key: str, response: Response) -> None:
    session.rollback()  # nothing of the view's may be pending here; start clean
    record = session.scalar(
        select(ApiIdempotencyRecord).where(ApiIdempotencyRecord.member_id == member_id, ApiIdempotencyRecord.key == key)
    )
    if record is not None:
        record.status_code = response.status_code
        record.response_body = response.get_data(as_text=True)
        session.commit()


def _replay(record: ApiIdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ApiError(
            409,
            "idempotency_conflict",
            f"This {HEADER} was already used for a different request. Use a new key for a new request.",
        )
    if record.status_code == IN_PROGRESS:
        raise ApiError(409, "idempotency_in_progress", f"A request with this {HEADER} is still being handled.")
    response = Response(record.response_body, status=record.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def current_idempotency_key() -> str | None:
    """The key of this request, already checked (for a service's own request key)."""
    key = request.headers.get(HEADER)
    return key.strip() if key is not None else None


def idempotent(*, required: bool = False) -> Callable[[Callable[P, ResponseReturnValue]], Callable[P, Response]]:
    """Make a creating POST view replay its first response for a repeated Idempotency-Key."""

    def decorate(view: Callable[P, ResponseReturnValue]) -> Callable[P, Response]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> Response:
            key = idempotency_key(required=required)
            if key is None:
                return make_response(view(*args, **kwargs))
            member = current_api_member()
            session = db.session()
            fingerprint = request_fingerprint()
            existing = _claim(session, member.id, key, fingerprint)
            if existing is not None:
                return _replay(existing, fingerprint)
            try:
                response = make_response(view(*args, **kwargs))
            except BaseException:
                _release(session, member.id, key)
                raise
            if 200 <= response.status_code < 300:
                _store(session, member.id, key, response)
            else:
                _release(session, member.id, key)
            return response

        return wrapped

    return decorate
