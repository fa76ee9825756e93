"""Statements of closed months, for members and coordinators, and the coordinator's month close.

Who may read what (one place): a member reads their own statements; a coordinator reads those
of every account of their own timebank. Anyone else, another timebank's coordinator included,
is told "not found" (``StatementNotFound``, 404), so they do not learn the member exists.

The figures come from the ``Statement`` rows that ``ledger.close.close_month`` wrote when the
month closed (never recomputed here); the month's movements and their running balance come
from one SQL query with a window sum. ``statement_lines`` words the figures once, for the web
page, the CSV and the PDF alike.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import Select, case, func, select, union_all
from sqlalchemy.orm import Session, aliased

from ..audit import service as audit
from ..audit.service import safe_cell
from ..clock import next_month, parse_month_code, today_in
from ..hours import SPREADSHEET_HOURS_HEADING, hours_change_in_table, hours_for_spreadsheet, hours_in_table
from ..ids import is_storable_id
from ..ledger.close import POSTED, close_month
from ..ledger.periods import latest_closed_month, month_start
from ..members.service import HistoryLine, history_words
from ..models import Account, AccountKind, Member, Period, Statement, Timebank, Transfer, TransferPurpose
from ..reports.service import write_month_summary
from .errors import InvalidMonth, StatementNotFound


def parse_month(text: str | None) -> date:
    """'2026-10' -> date(2026, 10, 1); anything else is "not found" (it came from a URL)."""
    month = parse_month_code(text)
    if month is None:
        raise StatementNotFound("There is no such month.")
    return month


def month_code(month: date) -> str:
    return f"{month:%Y-%m}"


def month_words(month: date) -> str:
    return f"{month:%B %Y}"


# -- who may read what ---------------------------------------------------------------------------


def _coordinates(viewer: Member, timebank_id: int | None) -> bool:
    return bool(viewer.is_coordinator and viewer.timebank_id is not None and viewer.timebank_id == timebank_id)


def _require_coordinator(viewer: Member) -> Timebank:
    if not viewer.is_coordinator or viewer.timebank_id is None:
        raise StatementNotFound("Only a coordinator of this timebank can see this.")
    timebank = viewer.timebank
    assert timebank is not None
    return timebank


def member_for(session: Session, viewer: Member, member_id: int | None = None) -> Member:
    """The member whose statements ``viewer`` asks for (themself when ``member_id`` is None):
    themself, or, for a coordinator, a member of their own timebank with an account."""
    if member_id is None or member_id == viewer.id:
        member: Member | None = viewer
    else:
        member = session.get(Member, member_id) if is_storable_id(member_id) else None
        if member is not None and not _coordinates(viewer, member.timebank_id):
            member = None
    if member is None or member.account is None:
        raise StatementNotFound("There are no statements for this member.")
    return member


# -- one statement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementView:
    """One account's statement of one closed month, with the month's movements."""

    timebank_name: str
    organisation_name: str
    account_name: str
    account_kind: AccountKind
    account_id: int
    member_id: int | None
    month: date
    closed_at: datetime
    opening_minutes: int
    earned_minutes: int
    spent_minutes: int
    donated_minutes: int
    granted_minutes: int
    reversals_in_minutes: int
    reversals_out_minutes: int
    adjustments_in_minutes: int
    adjustments_out_minutes: int
    closing_minutes: int
    movements: tuple[HistoryLine, ...] = ()

    @property
    def month_words(self) -> str:
        return month_words(self.month)


@dataclass(frozen=True)
class StatementLine:
    words: str
    minutes: int  # signed: what the line adds to (or, negative, takes from) the balance
    total: bool = False  # the opening and closing balances

    @property
    def hours_cell(self) -> str:
        """The line in the statement's table: a balance as '12:30', a change as '+2:00'."""
        return hours_in_table(self.minutes) if self.total else hours_change_in_table(self.minutes)


def statement_lines(statement: StatementView) -> list[StatementLine]:
    """Every figure of the statement, in plain words, in the order they add up."""
    month = statement.month_words
    pool = statement.account_kind == AccountKind.POOL
    return [
        StatementLine(f"Balance at the start of {month}", statement.opening_minutes, total=True),
        StatementLine("Earned by giving time", statement.earned_minutes),
        StatementLine("Spent on time received", -statement.spent_minutes),
        StatementLine(
            "Paid out to members in need" if pool else "Given to the community pool", -statement.donated_minutes
        ),
        StatementLine("Given by members" if pool else "Received from the community pool", statement.granted_minutes),
        StatementLine("Corrections: hours given back", statement.reversals_in_minutes),
        StatementLine("Corrections: hours taken back", -statement.reversals_out_minutes),
        StatementLine("Adjustments: hours added", statement.adjustments_in_minutes),
        StatementLine("Adjustments: hours taken away", -statement.adjustments_out_minutes),
        StatementLine(f"Balance at the end of {month}", statement.closing_minutes, total=True),
    ]


