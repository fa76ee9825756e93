"""Deciding what waits for someone else, and the single-coordinator self-approval setting.

Decision requests (``requests.open_request``) are listed in the approvals queue of the
timebank's coordinators and on the administration page of the timebank. Another coordinator of
the timebank, or an installation admin, approves one (the very service step runs with them as
the actor: ``grants.grant_in_transaction``, ``members_service.apply_limits``,
``exchanges.service.reverse_in_transaction``, each of which checks the duties rule again) or
refuses it with a note; the coordinator who asked may withdraw it while it waits. Every step is
audited (``decision.approved``, ``decision.refused``, ``decision.withdrawn``) beside the audit
event of what was done, which names the decider as its actor.

``set_self_approval`` is the only way self-approval is switched on: by an admin, or by the
timebank's coordinator, only while the timebank has exactly one coordinator, with a reason,
audited as ``timebank.self_approval_changed`` (``history.self_approval_during`` reads it back for
the monthly report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from .. import ledger
from ..audit.service import record as audit
from ..coordinator.members_service import apply_limits, check_limit_values
from ..exchanges.errors import InvalidExchange, NeedsAnotherCoordinator, NotAllowed
from ..exchanges.grants import grant_in_transaction
from ..exchanges.service import AWAITING_COORDINATOR, exchange_for_decision, reverse_in_transaction
from ..exchanges.states import InvalidTransition
from ..ids import is_storable_id
from ..models import (
    Account,
    DecisionKind,
    DecisionRequest,
    DecisionStatus,
    Exchange,
    ExchangeStatus,
    Member,
    MemberStatus,
    Role,
    Timebank,
    Transfer,
    utcnow,
)
from ..notifications.events import decision_taken
from .errors import DecisionAlreadyTaken, DecisionNotFound, InvalidDecision, SelfApprovalNotAllowed
from .requests import open_request
from .rules import (
    NEEDS_ANOTHER_COORDINATOR,
    change_self_approval,
    coordinator_count,
    decision_refusal,
    exchange_beneficiaries,
    is_own,
    may_decide_in,
)
from .words import STATUS_WORDS, request_summary

MAX_NOTE = 500


# -- reading -----------------------------------------------------------------------------------


def _timebank_to_read(viewer: Member, timebank_id: int | None) -> int:
    """The coordinator's own timebank, or for an admin the one asked about."""
    if viewer.is_coordinator and viewer.timebank_id is not None and (timebank_id in (None, viewer.timebank_id)):
        return viewer.timebank_id
    if viewer.is_admin and timebank_id is not None:
        return timebank_id
    raise NotAllowed("Only a coordinator or an administrator can see this.")


def waiting_requests(session: Session, viewer: Member, timebank_id: int | None = None) -> list[DecisionRequest]:
    """The requests waiting in the timebank, oldest first."""
    timebank_id = _timebank_to_read(viewer, timebank_id)
    return list(
        session.scalars(
            select(DecisionRequest)
            .where(DecisionRequest.timebank_id == timebank_id, DecisionRequest.status == DecisionStatus.WAITING)
            .options(
                joinedload(DecisionRequest.requested_by),
                joinedload(DecisionRequest.member),
                selectinload(DecisionRequest.exchange).options(
                    joinedload(Exchange.provider_account), joinedload(Exchange.recipient_account)
                ),
            )
            .order_by(DecisionRequest.id)
        ).unique()
    )


@dataclass(frozen=True)
class RequestView:
    request: DecisionRequest
    summary: str  # "Cora Jones asks for 2 hours from the community pool for Cora Jones."
    reason: str
    # The viewer is the one it is for: it waits for someone else ("Needs another coordinator").
    needs_another: bool
    can_decide: bool
    can_withdraw: bool
    status: str


def describe_request(request: DecisionRequest, viewer: Member, timebank: Timebank) -> RequestView:
    waiting = request.status == DecisionStatus.WAITING
    own = decision_refusal(viewer, {request.member_id}, timebank, "for you") is not None
    return RequestView(
        request=request,
        summary=request_summary(request, viewer),
        reason=request.reason,
        needs_another=waiting and own,
        can_decide=waiting and not own and may_decide_in(viewer, request.timebank_id),
        can_withdraw=waiting and viewer.id == request.requested_by_id,
        status=NEEDS_ANOTHER_COORDINATOR if waiting and own else STATUS_WORDS[request.status],
    )


