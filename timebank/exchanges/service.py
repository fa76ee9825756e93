"""Exchanges from proposal to credit. Each public function is one transaction.

    propose ─▶ accept ─▶ record the time ─▶ confirm ─▶ (coordinator) approve ─▶ credits move

The ledger movement: the recipient's account is debited and the provider's credited. Recording
the time reserves the hours (a pending transfer); approval posts it; rejection or cancellation
voids it. Ledger idempotency keys are derived from the exchange id, so a repeated step can
never move credits twice. Help that already happened without a proposal is recorded directly
(``record_exchange``); it goes through the very same recording step as a proposal's.

Which step a status allows is ``states.py``'s question (409 when not); who may take it is
``permissions.py``'s (403 when not); an exchange the member may not see is "not found" (404).

``today`` (on every step) is for replaying history, as the demo does; None, as in the web app,
means the timebank's real today.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, bindparam, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from .. import ledger
from ..audit.service import append as audit
from ..clock import today_in
from ..duties.rules import (
    exchange_beneficiaries,
    is_own,
    may_decide_in,
    require_independent,
    self_approval_applies,
)
from ..hours import hours_in_words
from ..ids import is_storable_id
from ..listings.service import is_current
from ..members.visibility import can_see_member
from ..models import (
    Account,
    AccountKind,
    AuditEvent,
    Base,
    Category,
    Exchange,
    ExchangeStatus,
    Listing,
    ListingKind,
    Member,
    MemberStatus,
    Role,
    Timebank,
    Transfer,
    TransferPhase,
    TransferPurpose,
    utcnow,
)
from ..notifications.events import exchange_event as _tell
from ..pagination import DEFAULT_PER_PAGE, Page, page_of
from ..timebanks.policy import needs_coordinator_approval
from ..timebanks.service import organisation_account
from .errors import (
    ExchangeError,
    ExchangeNotFound,
    InvalidExchange,
    NeedsAnotherCoordinator,
    NotAllowed,
    NotConfirmed,
    Unavailable,
)
from .permissions import awaiting_confirmation, party_account, refusal
from .states import PAST_TENSE, InvalidTransition, next_status

MAX_MESSAGE = 2000
MAX_DESCRIPTION = 2000
MAX_REASON = 500
MAX_REQUEST_KEY = 200
# What a side of an exchange that does not exist, or that the actor may not see, is answered.
NOT_IN_THIS_TIMEBANK = "That person is not in this timebank."

# What a coordinator's approvals queue holds: everything with hours reserved.
AWAITING_COORDINATOR = (ExchangeStatus.RECORDED, ExchangeStatus.CONFIRMED, ExchangeStatus.DISPUTED)


@dataclass(frozen=True)
class RecordRequest:
    """Help that has happened, recorded without a proposal first."""

    provider_account_id: int
    recipient_account_id: int
    minutes: int
    performed_on: date
    description: str
    request_key: str
    listing_id: int | None = None
    # What kind of help it was, for reports; None takes the listing's category, if any.
    category_id: int | None = None
    # A coordinator entering it for a member (a paper timesheet): the member the record speaks
    # for, shown as "Recorded by <coordinator> for <member>". None: the actor themself.
    for_member_id: int | None = None

    def fingerprint(self) -> str:
        acting = () if self.for_member_id is None else ("for", self.for_member_id)
        return _fingerprint(
            self.provider_account_id,
            self.recipient_account_id,
            self.minutes,
            self.performed_on.isoformat(),
            self.description,
            self.listing_id,
            *acting,
            *(() if self.category_id is None else ("category", self.category_id)),
        )

    @property
    def time(self) -> TimeRecord:
        return TimeRecord(minutes=self.minutes, performed_on=self.performed_on, description=self.description)


@dataclass(frozen=True)
class TimeRecord:
    """The time of an exchange, once the help happened: when, how long, what was done."""

    minutes: int
    performed_on: date
    description: str


@dataclass(frozen=True)
class ProposalRequest:
    """"Could you help me?" or "Could I help you?", from a listing, a match or a member's page.

    ``actor_provides`` is the proposer's choice when proposing directly to a member; from a
    listing it follows from the listing (someone's offer: they help; someone's request: I help)
    and may be left None.
    """

    request_key: str
    message: str
    member_id: int | None = None
    listing_id: int | None = None
    actor_provides: bool | None = None
    minutes: int | None = None
    # A coordinator proposing on a member's behalf: that member is the proposer ("I" above),
    # and the exchange shows "Proposed by <coordinator> for <member>". None: the actor themself.
    for_member_id: int | None = None

    def fingerprint(self) -> str:
        acting = () if self.for_member_id is None else ("for", self.for_member_id)
        return _fingerprint(
            "proposal", self.member_id, self.listing_id, self.actor_provides, self.minutes, self.message, *acting
        )


@dataclass(frozen=True)
class ProposalPlan:
    """Who a proposal would go to and which way the help would go, before anything is saved."""

    other: Member
    listing: Listing | None
    # True: the proposer helps; False: the other person helps; None: the proposer chooses.
    actor_provides: bool | None


# -- reading -------------------------------------------------------------------------------


def get_exchange(session: Session, viewer: Member, exchange_id: int) -> Exchange:
    """The exchange, if the viewer may see it (a party, or a coordinator of its timebank)."""
    return _visible(session, viewer, exchange_id, for_update=False)


def get_exchange_for_decider(session: Session, decider: Member, exchange_id: int) -> Exchange:
    """The exchange, if the viewer may decide it: a coordinator of its timebank or an
    installation admin (any timebank). Not found otherwise."""
    exchange = _visible(session, decider, exchange_id, for_update=False, deciding=True)
    if not may_decide_in(decider, exchange.timebank_id):
        raise ExchangeNotFound("There is no such exchange.")
    return exchange


def visible_exchanges(viewer: Member) -> ColumnElement[bool]:
    """Which exchanges a viewer may see, as a query condition: their timebank's, and only the
    ones they take part in unless they coordinate it (``get_exchange``'s rule, for lists)."""
    condition: ColumnElement[bool] = Exchange.timebank_id == viewer.timebank_id
    if viewer.is_coordinator:
        return condition
    mine = viewer.account.id if viewer.account is not None else 0
    return and_(condition, or_(Exchange.provider_account_id == mine, Exchange.recipient_account_id == mine))


def exchange_page(
    session: Session,
    viewer: Member,
    *,
    statuses: Collection[ExchangeStatus] | None = None,
    member_id: int | None = None,
    page: int | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[Exchange]:
    """The exchanges the viewer may see, newest first, optionally only some statuses or those
    one member takes part in."""
    conditions: list[ColumnElement[bool]] = [visible_exchanges(viewer)]
    if statuses is not None:
        conditions.append(Exchange.status.in_(list(statuses)))
    if member_id is not None:
        accounts = select(Account.id).where(Account.timebank_id == viewer.timebank_id, Account.member_id == member_id)
        conditions.append(or_(Exchange.provider_account_id.in_(accounts), Exchange.recipient_account_id.in_(accounts)))
    query = (
        select(Exchange)
        .where(*conditions)
        .options(joinedload(Exchange.provider_account), joinedload(Exchange.recipient_account))
        .order_by(Exchange.id.desc())
    )
    return page_of(session, query, page, per_page)


def exchanges_of(session: Session, member: Member, *, limit: int | None = None) -> list[Exchange]:
    """The exchanges the member is a party to, most recently changed first (the latest
    ``limit`` of them, if given), with what their descriptions need loaded alongside."""
    if member.account is None:
        return []
    account_id = member.account.id
    query = (
        select(Exchange)
        .where(
            Exchange.timebank_id == member.timebank_id,
            or_(Exchange.provider_account_id == account_id, Exchange.recipient_account_id == account_id),
        )
        .options(
            joinedload(Exchange.provider_account),
            joinedload(Exchange.recipient_account),
            selectinload(Exchange.entered_by),
            selectinload(Exchange.recorded_by),
        )
        .order_by(Exchange.updated_at.desc(), Exchange.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query).unique())


@dataclass(frozen=True)
class QueueFilters:
    """Narrowing the approvals queue: one status, one member (either side), one category, the
    dates the help happened, or only person-to-agency work."""

    status: ExchangeStatus | None = None
    member_id: int | None = None
    category_id: int | None = None
    performed_from: date | None = None
    performed_to: date | None = None
    agency_only: bool = False


def approval_queue(session: Session, coordinator: Member, filters: QueueFilters | None = None) -> list[Exchange]:
    """Exchanges in the coordinator's timebank with hours reserved, oldest first."""
    _require_coordinator(coordinator)
    filters = filters or QueueFilters()
    timebank_id = coordinator.timebank_id
    conditions: list[ColumnElement[bool]] = [
        Exchange.timebank_id == timebank_id,
        Exchange.status.in_(AWAITING_COORDINATOR),
    ]
    if filters.status is not None:
        conditions.append(Exchange.status == filters.status)
    if filters.member_id is not None:
        accounts = select(Account.id).where(Account.timebank_id == timebank_id, Account.member_id == filters.member_id)
        conditions.append(
            or_(Exchange.provider_account_id.in_(accounts), Exchange.recipient_account_id.in_(accounts))
        )
    if filters.category_id is not None:
        # The exchange's own category (its listing's, or the one chosen when it was recorded).
        conditions.append(Exchange.category_id == filters.category_id)
    if filters.performed_from is not None:
        conditions.append(Exchange.performed_on >= filters.performed_from)
    if filters.performed_to is not None:
        conditions.append(Exchange.performed_on <= filters.performed_to)
    if filters.agency_only:
        organisation = select(Account.id).where(
            Account.timebank_id == timebank_id, Account.kind == AccountKind.ORGANISATION
        )
        conditions.append(
            or_(Exchange.provider_account_id.in_(organisation), Exchange.recipient_account_id.in_(organisation))
        )
    return list(
        session.scalars(
            select(Exchange)
            .where(*conditions)
            .options(joinedload(Exchange.provider_account), joinedload(Exchange.recipient_account))
            .order_by(Exchange.updated_at, Exchange.id)
        ).unique()
    )


@dataclass(frozen=True)
class ExchangeEvent:
    event: AuditEvent
    actor: Member | None
    on_behalf_of: Member | None


def exchange_events(session: Session, viewer: Member, exchange_id: int) -> list[ExchangeEvent]:
    """What happened to the exchange, oldest first, from the audit trail."""
    exchange = get_exchange(session, viewer, exchange_id)
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.timebank_id == exchange.timebank_id,
            AuditEvent.subject_type == "exchange",
            AuditEvent.subject_id == exchange.id,
        )
        .order_by(AuditEvent.id)
    ).all()
    ids = {i for e in events for i in (e.actor_id, e.on_behalf_of_id) if i is not None}
    people = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))} if ids else {}
    return [
        ExchangeEvent(
            event=e,
            actor=people.get(e.actor_id) if e.actor_id else None,
            on_behalf_of=people.get(e.on_behalf_of_id) if e.on_behalf_of_id else None,
        )
        for e in events
    ]


