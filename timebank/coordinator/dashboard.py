"""The coordinator's dashboard: what needs action first, then how the timebank is doing.

One read, no writes, no Flask. Every number is a set-based query (GROUP BY and SUM(CASE ...)
over the ledger), scoped to the coordinator's own timebank; nothing loops over transfers in
Python and nothing is loaded one row at a time.

Hours exchanged are the ledger's posted movements of help (purpose EXCHANGE or ACTIVITY,
phase SINGLE or POST) counted on their value date, less every REVERSAL of such a movement on
the reversal's value date: the reports' own figures (``reports.service.ledger_months``), read
for closed months from their month summaries (stored at the close) and counted for the open
month, so the page does not read the timebank's whole history; categories are the exchange's
own (its listing's when it was recorded), as in the reports. Months are calendar months of the
timebank's own dates: ``today`` is the timebank's today (``clock.today_in``), and stored
timestamps (joined, approved, listed) are compared with local midnights converted to UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, case, exists, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session, joinedload

from ..charts import ChartData
from ..clock import local_midnight_utc, months_ending
from ..hours import hours_in_words
from ..ledger import limits_for
from ..ledger.limits import highest_possible_balance, lowest_possible_balance
from ..models import (
    Account,
    AccountKind,
    Exchange,
    ExchangeStatus,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    MemberStatus,
    Role,
    Timebank,
    Transfer,
)
from ..pagination import DEFAULT_PER_PAGE, Page, clamp_page
from ..reports.movements import posted_help
from ..reports.service import category_names, ledger_months
from .service import require_coordinator

# A request open longer than this, with no exchange on it, is worth a coordinator's nudge.
STALE_REQUEST_DAYS = 14
# Approved participants with no exchange for this long go on the outreach list.
OUTREACH_DAYS = 60
# Members approved within this many days are "new".
NEW_MEMBER_DAYS = 30
# A member within this much of their floor or cap is "near" it.
NEAR_LIMIT_MINUTES = 60
# The months in the hours chart, this month included.
MONTHS = 12
# How many of each kind of waiting item the dashboard shows (the counts are complete).
TOP_ITEMS = 5

HOUR = 60
AWAITING_APPROVAL = (ExchangeStatus.RECORDED, ExchangeStatus.CONFIRMED)
# Exchanges that never went anywhere do not count as a request being answered.
NOT_A_MATCH = (ExchangeStatus.DECLINED, ExchangeStatus.CANCELLED)
UNCATEGORISED = "No category"

T = TypeVar("T")


@dataclass(frozen=True)
class BalanceBucket:
    label: str
    low: int | None  # minutes, inclusive; None: no lower bound
    high: int | None  # minutes, exclusive; None: no upper bound


BALANCE_BUCKETS = (
    BalanceBucket("Below -5 hours", None, -5 * HOUR),
    BalanceBucket("-5 to under 0 hours", -5 * HOUR, 0),
    BalanceBucket("0 to under 5 hours", 0, 5 * HOUR),
    BalanceBucket("5 to under 10 hours", 5 * HOUR, 10 * HOUR),
    BalanceBucket("10 to under 20 hours", 10 * HOUR, 20 * HOUR),
    BalanceBucket("20 hours or more", 20 * HOUR, None),
)


# -- what the dashboard holds ------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeItem:
    exchange_id: int
    provider: str
    recipient: str
    minutes: int
    performed_on: date | None
    status: ExchangeStatus
    reason: str  # a dispute's "what is wrong"


@dataclass(frozen=True)
class PersonItem:
    member_id: int
    name: str
    since: datetime  # applied or approved


@dataclass(frozen=True)
class Waiting(Generic[T]):
    count: int
    top: list[T]  # the oldest TOP_ITEMS


@dataclass(frozen=True)
class MonthHours:
    month: date  # first day of the month
    minutes: int


@dataclass(frozen=True)
class CategoryHours:
    name: str
    minutes: int


@dataclass(frozen=True)
class NearLimit:
    member_id: int
    name: str
    balance: int
    limit: int
    room: int  # minutes left before the limit (negative: past it), counting reserved hours
    side: str  # "floor" or "cap"


@dataclass(frozen=True)
class StaleRequest:
    listing_id: int
    title: str
    member_id: int
    member_name: str
    listed_at: datetime


@dataclass(frozen=True)
class QuietMember:
    member_id: int
    name: str
    last_exchange: date | None  # None: never


@dataclass(frozen=True)
class CoordinatorDashboard:
    timebank: Timebank
    today: date
    awaiting_approval: Waiting[ExchangeItem]
    applications: Waiting[PersonItem]
    disputes: Waiting[ExchangeItem]
    months: list[MonthHours]  # oldest first; the last is this month
    categories: list[CategoryHours]  # over the same months, most hours first
    person_to_person_minutes: int
    person_to_agency_minutes: int
    near_limits: Waiting[NearLimit]  # the closest to (or past) a limit first; all on near_limits_page
    stale_requests: Waiting[StaleRequest]  # the oldest first; every one on stale_requests_page
    outreach: Waiting[QuietMember]  # the longest quiet first; every one on outreach_page
    new_members: list[PersonItem]
    balance_counts: list[int]  # members per BALANCE_BUCKETS entry

    @property
    def needs_action(self) -> int:
        return self.awaiting_approval.count + self.applications.count + self.disputes.count

    @property
    def this_month_minutes(self) -> int:
        return self.months[-1].minutes

    @property
    def last_month_minutes(self) -> int:
        return self.months[-2].minutes

    @property
    def month_change(self) -> str:
        """This month against last, in words: '2 hours more than last month'."""
        difference = self.this_month_minutes - self.last_month_minutes
        if difference == 0:
            return "the same as last month"
        return f"{hours_in_words(abs(difference))} {'more' if difference > 0 else 'less'} than last month"

    @property
    def window_start(self) -> date:
        return self.months[0].month

    @property
    def hours_chart(self) -> ChartData:
        return ChartData(
            title=f"Hours exchanged each month, {_month_name(self.months[0].month)} to "
            f"{_month_name(self.months[-1].month)}",
            labels=[_month_name(m.month) for m in self.months],
            values=[m.minutes / HOUR for m in self.months],
            unit="hours",
            short_labels=[f"{m.month:%b}" for m in self.months],
            groups=[str(m.month.year) for m in self.months],
        )

    @property
    def balance_chart(self) -> ChartData:
        return ChartData(
            title="Members by balance",
            labels=[bucket.label for bucket in BALANCE_BUCKETS],
            values=list(self.balance_counts),
            unit="members",
        )


def _month_name(month: date) -> str:
    return f"{month:%B} {month.year}"


# -- building it -----------------------------------------------------------------------------


def build_coordinator_dashboard(session: Session, coordinator: Member, today: date) -> CoordinatorDashboard:
    """Everything the coordinator's dashboard shows, for the coordinator's own timebank."""
    timebank_id = require_coordinator(coordinator)
    timebank = session.get(Timebank, timebank_id)
    assert timebank is not None
    months = months_ending(today, MONTHS)
    # Closed months from their stored summaries, the open month counted: the reports' figures.
    ledger = ledger_months(session, [timebank_id], months)
    per_month = [ledger[(timebank_id, month)] for month in months]
    return CoordinatorDashboard(
        timebank=timebank,
        today=today,
        awaiting_approval=_waiting_exchanges(session, timebank_id, AWAITING_APPROVAL),
        applications=_applications(session, timebank_id),
        disputes=_waiting_exchanges(session, timebank_id, (ExchangeStatus.DISPUTED,)),
        months=[MonthHours(month=month, minutes=m.minutes) for month, m in zip(months, per_month, strict=True)],
        categories=[
            CategoryHours(name, minutes)
            for name, minutes in category_names(session, [pair for m in per_month for pair in m.categories])
        ],
        person_to_person_minutes=sum(m.person_to_person_minutes for m in per_month),
        # The organisation's side of exchanges and group activities (where it pays or is paid).
        person_to_agency_minutes=sum(m.person_to_agency_minutes + m.group_activity_minutes for m in per_month),
        near_limits=_near_limits(session, timebank),
        stale_requests=_waiting_rows(session, _stale(timebank, today), StaleRequest),
        outreach=_outreach(session, timebank_id, today),
        new_members=_new_members(session, timebank, today),
        balance_counts=_balance_counts(session, timebank_id),
    )


# -- needs action ----------------------------------------------------------------------------


def _waiting_exchanges(
    session: Session, timebank_id: int, statuses: tuple[ExchangeStatus, ...]
) -> Waiting[ExchangeItem]:
    where = (Exchange.timebank_id == timebank_id, Exchange.status.in_(statuses))
    count = session.scalar(select(func.count(Exchange.id)).where(*where)) or 0
    oldest = session.scalars(
        select(Exchange)
        .where(*where)
        .options(joinedload(Exchange.provider_account), joinedload(Exchange.recipient_account))
        .order_by(Exchange.updated_at, Exchange.id)
        .limit(TOP_ITEMS)
    ).unique()
    return Waiting(
        count=count,
        top=[
            ExchangeItem(
                exchange_id=e.id,
                provider=e.provider_account.name,
                recipient=e.recipient_account.name,
                minutes=e.minutes or 0,
                performed_on=e.performed_on,
                status=e.status,
                reason=e.decision_reason,
            )
            for e in oldest
        ],
    )


def _applications(session: Session, timebank_id: int) -> Waiting[PersonItem]:
    where = (Member.timebank_id == timebank_id, Member.status == MemberStatus.APPLIED)
    count = session.scalar(select(func.count(Member.id)).where(*where)) or 0
    rows = session.execute(
        select(Member.id, Member.display_name, Member.created_at)
        .where(*where)
        .order_by(Member.created_at, Member.id)
        .limit(TOP_ITEMS)
    )
    return Waiting(count=count, top=[PersonItem(*row) for row in rows])


# -- members ---------------------------------------------------------------------------------


def _member_accounts(timebank_id: int) -> Select[tuple[Account, Member]]:
    """Approved members' accounts in the timebank."""
    return (
        select(Account, Member)
        .join(Member, Member.id == Account.member_id)
        .where(
            Account.timebank_id == timebank_id,
            Account.kind == AccountKind.MEMBER,
            # Also said of the member (the same timebank as their account), so both sides are
            # read through their timebank index instead of scanning every member.
            Member.timebank_id == timebank_id,
            Member.status == MemberStatus.APPROVED,
        )
    )


