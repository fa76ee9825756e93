"""The timebank monthly report and the network report, as set-based SQL aggregates.

What counts (one set of rules for the web page, the CSV, the PDF and the API):

- Months are calendar months in the timebank's own time zone. Ledger movements count on their
  value date, exchanges on the day the help happened (``performed_on``), group activities on
  the day they were held (``held_on``), and stored UTC timestamps (a member approved or leaving,
  a request listed) between the local midnights that start and end the month.
- **Hours exchanged**: the ledger's posted movements of help (purpose EXCHANGE or ACTIVITY,
  phase SINGLE or POST) in the month, less every reversal of such a movement dated in the month
  (as the coordinator dashboard counts them). They split into person to person, person to
  agency (the organisation's account on one side of an exchange) and group activity hours,
  and by category (the exchange's category, or the activity's; "No category" otherwise).
- **Exchanges**: exchanges approved (and not reversed since) whose help happened in the month;
  **group activities**: activities held in the month.
- **Active participants**: members whose account gave or received posted help in the month.
  **New members**: approved in the month; **leaving members**: ``left_at`` in the month.
- **Reciprocity**: of the members active in the three months ending with the report month, the
  share who both gave and received in those months.
- **Requests**: request listings created in the month; *met* when at least one exchange on the
  listing reached approval (approved, or approved and reversed later). The time from request to
  match runs from the listing's creation to the first exchange made on it that was not declined
  or cancelled; the report gives the median over the month's requests that have one.
- **Value** (optional): hours x the timebank's ``hour_value_pence``, an estimate for funders.

Every figure is one grouped query over all the months and timebanks asked for (GROUP BY
timebank and month), so the number of queries is the same for one timebank or five hundred, for
ten transfers or five million. The median is the one figure finished in Python: SQLite has no
``percentile_cont``, so one query fetches just the per-request durations (a single column beside
the timebank's id) and ``statistics.median`` takes the middle.

Closed months: the figures that come only from the ledger (hours, by kind and category, active
participants, reciprocity) are stored in a ``MonthSummary`` when the month closes and read from
there (``ledger_months``; see "the ledger's figures of a month" below), so a page counts
transfers only for its open month, however long the history.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    String,
    and_,
    case,
    exists,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import Subquery

from ..admin.service import require_admin
from ..audit.service import record as audit
from ..audit.service import safe_cell
from ..charts import ChartData
from ..clock import local_midnight_utc, month_start, months_ending, next_month, parse_month_code, today_in
from ..coordinator.service import require_coordinator
from ..duties.history import SelfApprovalMonth, self_approval_during
from ..hours import SPREADSHEET_HOURS_HEADING, hours_for_spreadsheet
from ..ledger import write_transaction
from ..models import (
    Account,
    AccountKind,
    Activity,
    ActivityAttendee,
    Category,
    Exchange,
    ExchangeStatus,
    Listing,
    ListingKind,
    Member,
    MonthSummary,
    Period,
    Timebank,
    Transfer,
    TransferPurpose,
)
from .errors import InvalidReportRequest
from .movements import help_movements, posted_help

HOUR = 60
TREND_MONTHS = 12  # the trend charts: the report month and the eleven before it
RECIPROCITY_MONTHS = 3  # reciprocity looks at the report month and the two before it
# An hour's value above this (a thousand pounds) is a typing slip, not an estimate.
HOUR_VALUE_MAX_PENCE = 100_000
EARLIEST_MONTH = date(2000, 1, 1)
MONTH_CHOICES = 36  # how many months the report page offers to choose from
UNCATEGORISED = "No category"

# An exchange that reached approval (a reversal later does not undo that the request was met).
REACHED_APPROVAL = (ExchangeStatus.APPROVED, ExchangeStatus.REVERSED)
# Exchanges that never went anywhere are not a match for a request.
NOT_A_MATCH = (ExchangeStatus.DECLINED, ExchangeStatus.CANCELLED)

PERSON, AGENCY, GROUP = "person", "agency", "group"


# -- months ------------------------------------------------------------------------------------


def month_name(month: date) -> str:
    return f"{month:%B} {month.year}"


def parse_month(text: str) -> date:
    """'2026-03' (what the month picker sends) -> 1 March 2026."""
    month = parse_month_code(text)
    if month is None:
        raise InvalidReportRequest("Choose a month, for example 2026-03 for March 2026.", field="month")
    return month


def month_choices(today: date, count: int = MONTH_CHOICES) -> list[date]:
    """The months a report page offers, newest first: this month and the ones before it."""
    return months_ending(today, count)[::-1]


def _checked_month(month: date, today: date) -> date:
    month = month_start(month)
    if month > month_start(today):
        raise InvalidReportRequest(f"{month_name(month)} has not started yet. Choose an earlier month.", field="month")
    if month < EARLIEST_MONTH:
        raise InvalidReportRequest(f"Choose a month from {month_name(EARLIEST_MONTH)} onwards.", field="month")
    return month


class _Window:
    """Consecutive months, for timebanks in ``zones``: SQL conditions saying which month a date
    or a stored timestamp falls in.

    Each month boundary is one bound parameter, made once and reused by every condition that
    needs it: building a report's CASE expressions then costs little Python, and the statement
    sends each boundary once."""

    def __init__(self, months: Sequence[date], zones: Sequence[str]) -> None:
        self.months = tuple(months)
        self.zones = tuple(zones)
        edges = [*self.months, next_month(self.months[-1])]
        self._days = [literal(edge, Date()) for edge in edges]
        self._moments = {
            zone: [literal(local_midnight_utc(edge, zone), DateTime()) for edge in edges] for zone in self.zones
        }
        self._zones = {zone: literal(zone, String()) for zone in self.zones}
        self._indexes: list[ColumnElement[Any]] = [literal_column(str(i)) for i in range(len(self.months))]

    @property
    def start(self) -> date:
        return self.months[0]

    @property
    def end(self) -> date:
        return next_month(self.months[-1])

    def day_within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self._days[0], column < self._days[-1])

    def day_index(self, column: Any) -> ColumnElement[Any]:
        days = self._days
        return case(
            *[(and_(column >= days[i], column < days[i + 1]), self._indexes[i]) for i in range(len(self.months))],
            else_=None,
        )

    def moment_in(self, column: Any, zone: Any, first: int, last: int | None = None) -> ColumnElement[bool]:
        """``column`` (UTC) falls in months[first..last] in its timebank's zone (``zone``)."""
        after = (first if last is None else last) + 1
        conditions = [and_(column >= self._moments[z][first], column < self._moments[z][after]) for z in self.zones]
        if len(self.zones) == 1:
            return conditions[0]
        return or_(*[and_(zone == self._zones[z], c) for z, c in zip(self.zones, conditions, strict=True)])

    def moment_within(self, column: Any, zone: Any) -> ColumnElement[bool]:
        return self.moment_in(column, zone, 0, len(self.months) - 1)

    def moment_index(self, column: Any, zone: Any) -> ColumnElement[Any]:
        return case(
            *[(self.moment_in(column, zone, i), self._indexes[i]) for i in range(len(self.months))],
            else_=None,
        )