def plan_proposal(
    session: Session,
    actor: Member,
    *,
    listing_id: int | None = None,
    member_id: int | None = None,
    asking_for_help: bool = False,
) -> ProposalPlan:
    """Work out a proposal from what the member clicked: someone's listing, a match (a listing
    and a member) or a member's page ("Ask Alice for help": ``asking_for_help``). Unknown or
    foreign listings and members are not found."""
    timebank = _timebank_of(session, actor)
    listing: Listing | None = None
    if listing_id is not None:
        listing = session.get(Listing, listing_id) if is_storable_id(listing_id) else None
        if listing is None or listing.timebank_id != timebank.id:
            raise ExchangeNotFound("There is no such offer or request.")
        if not is_current(listing, today_in(timebank.time_zone)):
            raise Unavailable("This offer or request is not open at the moment, so it cannot be answered.")
    if listing is not None and listing.member_id != actor.id:
        if member_id is not None and member_id != listing.member_id:
            raise InvalidExchange("That offer or request belongs to someone else.")
        other = _other_member(session, timebank, listing.member_id)
        # Their offer: they help me. Their request: I help them.
        return ProposalPlan(other=other, listing=listing, actor_provides=listing.kind == ListingKind.REQUEST)
    if member_id is None:
        raise InvalidExchange("Choose who to ask.")
    other = _other_member(session, timebank, member_id)
    if listing is not None:
        # A match for my own listing: my offer, I help them; my request, they help me.
        return ProposalPlan(other=other, listing=listing, actor_provides=listing.kind == ListingKind.OFFER)
    return ProposalPlan(other=other, listing=None, actor_provides=False if asking_for_help else None)


# -- proposing and answering ---------------------------------------------------------------


def propose_exchange(session: Session, actor: Member, request: ProposalRequest) -> Exchange:
    """Ask someone to help, or offer to help them. Nothing moves in the ledger yet.
    A resubmitted form (same request key, same content) finds the proposal it already made."""
    try:
        return _propose(session, actor, request)
    except IntegrityError:
        return _made_by_the_first_send(session, actor, request.request_key, request.fingerprint())