def _near(timebank: Timebank) -> Select[tuple[Account, Member, str]]:
    """Approved members within NEAR_LIMIT_MINUTES of their floor or cap (or past it), counting
    every reserved hour as the ledger does when it checks a new movement: one row per limit
    they are near, the least room first, then by name.

    The database picks and orders the few accounts near a limit (the same sums as limits.py,
    with the timebank's defaults standing in for limits a member has not got), so a timebank of
    thousands never loads every account; ``_near_limit`` then words each row with the ledger's
    own ``limits_for``."""
    floor = func.coalesce(Account.floor_minutes, timebank.default_floor_minutes)
    cap = func.coalesce(Account.cap_minutes, timebank.default_cap_minutes)
    lowest = Account.credits_posted - Account.debits_posted - Account.debits_pending
    highest = Account.credits_posted + Account.credits_pending - Account.debits_posted
    near = (
        _member_accounts(timebank.id)
        .with_only_columns(
            Account.id.label("account_id"), (lowest - floor).label("floor_room"), (cap - highest).label("cap_room")
        )
        .where(or_(lowest - floor <= NEAR_LIMIT_MINUTES, cap - highest <= NEAR_LIMIT_MINUTES))
        .cte("near")
    )
    # A member near both limits (a narrow band) is a row for each.
    floor_side = select(near.c.account_id, literal_column("'floor'").label("side"), near.c.floor_room.label("room"))
    cap_side = select(near.c.account_id, literal_column("'cap'"), near.c.cap_room)
    sides = union_all(
        floor_side.where(near.c.floor_room <= NEAR_LIMIT_MINUTES),
        cap_side.where(near.c.cap_room <= NEAR_LIMIT_MINUTES),
    ).subquery("sides")
    return (
        select(Account, Member, sides.c.side)
        .join(sides, sides.c.account_id == Account.id)
        .join(Member, Member.id == Account.member_id)
        .order_by(sides.c.room, Member.display_name, Member.id, sides.c.side)
    )