_FIGURES = (
    "opening_minutes",
    "earned_minutes",
    "spent_minutes",
    "donated_minutes",
    "granted_minutes",
    "reversals_in_minutes",
    "reversals_out_minutes",
    "adjustments_in_minutes",
    "adjustments_out_minutes",
    "closing_minutes",
)


def _statement_query(timebank_id: int, month: date) -> Select[tuple[Statement, datetime, Account]]:
    return (
        select(Statement, Period.closed_at, Account)
        .join(Period, Period.id == Statement.period_id)
        .join(Account, Account.id == Statement.account_id)
        .where(Period.timebank_id == timebank_id, Period.month == month)
    )


def _view(
    statement: Statement, closed_at: datetime, account: Account, timebank: Timebank, month: date
) -> StatementView:
    return StatementView(
        timebank_name=timebank.name,
        organisation_name=timebank.organisation_name,
        account_name=account.name,
        account_kind=account.kind,
        account_id=account.id,
        member_id=account.member_id,
        month=month,
        closed_at=closed_at,
        opening_minutes=int(statement.opening_minutes),
        earned_minutes=int(statement.earned_minutes),
        spent_minutes=int(statement.spent_minutes),
        donated_minutes=int(statement.donated_minutes),
        granted_minutes=int(statement.granted_minutes),
        reversals_in_minutes=int(statement.reversals_in_minutes),
        reversals_out_minutes=int(statement.reversals_out_minutes),
        adjustments_in_minutes=int(statement.adjustments_in_minutes),
        adjustments_out_minutes=int(statement.adjustments_out_minutes),
        closing_minutes=int(statement.closing_minutes),
    )


def _movements(
    session: Session, timebank_id: int, month: date, openings: dict[int, int]
) -> dict[int, tuple[HistoryLine, ...]]:
    """The posted movements dated in the month of each account in ``openings`` (account id ->
    opening balance), oldest first, each with the balance after it: one query, the running
    balance a window sum per account added to the opening."""
    sides = union_all(
        *(
            select(
                account.label("account_id"),
                other.label("other_id"),
                Transfer.id.label("transfer_id"),
                Transfer.value_date.label("value_date"),
                Transfer.memo.label("memo"),
                Transfer.purpose.label("purpose"),
                change.label("change"),
            ).where(
                Transfer.timebank_id == timebank_id,
                Transfer.phase.in_(POSTED),
                Transfer.value_date >= month,
                Transfer.value_date < next_month(month),
                account.in_(list(openings)),
            )
            for account, other, change in (
                (Transfer.credit_account_id, Transfer.debit_account_id, Transfer.amount_minutes),
                (Transfer.debit_account_id, Transfer.credit_account_id, -Transfer.amount_minutes),
            )
        )
    ).subquery()
    order = (sides.c.value_date, sides.c.transfer_id)
    running = func.sum(sides.c.change).over(partition_by=sides.c.account_id, order_by=order)
    rows = session.execute(
        select(sides, Account.name.label("other_name"), running.label("running"))
        .join(Account, Account.id == sides.c.other_id)
        .order_by(sides.c.account_id, *order)
    )
    found: dict[int, list[HistoryLine]] = {}
    for row in rows:
        found.setdefault(row.account_id, []).append(
            HistoryLine(
                transfer_id=int(row.transfer_id),
                value_date=row.value_date,
                description=row.memo or "",
                other_party=row.other_name,
                purpose=TransferPurpose(row.purpose),
                change_minutes=int(row.change),
                balance_after_minutes=openings[row.account_id] + int(row.running),
            )
        )
    return {account_id: tuple(lines) for account_id, lines in found.items()}


def with_movements(session: Session, timebank_id: int, statements: list[StatementView]) -> list[StatementView]:
    """The statements with their month's movements filled in (one query for all of them)."""
    if not statements:
        return []
    month = statements[0].month
    found = _movements(session, timebank_id, month, {s.account_id: s.opening_minutes for s in statements})
    return [replace(s, movements=found.get(s.account_id, ())) for s in statements]


@dataclass(frozen=True)
class OpenMonth:
    """A month whose statement does not exist yet because the month is not closed."""

    month: date
    balance_minutes: int
    account_name: str

    @property
    def month_words(self) -> str:
        return month_words(self.month)