def _propose(session: Session, actor: Member, request: ProposalRequest) -> Exchange:
    with ledger.write_transaction(session):
        timebank = _timebank_of(session, actor)
        _check_request_key(request.request_key)
        existing = _replay(session, timebank, request.request_key, request.fingerprint())
        if existing is not None:
            return existing
        proposer = _acting_as(session, timebank, actor, request.for_member_id)
        plan = plan_proposal(session, proposer, listing_id=request.listing_id, member_id=request.member_id)
        if plan.other.id == proposer.id:
            raise InvalidExchange("A proposal needs two different people.", field="member_id")
        actor_provides = plan.actor_provides if plan.actor_provides is not None else request.actor_provides
        if actor_provides is None:
            raise InvalidExchange("Choose whether you will help them or they will help you.", field="direction")
        if request.minutes is not None:
            _check_minutes(timebank, request.minutes)
        message = request.message.strip()
        if len(message) > MAX_MESSAGE:
            raise InvalidExchange(f"Keep the message under {MAX_MESSAGE} characters.", field="message")
        mine, theirs = _account_of(proposer), _account_of(plan.other)
        provider, recipient = (mine, theirs) if actor_provides else (theirs, mine)
        exchange = Exchange(
            timebank_id=timebank.id,
            provider_account_id=provider.id,
            recipient_account_id=recipient.id,
            listing_id=plan.listing.id if plan.listing else None,
            category_id=plan.listing.category_id if plan.listing else None,
            status=ExchangeStatus.PROPOSED,
            description=plan.listing.title if plan.listing else "",
            minutes=request.minutes,
            message=message,
            proposed_by_id=proposer.id,
            entered_by_id=actor.id if proposer.id != actor.id else None,
            request_key=request.request_key,
            request_fingerprint=request.fingerprint(),
        )
        session.add(exchange)
        session.flush()
        _audit(
            session,
            exchange,
            actor,
            "proposed",
            {"message": message, "minutes": request.minutes},
            on_behalf_of=proposer,
        )
    return exchange


def accept_exchange(session: Session, actor: Member, exchange_id: int) -> Exchange:
    with ledger.write_transaction(session):
        exchange = _visible(session, actor, exchange_id)
        _step(exchange, actor, "accept")
        exchange.decided_by_id = actor.id
        _audit(session, exchange, actor, "accepted")
    return exchange


def decline_exchange(session: Session, actor: Member, exchange_id: int, reason: str = "") -> Exchange:
    reason = _reason(reason, required=False)
    with ledger.write_transaction(session):
        exchange = _visible(session, actor, exchange_id)
        _step(exchange, actor, "decline")
        exchange.decided_by_id = actor.id
        exchange.decision_reason = reason
        _audit(session, exchange, actor, "declined", {"reason": reason})
    return exchange


def cancel_exchange(
    session: Session, actor: Member, exchange_id: int, reason: str = "", *, today: date | None = None
) -> Exchange:
    """Call it off: the proposer while proposed, either side once accepted, the recorder while
    the time waits for confirmation (the reserved hours are released)."""
    reason = _reason(reason, required=False)
    with ledger.write_transaction(session):
        timebank = _locked_timebank_of(session, actor)
        exchange = _visible(session, actor, exchange_id)
        was_reserving = exchange.status == ExchangeStatus.RECORDED
        _step(exchange, actor, "cancel")
        exchange.decided_by_id = actor.id
        exchange.decision_reason = reason
        if was_reserving:
            _release(session, exchange, actor, _today(timebank, today))
        _audit(session, exchange, actor, "cancelled", {"reason": reason})
    return exchange


# -- recording the time ----------------------------------------------------------------------


def record_exchange(
    session: Session, actor: Member, request: RecordRequest, *, today: date | None = None
) -> Exchange:
    """Record help that has happened, without a proposal first. The hours are reserved until
    the other side confirms and, where the policy asks, a coordinator approves. A coordinator's
    record between other people is approved at once: they enter it for members (paper
    timesheets) and are the approver. A coordinator's record of their own time is not: nobody
    decides on their own benefit (``duties.rules``), so it waits for the other side and another
    coordinator, unless the timebank allows self-approval.
    A resubmitted form (same request key, same content) finds the exchange it already made."""
    try:
        with ledger.write_transaction(session):
            return record_exchange_in_transaction(session, actor, request, today=today)
    except IntegrityError:
        return _made_by_the_first_send(session, actor, request.request_key, request.fingerprint())


def record_exchange_in_transaction(
    session: Session, actor: Member, request: RecordRequest, *, today: date | None = None
) -> Exchange:
    """``record_exchange`` for a caller that already holds ``ledger.write_transaction`` and
    records several exchanges all-or-nothing (a coordinator's timesheet import). Commits nothing."""
    timebank = _locked_timebank_of(session, actor)
    _check_request_key(request.request_key)
    existing = _replay(session, timebank, request.request_key, request.fingerprint())
    if existing is not None:
        return existing
    provider, recipient = _parties(session, timebank, actor, request)
    _check_listing_of_record(session, timebank, request.listing_id, provider, recipient)
    if request.for_member_id is not None and request.for_member_id != actor.id:
        _require_coordinator(actor)
        if request.for_member_id not in (provider.member_id, recipient.member_id):
            raise InvalidExchange("The member you record it for must be one side of the exchange.")
    # Straight to "accepted" (both sides agree it happened) and on through the one
    # recording step every exchange takes; nobody ever sees the accepted state.
    exchange = Exchange(
        timebank_id=timebank.id,
        provider_account_id=provider.id,
        recipient_account_id=recipient.id,
        listing_id=request.listing_id,
        category_id=_category_for(session, timebank, request),
        status=ExchangeStatus.ACCEPTED,
        request_key=request.request_key,
        request_fingerprint=request.fingerprint(),
    )
    session.add(exchange)
    session.flush()
    _record(
        session, timebank, exchange, actor, request.time, _today(timebank, today), for_member_id=request.for_member_id
    )
    return exchange


def record_time(
    session: Session, actor: Member, exchange_id: int, record: TimeRecord, *, today: date | None = None
) -> Exchange:
    """Record the time of an accepted exchange, once the help happened. Either side may.
    Sending the same record again (a double click) finds the record already made."""
    with ledger.write_transaction(session):
        timebank = _locked_timebank_of(session, actor)
        exchange = _visible(session, actor, exchange_id)
        if _is_same_record(exchange, actor, record):
            return exchange
        reason = refusal("record", exchange, actor)
        if reason:
            raise NotAllowed(reason)
        _record(session, timebank, exchange, actor, record, _today(timebank, today))
    return exchange