def _near_limit(timebank: Timebank) -> Any:
    """Words a row of ``_near``: the limit is the ledger's own (``limits_for``)."""

    def word(account: Account, member: Member, side: str) -> NearLimit:
        limits = limits_for(account, timebank)
        if side == "floor":
            assert limits.floor is not None  # the query found the account near its floor
            room = lowest_possible_balance(account) - limits.floor
            return NearLimit(member.id, member.display_name, account.balance_minutes, limits.floor, room, side)
        assert limits.cap is not None
        room = limits.cap - highest_possible_balance(account)
        return NearLimit(member.id, member.display_name, account.balance_minutes, limits.cap, room, side)

    return word


def _near_limits(session: Session, timebank: Timebank) -> Waiting[NearLimit]:
    return _waiting_rows(session, _near(timebank), _near_limit(timebank))


def near_limits_page(session: Session, coordinator: Member, page: int | None) -> Page[NearLimit]:
    """Every member near a limit, a page at a time (the dashboard shows the closest few)."""
    timebank = _own_timebank(session, coordinator)
    return _rows_page(session, _near(timebank), page, _near_limit(timebank))


def _stale(timebank: Timebank, today: date) -> Select[tuple[int, str, int, str, datetime]]:
    """Open requests listed more than STALE_REQUEST_DAYS days ago that no exchange answers,
    the oldest first."""
    listed_before = local_midnight_utc(today - timedelta(days=STALE_REQUEST_DAYS), timebank.time_zone)
    answered = exists().where(Exchange.listing_id == Listing.id, Exchange.status.not_in(NOT_A_MATCH))
    return (
        select(Listing.id, Listing.title, Member.id, Member.display_name, Listing.created_at)
        .join(Member, Member.id == Listing.member_id)
        .where(
            Listing.timebank_id == timebank.id,
            Listing.kind == ListingKind.REQUEST,
            Listing.status == ListingStatus.OPEN,
            or_(Listing.ends_on.is_(None), Listing.ends_on >= today),
            Listing.created_at < listed_before,
            ~answered,
        )
        .order_by(Listing.created_at, Listing.id)
    )