def statement_for(session: Session, viewer: Member, member_id: int | None, month: date) -> StatementView | OpenMonth:
    """The member's statement of ``month`` with its movements; an ``OpenMonth`` (with the
    balance now) when the month is not closed yet."""
    member = member_for(session, viewer, member_id)
    account, timebank = member.account, member.timebank
    assert account is not None and timebank is not None
    latest = latest_closed_month(session, timebank.id)
    if latest is None or month > latest:
        return OpenMonth(month=month, balance_minutes=account.balance_minutes, account_name=account.name)
    found = session.execute(_statement_query(timebank.id, month).where(Statement.account_id == account.id)).first()
    if found is None:
        raise StatementNotFound(f"There is no statement for {month_words(month)}.")
    return with_movements(session, timebank.id, [_view(found[0], found[1], account, timebank, month)])[0]


# -- a member's list of statements --------------------------------------------------------------


@dataclass(frozen=True)
class StatementSummary:
    month: date
    opening_minutes: int
    closing_minutes: int

    @property
    def code(self) -> str:
        return month_code(self.month)


@dataclass(frozen=True)
class MemberStatements:
    member: Member
    balance_minutes: int
    closed: list[StatementSummary]  # newest first
    open_from: date  # the first month not closed yet (its statement appears once it closes)
    current_month: date

    @property
    def open_months_words(self) -> str:
        if self.open_from >= self.current_month:
            return month_words(self.current_month)
        return f"{month_words(self.open_from)} to {month_words(self.current_month)}"


def statements_of(session: Session, viewer: Member, member_id: int | None = None) -> MemberStatements:
    member = member_for(session, viewer, member_id)
    account, timebank = member.account, member.timebank
    assert account is not None and timebank is not None
    rows = session.execute(
        select(Period.month, Statement.opening_minutes, Statement.closing_minutes)
        .join(Period, Period.id == Statement.period_id)
        .where(Statement.account_id == account.id, Period.timebank_id == timebank.id)
        .order_by(Period.month.desc())
    )
    latest = latest_closed_month(session, timebank.id)
    current = month_start(today_in(timebank.time_zone))
    return MemberStatements(
        member=member,
        balance_minutes=account.balance_minutes,
        closed=[StatementSummary(row.month, int(row.opening_minutes), int(row.closing_minutes)) for row in rows],
        open_from=min(next_month(latest), current) if latest is not None else current,
        current_month=current,
    )


# -- CSV -------------------------------------------------------------------------------------------


def statement_csv_rows(statement: StatementView) -> list[list[str]]:
    """The statement as spreadsheet rows: who and when, every figure, then the movements.
    Hours are hours:minutes ("1:30" is an hour and a half), as in every table, beside the
    exact minutes."""
    text = safe_cell  # names, words and notes: never run as a formula by a spreadsheet
    hours = hours_for_spreadsheet  # our own figures: "-1:30" must stay a negative duration
    return [
        ["Timebank", text(statement.timebank_name)],
        ["Run by", text(statement.organisation_name)],
        ["Statement for", text(statement.account_name)],
        ["Month", statement.month_words],
        [],
        ["Figure", f"Hours ({SPREADSHEET_HOURS_HEADING})", "Minutes"],
        *([text(line.words), hours(line.minutes), str(line.minutes)] for line in statement_lines(statement)),
        [],
        [
            "Date",
            "What happened",
            "Note",
            f"Change ({SPREADSHEET_HOURS_HEADING})",
            f"Balance after ({SPREADSHEET_HOURS_HEADING})",
        ],
        *(
            [
                line.value_date.isoformat(),
                text(history_words(line)),
                text(line.description),
                hours(line.change_minutes),
                hours(line.balance_after_minutes),
            ]
            for line in statement.movements
        ),
    ]


def statement_csv(statement: StatementView) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the BOM lets spreadsheet programs read UTF-8 names
    csv.writer(buffer, lineterminator="\r\n").writerows(statement_csv_rows(statement))
    return buffer.getvalue()


