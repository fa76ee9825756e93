"""Grants: a coordinator passes hours from the community pool to a member in need.

The pool holds what members donated (``donations.py``); it can never go below zero, so a grant
larger than what is in it is refused with what the pool holds. A grant posts at once (one
SINGLE transfer, purpose GRANT) and is audited with the balances before and after. Sending the
same form twice (same request key) grants once: the ledger key is derived from the form's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..audit.service import record as audit
from ..clock import today_in
from ..hours import hours_in_words
from ..ids import is_storable_id
from ..models import Account, Member, MemberStatus, Timebank, Transfer, TransferPurpose
from ..timebanks.service import pool_account
from .errors import ExchangeNotFound, InvalidExchange, NotAllowed, Unavailable

MAX_REASON = 500
MAX_REQUEST_KEY = 150


@dataclass(frozen=True)
class GrantRequest:
    member_id: int
    minutes: int
    reason: str
    request_key: str


def pool_for(session: Session, coordinator: Member) -> Account:
    """The community pool of the coordinator's timebank (to show what it holds)."""
    _require_coordinator(coordinator)
    assert coordinator.timebank_id is not None
    return pool_account(session, coordinator.timebank_id)


def pool_available(pool: Account) -> int:
    """What the pool can give now: its balance less anything already set aside from it."""
    return max(pool.balance_minutes - pool.debits_pending, 0)


def members_to_grant(session: Session, coordinator: Member) -> list[Member]:
    """Approved members of the coordinator's timebank who have a time credit account."""
    _require_coordinator(coordinator)
    return list(
        session.scalars(
            select(Member)
            .join(Account, Account.member_id == Member.id)
            .where(Member.timebank_id == coordinator.timebank_id, Member.status == MemberStatus.APPROVED)
            .order_by(Member.display_name, Member.id)
        )
    )


def grant_from_pool(
    session: Session, coordinator: Member, request: GrantRequest, *, today: date | None = None
) -> Transfer:
    """Give ``request.minutes`` from the community pool to a member of the coordinator's
    timebank, with a reason. Refused (409, nothing changed) when the pool holds less."""
    _require_coordinator(coordinator)
    reason = " ".join((request.reason or "").split())
    if not reason:
        raise InvalidExchange("Say why this member is getting hours from the pool.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidExchange(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    if not request.request_key.strip() or len(request.request_key) > MAX_REQUEST_KEY:
        raise ledger.InvalidIdempotencyKey("This form is missing its reference. Please reload the page and try again.")
    with ledger.write_transaction(session):
        timebank = session.get(Timebank, coordinator.timebank_id)
        assert timebank is not None
        try:
            ledger.validate_amount(request.minutes, timebank.granularity_minutes)
        except ledger.InvalidAmount as error:
            raise InvalidExchange(error.message, field="amount") from error
        member = session.get(Member, request.member_id) if is_storable_id(request.member_id) else None
        if member is None or member.timebank_id != timebank.id:
            raise ExchangeNotFound("There is no such member in your timebank.")
        if member.status != MemberStatus.APPROVED or member.account is None:
            raise Unavailable(f"{member.display_name} cannot receive time credit at the moment.", field="member_id")
        pool = pool_account(session, timebank.id)
        account = member.account
        # Lock both accounts before reading the pool, so two grants at once take turns.
        ledger.lock_accounts(session, [pool.id, account.id])
        key = f"grant-{request.request_key}"
        already = session.scalar(
            select(Transfer.id).where(Transfer.timebank_id == timebank.id, Transfer.idempotency_key == key)
        )
        before = {"pool_minutes": pool.balance_minutes, "member_balance_minutes": account.balance_minutes}
        if already is None and request.minutes > pool_available(pool):
            raise Unavailable(
                f"The community pool has only {hours_in_words(pool_available(pool))}, "
                f"so it cannot give {hours_in_words(request.minutes)}.",
                field="amount",
            )
        transfer = ledger.create_transfer(
            session,
            timebank_id=timebank.id,
            debit_account_id=pool.id,
            credit_account_id=account.id,
            amount_minutes=request.minutes,
            value_date=today if today is not None else today_in(timebank.time_zone),
            purpose=TransferPurpose.GRANT,
            idempotency_key=key,
            memo=reason,
            created_by_id=coordinator.id,
        )
        if already is None:
            audit(
                session,
                action="pool.granted",
                subject_type="member",
                subject_id=member.id,
                actor=coordinator,
                timebank_id=timebank.id,
                before=before,
                after={
                    "minutes": request.minutes,
                    "reason": reason,
                    "transfer_id": transfer.id,
                    "pool_minutes": pool.balance_minutes,
                    "member_balance_minutes": account.balance_minutes,
                },
            )
    return transfer


def _require_coordinator(actor: Member) -> None:
    if not actor.is_coordinator or actor.timebank_id is None:
        raise NotAllowed("Only a coordinator can do this.")