def record_with_organisation(
    session: Session,
    actor: Member,
    *,
    member_earns: bool,
    record: TimeRecord,
    request_key: str,
    today: date | None = None,
) -> Exchange:
    """Person-to-agency: the member helped the organisation running the timebank (they earn),
    or took part in something it ran for them (they spend). A coordinator approves it for the
    organisation."""
    timebank = _timebank_of(session, actor)
    organisation = organisation_account(session, timebank.id)
    mine = _account_of(actor)
    provider, recipient = (mine, organisation) if member_earns else (organisation, mine)
    request = RecordRequest(
        provider_account_id=provider.id,
        recipient_account_id=recipient.id,
        minutes=record.minutes,
        performed_on=record.performed_on,
        description=record.description,
        request_key=request_key,
    )
    return record_exchange(session, actor, request, today=today)


def _record(
    session: Session,
    timebank: Timebank,
    exchange: Exchange,
    actor: Member,
    record: TimeRecord,
    today: date,
    *,
    for_member_id: int | None = None,
) -> None:
    """The one recording step: check the time, reserve the hours, and approve at once when a
    coordinator entered it. Used by direct records and by proposals alike."""
    _validate_record(timebank, record, today)
    exchange.status = next_status("record", exchange.status)
    provider, recipient = exchange.provider_account, exchange.recipient_account
    exchange.minutes = record.minutes
    exchange.performed_on = record.performed_on
    exchange.description = record.description.strip()
    exchange.recorded_by_id = _recorder_id(actor, provider, recipient, for_member_id)
    exchange.entered_by_id = actor.id
    exchange.recorded_at = utcnow()
    session.flush()
    pending = ledger.create_transfer(
        session,
        timebank_id=timebank.id,
        debit_account_id=recipient.id,
        credit_account_id=provider.id,
        amount_minutes=record.minutes,
        value_date=record.performed_on,
        purpose=TransferPurpose.EXCHANGE,
        idempotency_key=f"exchange-{exchange.id}-reserve",
        pending=True,
        memo=exchange.description[:500],
        created_by_id=actor.id,
    )
    exchange.pending_transfer_id = pending.id
    recorded_for = session.get(Member, exchange.recorded_by_id) if exchange.recorded_by_id else None
    audit(
        session,
        action="exchange.recorded",
        subject_type="exchange",
        subject_id=exchange.id,
        actor=actor,
        on_behalf_of=recorded_for,
        timebank_id=timebank.id,
        after={"minutes": record.minutes, "performed_on": record.performed_on.isoformat()},
    )
    if approved_when_recorded(actor, timebank, exchange_beneficiaries(exchange)):
        # Approved in the same step ("approved" tells both sides), a self-approval audited.
        _check_duty(session, timebank, exchange, actor, "approve")
        _approve(session, timebank, exchange, actor, today)
    else:
        _tell(session, exchange, actor, "recorded")


def approved_when_recorded(actor: Member, timebank: Timebank, parties: Collection[int]) -> bool:
    """Whether a record ``actor`` makes between ``parties`` (member ids) is approved at once: a
    coordinator's record of other people's time is; their own is not (nobody decides on their own
    benefit) unless the timebank allows self-approval. The timesheet import's preview asks too."""
    return actor.is_coordinator and (not is_own(actor, parties) or self_approval_applies(actor, timebank))


# -- confirming, disputing, approving ------------------------------------------------------


def confirm_exchange(session: Session, actor: Member, exchange_id: int, *, today: date | None = None) -> Exchange:
    """The other side agrees the time. Then, if the policy needs no coordinator, it is approved."""
    with ledger.write_transaction(session):
        timebank = _locked_timebank_of(session, actor)
        exchange = _visible(session, actor, exchange_id)
        _step(exchange, actor, "confirm")
        exchange.confirmed_by_id = actor.id
        automatic = not needs_coordinator_approval(timebank, exchange.minutes or 0)
        # Approved at once: the exchange's row is written once, with the approval.
        _audit(session, exchange, actor, "confirmed", save=not automatic)
        if automatic:
            _approve(session, timebank, exchange, actor, _today(timebank, today), automatic=True)
    return exchange


def dispute_exchange(session: Session, actor: Member, exchange_id: int, reason: str) -> Exchange:
    """The other side says the record is wrong. The hours stay reserved until a coordinator
    settles it."""
    reason = _reason(reason, required=True)
    with ledger.write_transaction(session):
        exchange = _visible(session, actor, exchange_id)
        _step(exchange, actor, "dispute")
        exchange.decision_reason = reason
        _audit(session, exchange, actor, "disputed", {"reason": reason})
    return exchange


def settle_dispute(
    session: Session,
    actor: Member,
    exchange_id: int,
    *,
    hours_stand: bool,
    reason: str = "",
    today: date | None = None,
) -> Exchange:
    """A coordinator settles a dispute: the hours stand (approved, credits move) or they do not
    (rejected, the reservation is released; a reason is needed)."""
    if not hours_stand:
        return reject_exchange(session, actor, exchange_id, reason, today=today, only_from=ExchangeStatus.DISPUTED)
    note = _reason(reason, required=False)
    with ledger.write_transaction(session):
        timebank, exchange = exchange_for_decision(session, actor, exchange_id)
        _check_duty(session, timebank, exchange, actor, "settle")
        _step(exchange, actor, "settle")
        _audit(session, exchange, actor, "settled", {"hours_stand": True, "note": note})
        _approve(session, timebank, exchange, actor, _today(timebank, today))
    return exchange


def approve_exchange(
    session: Session, actor: Member, exchange_id: int, *, reason: str | None = None, today: date | None = None
) -> Exchange:
    """A coordinator (of the timebank) or an installation admin approves: the credits move.

    Nobody approves their own exchange (``NeedsAnotherCoordinator``, 403, unless the timebank
    allows self-approval). Time the other side has not confirmed yet is approved only as a
    separate, deliberate step with a ``reason`` (``NotConfirmed``, 409, without one), which the
    audit trail and the exchange's history keep."""
    note = _reason(reason or "", required=False)
    with ledger.write_transaction(session):
        timebank, exchange = exchange_for_decision(session, actor, exchange_id)
        _check_duty(session, timebank, exchange, actor, "approve")
        waiting_for = awaiting_confirmation(exchange)
        if waiting_for is not None and not note:
            raise NotConfirmed(
                f"{waiting_for.name} has not confirmed this time yet. To approve it anyway, say why.", field="reason"
            )
        _approve(session, timebank, exchange, actor, _today(timebank, today), unconfirmed_by=waiting_for, reason=note)
    return exchange