def statement_filename(statement: StatementView, extension: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", statement.account_name).strip("-").lower() or "member"
    return f"statement-{name}-{month_code(statement.month)}.{extension}"


# -- the coordinator's months --------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRow:
    month: date
    closed: bool
    finished: bool  # the month is over in the timebank's time zone
    closed_at: datetime | None = None
    closed_by: str | None = None
    checksum: str | None = None
    statements: int = 0

    @property
    def code(self) -> str:
        return month_code(self.month)

    @property
    def words(self) -> str:
        return month_words(self.month)


@dataclass(frozen=True)
class MonthsOverview:
    rows: list[MonthRow]  # newest first
    next_to_close: date | None  # the earliest open month that is over
    current_month: date


def months_overview(session: Session, coordinator: Member) -> MonthsOverview:
    """Every month from the timebank's first transfer (or closed month) to this one."""
    timebank = _require_coordinator(coordinator)
    current = month_start(today_in(timebank.time_zone))
    closer = aliased(Member)
    periods = {
        row.month: row
        for row in session.execute(
            select(Period.month, Period.closed_at, Period.checksum, closer.display_name, func.count(Statement.id))
            .outerjoin(Statement, Statement.period_id == Period.id)
            .outerjoin(closer, closer.id == Period.closed_by_id)
            .where(Period.timebank_id == timebank.id)
            .group_by(Period.id, Period.month, Period.closed_at, Period.checksum, closer.display_name)
        )
    }
    first_transfer, last_transfer = session.execute(
        select(func.min(Transfer.value_date), func.max(Transfer.value_date)).where(Transfer.timebank_id == timebank.id)
    ).one()
    starts = [month_start(day) for day in (first_transfer, *periods) if day is not None]
    ends = [month_start(day) for day in (last_transfer, current, *periods) if day is not None]
    latest = max(periods) if periods else None
    rows: list[MonthRow] = []
    month = min(starts) if starts else current
    while month <= max(ends):
        period = periods.get(month)
        closed = latest is not None and month <= latest
        rows.append(
            MonthRow(
                month=month,
                closed=closed,
                finished=month < current,
                closed_at=period.closed_at if period else None,
                closed_by=period[3] if period else None,
                checksum=period.checksum if period else None,
                statements=int(period[4]) if period else 0,
            )
        )
        month = next_month(month)
    first_open = next_month(latest) if latest is not None else (month_start(first_transfer) if first_transfer else None)
    return MonthsOverview(
        rows=rows[::-1],
        next_to_close=first_open if first_open is not None and first_open < current else None,
        current_month=current,
    )


def close_for_coordinator(session: Session, coordinator: Member, month_text: str | None) -> Period:
    """Close the named month (``YYYY-MM``) of the coordinator's timebank: ``ledger.close_month``
    with the coordinator as the closer. Its own errors (MonthNotOver, EarlierMonthOpen) pass up."""
    timebank = _require_coordinator(coordinator)
    try:
        month = parse_month(month_text)
    except StatementNotFound as error:
        raise InvalidMonth("Choose the month to close.") from error
    return close_and_record(session, timebank.id, month, today=today_in(timebank.time_zone), actor=coordinator)


def close_and_record(session: Session, timebank_id: int, month: date, *, today: date, actor: Member | None) -> Period:
    """``ledger.close_month`` with its audit event in the same transaction, written only by the
    call that closed the month. ``actor`` None: the scheduler closed it ("The system")."""

    def record(session: Session, period: Period) -> None:
        # The month's report figures that can no longer change, stored with the close (or not).
        write_month_summary(session, timebank_id, period.month)
        audit.record(
            session,
            action="period.closed",
            subject_type="period",
            subject_id=period.id,
            actor=actor,
            timebank_id=timebank_id,
            after={"month": month_code(month), "checksum": period.checksum},
        )

    return close_month(
        session, timebank_id, month, today=today, closed_by_id=actor.id if actor else None, on_closed=record
    )


def month_statements(session: Session, coordinator: Member, month: date) -> list[StatementView]:
    """Every account's statement of a closed month of the coordinator's timebank: members by
    name, then the organisation's account, then the community pool (without movements)."""
    timebank = _require_coordinator(coordinator)
    rows = session.execute(
        _statement_query(timebank.id, month).order_by(
            case((Account.kind == AccountKind.MEMBER, 0), (Account.kind == AccountKind.ORGANISATION, 1), else_=2),
            func.lower(Account.name),
            Account.id,
        )
    ).all()
    if not rows:
        raise StatementNotFound(f"{month_words(month)} has no statements: it is not closed yet.")
    return [_view(statement, closed_at, account, timebank, month) for statement, closed_at, account in rows]


def printable_statements(session: Session, coordinator: Member, month: date) -> list[StatementView]:
    """Statements of a closed month for printing, with their movements: members by name, then
    the organisation and the community pool. Accounts with nothing at all to show (no balance,
    no movement in the month) are left out, so no blank pages are printed."""
    statements = [
        s for s in month_statements(session, coordinator, month) if any(getattr(s, name) for name in _FIGURES)
    ]
    return with_movements(session, coordinator.timebank_id or 0, statements)
