"""Opening a decision request: something a coordinator asked for themselves (a grant from the
community pool, their own limits, reversing an exchange they took part in), waiting for another
coordinator of the timebank or an installation admin.

The services that would otherwise do the thing at once (``exchanges.grants``,
``coordinator.members_service``, ``exchanges.service``) call ``open_request`` in their own write
transaction when ``rules`` says the requester may not decide it; deciding it is
``duties.service.decide_request``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import ledger
from ..audit.service import record as audit
from ..models import DecisionKind, DecisionRequest, DecisionStatus, Member, Timebank
from ..notifications.events import decision_requested

MAX_REQUEST_KEY = 200


def open_request(
    session: Session,
    requester: Member,
    timebank: Timebank,
    *,
    kind: DecisionKind,
    member: Member,
    reason: str = "",
    request_key: str | None = None,
    minutes: int | None = None,
    floor_minutes: int | None = None,
    cap_minutes: int | None = None,
    exchange_id: int | None = None,
) -> DecisionRequest:
    """A waiting request, audited (``decision.requested``) and shown to the timebank's other
    coordinators. In the caller's transaction. The same request sent again (the form's key, or,
    for forms without one, the same thing still waiting) finds the one already made."""
    content = (kind, requester.id, member.id, minutes, floor_minutes, cap_minutes, exchange_id)
    key = f"{kind.value}-{request_key}" if request_key else None
    if key is not None:
        if len(key) > MAX_REQUEST_KEY:
            raise ledger.InvalidIdempotencyKey(
                "This form's reference is not valid. Please reload the page and try again."
            )
        existing = _with_key(session, timebank, key)
        if existing is not None:
            if _content(existing) != content:
                raise ledger.IdempotencyConflict(
                    "This form was already sent with different details. Please start again."
                )
            return existing
    else:
        waiting = _same_waiting(session, timebank, kind, member, exchange_id)
        if waiting is not None and _content(waiting) == content:
            return waiting
        key = f"{kind.value}-{uuid.uuid4().hex}"
    request = DecisionRequest(
        timebank_id=timebank.id,
        kind=kind,
        status=DecisionStatus.WAITING,
        requested_by_id=requester.id,
        member_id=member.id,
        minutes=minutes,
        floor_minutes=floor_minutes,
        cap_minutes=cap_minutes,
        exchange_id=exchange_id,
        reason=reason,
        request_key=key,
    )
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        # The same form, sent at the same moment, made it first (PostgreSQL).
        existing = _with_key(session, timebank, key)
        if existing is None or _content(existing) != content:
            raise
        return existing
    audit(
        session,
        action="decision.requested",
        subject_type="decision_request",
        subject_id=request.id,
        actor=requester,
        on_behalf_of=member,
        timebank_id=timebank.id,
        after={
            "kind": kind.value,
            "minutes": minutes,
            "floor_minutes": floor_minutes,
            "cap_minutes": cap_minutes,
            "exchange_id": exchange_id,
            "reason": reason,
        },
    )
    decision_requested(session, request, requester)
    return request


def _with_key(session: Session, timebank: Timebank, key: str) -> DecisionRequest | None:
    return session.scalar(
        select(DecisionRequest).where(DecisionRequest.timebank_id == timebank.id, DecisionRequest.request_key == key)
    )


def _content(request: DecisionRequest) -> tuple[object, ...]:
    return (
        request.kind,
        request.requested_by_id,
        request.member_id,
        request.minutes,
        request.floor_minutes,
        request.cap_minutes,
        request.exchange_id,
    )


def _same_waiting(
    session: Session, timebank: Timebank, kind: DecisionKind, member: Member, exchange_id: int | None
) -> DecisionRequest | None:
    query = select(DecisionRequest).where(
        DecisionRequest.timebank_id == timebank.id,
        DecisionRequest.status == DecisionStatus.WAITING,
        DecisionRequest.kind == kind,
        DecisionRequest.member_id == member.id,
    )
    if exchange_id is not None:
        query = query.where(DecisionRequest.exchange_id == exchange_id)
    return session.scalars(query.order_by(DecisionRequest.id.desc())).first()
