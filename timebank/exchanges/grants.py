"""Grants: a coordinator passes hours from the community pool to a member in need.

The pool holds what members donated (``donations.py``); it can never go below zero, so a grant
larger than what is in it is refused with what the pool holds. A grant posts at once (one
SINGLE transfer, purpose GRANT) and is audited with the balances before and after. Sending the
same form twice (same request key) grants once: the ledger key is derived from the form's key.

Nobody grants to themselves: a coordinator's grant to their own account waits for another
coordinator or an admin as a decision request (``duties``), unless the timebank allows
self-approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import ledger
from ..audit.service import record as audit
from ..clock import today_in
from ..duties.requests import open_request
from ..duties.rules import is_own, require_independent, self_approval_applies
from ..hours import hours_in_words
from ..ids import is_storable_id
from ..models import Account, DecisionKind, DecisionRequest, Member, MemberStatus, Timebank, Transfer, TransferPurpose
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
) -> Transfer | DecisionRequest:
    """Give ``request.minutes`` from the community pool to a member of the coordinator's
    timebank, with a reason. Refused (409, nothing changed) when the pool holds less.

    A grant to the coordinator themselves is not decided by them (``duties.rules``): it becomes a
    waiting ``DecisionRequest`` for another coordinator or an admin (returned instead of a
    transfer), unless the timebank allows self-approval (then granted, audited as such)."""
    _require_coordinator(coordinator)
    reason = checked_reason(request.reason)
    if not request.request_key.strip() or len(request.request_key) > MAX_REQUEST_KEY:
        raise ledger.InvalidIdempotencyKey("This form is missing its reference. Please reload the page and try again.")
    with ledger.write_transaction(session):
        assert coordinator.timebank_id is not None
        timebank = ledger.lock_timebank(session, coordinator.timebank_id)
        minutes = _checked_minutes(timebank, request.minutes)
        member = _grantee(session, timebank, request.member_id)
        if is_own(coordinator, {member.id}) and not self_approval_applies(coordinator, timebank):
            return open_request(
                session,
                coordinator,
                timebank,
                kind=DecisionKind.GRANT,
                member=member,
                minutes=minutes,
                reason=reason,
                request_key=request.request_key,
            )
        return grant_in_transaction(
            session, coordinator, timebank, member, minutes, reason, key=f"grant-{request.request_key}", today=today
        )


def grant_in_transaction(
    session: Session,
    decider: Member,
    timebank: Timebank,
    member: Member,
    minutes: int,
    reason: str,
    *,
    key: str,
    requested_by: Member | None = None,
    today: date | None = None,
) -> Transfer:
    """The grant itself, in the caller's write transaction (timebank locked): a coordinator's own
    form, or a grant request another coordinator or an admin approved (``requested_by``). Who may
    decide is checked here too (the one rule), so no path can skip it."""
    if member.status != MemberStatus.APPROVED or member.account is None:
        raise Unavailable(f"{member.display_name} cannot receive time credit at the moment.", field="member_id")
    pool = pool_account(session, timebank.id)
    account = member.account
    # Lock both accounts before reading the pool, so two grants at once take turns.
    ledger.lock_accounts(session, [pool.id, account.id])
    already = session.scalar(
        select(Transfer.id).where(Transfer.timebank_id == timebank.id, Transfer.idempotency_key == key)
    )
    before = {"pool_minutes": pool.balance_minutes, "member_balance_minutes": account.balance_minutes}
    if already is None:
        require_independent(
            session,
            decider,
            {member.id},
            timebank,
            what="a grant for you",
            done=f"Granted themselves {hours_in_words(minutes)} from the community pool",
            subject_type="member",
            subject_id=member.id,
            minutes=minutes,
        )
        if minutes > pool_available(pool):
            raise Unavailable(
                f"The community pool has only {hours_in_words(pool_available(pool))}, "
                f"so it cannot give {hours_in_words(minutes)}.",
                field="amount",
            )
    transfer = ledger.create_transfer(
        session,
        timebank_id=timebank.id,
        debit_account_id=pool.id,
        credit_account_id=account.id,
        amount_minutes=minutes,
        value_date=today if today is not None else today_in(timebank.time_zone),
        purpose=TransferPurpose.GRANT,
        idempotency_key=key,
        memo=reason,
        created_by_id=decider.id,
    )
    if already is None:
        after: dict[str, object] = {
            "minutes": minutes,
            "reason": reason,
            "transfer_id": transfer.id,
            "pool_minutes": pool.balance_minutes,
            "member_balance_minutes": account.balance_minutes,
        }
        if requested_by is not None:
            after["requested_by_id"] = requested_by.id
        audit(
            session,
            action="pool.granted",
            subject_type="member",
            subject_id=member.id,
            actor=decider,
            timebank_id=timebank.id,
            before=before,
            after=after,
        )
    return transfer


def checked_reason(text: str) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise InvalidExchange("Say why this member is getting hours from the pool.", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidExchange(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    return reason


def _checked_minutes(timebank: Timebank, minutes: int) -> int:
    try:
        ledger.validate_amount(minutes, timebank.granularity_minutes)
    except ledger.InvalidAmount as error:
        raise InvalidExchange(error.message, field="amount") from error
    return minutes


def _grantee(session: Session, timebank: Timebank, member_id: int) -> Member:
    member = session.get(Member, member_id) if is_storable_id(member_id) else None
    if member is None or member.timebank_id != timebank.id:
        raise ExchangeNotFound("There is no such member in your timebank.")
    if member.status != MemberStatus.APPROVED or member.account is None:
        raise Unavailable(f"{member.display_name} cannot receive time credit at the moment.", field="member_id")
    return member


def _require_coordinator(actor: Member) -> None:
    if not actor.is_coordinator or actor.timebank_id is None:
        raise NotAllowed("Only a coordinator can do this.")