def exchanges_needing_another(session: Session, viewer: Member, timebank_id: int) -> list[Exchange]:
    """Exchanges waiting for a decision in which a coordinator of the timebank takes part: their
    own, so another coordinator or an admin decides them. Oldest first."""
    timebank_id = _timebank_to_read(viewer, timebank_id)
    coordinator_accounts = (
        select(Account.id)
        .join(Member, Member.id == Account.member_id)
        .where(
            Account.timebank_id == timebank_id,
            Member.role == Role.COORDINATOR,
            Member.status == MemberStatus.APPROVED,
        )
    )
    return list(
        session.scalars(
            select(Exchange)
            .where(
                Exchange.timebank_id == timebank_id,
                Exchange.status.in_(AWAITING_COORDINATOR),
                or_(
                    Exchange.provider_account_id.in_(coordinator_accounts),
                    Exchange.recipient_account_id.in_(coordinator_accounts),
                ),
            )
            .options(joinedload(Exchange.provider_account), joinedload(Exchange.recipient_account))
            .order_by(Exchange.updated_at, Exchange.id)
        ).unique()
    )


# -- deciding ----------------------------------------------------------------------------------


def _checked_note(note: str, *, required: bool) -> str:
    note = " ".join((note or "").split())
    if required and not note:
        raise InvalidDecision("Say why, so the coordinator who asked understands.", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidDecision(f"Keep it under {MAX_NOTE} characters.", field="note")
    return note


def _locked_request(session: Session, viewer: Member, request_id: int) -> tuple[Timebank, DecisionRequest]:
    """The request (row locked) and its timebank (ledger lock first, as every writer takes it),
    if the viewer may decide in that timebank; "not found" otherwise."""
    if not (viewer.is_admin or viewer.is_coordinator):
        raise NotAllowed("Only a coordinator or an administrator can do this.")
    timebank = ledger.lock_timebank(session, request_timebank(session, viewer, request_id))
    request = session.scalar(
        select(DecisionRequest)
        .where(DecisionRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert request is not None
    if request.status != DecisionStatus.WAITING:
        raise DecisionAlreadyTaken(f"This request was already {STATUS_WORDS[request.status].lower()}.")
    return timebank, request


def request_timebank(session: Session, viewer: Member, request_id: int) -> int:
    """The timebank of a request the viewer may decide; not found otherwise."""
    timebank_id = (
        session.scalar(select(DecisionRequest.timebank_id).where(DecisionRequest.id == request_id))
        if is_storable_id(request_id)
        else None
    )
    if timebank_id is None or not may_decide_in(viewer, timebank_id):
        raise DecisionNotFound("There is no such request.")
    return timebank_id


def decide_request(
    session: Session, decider: Member, request_id: int, *, approve: bool, note: str = "", today: date | None = None
) -> DecisionRequest:
    """Approve (the thing asked for is done, by the decider) or refuse (with a note) a waiting
    request. Not by the one it is for (``NeedsAnotherCoordinator``, 403), unless their timebank
    allows self-approval. All in one transaction: if the step fails (the pool holds too little
    now, say), the request still waits and nothing changed."""
    note = _checked_note(note, required=not approve)
    with ledger.write_transaction(session):
        timebank, request = _locked_request(session, decider, request_id)
        if not approve and is_own(decider, {request.member_id}):
            raise NeedsAnotherCoordinator(
                "This is your own request, so another coordinator or an administrator decides it. "
                "You can withdraw it instead."
            )
        if approve:
            _carry_out(session, timebank, request, decider, today)
        request.status = DecisionStatus.APPROVED if approve else DecisionStatus.REFUSED
        request.decided_by_id = decider.id
        request.decided_at = utcnow()
        request.decision_note = note
        audit(
            session,
            action="decision.approved" if approve else "decision.refused",
            subject_type="decision_request",
            subject_id=request.id,
            actor=decider,
            on_behalf_of=request.requested_by,
            timebank_id=timebank.id,
            before={"status": DecisionStatus.WAITING.value},
            after={
                "status": request.status.value,
                "kind": request.kind.value,
                "member_id": request.member_id,
                "note": note,
                "self_approved": decider.id == request.member_id,
            },
        )
        decision_taken(session, request, decider)
    return request


def _carry_out(
    session: Session, timebank: Timebank, request: DecisionRequest, decider: Member, today: date | None
) -> None:
    member = request.member
    if request.kind == DecisionKind.GRANT:
        assert request.minutes is not None
        transfer = grant_in_transaction(
            session,
            decider,
            timebank,
            member,
            request.minutes,
            request.reason or "Granted on request",
            key=f"decision-{request.id}-grant",
            requested_by=request.requested_by,
            today=today,
        )
        request.transfer_id = transfer.id
    elif request.kind == DecisionKind.LIMITS:
        if member.account is None:
            raise InvalidDecision(f"{member.display_name} has no account any more.")
        check_limit_values(request.floor_minutes, request.cap_minutes)
        apply_limits(
            session,
            decider,
            timebank,
            member,
            request.floor_minutes,
            request.cap_minutes,
            requested_by=request.requested_by,
        )
    else:
        assert request.exchange_id is not None
        _, exchange = exchange_for_decision(session, decider, request.exchange_id)
        reverse_in_transaction(session, timebank, exchange, decider, request.reason, today=today)
        request.transfer_id = session.scalar(
            select(Transfer.id).where(
                Transfer.timebank_id == timebank.id, Transfer.idempotency_key == f"exchange-{exchange.id}-reverse"
            )
        )


def decide_exchange(
    session: Session, decider: Member, exchange_id: int, *, approve: bool, reason: str = "", today: date | None = None
) -> Exchange:
    """Decide an exchange waiting for someone other than its coordinator (the administration
    page): approve it (a dispute: the hours stand), or do not (with a reason). The exchange
    service's own steps, so every rule applies (not one's own; a reason for unconfirmed time)."""
    from ..exchanges import service as exchanges

    exchange = exchanges.get_exchange_for_decider(session, decider, exchange_id)
    if not approve:
        return exchanges.reject_exchange(session, decider, exchange_id, reason, today=today)
    if exchange.status == ExchangeStatus.DISPUTED:
        return exchanges.settle_dispute(session, decider, exchange_id, hours_stand=True, reason=reason, today=today)
    return exchanges.approve_exchange(session, decider, exchange_id, reason=reason or None, today=today)


def withdraw_request(session: Session, member: Member, request_id: int) -> DecisionRequest:
    """The coordinator who asked takes a waiting request back."""
    with ledger.write_transaction(session):
        timebank, request = _locked_request(session, member, request_id)
        if request.requested_by_id != member.id:
            raise NotAllowed("Only the coordinator who asked can withdraw this request.")
        request.status = DecisionStatus.WITHDRAWN
        request.decided_by_id = member.id
        request.decided_at = utcnow()
        audit(
            session,
            action="decision.withdrawn",
            subject_type="decision_request",
            subject_id=request.id,
            actor=member,
            timebank_id=timebank.id,
            before={"status": DecisionStatus.WAITING.value},
            after={"status": DecisionStatus.WITHDRAWN.value, "kind": request.kind.value},
        )
        decision_taken(session, request, member)
    return request


def request_reversal(session: Session, coordinator: Member, exchange_id: int, reason: str) -> DecisionRequest:
    """A coordinator asks for an approved exchange they took part in to be reversed: another
    coordinator or an admin decides (``decide_request``)."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidExchange("Say why it should be reversed. Both members will see it.", field="reason")
    if len(reason) > MAX_NOTE:
        raise InvalidExchange(f"Keep the reason under {MAX_NOTE} characters.", field="reason")
    with ledger.write_transaction(session):
        timebank, exchange = exchange_for_decision(session, coordinator, exchange_id)
        if exchange.status != ExchangeStatus.APPROVED:
            raise InvalidTransition("reverse", exchange.status)
        if not is_own(coordinator, exchange_beneficiaries(exchange)):
            raise InvalidExchange("This is not your own exchange: you can reverse it yourself.")
        assert coordinator.timebank_id is not None
        return open_request(
            session,
            coordinator,
            timebank,
            kind=DecisionKind.REVERSAL,
            member=coordinator,
            exchange_id=exchange.id,
            reason=reason,
        )


# -- the self-approval setting ---------------------------------------------------------------


def set_self_approval(
    session: Session, actor: Member, timebank_id: int, *, allowed: bool, reason: str = ""
) -> Timebank:
    """Switch self-approval on (only for a timebank with exactly one coordinator, with a reason)
    or off. By an installation admin, or the timebank's coordinator. Audited when it changes."""
    if not may_decide_in(actor, timebank_id):
        if actor.is_coordinator or actor.is_admin:
            raise DecisionNotFound("There is no such timebank.")
        raise NotAllowed("Only a coordinator or an administrator can do this.")
    reason = " ".join((reason or "").split())
    if allowed and not reason:
        raise InvalidDecision(
            "Say why this timebank needs its coordinator to approve their own items.", field="reason"
        )
    if len(reason) > MAX_NOTE:
        raise InvalidDecision(f"Keep the reason under {MAX_NOTE} characters.", field="reason")
    with ledger.write_transaction(session):
        timebank = session.scalar(
            select(Timebank)
            .where(Timebank.id == timebank_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if timebank is None:
            raise DecisionNotFound("There is no such timebank.")
        if bool(timebank.allow_self_approval) == allowed:
            return timebank
        if allowed:
            count = coordinator_count(session, timebank.id)
            if count != 1:
                raise SelfApprovalNotAllowed(
                    f"{timebank.name} has no coordinator yet, so there is nobody to allow."
                    if count == 0
                    else f"{timebank.name} has {count} coordinators: each decides for the others, "
                    "so self-approval is only for a timebank with a single coordinator."
                )
        change_self_approval(session, timebank, actor, allowed=allowed, reason=reason)
    return timebank


__all__ = [
    "RequestView",
    "decide_request",
    "describe_request",
    "exchanges_needing_another",
    "request_reversal",
    "set_self_approval",
    "waiting_requests",
    "withdraw_request",
]