# -- what a report holds -----------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The headline figures of one timebank (or the network) for one month. Minutes are ints."""

    month: date
    minutes: int = 0  # hours exchanged, net of reversals
    person_to_person_minutes: int = 0
    person_to_agency_minutes: int = 0
    group_activity_minutes: int = 0
    exchanges: int = 0
    activities: int = 0
    active_participants: int = 0
    new_members: int = 0
    leaving_members: int = 0
    requests_made: int = 0
    requests_met: int = 0

    @property
    def requests_unmet(self) -> int:
        return self.requests_made - self.requests_met


@dataclass(frozen=True)
class Reciprocity:
    """Members active in the three months ending with the report month, and how many of them
    both gave and received."""

    active_members: int = 0
    both_ways: int = 0

    @property
    def percent(self) -> int | None:
        """The share as a whole percentage (None when nobody was active)."""
        if not self.active_members:
            return None
        return (200 * self.both_ways + self.active_members) // (2 * self.active_members)  # rounded half up


@dataclass(frozen=True)
class CategoryMinutes:
    name: str
    minutes: int


@dataclass(frozen=True)
class Measure:
    """One line of the month-on-month comparison. ``kind``: "hours" (values in minutes) or "count"."""

    label: str
    kind: str
    this_month: int
    previous_month: int

    @property
    def change(self) -> int:
        return self.this_month - self.previous_month