def stale_requests_page(session: Session, coordinator: Member, today: date, page: int | None) -> Page[StaleRequest]:
    """Every request waiting for an answer, a page at a time (the dashboard shows the oldest few)."""
    return _rows_page(session, _stale(_own_timebank(session, coordinator), today), page, StaleRequest)


def _quiet_members(timebank_id: int, today: date) -> Select[tuple[int, str, date | None]]:
    """Approved participants with no posted exchange or activity in the last OUTREACH_DAYS days
    (or none ever), longest quiet first: (member id, name, last day of help or None).

    Each account is probed in the partial indexes of help by (account, day) (``Transfer``'s
    ix_transfers_help_*_day), so the cost grows with the timebank's members, never with its
    history: "none recently" is one probe per side, the last day one more for the quiet."""

    def help_of(side: Any) -> Any:
        return (side == Account.id, *posted_help(Transfer))

    cutoff = today - timedelta(days=OUTREACH_DAYS)
    recent = [
        exists().where(*help_of(side), Transfer.value_date > cutoff)
        for side in (Transfer.debit_account_id, Transfer.credit_account_id)
    ]
    sides = union_all(
        *(
            select(Transfer.value_date).where(*help_of(side)).correlate(Account)
            for side in (Transfer.debit_account_id, Transfer.credit_account_id)
        )
    ).subquery("help_days")
    last_day = select(func.max(sides.c.value_date)).scalar_subquery().label("last_day")
    return (
        select(Member.id, Member.display_name, last_day)
        .join(Account, Account.member_id == Member.id)
        .where(
            Member.timebank_id == timebank_id,
            Member.status == MemberStatus.APPROVED,
            Member.role == Role.PARTICIPANT,
            Account.timebank_id == timebank_id,
            ~recent[0],
            ~recent[1],
        )
        .order_by(last_day.asc().nulls_first(), Member.display_name, Member.id)
    )


