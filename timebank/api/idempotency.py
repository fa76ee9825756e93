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

Is a claimed key's request still running? On PostgreSQL the request handling a key holds an
advisory lock on it (``KeyLock``) for as long as it runs, on a connection of its own. The lock
goes with the connection, so when a worker is killed mid-request its claim can be taken over by
the next retry at once. SQLite runs in one process: there a claim is taken over once it is older
than ``ABANDONED_AFTER``.
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
from sqlalchemy import Connection, delete, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..extensions import db
from ..ledger import held_commit, write_transaction
from ..models import ApiIdempotencyRecord, utcnow
from .auth import current_api_member
from .errors import ApiError

P = ParamSpec("P")

HEADER = "Idempotency-Key"
MAX_KEY = 200
IN_PROGRESS = 0  # status_code of a claimed key whose request has not finished
# Without advisory locks (SQLite), a claim this old belongs to a request that died: it may be taken over.
ABANDONED_AFTER = timedelta(minutes=5)


def lock_id(member_id: int, key: str) -> int:
    """The advisory lock's number for a member's key: 64 bits of a hash (a rare collision only
    makes one request answer "in progress" and be retried)."""
    digest = hashlib.sha256(f"{member_id}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class KeyLock:
    """A transaction-level advisory lock on one key, held on a connection of its own while the
    request runs. Transaction-level (not session-level), so it also works behind PgBouncer's
    transaction pooling, and it can never outlive the request on a pooled connection."""

    def __init__(self, connection: Connection, held: bool) -> None:
        self._connection = connection
        self.held = held

    @classmethod
    def try_take(cls, member_id: int, key: str) -> KeyLock | None:
        """The lock if this database has advisory locks (``held`` False: another live request
        has it); None on SQLite."""
        if db.engine.dialect.name != "postgresql":
            return None
        connection = db.engine.connect()
        try:
            held = bool(
                connection.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": lock_id(member_id, key)})
                .scalar_one()
            )
        except BaseException:
            connection.close()
            raise
        return cls(connection, held)

    def release(self) -> None:
        try:
            self._connection.rollback()  # ends the transaction, and with it the lock
            self._connection.close()
        except SQLAlchemyError:
            self._connection.invalidate()  # a broken connection: its lock died with it


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


def _claim(
    session: Session, member_id: int, key: str, fingerprint: str, *, lock: KeyLock | None
) -> ApiIdempotencyRecord | None:
    """Claim the key (None) or return the record already holding it. With the key's lock held, a
    claim still in progress has no live request behind it (every live one holds the lock)."""
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
        existing = _record(session, member_id, key)
        if existing is None:
            continue  # released meanwhile: claim again
        if lock is not None:
            abandoned = existing.status_code == IN_PROGRESS and lock.held
        else:
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
    """Write the answer into the claim, in the transaction of the request's own writes (a held
    ``write_transaction``; one begins here if the request wrote nothing), and commit both."""
    with write_transaction(session):
        record = _record(session, member_id, key)
        if record is not None:
            record.status_code = response.status_code
            record.response_body = response.get_data(as_text=True)
    session.commit()


def _record(session: Session, member_id: int, key: str) -> ApiIdempotencyRecord | None:
    return session.scalar(
        select(ApiIdempotencyRecord).where(ApiIdempotencyRecord.member_id == member_id, ApiIdempotencyRecord.key == key)
    )


def _replay(record: ApiIdempotencyRecord | None, fingerprint: str) -> Response:
    if record is None:  # its request is still starting
        raise ApiError(409, "idempotency_in_progress", f"A request with this {HEADER} is still being handled.")
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


def _answer_once(session: Session, member_id: int, key: str, run: Callable[[], Response]) -> Response:
    """Run the claimed request with its commit held, then store a success's answer in that same
    transaction: a worker that dies at any moment leaves the effect with its stored answer, or
    neither (the claim is then taken over by the retry, which does the work anew). A failure
    releases the key and changes nothing."""
    try:
        with held_commit(session):
            response = run()
            if 200 <= response.status_code < 300:
                _store(session, member_id, key, response)
                return response
    except BaseException:
        _release(session, member_id, key)
        raise
    _release(session, member_id, key)
    return response


def answer_ready(response: Response) -> None:
    """The request's work is committed and its answer is about to be sent. Nothing to do: the
    tests replace this to play a worker killed at exactly this moment."""


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
            lock = KeyLock.try_take(member.id, key)
            try:
                if lock is not None and not lock.held:
                    # Another request holds this key right now: replay it if it just finished.
                    return _replay(_record(session, member.id, key), fingerprint)
                existing = _claim(session, member.id, key, fingerprint, lock=lock)
                if existing is not None:
                    return _replay(existing, fingerprint)
                response = _answer_once(session, member.id, key, lambda: make_response(view(*args, **kwargs)))
                answer_ready(response)
                return response
            finally:
                if lock is not None:
                    lock.release()

        return wrapped

    return decorate