def value_pence(minutes: int, hour_value_pence: int | None) -> int | None:
    """Hours x the value of an hour, in whole pence (rounded half away from zero)."""
    if hour_value_pence is None:
        return None
    amount = abs(minutes) * hour_value_pence
    pence = (amount + HOUR // 2) // HOUR
    return -pence if minutes < 0 else pence


def format_pence(pence: int) -> str:
    """'£1,234.50'."""
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{rest:02d}"


def duration_words(minutes: int) -> str:
    """'3 days 4 hours', '5 hours 10 minutes', '20 minutes'."""
    days, rest = divmod(minutes, 24 * HOUR)
    hours, mins = divmod(rest, HOUR)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if mins and not days:
        parts.append(f"{mins} minute{'s' if mins != 1 else ''}")
    return " ".join(parts) or "under a minute"


def _trend_chart(title: str, figures: Sequence[Figures], values: Sequence[float], unit: str) -> ChartData:
    return ChartData(
        title=title,
        labels=[month_name(f.month) for f in figures],
        values=list(values),
        unit=unit,
        short_labels=[f"{f.month:%b}" for f in figures],
        groups=[str(f.month.year) for f in figures],
    )


@dataclass(frozen=True)
class MonthlyReport:
    timebank_id: int
    timebank_name: str
    organisation_name: str
    month: date  # the first day of the report month
    today: date  # in the timebank's time zone, when the report was made
    figures: Figures  # the report month
    previous: Figures  # the month before it
    trend: tuple[Figures, ...]  # TREND_MONTHS months, oldest first, ending with the report month
    categories: tuple[CategoryMinutes, ...]  # most hours first
    reciprocity: Reciprocity
    requests_matched: int  # the month's requests with a first match (the median's sample)
    median_minutes_to_match: int | None
    hour_value_pence: int | None
    # Whether the coordinator could approve their own items during the month, and what they
    # approved that way (``duties``): a report must say so.
    self_approval: SelfApprovalMonth = field(
        default_factory=lambda: SelfApprovalMonth(
            on_at_start=False, switched_on=0, switched_off=0, on_at_end=False, items=()
        )
    )

    @property
    def month_label(self) -> str:
        return month_name(self.month)

    @property
    def is_partial(self) -> bool:
        """The month is not over yet: its figures are so far."""
        return self.month == month_start(self.today)

    @property
    def value_pence(self) -> int | None:
        return value_pence(self.figures.minutes, self.hour_value_pence)

    @property
    def previous_value_pence(self) -> int | None:
        return value_pence(self.previous.minutes, self.hour_value_pence)

    @property
    def comparison(self) -> list[Measure]:
        this, before = self.figures, self.previous
        return [
            Measure("Hours exchanged", "hours", this.minutes, before.minutes),
            Measure("Exchanges", "count", this.exchanges, before.exchanges),
            Measure("Group activities", "count", this.activities, before.activities),
            Measure("Active participants", "count", this.active_participants, before.active_participants),
            Measure("New members", "count", this.new_members, before.new_members),
            Measure("Members who left", "count", this.leaving_members, before.leaving_members),
            Measure("Requests listed", "count", this.requests_made, before.requests_made),
            Measure("Requests met", "count", this.requests_met, before.requests_met),
        ]

    @property
    def kinds(self) -> list[CategoryMinutes]:
        """Hours by kind of exchange, in a fixed order."""
        f = self.figures
        return [
            CategoryMinutes("Between members", f.person_to_person_minutes),
            CategoryMinutes(f"With {self.organisation_name}", f.person_to_agency_minutes),
            CategoryMinutes("Group activities", f.group_activity_minutes),
        ]

    @property
    def hours_trend_chart(self) -> ChartData:
        return _trend_chart(
            f"Hours exchanged each month, {month_name(self.trend[0].month)} to {self.month_label}",
            self.trend,
            [f.minutes / HOUR for f in self.trend],
            "hours",
        )

    @property
    def exchanges_trend_chart(self) -> ChartData:
        return _trend_chart(
            f"Exchanges each month, {month_name(self.trend[0].month)} to {self.month_label}",
            self.trend,
            [f.exchanges for f in self.trend],
            "exchanges",
        )

    @property
    def active_trend_chart(self) -> ChartData:
        return _trend_chart(
            f"Active participants each month, {month_name(self.trend[0].month)} to {self.month_label}",
            self.trend,
            [f.active_participants for f in self.trend],
            "members",
        )

    @property
    def categories_chart(self) -> ChartData:
        return ChartData(
            title=f"Hours by category, {self.month_label}",
            labels=[c.name for c in self.categories],
            values=[c.minutes / HOUR for c in self.categories],
            unit="hours",
        )

    @property
    def kinds_chart(self) -> ChartData:
        return ChartData(
            title=f"Hours by kind of exchange, {self.month_label}",
            labels=[k.name for k in self.kinds],
            values=[k.minutes / HOUR for k in self.kinds],
            unit="hours",
        )


@dataclass(frozen=True)
class NetworkRow:
    timebank_id: int
    name: str
    figures: Figures
    reciprocity: Reciprocity
    median_minutes_to_match: int | None
    hour_value_pence: int | None

    @property
    def value_pence(self) -> int | None:
        return value_pence(self.figures.minutes, self.hour_value_pence)


@dataclass(frozen=True)
class NetworkReport:
    month: date
    today: date
    rows: tuple[NetworkRow, ...]  # every timebank, by name
    totals: Figures
    reciprocity: Reciprocity  # members are in one timebank each, so the counts add up
    median_minutes_to_match: int | None  # over every timebank's requests
    value_pence: int | None  # the sum over timebanks that set a value; None if none did

    @property
    def month_label(self) -> str:
        return month_name(self.month)

    @property
    def is_partial(self) -> bool:
        return self.month == month_start(self.today)


# -- the figures, one grouped query each ------------------------------------------------------


Scope = Callable[[Any], ColumnElement[bool]]


def _scope(timebank_ids: Sequence[int] | None) -> Scope:
    """A condition on a timebank_id column: the timebanks asked for (None: every one)."""
    if timebank_ids is None:
        return lambda _column: true()
    ids = list(timebank_ids)
    return lambda column: column.in_(ids)


@dataclass
class _Tally:
    """Figures per (timebank id, month index), filled query by query."""

    months: tuple[date, ...]
    values: dict[tuple[int, int], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, timebank_id: int, index: int | None, name: str, value: Any) -> None:
        if index is None:
            return
        slot = self.values[(int(timebank_id), int(index))]
        slot[name] = slot.get(name, 0) + int(value or 0)


def _not_member_accounts(scope: Scope, *kinds: AccountKind) -> Select[tuple[int]]:
    """The ids of the scope's organisation (and pool) accounts: two per timebank, found through
    the partial index on non-member accounts. Movements are tested against this short list
    instead of joining every account of the installation."""
    wanted = kinds or (AccountKind.ORGANISATION, AccountKind.POOL)
    return select(Account.id).where(
        scope(Account.timebank_id), Account.kind != AccountKind.MEMBER, Account.kind.in_(wanted)
    )


def _count_hours(session: Session, tally: _Tally, movements: Subquery, scope: Scope, window: _Window) -> None:
    """Net minutes per timebank, month and kind (person to person, agency, group activity)."""
    organisations = _not_member_accounts(scope, AccountKind.ORGANISATION)
    agency = or_(movements.c.debit_account_id.in_(organisations), movements.c.credit_account_id.in_(organisations))
    kind = case(
        (movements.c.purpose == TransferPurpose.ACTIVITY, literal(GROUP)),
        (agency, literal(AGENCY)),
        else_=literal(PERSON),
    )
    inner = select(
        movements.c.timebank_id,
        window.day_index(movements.c.value_date).label("month"),
        kind.label("kind"),
        movements.c.minutes,
    ).subquery("help_kinds")
    rows = session.execute(
        select(inner.c.timebank_id, inner.c.month, inner.c.kind, func.sum(inner.c.minutes)).group_by(
            inner.c.timebank_id, inner.c.month, inner.c.kind
        )
    )
    names = {PERSON: "person_to_person_minutes", AGENCY: "person_to_agency_minutes", GROUP: "group_activity_minutes"}
    for timebank_id, month, kind_name, minutes in rows:
        tally.add(timebank_id, month, names[kind_name], minutes)
        tally.add(timebank_id, month, "minutes", minutes)


def _help_sides(scope: Scope, start: date, end: date) -> Subquery:
    """Each member account on either side of a posted movement of help between ``start`` and
    ``end``: gave = 1 on the credited (providing) side, received = 1 on the debited side."""
    where = (
        scope(Transfer.timebank_id),
        *posted_help(Transfer),
        Transfer.value_date >= start,
        Transfer.value_date < end,
    )
    sides = union_all(
        select(
            Transfer.timebank_id.label("timebank_id"),
            Transfer.credit_account_id.label("account_id"),
            Transfer.value_date.label("value_date"),
            literal(1).label("gave"),
            literal(0).label("received"),
        ).where(*where),
        select(Transfer.timebank_id, Transfer.debit_account_id, Transfer.value_date, literal(0), literal(1)).where(
            *where
        ),
    ).subquery("help_sides")
    return select(sides).where(sides.c.account_id.not_in(_not_member_accounts(scope))).subquery("member_sides")


def _count_active(session: Session, tally: _Tally, scope: Scope, window: _Window) -> None:
    sides = _help_sides(scope, window.start, window.end)
    inner = select(
        sides.c.timebank_id, window.day_index(sides.c.value_date).label("month"), sides.c.account_id
    ).subquery("active_sides")
    rows = session.execute(
        select(inner.c.timebank_id, inner.c.month, func.count(func.distinct(inner.c.account_id))).group_by(
            inner.c.timebank_id, inner.c.month
        )
    )
    for timebank_id, month, count in rows:
        tally.add(timebank_id, month, "active_participants", count)


def _count_by_day(
    session: Session, tally: _Tally, name: str, timebank_id: Any, day: Any, window: _Window, *where: Any
) -> None:
    inner = (
        select(timebank_id.label("timebank_id"), window.day_index(day).label("month"))
        .where(window.day_within(day), *where)
        .subquery(f"{name}_days")
    )
    rows = session.execute(
        select(inner.c.timebank_id, inner.c.month, func.count()).group_by(inner.c.timebank_id, inner.c.month)
    )
    for tb_id, month, count in rows:
        tally.add(tb_id, month, name, count)


def _count_members(session: Session, tally: _Tally, scope: Scope, window: _Window) -> None:
    """New (approved) and leaving members per month, in one row per timebank."""
    zone = Timebank.time_zone
    months = range(len(window.months))
    joined = [func.sum(case((window.moment_in(Member.approved_at, zone, i), 1), else_=0)) for i in months]
    left = [func.sum(case((window.moment_in(Member.left_at, zone, i), 1), else_=0)) for i in months]
    rows = session.execute(
        select(Member.timebank_id, *joined, *left)
        .join(Timebank, Timebank.id == Member.timebank_id)
        .where(
            scope(Member.timebank_id),
            or_(window.moment_within(Member.approved_at, zone), window.moment_within(Member.left_at, zone)),
        )
        .group_by(Member.timebank_id)
    )
    count = len(window.months)
    for row in rows:
        for i in months:
            tally.add(row[0], i, "new_members", row[1 + i])
            tally.add(row[0], i, "leaving_members", row[1 + count + i])


def _count_requests(session: Session, tally: _Tally, scope: Scope, window: _Window) -> None:
    met = exists().where(Exchange.listing_id == Listing.id, Exchange.status.in_(REACHED_APPROVAL))
    inner = (
        select(
            Listing.timebank_id.label("timebank_id"),
            window.moment_index(Listing.created_at, Timebank.time_zone).label("month"),
            case((met, 1), else_=0).label("met"),
        )
        .join(Timebank, Timebank.id == Listing.timebank_id)
        .where(
            scope(Listing.timebank_id),
            Listing.kind == ListingKind.REQUEST,
            window.moment_within(Listing.created_at, Timebank.time_zone),
        )
        .subquery("requests")
    )
    rows = session.execute(
        select(inner.c.timebank_id, inner.c.month, func.count(), func.sum(inner.c.met)).group_by(
            inner.c.timebank_id, inner.c.month
        )
    )
    for timebank_id, month, made, met_count in rows:
        tally.add(timebank_id, month, "requests_made", made)
        tally.add(timebank_id, month, "requests_met", met_count)


def _seconds_between(session: Session, earlier: Any, later: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return extract("epoch", later - earlier)


def _minutes_to_match(session: Session, scope: Scope, window: _Window, index: int) -> dict[int, list[int]]:
    """Per timebank, the minutes from each request listed in months[index] to the first exchange
    made on it (declined and cancelled ones are no match). One row per such request, one
    duration column: the median is taken in Python (see the module's docstring)."""
    seconds = _seconds_between(session, Listing.created_at, func.min(Exchange.created_at))
    rows = session.execute(
        select(Listing.timebank_id, seconds)
        .join(Exchange, Exchange.listing_id == Listing.id)
        .join(Timebank, Timebank.id == Listing.timebank_id)
        .where(
            scope(Listing.timebank_id),
            Listing.kind == ListingKind.REQUEST,
            window.moment_in(Listing.created_at, Timebank.time_zone, index),
            Exchange.status.not_in(NOT_A_MATCH),
        )
        .group_by(Listing.id, Listing.timebank_id, Listing.created_at)
    )
    durations: dict[int, list[int]] = defaultdict(list)
    for timebank_id, value in rows:
        durations[int(timebank_id)].append(max(round(float(value) / 60), 0))
    return durations


def _median(values: Sequence[int]) -> int | None:
    return round(statistics.median(values)) if values else None


def _reciprocity(session: Session, scope: Scope, month: date) -> dict[int, Reciprocity]:
    """Per timebank: members active in the RECIPROCITY_MONTHS months ending with ``month``,
    and how many of them both gave and received."""
    first = months_ending(month, RECIPROCITY_MONTHS)[0]
    sides = _help_sides(scope, first, next_month(month))
    per_member = (
        select(
            sides.c.timebank_id,
            sides.c.account_id,
            func.max(sides.c.gave).label("gave"),
            func.max(sides.c.received).label("received"),
        )
        .group_by(sides.c.timebank_id, sides.c.account_id)
        .subquery("member_ways")
    )
    both = and_(per_member.c.gave == 1, per_member.c.received == 1)
    rows = session.execute(
        select(per_member.c.timebank_id, func.count(), func.sum(case((both, 1), else_=0))).group_by(
            per_member.c.timebank_id
        )
    )
    return {int(tb): Reciprocity(active_members=int(active), both_ways=int(n or 0)) for tb, active, n in rows}


def _category_minutes(session: Session, movements: Subquery, window: _Window) -> dict[tuple[int, int], list[list[Any]]]:
    """Net minutes per timebank, month and category: the exchange's own category (its listing's
    when it was recorded, or the one chosen; it never changes), or the activity's.

    An activity attendee points at the movement's own transfer or at the pending transfer it
    posted: two plain joins, not one join on "either id", which PostgreSQL can only run as a
    nested loop over every attendee for every movement."""
    by_transfer, by_pending = aliased(ActivityAttendee), aliased(ActivityAttendee)
    category_id = func.coalesce(Exchange.category_id, Activity.category_id)
    activity = movements.c.purpose == TransferPurpose.ACTIVITY
    inner = (
        select(
            movements.c.timebank_id,
            window.day_index(movements.c.value_date).label("month"),
            category_id.label("category_id"),
            movements.c.minutes,
        )
        .select_from(movements)
        .outerjoin(
            Exchange,
            and_(
                movements.c.purpose == TransferPurpose.EXCHANGE,
                Exchange.timebank_id == movements.c.timebank_id,
                Exchange.pending_transfer_id == movements.c.source_pending_id,
            ),
        )
        .outerjoin(by_transfer, and_(activity, by_transfer.transfer_id == movements.c.source_id))
        .outerjoin(by_pending, and_(activity, by_pending.transfer_id == movements.c.source_pending_id))
        .outerjoin(Activity, Activity.id == func.coalesce(by_transfer.activity_id, by_pending.activity_id))
        .subquery("help_categories")
    )
    total = func.sum(inner.c.minutes)
    rows = session.execute(
        select(inner.c.timebank_id, inner.c.month, inner.c.category_id, total)
        .group_by(inner.c.timebank_id, inner.c.month, inner.c.category_id)
        .having(total != 0)
    )
    found: dict[tuple[int, int], list[list[Any]]] = defaultdict(list)
    for timebank_id, month, category, minutes in rows:
        if month is not None:
            found[(int(timebank_id), int(month))].append([None if category is None else int(category), int(minutes)])
    return found


# -- the ledger's figures of a month: stored once a month is closed ---------------------------
#
# A closed month's transfers never change (append-only; nothing can be dated into a closed
# month; a reversal is a new movement dated in the open month), so every figure counted only
# from them -- hours by kind and category, active participants, the reciprocity of the three
# months ending with it -- is final at the close. ``write_month_summary`` counts them then, with
# the very queries below that count an open month, and stores one MonthSummary row; the reports
# and the coordinator dashboard read closed months from those rows and count only the months
# without one (the open month; closed months from before summaries existed, until
# ``backfill_month_summaries`` has run), so their cost does not grow with the ledger's history.
#
# Figures that can still change after a close stay live, counted from their own (small,
# indexed) tables for the months a page shows: exchanges approved (one can be reversed, or an
# old one approved, later), activities held, members approved or leaving, requests listed and
# met, and the time to a first match (an old request can be met any day).

LEDGER_FIELDS = ("minutes", "person_to_person_minutes", "person_to_agency_minutes", "group_activity_minutes")


@dataclass(frozen=True)
class LedgerMonth:
    """The ledger's figures of one timebank's month (see above). ``reciprocity`` is only known
    for a stored month; ``categories`` are [category id or None, net minutes] pairs."""

    minutes: int = 0
    person_to_person_minutes: int = 0
    person_to_agency_minutes: int = 0
    group_activity_minutes: int = 0
    active_participants: int = 0
    categories: tuple[tuple[int | None, int], ...] = ()
    reciprocity: Reciprocity | None = None

    @classmethod
    def stored(cls, row: MonthSummary) -> LedgerMonth:
        return cls(
            minutes=row.minutes,
            person_to_person_minutes=row.person_to_person_minutes,
            person_to_agency_minutes=row.person_to_agency_minutes,
            group_activity_minutes=row.group_activity_minutes,
            active_participants=row.active_participants,
            categories=tuple((None if c is None else int(c), int(m or 0)) for c, m in row.categories),
            reciprocity=Reciprocity(active_members=row.reciprocity_active, both_ways=row.reciprocity_both_ways),
        )

    def figures(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in (*LEDGER_FIELDS, "active_participants")}


def _live_ledger_months(session: Session, scope: Scope, window: _Window) -> dict[tuple[int, date], LedgerMonth]:
    """The ledger's figures counted from the transfers: three grouped queries for the window."""
    tally = _Tally(window.months)
    movements = help_movements(scope, window.day_within)
    _count_hours(session, tally, movements, scope, window)
    _count_active(session, tally, scope, window)
    categories = _category_minutes(session, movements, window)
    keys = set(tally.values) | set(categories)
    found = {}
    for timebank_id, index in keys:
        values = tally.values.get((timebank_id, index), {})
        found[(timebank_id, window.months[index])] = LedgerMonth(
            minutes=values.get("minutes", 0),
            person_to_person_minutes=values.get("person_to_person_minutes", 0),
            person_to_agency_minutes=values.get("person_to_agency_minutes", 0),
            group_activity_minutes=values.get("group_activity_minutes", 0),
            active_participants=values.get("active_participants", 0),
            categories=tuple((c, m) for c, m in categories.get((timebank_id, index), [])),
        )
    return found


def ledger_months(
    session: Session, timebank_ids: Sequence[int], months: Sequence[date]
) -> dict[tuple[int, date], LedgerMonth]:
    """The ledger's figures for each (timebank, month) asked for: closed months from their
    summaries, the rest counted live over the shortest run of months that covers them (the
    same number of statements however many months are closed). Writes nothing.

    Months before a timebank's first closed month hold no transfers (months close in order,
    from the month of the first transfer, and nothing can be dated before a closed month), so
    they are known to be empty without counting: a young timebank's open month is counted
    alone, not with the empty months before its first close."""
    ids, months = list(timebank_ids), list(months)
    if not ids or not months:
        return {}
    first_closed = select(func.min(Period.month)).where(Period.timebank_id == MonthSummary.timebank_id)
    found: dict[tuple[int, date], LedgerMonth] = {}
    for row, first in session.execute(
        select(MonthSummary, first_closed.scalar_subquery()).where(
            MonthSummary.timebank_id.in_(ids), MonthSummary.month.in_(months)
        )
    ).tuples():
        found[(row.timebank_id, row.month)] = LedgerMonth.stored(row)
        for month in months:
            if month < first:
                found[(row.timebank_id, month)] = LedgerMonth(reciprocity=Reciprocity())
    missing = [(tb, month) for tb in ids for month in months if (tb, month) not in found]
    if missing:
        live_ids = sorted({tb for tb, _ in missing})
        indexes = sorted({months.index(month) for _, month in missing})
        window = _Window(months[indexes[0] : indexes[-1] + 1], ("UTC",))  # days only: no zone needed
        live = _live_ledger_months(session, _scope(live_ids), window)
        for key in missing:
            found[key] = live.get(key, LedgerMonth())
    return found


def category_names(session: Session, categories: Sequence[tuple[int | None, int]]) -> list[tuple[str, int]]:
    """(name, net minutes) per category, most hours first, none with zero: summed over the
    given pairs (several months may name the same category)."""
    totals: dict[int | None, int] = defaultdict(int)
    for category_id, minutes in categories:
        totals[category_id] += minutes
    ids = [c for c, minutes in totals.items() if c is not None and minutes != 0]
    names = (
        dict(session.execute(select(Category.id, Category.name).where(Category.id.in_(ids))).tuples().all())
        if ids
        else {}
    )
    named = [
        (names.get(c, UNCATEGORISED) if c is not None else UNCATEGORISED, c is None, minutes)
        for c, minutes in totals.items()
        if minutes != 0
    ]
    named.sort(key=lambda item: (-item[2], item[1], item[0]))
    return [(name, minutes) for name, _none, minutes in named]


def _insert_ignoring_duplicates(session: Session, values: dict[str, Any]) -> None:
    """INSERT .. ON CONFLICT (timebank_id, month) DO NOTHING: two writers of one month's summary
    (a close and a backfill) both succeed, and the first row stays."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(MonthSummary).values(**values)
    session.execute(statement.on_conflict_do_nothing(index_elements=["timebank_id", "month"]))


def write_month_summary(session: Session, timebank_id: int, month: date) -> None:
    """Count and store the ledger's figures of a CLOSED month (the caller makes sure it is: the
    close's own transaction, or the backfill). Runs the same queries as a live month."""
    month = month_start(month)
    scope = _scope([timebank_id])
    figures = _live_ledger_months(session, scope, _Window((month,), ("UTC",))).get((timebank_id, month), LedgerMonth())
    reciprocity = _reciprocity(session, scope, month).get(timebank_id, Reciprocity())
    _insert_ignoring_duplicates(
        session,
        {
            "timebank_id": timebank_id,
            "month": month,
            **{name: getattr(figures, name) for name in (*LEDGER_FIELDS, "active_participants")},
            "reciprocity_active": reciprocity.active_members,
            "reciprocity_both_ways": reciprocity.both_ways,
            "categories": [[c, m] for c, m in figures.categories],
        },
    )


def backfill_month_summaries(session: Session) -> int:
    """Write the summary of every closed month that has none (months closed before summaries
    existed, or by a tool that closes without ``statements.service.close_and_record``), oldest
    first, one commit each. Idempotent; safe beside the web app and the closing job."""
    written = 0
    missing = session.execute(
        select(Period.timebank_id, Period.month)
        .outerjoin(
            MonthSummary, and_(MonthSummary.timebank_id == Period.timebank_id, MonthSummary.month == Period.month)
        )
        .where(MonthSummary.id.is_(None))
        .order_by(Period.month, Period.timebank_id)
    ).all()
    for timebank_id, month in missing:
        with write_transaction(session):
            write_month_summary(session, timebank_id, month)
        written += 1
    return written


def _record_tally(session: Session, scope: Scope, window: _Window) -> _Tally:
    """The figures that can change after a close, live for the window, one grouped query each."""
    tally = _Tally(window.months)
    _count_by_day(
        session,
        tally,
        "exchanges",
        Exchange.timebank_id,
        Exchange.performed_on,
        window,
        scope(Exchange.timebank_id),
        Exchange.status == ExchangeStatus.APPROVED,
    )
    _count_by_day(
        session, tally, "activities", Activity.timebank_id, Activity.held_on, window, scope(Activity.timebank_id)
    )
    _count_members(session, tally, scope, window)
    _count_requests(session, tally, scope, window)
    return tally


def _figures(tally: _Tally, ledger: dict[tuple[int, date], LedgerMonth], timebank_id: int, index: int) -> Figures:
    month = tally.months[index]
    return Figures(
        month=month,
        **tally.values.get((timebank_id, index), {}),
        **ledger.get((timebank_id, month), LedgerMonth()).figures(),
    )


# -- the reports -------------------------------------------------------------------------------


def monthly_report(session: Session, viewer: Member, month: date, *, today: date | None = None) -> MonthlyReport:
    """The monthly report of the viewer's own timebank for ``month`` (any day of it). Only a
    coordinator of the timebank may read it (NotACoordinator, 403); a month that has not
    started is refused (InvalidReportRequest, 422). The current month gives its figures so far."""
    timebank_id = require_coordinator(viewer)
    timebank = session.get(Timebank, timebank_id)
    assert timebank is not None
    today = today if today is not None else today_in(timebank.time_zone)
    month = _checked_month(month, today)
    window = _Window(tuple(months_ending(month, TREND_MONTHS)), (timebank.time_zone,))
    scope = _scope([timebank_id])
    ledger = ledger_months(session, [timebank_id], window.months)
    tally = _record_tally(session, scope, window)
    last = len(window.months) - 1
    durations = _minutes_to_match(session, scope, window, last).get(timebank_id, [])
    this_month = ledger[(timebank_id, month)]
    reciprocity = this_month.reciprocity
    if reciprocity is None:  # an open month (or one closed before summaries): count it
        reciprocity = _reciprocity(session, scope, month).get(timebank_id, Reciprocity())
    return MonthlyReport(
        timebank_id=timebank_id,
        timebank_name=timebank.name,
        organisation_name=timebank.organisation_name,
        month=month,
        today=today,
        figures=_figures(tally, ledger, timebank_id, last),
        previous=_figures(tally, ledger, timebank_id, last - 1),
        trend=tuple(_figures(tally, ledger, timebank_id, i) for i in range(len(window.months))),
        categories=tuple(
            CategoryMinutes(name=name, minutes=minutes)
            for name, minutes in category_names(session, this_month.categories)
        ),
        reciprocity=reciprocity,
        requests_matched=len(durations),
        median_minutes_to_match=_median(durations),
        hour_value_pence=timebank.hour_value_pence,
        self_approval=self_approval_during(
            session,
            timebank_id,
            local_midnight_utc(month, timebank.time_zone),
            local_midnight_utc(next_month(month), timebank.time_zone),
        ),
    )


def network_report(session: Session, viewer: Member, month: date, *, today: date) -> NetworkReport:
    """The headline figures of every timebank for ``month``, side by side, with totals. For
    installation admins only (NotAnAdmin, 403). Each figure is one query grouped by timebank."""
    require_admin(viewer)
    month = _checked_month(month, today)
    timebanks = session.scalars(select(Timebank).order_by(Timebank.name, Timebank.id)).all()
    zones = tuple(sorted({tb.time_zone for tb in timebanks})) or ("UTC",)
    window = _Window((month,), zones)
    scope = _scope(None)
    ledger = ledger_months(session, [tb.id for tb in timebanks], window.months)
    tally = _record_tally(session, scope, window)
    durations = _minutes_to_match(session, scope, window, 0)
    reciprocity = {tb.id: ledger[(tb.id, month)].reciprocity for tb in timebanks}
    unknown = [tb_id for tb_id, found in reciprocity.items() if found is None]
    if unknown:  # months not closed (or closed before summaries): counted live, for those only
        reciprocity.update(_reciprocity(session, _scope(unknown), month))
    rows = tuple(
        NetworkRow(
            timebank_id=tb.id,
            name=tb.name,
            figures=_figures(tally, ledger, tb.id, 0),
            reciprocity=reciprocity.get(tb.id) or Reciprocity(),
            median_minutes_to_match=_median(durations.get(tb.id, [])),
            hour_value_pence=tb.hour_value_pence,
        )
        for tb in timebanks
    )
    values = [row.value_pence for row in rows if row.value_pence is not None]
    return NetworkReport(
        month=month,
        today=today,
        rows=rows,
        totals=_sum_figures(month, [row.figures for row in rows]),
        reciprocity=Reciprocity(
            active_members=sum(r.reciprocity.active_members for r in rows),
            both_ways=sum(r.reciprocity.both_ways for r in rows),
        ),
        median_minutes_to_match=_median([d for found in durations.values() for d in found]),
        value_pence=sum(values) if values else None,
    )


def _sum_figures(month: date, figures: Sequence[Figures]) -> Figures:
    names = [name for name in Figures.__dataclass_fields__ if name != "month"]
    return Figures(month=month, **{name: sum(getattr(f, name) for f in figures) for name in names})


# -- the value of an hour (a coordinator's setting) -------------------------------------------


def hour_value_from_text(text: str) -> int | None:
    """'12.50', '£12.50', '12' -> pence (1250, 1250, 1200); empty -> None (no value line)."""
    cleaned = text.strip().replace("£", "").replace(",", "").strip()
    if not cleaned:
        return None
    message = "Type the value of one hour in pounds and pence, for example 12.50."
    try:
        pounds = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidReportRequest(message, field="hour_value") from None
    if not pounds.is_finite():
        raise InvalidReportRequest(message, field="hour_value")
    pence = pounds * 100
    if pence < 0 or pence > HOUR_VALUE_MAX_PENCE:
        return checked_hour_value(-1 if pence < 0 else HOUR_VALUE_MAX_PENCE + 1)  # its plain refusal
    if pence != pence.to_integral_value():
        raise InvalidReportRequest("Use whole pence: at most two digits after the point.", field="hour_value")
    return checked_hour_value(int(pence))


def checked_hour_value(pence: object) -> int | None:
    """The value of an hour in whole pence, from 0 to HOUR_VALUE_MAX_PENCE, or None for none."""
    if pence is None:
        return None
    if isinstance(pence, bool) or not isinstance(pence, int):
        raise InvalidReportRequest("The value of an hour must be a whole number of pence.", field="hour_value")
    if pence < 0:
        raise InvalidReportRequest("The value of an hour cannot be less than nothing.", field="hour_value")
    if pence > HOUR_VALUE_MAX_PENCE:
        raise InvalidReportRequest(
            f"The value of an hour can be at most {format_pence(HOUR_VALUE_MAX_PENCE)}.", field="hour_value"
        )
    return pence


def set_hour_value(session: Session, coordinator: Member, pence: int | None) -> Timebank:
    """Set (or, with None, clear) the estimated value of one hour that the monthly report uses
    for its value line. Coordinators of the timebank only; audited when it changes."""
    timebank_id = require_coordinator(coordinator)
    pence = checked_hour_value(pence)
    with write_transaction(session):
        timebank = session.scalar(
            select(Timebank)
            .where(Timebank.id == timebank_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert timebank is not None
        before = timebank.hour_value_pence
        if before != pence:
            timebank.hour_value_pence = pence
            audit(
                session,
                action="timebank.settings_changed",
                subject_type="timebank",
                subject_id=timebank.id,
                actor=coordinator,
                timebank_id=timebank.id,
                before={"hour_value_pence": before},
                after={"hour_value_pence": pence},
            )
    return timebank


# -- CSV -----------------------------------------------------------------------------------------

CSV_HEADER = ["Section", "Item", "Value", "Unit"]
HOURS_UNIT = f"hours ({SPREADSHEET_HOURS_HEADING})"


def _hours_cell(minutes: int) -> str:
    return hours_for_spreadsheet(minutes)


def _pounds_cell(pence: int) -> str:
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}{pounds}.{rest:02d}"


def _line(section: str, item: str, value: str, unit: str) -> list[str]:
    """One CSV row. Words (names of categories and timebanks) go through the audit trail's
    formula guard; the numbers are our own formatting."""
    return [safe_cell(section), safe_cell(item), value, unit]


def _figure_lines(section: str, f: Figures) -> list[list[str]]:
    return [
        _line(section, "Hours exchanged", _hours_cell(f.minutes), HOURS_UNIT),
        _line(section, "Person to person", _hours_cell(f.person_to_person_minutes), HOURS_UNIT),
        _line(section, "Person to agency", _hours_cell(f.person_to_agency_minutes), HOURS_UNIT),
        _line(section, "Group activities", _hours_cell(f.group_activity_minutes), HOURS_UNIT),
        _line(section, "Exchanges", str(f.exchanges), "exchanges"),
        _line(section, "Group activities held", str(f.activities), "activities"),
        _line(section, "Active participants", str(f.active_participants), "members"),
        _line(section, "New members", str(f.new_members), "members"),
        _line(section, "Members who left", str(f.leaving_members), "members"),
        _line(section, "Requests listed", str(f.requests_made), "requests"),
        _line(section, "Requests met", str(f.requests_met), "requests"),
        _line(section, "Requests not met", str(f.requests_unmet), "requests"),
    ]


def _optional(value: int | None, render: Callable[[int], str]) -> str:
    return "" if value is None else render(value)


def report_csv_rows(report: MonthlyReport) -> list[list[str]]:
    """The monthly report as CSV rows (header first): section, item, value, unit. Hours are
    hours:minutes ("2:30"), as in every table; money is pounds (an estimate, say so to readers)."""
    month = f"{report.month:%Y-%m}"
    rows = [list(CSV_HEADER)]
    rows.append(_line("Report", "Timebank", safe_cell(report.timebank_name), ""))
    rows.append(_line("Report", "Month", month, ""))
    rows.append(_line("Report", "Complete month", "no" if report.is_partial else "yes", ""))
    rows += _figure_lines(f"This month ({month})", report.figures)
    rows.append(
        _line(
            "This month",
            "Reciprocity: active in the last 3 months",
            str(report.reciprocity.active_members),
            "members",
        )
    )
    rows.append(_line("This month", "Reciprocity: gave and received", str(report.reciprocity.both_ways), "members"))
    rows.append(_line("This month", "Reciprocity: share", _optional(report.reciprocity.percent, str), "percent"))
    rows.append(
        _line(
            "This month",
            "Median time from request to match",
            _optional(report.median_minutes_to_match, _hours_cell),
            HOURS_UNIT,
        )
    )
    if report.hour_value_pence is not None:
        rate, value = _pounds_cell(report.hour_value_pence), _pounds_cell(report.value_pence or 0)
        rows.append(_line("Estimated value", "Value of one hour (set by the coordinators)", rate, "GBP"))
        rows.append(_line("Estimated value", "Hours exchanged x value of one hour", value, "GBP"))
    if report.self_approval.mention:
        rows.append(
            _line(
                "Self-approval",
                "The coordinator could approve their own items during the month",
                "yes" if report.self_approval.was_on else "no",
                "",
            )
        )
        count = str(len(report.self_approval.items))
        rows.append(_line("Self-approval", "Items they approved for themselves", count, "items"))
        for item in report.self_approval.items:
            rows.append(_line("Self-approved", f"{item.when:%Y-%m-%d} {item.coordinator}", safe_cell(item.what), ""))
    rows += _figure_lines(f"Previous month ({report.previous.month:%Y-%m})", report.previous)
    for category in report.categories:
        rows.append(_line("Hours by category", category.name, _hours_cell(category.minutes), HOURS_UNIT))
    for f in report.trend:
        rows.append(_line("Hours exchanged by month", f"{f.month:%Y-%m}", _hours_cell(f.minutes), HOURS_UNIT))
    for f in report.trend:
        rows.append(_line("Exchanges by month", f"{f.month:%Y-%m}", str(f.exchanges), "exchanges"))
    for f in report.trend:
        rows.append(_line("Active participants by month", f"{f.month:%Y-%m}", str(f.active_participants), "members"))
    return rows


NETWORK_CSV_HEADER = [
    "Timebank",
    f"Hours exchanged ({SPREADSHEET_HOURS_HEADING})",
    f"Person to person hours ({SPREADSHEET_HOURS_HEADING})",
    f"Person to agency hours ({SPREADSHEET_HOURS_HEADING})",
    f"Group activity hours ({SPREADSHEET_HOURS_HEADING})",
    "Exchanges",
    "Group activities",
    "Active participants",
    "New members",
    "Members who left",
    "Requests listed",
    "Requests met",
    "Requests not met",
    "Reciprocity percent",
    f"Median time from request to match ({SPREADSHEET_HOURS_HEADING})",
    "Estimated value GBP",
]


def _network_cells(name: str, f: Figures, reciprocity: Reciprocity, median: int | None, value: int | None) -> list[str]:
    return [
        safe_cell(name),
        _hours_cell(f.minutes),
        _hours_cell(f.person_to_person_minutes),
        _hours_cell(f.person_to_agency_minutes),
        _hours_cell(f.group_activity_minutes),
        str(f.exchanges),
        str(f.activities),
        str(f.active_participants),
        str(f.new_members),
        str(f.leaving_members),
        str(f.requests_made),
        str(f.requests_met),
        str(f.requests_unmet),
        _optional(reciprocity.percent, str),
        _optional(median, _hours_cell),
        _optional(value, _pounds_cell),
    ]


def network_csv_rows(report: NetworkReport) -> list[list[str]]:
    """The network report as CSV rows: a header, one row per timebank, then the totals."""
    rows = [list(NETWORK_CSV_HEADER)]
    for row in report.rows:
        rows.append(
            _network_cells(row.name, row.figures, row.reciprocity, row.median_minutes_to_match, row.value_pence)
        )
    rows.append(
        _network_cells(
            "All timebanks", report.totals, report.reciprocity, report.median_minutes_to_match, report.value_pence
        )
    )
    return rows


__all__ = [
    "CategoryMinutes",
    "Figures",
    "Measure",
    "MonthlyReport",
    "NetworkReport",
    "NetworkRow",
    "Reciprocity",
    "backfill_month_summaries",
    "checked_hour_value",
    "duration_words",
    "format_pence",
    "hour_value_from_text",
    "ledger_months",
    "month_choices",
    "monthly_report",
    "network_csv_rows",
    "network_report",
    "parse_month",
    "report_csv_rows",
    "set_hour_value",
    "write_month_summary",
]