def _outreach(session: Session, timebank_id: int, today: date) -> Waiting[QuietMember]:
    """How many participants are quiet and the TOP_ITEMS quiet longest, in one statement."""
    return _waiting_rows(session, _quiet_members(timebank_id, today), QuietMember)


def outreach_page(session: Session, coordinator: Member, today: date, page: int | None) -> Page[QuietMember]:
    """Every quiet participant, a page at a time (the dashboard shows the first few)."""
    return _rows_page(session, _quiet_members(require_coordinator(coordinator), today), page, QuietMember)


# -- lists shown in part ---------------------------------------------------------------------


def _own_timebank(session: Session, coordinator: Member) -> Timebank:
    timebank = session.get(Timebank, require_coordinator(coordinator))
    assert timebank is not None
    return timebank


def _waiting_rows(session: Session, query: Select[Any], item: Callable[..., T]) -> Waiting[T]:
    """The count and the first TOP_ITEMS rows of an ordered query, in one statement (a window
    count beside the rows), each row made into an item."""
    rows = session.execute(query.add_columns(func.count().over()).limit(TOP_ITEMS)).all()
    return Waiting(count=rows[0][-1] if rows else 0, top=[item(*row[:-1]) for row in rows])


def _rows_page(session: Session, query: Select[Any], page: int | None, item: Callable[..., T]) -> Page[T]:
    """One page of an ordered query's rows (``pagination.page_of`` for rows of several columns):
    the count, the page moved into range, that page's rows made into items."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number = clamp_page(page, total, DEFAULT_PER_PAGE)
    rows = session.execute(query.offset((number - 1) * DEFAULT_PER_PAGE).limit(DEFAULT_PER_PAGE))
    return Page(items=[item(*row) for row in rows], page=number, per_page=DEFAULT_PER_PAGE, total=total)


def _new_members(session: Session, timebank: Timebank, today: date) -> list[PersonItem]:
    since = local_midnight_utc(today - timedelta(days=NEW_MEMBER_DAYS), timebank.time_zone)
    rows = session.execute(
        select(Member.id, Member.display_name, Member.approved_at)
        .where(
            Member.timebank_id == timebank.id,
            Member.status == MemberStatus.APPROVED,
            Member.approved_at >= since,
        )
        .order_by(Member.approved_at.desc(), Member.id)
    )
    return [PersonItem(*row) for row in rows]


def _balance_counts(session: Session, timebank_id: int) -> list[int]:
    """Approved members per BALANCE_BUCKETS entry, in one row."""
    balance = Account.credits_posted - Account.debits_posted
    columns = []
    for bucket in BALANCE_BUCKETS:
        conditions = []
        if bucket.low is not None:
            conditions.append(balance >= bucket.low)
        if bucket.high is not None:
            conditions.append(balance < bucket.high)
        columns.append(func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0))
    row = session.execute(
        select(*columns)
        .select_from(Account)
        .join(Member, Member.id == Account.member_id)
        .where(
            Account.timebank_id == timebank_id,
            Account.kind == AccountKind.MEMBER,
            Member.timebank_id == timebank_id,  # read through the timebank's index, as above
            Member.status == MemberStatus.APPROVED,
        )
    ).one()
    return [int(count) for count in row]