def reject_exchange(
    session: Session,
    actor: Member,
    exchange_id: int,
    reason: str,
    *,
    today: date | None = None,
    only_from: ExchangeStatus | None = None,
) -> Exchange:
    """A coordinator says no: the reservation is released and the members see why."""
    reason = _reason(reason, required=True)
    with ledger.write_transaction(session):
        timebank, exchange = exchange_for_decision(session, actor, exchange_id)
        _check_duty(session, timebank, exchange, actor, "settle" if only_from is not None else "reject")
        if only_from is not None and exchange.status != only_from:
            raise InvalidTransition("settle", exchange.status)
        _step(exchange, actor, "reject")
        exchange.decided_by_id = actor.id
        exchange.decision_reason = reason
        _release(session, exchange, actor, _today(timebank, today))
        _audit(session, exchange, actor, "rejected", {"reason": reason})
    return exchange


# -- expiry (the scheduler) ------------------------------------------------------------------


def expiry_due_at(exchange: Exchange, timebank: Timebank) -> datetime | None:
    """When a recorded exchange nobody confirmed expires (naive UTC, as stored)."""
    if exchange.recorded_at is None:
        return None
    return exchange.recorded_at + timedelta(days=timebank.pending_expiry_days)


def expire_exchange(session: Session, exchange_id: int, *, now: datetime) -> Exchange | None:
    """Release recorded time the other side left unconfirmed for the timebank's
    ``pending_expiry_days``: the reservation is voided, the exchange becomes "expired" and both
    sides are told. The scheduler does this, so the audit event has no actor.

    The exchange row is locked first (SQLite: the write lock), so of two schedulers, or a member
    confirming at the same moment, one decides; the other finds it no longer recorded, or not
    due yet, and gets None with nothing changed. ``now`` is an aware datetime (tests freeze it).

    Only "recorded" exchanges expire (the state machine's "expire" step). Confirmed and
    disputed ones hold hours too, but they wait for a coordinator, who sees them in the
    approvals queue: releasing a disputed record would settle the dispute by default."""
    if not is_storable_id(exchange_id):
        raise ExchangeNotFound("There is no such exchange.")
    with ledger.write_transaction(session):
        exchange = session.scalar(
            select(Exchange)
            .where(Exchange.id == exchange_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if exchange is None:
            raise ExchangeNotFound("There is no such exchange.")
        timebank = session.get(Timebank, exchange.timebank_id)
        assert timebank is not None
        due = expiry_due_at(exchange, timebank)
        if exchange.status != ExchangeStatus.RECORDED or due is None or due > now.astimezone(UTC).replace(tzinfo=None):
            return None
        exchange.status = next_status("expire", exchange.status)
        assert exchange.pending_transfer_id is not None
        ledger.void_pending(
            session,
            timebank_id=timebank.id,
            pending_id=exchange.pending_transfer_id,
            value_date=now.astimezone(ZoneInfo(timebank.time_zone)).date(),
            idempotency_key=f"exchange-{exchange.id}-void",
        )
        audit(
            session,
            action="exchange.expired",
            subject_type="exchange",
            subject_id=exchange.id,
            actor=None,
            timebank_id=timebank.id,
            before={"status": ExchangeStatus.RECORDED.value},
            after={
                "status": ExchangeStatus.EXPIRED.value,
                "minutes": exchange.minutes,
                "days": timebank.pending_expiry_days,
            },
        )
        _tell_expired(session, exchange, timebank)
    return exchange


def people_to_tell(session: Session, exchange: Exchange) -> list[Member]:
    """The members on either side of the exchange; for the organisation's side (person-to-agency
    work), the timebank's coordinators, who act for it."""
    people: list[Member] = []
    for account in (exchange.provider_account, exchange.recipient_account):
        if account.member is not None:
            people.append(account.member)
        elif account.kind == AccountKind.ORGANISATION:
            people.extend(
                session.scalars(
                    select(Member)
                    .where(
                        Member.timebank_id == exchange.timebank_id,
                        Member.role == Role.COORDINATOR,
                        Member.status == MemberStatus.APPROVED,
                    )
                    .order_by(Member.id)
                )
            )
    return list({member.id: member for member in people}.values())


def _tell_expired(session: Session, exchange: Exchange, timebank: Timebank) -> None:
    from ..notifications.service import notify, resolve_exchange_actions

    resolve_exchange_actions(session, exchange.id)  # the reminders asked for what is now overtaken

    minutes = hours_in_words(exchange.minutes) if exchange.minutes else "time"
    provider, recipient = exchange.provider_account, exchange.recipient_account
    for member in people_to_tell(session, exchange):
        if provider.member_id == member.id:
            who = f"you gave {recipient.name}"
        elif recipient.member_id == member.id:
            who = f"{provider.name} gave you"
        else:
            who = f"{provider.name} gave {recipient.name}"
        notify(
            session,
            member,
            "exchange.expired",
            f"The {minutes} {who} was not confirmed within {timebank.pending_expiry_days} days, so the record "
            "has expired and the hours are no longer held. If the help happened, it can be recorded again.",
            link=f"/exchanges/{exchange.id}",
            exchange_id=exchange.id,
            dedupe_key=f"exchange:{exchange.id}:expired",
        )


# -- in bulk, and corrections ----------------------------------------------------------------

BULK_ACTIONS = ("approve", "reject")
MAX_BULK = 500


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one exchange of a bulk decision."""

    exchange_id: int
    done: bool
    summary: str  # "Sam gave 2 hours to Ann", or "Exchange 12" when it was not found
    problem: str = ""  # why it was not done: "This exchange has already been approved."
    found: bool = True  # False: unknown, or another timebank's (nothing about it is shown)
    # Left alone on purpose, and why: UNCONFIRMED (the other side has not confirmed: approving
    # it is a separate step with a reason) or OWN (the coordinator's own: another decides it).
    skipped: str = ""


UNCONFIRMED, OWN = "unconfirmed", "own"


def bulk_decide(
    session: Session,
    coordinator: Member,
    exchange_ids: list[int],
    action: str,
    reason: str = "",
    *,
    today: date | None = None,
) -> list[BulkOutcome]:
    """Approve, or refuse with one reason, many exchanges at once. Each exchange is its own
    transaction (all or nothing for that exchange); one that cannot be decided is reported and
    the others go ahead. Ids that are unknown or another timebank's are "not found" and touch
    nothing. Sending the same list again moves nothing twice: the ledger keys are the
    exchanges' own, so each repeat is reported as already decided.

    Two kinds are skipped, and reported as skipped with why (``BulkOutcome.skipped``): time the
    other side has not confirmed yet is never approved in bulk (approving it is a separate step
    with a reason, ``approve_exchange(reason=...)``), and the coordinator's own exchanges wait
    for another coordinator (``duties.rules``)."""
    _require_coordinator(coordinator)
    if action not in BULK_ACTIONS:
        raise InvalidExchange("Choose whether to approve them or not.", field="action")
    ids = list(dict.fromkeys(exchange_ids))
    if not ids:
        raise InvalidExchange("Choose at least one exchange.", field="exchange_ids")
    if len(ids) > MAX_BULK:
        raise InvalidExchange(f"Choose at most {MAX_BULK} exchanges at a time.", field="exchange_ids")
    if action == "reject":
        reason = _reason(reason, required=True)
    return [_decide_one(session, coordinator, exchange_id, action, reason, today) for exchange_id in ids]


def _decide_one(
    session: Session, coordinator: Member, exchange_id: int, action: str, reason: str, today: date | None
) -> BulkOutcome:
    try:
        if action == "approve":
            exchange = approve_exchange(session, coordinator, exchange_id, today=today)
        else:
            exchange = reject_exchange(session, coordinator, exchange_id, reason, today=today)
    except ExchangeNotFound:
        return BulkOutcome(
            exchange_id, False, f"Exchange {exchange_id}", "It is not in your timebank's records.", found=False
        )
    except (NotConfirmed, NeedsAnotherCoordinator) as error:
        summary = _bulk_summary(get_exchange(session, coordinator, exchange_id))
        skipped = UNCONFIRMED if isinstance(error, NotConfirmed) else OWN
        return BulkOutcome(exchange_id, False, summary, error.message, skipped=skipped)
    except (ExchangeError, InvalidTransition, ledger.LedgerError) as error:
        summary = _bulk_summary(get_exchange(session, coordinator, exchange_id))
        return BulkOutcome(exchange_id, False, summary, error.message)
    return BulkOutcome(exchange_id, True, _bulk_summary(exchange))


def _bulk_summary(exchange: Exchange) -> str:
    minutes = hours_in_words(exchange.minutes) if exchange.minutes else "time"
    return f"{exchange.provider_account.name} gave {minutes} to {exchange.recipient_account.name}"


def posted_transfer(session: Session, exchange: Exchange) -> Transfer | None:
    """The POST row that moved an approved exchange's credits."""
    if exchange.pending_transfer_id is None:
        return None
    return session.scalar(
        select(Transfer).where(
            Transfer.pending_id == exchange.pending_transfer_id, Transfer.phase == TransferPhase.POST
        )
    )


def reverse_exchange(
    session: Session, actor: Member, exchange_id: int, reason: str, *, today: date | None = None
) -> Exchange:
    """A coordinator corrects an approved exchange: a new transfer takes the credits back the
    other way (the original is never edited), the exchange is marked reversed, and both members
    see the reason. Once only (409 the second time); refused, changing nothing, if it would
    take the provider below their floor. The ledger key is the exchange's own, so a repeated
    request can never move credits twice."""
    reason = _reason(reason, required=True)
    with ledger.write_transaction(session):
        timebank, exchange = exchange_for_decision(session, actor, exchange_id)
        return reverse_in_transaction(session, timebank, exchange, actor, reason, today=today)


def reverse_in_transaction(
    session: Session, timebank: Timebank, exchange: Exchange, actor: Member, reason: str, *, today: date | None = None
) -> Exchange:
    """``reverse_exchange`` for a caller that holds the write transaction and the exchange from
    ``exchange_for_decision`` (a reversal request another coordinator approved:
    ``duties.service``). Who may decide is checked here, so no path can skip it."""
    _check_duty(session, timebank, exchange, actor, "reverse")
    _step(exchange, actor, "reverse")
    posted = posted_transfer(session, exchange)
    if posted is None:
        raise ledger.TransferNotReversible("No time credits moved for this exchange, so nothing can be reversed.")
    try:
        ledger.reverse_transfer(
            session,
            timebank_id=timebank.id,
            transfer_id=posted.id,
            value_date=_today(timebank, today),
            idempotency_key=f"exchange-{exchange.id}-reverse",
            memo=reason,
            created_by_id=actor.id,
        )
    except ledger.ExceedsFloor as error:
        provider = exchange.provider_account
        floor = ledger.limits_for(provider, timebank).floor or 0
        raise ledger.ExceedsFloor(
            f"Reversing this would take {provider.name} below their floor "
            f"({hours_in_words(floor)}): they have {hours_in_words(provider.balance_minutes)} now. "
            "Nothing was changed."
        ) from error
    except ledger.ExceedsCap as error:
        raise ledger.ExceedsCap(
            f"Reversing this would give {exchange.recipient_account.name} more time credit than an account "
            "may hold. Nothing was changed."
        ) from error
    exchange.decided_by_id = actor.id
    exchange.decision_reason = reason
    _audit(
        session,
        exchange,
        actor,
        "reversed",
        {"status": ExchangeStatus.REVERSED.value, "reason": reason, "minutes": exchange.minutes},
        before={"status": ExchangeStatus.APPROVED.value},
    )
    return exchange


def _approve(
    session: Session,
    timebank: Timebank,
    exchange: Exchange,
    actor: Member,
    today: date,
    *,
    automatic: bool = False,
    unconfirmed_by: Account | None = None,
    reason: str = "",
) -> None:
    exchange.status = next_status("approve", exchange.status)
    exchange.decided_by_id = actor.id
    assert exchange.pending_transfer_id is not None
    ledger.post_pending(
        session,
        timebank_id=timebank.id,
        pending_id=exchange.pending_transfer_id,
        value_date=today,
        idempotency_key=f"exchange-{exchange.id}-post",
        created_by_id=actor.id,
    )
    after: dict[str, object] | None = None
    if automatic:
        after = {"automatic": True}
    elif unconfirmed_by is not None:
        after = {"unconfirmed": True, "not_confirmed_by": unconfirmed_by.name, "reason": reason}
    _audit(session, exchange, actor, "approved", after)


def exchange_for_decision(session: Session, actor: Member, exchange_id: int) -> tuple[Timebank, Exchange]:
    """The timebank (its ledger lock taken first) and the exchange (locked) of a coordinator's
    decision. The decider is a coordinator of the exchange's timebank or an installation admin,
    who decides in any timebank (what waits for "another coordinator" may wait for them)."""
    if actor.is_admin:  # the exchange's own timebank, whichever it is
        timebank_id = None
        if is_storable_id(exchange_id):
            timebank_id = session.scalar(select(Exchange.timebank_id).where(Exchange.id == exchange_id))
        if timebank_id is None:
            raise ExchangeNotFound("There is no such exchange.")
        timebank = ledger.lock_timebank(session, timebank_id)
    else:
        timebank = _locked_timebank_of(session, actor)
    exchange = _visible(session, actor, exchange_id, posting=True, deciding=True)
    if not may_decide_in(actor, exchange.timebank_id):
        raise NotAllowed("Only a coordinator can do this.")
    return timebank, exchange


def _check_duty(session: Session, timebank: Timebank, exchange: Exchange, actor: Member, action: str) -> None:
    """Nobody decides on their own benefit (``duties.rules``): a party to the exchange is refused
    (403), or, where the timebank allows self-approval, the decision is audited as one."""
    require_independent(
        session,
        actor,
        exchange_beneficiaries(exchange),
        timebank,
        what="your own exchange",
        done=lambda: f"{PAST_TENSE.get(action, action).capitalize()} their own exchange: {_bulk_summary(exchange)}",
        subject_type="exchange",
        subject_id=exchange.id,
        minutes=exchange.minutes,
    )


def _release(session: Session, exchange: Exchange, actor: Member, today: date) -> None:
    assert exchange.pending_transfer_id is not None
    ledger.void_pending(
        session,
        timebank_id=exchange.timebank_id,
        pending_id=exchange.pending_transfer_id,
        value_date=today,
        idempotency_key=f"exchange-{exchange.id}-void",
        created_by_id=actor.id,
    )


# -- helpers ---------------------------------------------------------------------------------


def _fingerprint(*values: object) -> str:
    return hashlib.sha256("|".join(str(v) for v in values).encode()).hexdigest()


def _visible(
    session: Session,
    viewer: Member,
    exchange_id: int,
    *,
    for_update: bool = True,
    posting: bool = False,
    deciding: bool = False,
) -> Exchange:
    """Load the exchange if the viewer may see it; for a write, lock its row first so two
    people pressing buttons at once take turns (SQLite: the write lock already serialises).
    ``posting``: the step surely writes to the ledger, whose account lock brings both sides'
    accounts and members, so they are not loaded here as well."""
    if not is_storable_id(exchange_id):
        raise ExchangeNotFound("There is no such exchange.")
    query = _EXCHANGE if not for_update else _exchange_for_step(posting, ledger.locking.row_locking_enabled)
    exchange = session.scalar(query, {"id": exchange_id})
    if exchange is None:
        raise ExchangeNotFound("There is no such exchange.")
    if deciding and viewer.is_admin:
        return exchange  # an installation admin decides in any timebank (``exchange_for_decision``)
    if exchange.timebank_id != viewer.timebank_id:
        raise ExchangeNotFound("There is no such exchange.")
    if not (viewer.is_coordinator or party_account(exchange, viewer) is not None):
        raise ExchangeNotFound("There is no such exchange.")
    return exchange


_EXCHANGE = select(Exchange).where(Exchange.id == bindparam("id"))


@functools.cache
def _exchange_for_step(posting: bool, locked: bool) -> Select[tuple[Exchange]]:
    """For a step: in the same statement, what the step goes on to use: both sides' accounts and
    members (whoever is told) and the reservation (the ledger's pending transfer, which never
    changes); when posting, the reservation and both sides' accounts (not their members): who
    decides is checked (``duties.rules``: is the decider a party?) before the ledger locks them.
    Only the exchange is locked here (FOR UPDATE), so two steps on one exchange take turns:
    without it a confirm racing a reject would leave a confirmed exchange whose reservation is
    voided (tests/test_exchanges_same_moment.py). The ledger locks the accounts itself; its test
    switch (``ledger.set_row_locking``) turns this lock off too. Built once per shape."""
    if posting:
        options = [
            joinedload(Exchange.pending_transfer),
            joinedload(Exchange.provider_account),
            joinedload(Exchange.recipient_account),
        ]
    else:
        options = [
            joinedload(Exchange.provider_account).joinedload(Account.member),
            joinedload(Exchange.recipient_account).joinedload(Account.member),
            joinedload(Exchange.pending_transfer),
        ]
    query = _EXCHANGE.options(*options).execution_options(populate_existing=True)
    return query.with_for_update(of=Exchange) if locked else query


def _step(exchange: Exchange, actor: Member, action: str) -> None:
    """Take one step of the state machine, if this member may take it."""
    reason = refusal(action, exchange, actor)
    if reason:
        raise NotAllowed(reason)
    exchange.status = next_status(action, exchange.status)


def _audit(
    session: Session,
    exchange: Exchange,
    actor: Member,
    verb: str,
    after: dict[str, object] | None = None,
    *,
    before: dict[str, object] | None = None,
    on_behalf_of: Member | None = None,
    save: bool = True,
) -> None:
    if save:
        _save(session, exchange)
    audit(
        session,
        action=f"exchange.{verb}",
        subject_type="exchange",
        subject_id=exchange.id,
        actor=actor,
        on_behalf_of=on_behalf_of,
        timebank_id=exchange.timebank_id,
        before=before,
        after=after,
    )
    # Whoever the event concerns is told, in the same transaction (notifications/events.py).
    _tell(session, exchange, actor, verb)


def _save(session: Session, exchange: Exchange) -> None:
    """Write what the step changed on the exchange now, as one UPDATE of those columns, and mark
    the object saved, instead of leaving it to the unit of work's flush (which cost more than the
    statement). A new exchange, or a change to a relationship, is left to the flush, as before.
    The row is locked (``_visible``), so nothing else changed it meanwhile."""
    state = inspect(exchange)
    if state.key is None:
        session.flush()  # a new exchange: the audit row and the notifications point at it
        return
    changed = list(state.committed_state)
    if not changed or any(key not in _EXCHANGE_COLUMNS for key in changed):
        return
    values = {key: getattr(exchange, key) for key in changed}
    values["updated_at"] = utcnow()
    session.execute(
        update(_EXCHANGES).where(_EXCHANGES.c.id == exchange.id).values(values),
        execution_options={"autoflush": False},
    )
    set_committed_value(exchange, "updated_at", values["updated_at"])
    # Saved: what the flush itself does after its UPDATE. Without it the object stays marked
    # modified, and every later autoflush in the step runs the whole unit of work to find nothing.
    state._commit_all(state.dict, session.identity_map)


_EXCHANGES = Base.metadata.tables["exchanges"]
_EXCHANGE_COLUMNS = frozenset(column.key for column in _EXCHANGES.columns)


def _made_by_the_first_send(session: Session, actor: Member, request_key: str, fingerprint: str) -> Exchange:
    """The same form (or API call) sent twice at the same moment: the unique (timebank,
    request_key) constraint let the first one in; the second answers with what it made."""
    existing = _replay(session, _timebank_of(session, actor), request_key, fingerprint)
    if existing is None:
        raise Unavailable("Someone else changed this at the same moment, so nothing was saved. Please try again.")
    return existing


def _check_listing_of_record(
    session: Session, timebank: Timebank, listing_id: int | None, provider: Account, recipient: Account
) -> None:
    """A record may name the offer or request it came from: one of this timebank's, belonging to
    one of the two sides (someone else's listing would put their category and title on it)."""
    if listing_id is None:
        return
    listing = session.get(Listing, listing_id) if is_storable_id(listing_id) else None
    if listing is None or listing.timebank_id != timebank.id:
        raise ExchangeNotFound("There is no such offer or request.")
    if listing.member_id not in (provider.member_id, recipient.member_id):
        raise InvalidExchange("That offer or request belongs to someone else.", field="listing_id")


def _category_for(session: Session, timebank: Timebank, request: RecordRequest) -> int | None:
    """The category chosen when recording, else the listing's; it must be this timebank's."""
    if request.category_id is not None:
        category = session.get(Category, request.category_id)
        if category is None or category.timebank_id != timebank.id:
            raise InvalidExchange("Choose one of this timebank's categories.", field="category_id")
        return category.id
    if request.listing_id is not None:
        listing = session.get(Listing, request.listing_id)
        return listing.category_id if listing is not None else None
    return None


def _replay(session: Session, timebank: Timebank, request_key: str, fingerprint: str) -> Exchange | None:
    existing = session.scalar(
        select(Exchange).where(Exchange.timebank_id == timebank.id, Exchange.request_key == request_key)
    )
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise ledger.IdempotencyConflict("This form was already sent with different details. Please start again.")
    return existing


def _is_same_record(exchange: Exchange, actor: Member, record: TimeRecord) -> bool:
    """A second press of "Record" with the same details, after the first one went through."""
    return (
        exchange.status != ExchangeStatus.ACCEPTED
        and exchange.pending_transfer_id is not None
        and exchange.entered_by_id == actor.id
        and exchange.minutes == record.minutes
        and exchange.performed_on == record.performed_on
        and exchange.description == record.description.strip()
    )


def _check_request_key(key: str) -> None:
    if not key or not key.strip() or len(key) > MAX_REQUEST_KEY:
        raise ledger.InvalidIdempotencyKey("This form is missing its reference. Please reload the page and try again.")


def _timebank_of(session: Session, actor: Member) -> Timebank:
    if actor.timebank_id is None or actor.status != MemberStatus.APPROVED:
        raise NotAllowed("Only approved members of a timebank can do this.")
    timebank = session.get(Timebank, actor.timebank_id)
    assert timebank is not None
    return timebank


def _locked_timebank_of(session: Session, actor: Member) -> Timebank:
    """``_timebank_of`` for a step that may write to the ledger: read afresh with the ledger's
    shared lock on it (a month close waits), taken first, before the exchange's and the
    accounts' locks, so every writer takes its locks in the same order."""
    if actor.timebank_id is None or actor.status != MemberStatus.APPROVED:
        raise NotAllowed("Only approved members of a timebank can do this.")
    return ledger.lock_timebank(session, actor.timebank_id)


def _account_of(member: Member) -> Account:
    if member.account is None:
        raise NotAllowed("Only members with a time credit account can take part in exchanges.")
    return member.account


def _acting_as(session: Session, timebank: Timebank, actor: Member, for_member_id: int | None) -> Member:
    """The member a step is taken for: the actor, or (a coordinator only) a member of their
    timebank they act for."""
    if for_member_id is None or for_member_id == actor.id:
        return actor
    _require_coordinator(actor)
    return _other_member(session, timebank, for_member_id)


def _other_member(session: Session, timebank: Timebank, member_id: int) -> Member:
    other = session.get(Member, member_id) if is_storable_id(member_id) else None
    if other is None or other.timebank_id != timebank.id or other.status != MemberStatus.APPROVED:
        raise ExchangeNotFound("There is no such member.")
    return other


def party_account_id(session: Session, actor: Member, member_id: int) -> int:
    """The account of the member ``member_id`` as one side of an exchange ``actor`` records (the
    API names members). A member the actor may not see (an applicant, a suspended or declined
    member, another timebank's) is answered exactly like an id that does not exist."""
    member = session.get(Member, member_id) if is_storable_id(member_id) else None
    if member is None or member.account is None or not can_see_member(actor, member):
        raise ExchangeNotFound(NOT_IN_THIS_TIMEBANK)
    return member.account.id


def _parties(session: Session, timebank: Timebank, actor: Member, request: RecordRequest) -> tuple[Account, Account]:
    ids = (request.provider_account_id, request.recipient_account_id)
    if not all(is_storable_id(i) for i in ids):
        raise ExchangeNotFound(NOT_IN_THIS_TIMEBANK)
    provider = session.get(Account, request.provider_account_id)
    recipient = session.get(Account, request.recipient_account_id)
    for account in (provider, recipient):
        if account is None or account.timebank_id != timebank.id:
            raise ExchangeNotFound(NOT_IN_THIS_TIMEBANK)
        if account.member is not None and not can_see_member(actor, account.member):
            raise ExchangeNotFound(NOT_IN_THIS_TIMEBANK)  # not "<name> cannot take part": a name they may not know
        if account.kind == AccountKind.POOL:
            raise InvalidExchange("Give to the community pool with a donation, not an exchange.")
        if account.member is not None and account.member.status != MemberStatus.APPROVED:
            raise Unavailable(f"{account.name} cannot take part in exchanges at the moment.")
    assert provider is not None and recipient is not None
    if provider.id == recipient.id:
        raise InvalidExchange("An exchange needs two different people.")
    if not actor.is_coordinator and actor.id not in (provider.member_id, recipient.member_id):
        raise NotAllowed("You can only record exchanges you took part in.")
    return provider, recipient


def _today(timebank: Timebank, today: date | None) -> date:
    return today if today is not None else today_in(timebank.time_zone)


def _check_minutes(timebank: Timebank, minutes: int) -> None:
    try:
        ledger.validate_amount(minutes, timebank.granularity_minutes)
    except ledger.InvalidAmount as error:
        raise InvalidExchange(error.message, field="duration") from error


def _validate_record(timebank: Timebank, record: TimeRecord, today: date) -> None:
    _check_minutes(timebank, record.minutes)
    if record.performed_on > today:
        raise InvalidExchange("The date cannot be in the future.", field="performed_on")
    description = record.description.strip()
    if not description:
        raise InvalidExchange("Say briefly what was done.", field="description")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidExchange(f"Keep it under {MAX_DESCRIPTION} characters.", field="description")


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidExchange("Say why, so the others understand.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidExchange(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    return reason


def _recorder_id(actor: Member, provider: Account, recipient: Account, for_member_id: int | None = None) -> int:
    """Who the record speaks for: the actor, or the member a coordinator acts for."""
    if for_member_id is not None and for_member_id in (provider.member_id, recipient.member_id):
        return for_member_id
    if actor.id in (provider.member_id, recipient.member_id):
        return actor.id
    return provider.member_id or recipient.member_id or actor.id


def _require_coordinator(actor: Member) -> None:
    if not actor.is_coordinator:
        raise NotAllowed("Only a coordinator can do this.")
