"""Members and their accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, or_, select, union_all
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from ..auth.passwords import hash_password
from ..hours import hours_in_words
from ..models import (
    Account,
    AccountKind,
    Activity,
    ActivityAttendee,
    Exchange,
    Member,
    MemberStatus,
    Role,
    Timebank,
    Transfer,
    TransferPhase,
    TransferPurpose,
    utcnow,
)


class MemberError(ValueError):
    pass


def normalise_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return email or None


def create_member(
    session: Session,
    *,
    timebank: Timebank | None,
    display_name: str,
    email: str | None,
    role: Role = Role.PARTICIPANT,
    status: MemberStatus = MemberStatus.APPLIED,
    password: str | None = None,
    is_admin: bool = False,
    phone: str | None = None,
) -> Member:
    """A member, and (inside a timebank) their account. Flushes; the caller commits."""
    email = normalise_email(email)
    if email and session.scalar(select(Member.id).where(Member.email == email)) is not None:
        raise MemberError("Someone is already registered with that email address.")
    member = Member(
        timebank_id=timebank.id if timebank else None,
        display_name=display_name.strip(),
        email=email,
        role=role,
        status=status,
        is_admin=is_admin,
        phone=phone,
        password_hash=hash_password(password) if password else None,
        approved_at=utcnow() if status == MemberStatus.APPROVED else None,
    )
    session.add(member)
    session.flush()
    if timebank is not None:
        session.add(
            Account(timebank_id=timebank.id, kind=AccountKind.MEMBER, member_id=member.id, name=member.display_name)
        )
        session.flush()
    return member


@dataclass(frozen=True)
class HistoryLine:
    """One posted movement seen from one account, with the balance after it."""

    transfer_id: int
    value_date: date
    description: str
    other_party: str
    purpose: TransferPurpose
    change_minutes: int  # positive: earned or received; negative: spent or given
    balance_after_minutes: int
    # The day the help happened (an exchange's or a group activity's), where it differs from the
    # day the credits moved (the approval): members remember the help, not the approval.
    happened_on: date | None = None

    @property
    def day(self) -> date:
        """The day to show: when the help happened, else when the credits moved."""
        return self.happened_on or self.value_date


def history_words(line: HistoryLine) -> str:
    """One posted movement in plain words, from the member's side. "Gave" always means time
    given as help, so a member reads the same sentence on every page."""
    amount = hours_in_words(abs(line.change_minutes))
    earned = line.change_minutes > 0
    if line.purpose in (TransferPurpose.EXCHANGE, TransferPurpose.ACTIVITY):
        return f"You earned {amount} helping {line.other_party}" if earned else (
            f"You spent {amount}: {line.other_party} helped you"
        )
    if line.purpose == TransferPurpose.DONATION and not earned:
        return f"You gave {amount} to the community pool"
    if line.purpose == TransferPurpose.REVERSAL:
        return f"{amount} given back to you (a correction)" if earned else f"{amount} taken back (a correction)"
    return f"You got {amount} from {line.other_party}" if earned else f"{amount} went to {line.other_party}"


def account_history(session: Session, account: Account, limit: int = 50) -> list[HistoryLine]:
    """The account's latest posted movements, newest first, each with its running balance.

    Pending reservations are not history; they are shown separately as "waiting for approval".
    """
    # The latest `limit` on each side, read backwards along the (account, id) indexes, then the
    # latest `limit` of those. One "debit = x OR credit = x ... ORDER BY id DESC LIMIT n" lets
    # PostgreSQL walk the whole transfers table backwards by id looking for the account's rows
    # (0.55 s at 5M transfers for a member of an early timebank).
    def latest(side: InstrumentedAttribute[int]) -> Select[tuple[int]]:
        ids = (
            select(Transfer.id)
            .where(side == account.id, Transfer.phase.in_([TransferPhase.SINGLE, TransferPhase.POST]))
            .order_by(Transfer.id.desc())
            .limit(limit)
            .subquery()
        )
        return select(ids.c.id)

    candidates = union_all(latest(Transfer.debit_account_id), latest(Transfer.credit_account_id)).subquery()
    rows = session.scalars(
        select(Transfer)
        .where(Transfer.id.in_(select(candidates.c.id)))
        .options(joinedload(Transfer.debit_account), joinedload(Transfer.credit_account))
        .order_by(Transfer.id.desc())
        .limit(limit)
    ).all()
    balance = account.balance_minutes
    happened = _days_the_help_happened(session, rows)
    lines = []
    for transfer in rows:
        incoming = transfer.credit_account_id == account.id
        change = transfer.amount_minutes if incoming else -transfer.amount_minutes
        other = transfer.debit_account if incoming else transfer.credit_account
        lines.append(
            HistoryLine(
                transfer_id=transfer.id,
                value_date=transfer.value_date,
                description=transfer.memo,
                other_party=other.name,
                purpose=transfer.purpose,
                change_minutes=change,
                balance_after_minutes=balance,
                happened_on=happened.get(transfer.id),
            )
        )
        balance -= change
    return lines


def _days_the_help_happened(session: Session, transfers: Sequence[Transfer]) -> dict[int, date]:
    """Transfer id -> the day of the exchange or group activity it paid for (two queries)."""
    days: dict[int, date] = {}
    reservation_of = {t.id: t.pending_id or t.id for t in transfers if t.purpose == TransferPurpose.EXCHANGE}
    if reservation_of:
        performed: dict[int, date] = {}
        for reservation_id, day in session.execute(
            select(Exchange.pending_transfer_id, Exchange.performed_on).where(
                Exchange.pending_transfer_id.in_(set(reservation_of.values()))
            )
        ).tuples():
            if reservation_id is not None and day is not None:
                performed[reservation_id] = day
        days.update({tid: performed[rid] for tid, rid in reservation_of.items() if rid in performed})
    activity_ids = [t.id for t in transfers if t.purpose == TransferPurpose.ACTIVITY]
    if activity_ids:
        held = session.execute(
            select(ActivityAttendee.transfer_id, Activity.held_on)
            .join(Activity, Activity.id == ActivityAttendee.activity_id)
            .where(ActivityAttendee.transfer_id.in_(activity_ids))
        ).tuples()
        days.update({tid: day for tid, day in held if tid is not None})
    return days


def pending_transfers(session: Session, account: Account) -> list[Transfer]:
    """Reservations on the account that are not yet posted or voided."""
    resolved = select(Transfer.pending_id).where(Transfer.pending_id.is_not(None))
    return list(
        session.scalars(
            select(Transfer)
            .where(
                or_(Transfer.debit_account_id == account.id, Transfer.credit_account_id == account.id),
                Transfer.phase == TransferPhase.PENDING,
                Transfer.id.not_in(resolved),
            )
            .order_by(Transfer.id.desc())
        )
    )
