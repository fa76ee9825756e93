"""Exchanges from recorded time to credit. Each public function is one transaction.

The ledger movement: the recipient's account is debited and the provider's credited. Recording
the time reserves the hours (a pending transfer); approval posts it; rejection or cancellation
voids it. Ledger idempotency keys are derived from the exchange id, so a repeated step can
never move credits twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..audit.service import record as audit
from ..clock import today_in
from ..models import (
    Account,
    AccountKind,
    Exchange,
    ExchangeStatus,
    Member,
    MemberStatus,
    Timebank,
    TransferPurpose,
)
from ..timebanks.policy import needs_coordinator_approval
from .errors import ExchangeNotFound, InvalidExchange, NotAllowed
from .states import next_status


@dataclass(frozen=True)
class RecordRequest:
    provider_account_id: int
    recipient_account_id: int
    minutes: int
    performed_on: date
    description: str
    request_key: str
    listing_id: int | None = None

    def fingerprint(self) -> str:
        text = "|".join(
            str(v)
            for v in (
                self.provider_account_id,
                self.recipient_account_id,
                self.minutes,
                self.performed_on.isoformat(),
                self.description,
                self.listing_id,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()


def get_exchange(session: Session, viewer: Member, exchange_id: int) -> Exchange:
    """The exchange, if the viewer may see it (a party, or a coordinator of its timebank)."""
    exchange = session.get(Exchange, exchange_id)
    if exchange is None or exchange.timebank_id != viewer.timebank_id:
        raise ExchangeNotFound("There is no such exchange.")
    if not (viewer.is_coordinator or _party_account(exchange, viewer) is not None):
        raise ExchangeNotFound("There is no such exchange.")
    return exchange


def record_exchange(session: Session, actor: Member, request: RecordRequest) -> Exchange:
    """Record help that has happened. The hours are reserved until the other side confirms and,
    where the policy asks, a coordinator approves. A coordinator's record is approved at once:
    they enter it for members (paper timesheets) and are the approver."""
    with ledger.write_transaction(session):
        timebank = _timebank_of(session, actor)
        existing = _replay(session, timebank, request)
        if existing is not None:
            return existing
        provider, recipient = _parties(session, timebank, actor, request)
        _validate_record(timebank, request)
        exchange = Exchange(
            timebank_id=timebank.id,
            provider_account_id=provider.id,
            recipient_account_id=recipient.id,
            listing_id=request.listing_id,
            status=ExchangeStatus.RECORDED,
            description=request.description.strip(),
            minutes=request.minutes,
            performed_on=request.performed_on,
            recorded_by_id=_recorder_id(actor, provider, recipient),
            entered_by_id=actor.id,
            request_key=request.request_key,
            request_fingerprint=request.fingerprint(),
        )
        session.add(exchange)
        session.flush()
        pending = ledger.create_transfer(
            session,
            timebank_id=timebank.id,
            debit_account_id=recipient.id,
            credit_account_id=provider.id,
            amount_minutes=request.minutes,
            value_date=request.performed_on,
            purpose=TransferPurpose.EXCHANGE,
            idempotency_key=f"exchange-{exchange.id}-reserve",
            pending=True,
            memo=exchange.description,
            created_by_id=actor.id,
        )
        exchange.pending_transfer_id = pending.id
        audit(
            session,
            action="exchange.recorded",
            subject_type="exchange",
            subject_id=exchange.id,
            actor=actor,
            timebank_id=timebank.id,
            after={"minutes": request.minutes, "performed_on": request.performed_on.isoformat()},
        )
        if actor.is_coordinator:
            _approve(session, timebank, exchange, actor)
    return exchange


def confirm_exchange(session: Session, actor: Member, exchange_id: int) -> Exchange:
    """The other side agrees the time. Then, if the policy needs no coordinator, it is approved."""
    with ledger.write_transaction(session):
        exchange = get_exchange(session, actor, exchange_id)
        timebank = _timebank_of(session, actor)
        if not actor.is_coordinator:
            mine = _party_account(exchange, actor)
            if mine is None or exchange.recorded_by_id == actor.id:
                raise NotAllowed("The other person confirms the time you recorded.")
        exchange.status = next_status("confirm", exchange.status)
        exchange.confirmed_by_id = actor.id
        audit(session, action="exchange.confirmed", subject_type="exchange", subject_id=exchange.id,
              actor=actor, timebank_id=timebank.id)
        if not needs_coordinator_approval(timebank, exchange.minutes or 0):
            _approve(session, timebank, exchange, actor)
    return exchange


def approve_exchange(session: Session, actor: Member, exchange_id: int) -> Exchange:
    with ledger.write_transaction(session):
        exchange = get_exchange(session, actor, exchange_id)
        _require_coordinator(actor)
        _approve(session, _timebank_of(session, actor), exchange, actor)
    return exchange


def reject_exchange(session: Session, actor: Member, exchange_id: int, reason: str) -> Exchange:
    reason = reason.strip()
    if not reason:
        raise InvalidExchange("Say why, so the member understands.")
    with ledger.write_transaction(session):
        exchange = get_exchange(session, actor, exchange_id)
        _require_coordinator(actor)
        timebank = _timebank_of(session, actor)
        exchange.status = next_status("reject", exchange.status)
        exchange.decided_by_id = actor.id
        exchange.decision_reason = reason
        assert exchange.pending_transfer_id is not None
        ledger.void_pending(
            session,
            timebank_id=timebank.id,
            pending_id=exchange.pending_transfer_id,
            value_date=today_in(timebank.time_zone),
            idempotency_key=f"exchange-{exchange.id}-void",
            created_by_id=actor.id,
        )
        audit(session, action="exchange.rejected", subject_type="exchange", subject_id=exchange.id,
              actor=actor, timebank_id=timebank.id, after={"reason": reason})
    return exchange


def _approve(session: Session, timebank: Timebank, exchange: Exchange, actor: Member) -> None:
    exchange.status = next_status("approve", exchange.status)
    exchange.decided_by_id = actor.id
    assert exchange.pending_transfer_id is not None
    ledger.post_pending(
        session,
        timebank_id=timebank.id,
        pending_id=exchange.pending_transfer_id,
        value_date=today_in(timebank.time_zone),
        idempotency_key=f"exchange-{exchange.id}-post",
        created_by_id=actor.id,
    )
    audit(session, action="exchange.approved", subject_type="exchange", subject_id=exchange.id,
          actor=actor, timebank_id=timebank.id)


def _replay(session: Session, timebank: Timebank, request: RecordRequest) -> Exchange | None:
    existing = session.scalar(
        select(Exchange).where(Exchange.timebank_id == timebank.id, Exchange.request_key == request.request_key)
    )
    if existing is None:
        return None
    if existing.request_fingerprint != request.fingerprint():
        raise ledger.IdempotencyConflict(
            "This form was already sent with different details. Please start again."
        )
    return existing


def _timebank_of(session: Session, actor: Member) -> Timebank:
    if actor.timebank_id is None or actor.status != MemberStatus.APPROVED:
        raise NotAllowed("Only approved members of a timebank can do this.")
    timebank = session.get(Timebank, actor.timebank_id)
    assert timebank is not None
    return timebank


def _parties(session: Session, timebank: Timebank, actor: Member, request: RecordRequest) -> tuple[Account, Account]:
    provider = session.get(Account, request.provider_account_id)
    recipient = session.get(Account, request.recipient_account_id)
    for account in (provider, recipient):
        if account is None or account.timebank_id != timebank.id:
            raise ExchangeNotFound("That person is not in this timebank.")
        if account.kind == AccountKind.POOL:
            raise InvalidExchange("Give to the community pool with a donation, not an exchange.")
        if account.member is not None and account.member.status != MemberStatus.APPROVED:
            raise InvalidExchange(f"{account.name} cannot take part in exchanges at the moment.")
    assert provider is not None and recipient is not None
    if provider.id == recipient.id:
        raise InvalidExchange("An exchange needs two different people.")
    if not actor.is_coordinator and actor.id not in (provider.member_id, recipient.member_id):
        raise NotAllowed("You can only record exchanges you took part in.")
    return provider, recipient


def _validate_record(timebank: Timebank, request: RecordRequest) -> None:
    ledger.validate_amount(request.minutes, timebank.granularity_minutes)
    if request.performed_on > today_in(timebank.time_zone):
        raise InvalidExchange("The date cannot be in the future.")
    if not request.description.strip():
        raise InvalidExchange("Say briefly what was done.")


def _recorder_id(actor: Member, provider: Account, recipient: Account) -> int:
    """Who the record speaks for: the actor, or the member a coordinator acts for."""
    if actor.id in (provider.member_id, recipient.member_id):
        return actor.id
    return provider.member_id or recipient.member_id or actor.id


def _party_account(exchange: Exchange, member: Member) -> Account | None:
    for account in (exchange.provider_account, exchange.recipient_account):
        if account.member_id == member.id:
            return account
    return None


def _require_coordinator(actor: Member) -> None:
    if not actor.is_coordinator:
        raise NotAllowed("Only a coordinator can do this.")
