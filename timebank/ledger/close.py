"""The month close: a timebank's month becomes read-only, with a statement per account.

``close_month`` writes one ``Period`` and one ``Statement`` per account of the timebank, in one
transaction, computed with one grouped aggregate over the transfers (no loop over transfers in
Python). The period carries a sha256 checksum over its statements and the month's transfers;
``verify_closed_months`` recomputes it, so ``check_ledger`` notices a closed month changed
behind the ledger's back.

Rules: a month closes only once it is over (in the timebank's own time zone), and only after
every earlier month that has transfers is closed. Closing a closed month changes nothing and
returns its period. Two closes at once write one period and one set of statements: the
timebank row is locked first (PostgreSQL), SQLite's write lock is taken up front, and the
unique (timebank, month) and (period, account) constraints back both up.

Statement columns, per account, over the posted movements (phase SINGLE or POST) whose
value_date is in the month:

- earned / spent: exchange and activity credits / debits
- donated / granted: gifts out / in through the community pool (a member's donations and the
  grants it receives; for the pool itself, the grants it pays and the donations it receives)
- reversals in / out, adjustments in / out: credits / debits of those purposes
- opening: the closing balance on the previous month's statement (or, with no statements
  before, every posted movement before the month); closing: opening plus the month's credits
  minus its debits, which equals the sum of the columns above.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    ColumnExpressionArgument,
    Insert,
    Integer,
    ScalarSelect,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ..clock import next_month
from ..models import Account, Period, Statement, Timebank, Transfer, TransferPhase, TransferPurpose
from .errors import LedgerError, TimebankNotFound
from .locking import write_transaction
from .periods import latest_closed_month, month_start

POSTED = (TransferPhase.SINGLE, TransferPhase.POST)

# Statement column -> (purposes, side) of the month's posted movements it sums.
_COLUMNS: dict[str, tuple[tuple[TransferPurpose, ...], str]] = {
    "earned_minutes": ((TransferPurpose.EXCHANGE, TransferPurpose.ACTIVITY), "credit"),
    "spent_minutes": ((TransferPurpose.EXCHANGE, TransferPurpose.ACTIVITY), "debit"),
    "donated_minutes": ((TransferPurpose.DONATION, TransferPurpose.GRANT), "debit"),
    "granted_minutes": ((TransferPurpose.DONATION, TransferPurpose.GRANT), "credit"),
    "reversals_in_minutes": ((TransferPurpose.REVERSAL,), "credit"),
    "reversals_out_minutes": ((TransferPurpose.REVERSAL,), "debit"),
    "adjustments_in_minutes": ((TransferPurpose.ADJUSTMENT,), "credit"),
    "adjustments_out_minutes": ((TransferPurpose.ADJUSTMENT,), "debit"),
}
STATEMENT_FIELDS = ("account_id", "opening_minutes", *_COLUMNS, "closing_minutes")


class MonthNotOver(LedgerError):
    """The month is the current one (or later) in the timebank's time zone."""

    code = "month_not_over"


class EarlierMonthOpen(LedgerError):
    """An earlier month with transfers is still open: months close in order."""

    code = "earlier_month_open"


def today_in(timebank: Timebank) -> date:
    return datetime.now(ZoneInfo(timebank.time_zone)).date()


def close_month(
    session: Session,
    timebank_id: int,
    month: date,
    *,
    today: date | None = None,
    closed_by_id: int | None = None,
    on_closed: Callable[[Session, Period], None] | None = None,
) -> Period:
    """Close ``month`` of the timebank (any day in it will do) and write its statements.

    ``on_closed`` runs inside the closing transaction, only when this call closed the month (the
    caller's audit event commits with the close, or not at all)."""
    month = month_start(month)
    try:
        with write_transaction(session):
            return _close(session, timebank_id, month, today, closed_by_id, on_closed)
    except IntegrityError:
        # Another process closed the month between our check and our insert.
        existing = _period(session, timebank_id, month)
        if existing is None:
            raise
        return existing


def _close(
    session: Session,
    timebank_id: int,
    month: date,
    today: date | None,
    closed_by_id: int | None,
    on_closed: Callable[[Session, Period], None] | None,
) -> Period:
    # The timebank row is the close's lock on PostgreSQL (SQLite already holds its write lock).
    timebank = session.scalar(select(Timebank).where(Timebank.id == timebank_id).with_for_update())
    if timebank is None:
        raise TimebankNotFound(f"There is no timebank {timebank_id}.")
    existing = _period(session, timebank_id, month)
    if existing is not None:
        return existing
    current = month_start(today or today_in(timebank))
    if month >= current:
        raise MonthNotOver(f"{month:%B %Y} is not over yet, so it cannot be closed.")
    latest = latest_closed_month(session, timebank_id)
    if latest is not None and month <= latest:
        raise EarlierMonthOpen(
            f"{month:%B %Y} is already read-only because a later month is closed; it cannot be closed now."
        )
    open_from = next_month(latest) if latest is not None else None
    earlier = select(func.min(Transfer.value_date)).where(
        Transfer.timebank_id == timebank_id, Transfer.value_date < month
    )
    if open_from is not None:
        earlier = earlier.where(Transfer.value_date >= open_from)
    first_open = session.scalar(earlier)
    if first_open is not None:
        raise EarlierMonthOpen(f"Close {first_open:%B %Y} first: months close in order.")
    previous = _previous_period(session, timebank_id, month)
    period = Period(timebank_id=timebank_id, month=month, closed_by_id=closed_by_id)
    session.add(period)
    session.flush()
    # One INSERT .. SELECT: the figures never pass through Python.
    session.execute(
        _insert_statements(previous is not None),
        {**_statement_params(timebank_id, month, previous), "period_id": period.id},
    )
    period.checksum = period_checksum(session, period)
    session.flush()
    if on_closed is not None:
        on_closed(session, period)
    return period


def _period(session: Session, timebank_id: int, month: date) -> Period | None:
    return session.scalar(select(Period).where(Period.timebank_id == timebank_id, Period.month == month))


def _previous_period(session: Session, timebank_id: int, month: date) -> Period | None:
    """The closed month just before ``month`` whose statements can give the opening balances:
    months close in order and nothing may be dated into a closed month, so an account's
    opening balance is its closing balance on the latest statement. None when there is no
    such month, or it was marked closed without statements (``close_period``): then the
    opening balances are summed from the whole history."""
    latest = session.scalar(
        select(Period)
        .where(Period.timebank_id == timebank_id, Period.month < month)
        .order_by(Period.month.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.checksum is not None else None


def statement_rows(session: Session, timebank_id: int, month: date) -> list[dict[str, int]]:
    """One row per account of the timebank, as ``close_month`` writes them."""
    previous = _previous_period(session, timebank_id, month)
    rows = session.execute(_statement_select(previous is not None), _statement_params(timebank_id, month, previous))
    return [{name: int(value) for name, value in row._mapping.items()} for row in rows]


def _statement_params(timebank_id: int, month: date, previous: Period | None) -> dict[str, Any]:
    """The values of ``_statement_select``'s parameters."""
    params: dict[str, Any] = {"timebank_id": timebank_id, "month": month, "end": next_month(month)}
    if previous is not None:
        params["previous_id"] = previous.id
    return params


@functools.cache
def _insert_statements(carried: bool) -> Insert:
    """``INSERT INTO statements .. SELECT`` the figures of ``_statement_select`` (parameter
    ``period_id`` besides its own); built once, like the select."""
    figures = _statement_select(carried).subquery()
    # On the table, not the entity: ORM-enabled inserts take a dict of values as rows to insert.
    table = Statement.__table__
    assert isinstance(table, Table)
    return insert(table).from_select(
        ["period_id", *STATEMENT_FIELDS],
        select(bindparam("period_id", type_=Integer), *(figures.c[name] for name in STATEMENT_FIELDS)),
    )


@functools.cache
def _statement_select(carried: bool) -> Select[Any]:
    """One row per account of the timebank, from one grouped aggregate over the transfers: the
    month's movements only when the previous statements give the opening balances (``carried``),
    otherwise the whole history before the month as well.

    Parameters: ``timebank_id``, ``month`` (its first day), ``end`` (the next month's first day)
    and, when carried, ``previous_id`` (the previous period). Built once per shape and reused:
    building this construct costs more than running it on a small month."""
    movements = union_all(
        *(
            select(
                account_column.label("account_id"),
                literal(side).label("side"),
                Transfer.purpose.label("purpose"),
                Transfer.value_date.label("value_date"),
                Transfer.amount_minutes.label("amount"),
            ).where(
                Transfer.timebank_id == bindparam("timebank_id"),
                Transfer.phase.in_(POSTED),
                Transfer.value_date < bindparam("end"),
                *([Transfer.value_date >= bindparam("month")] if carried else []),
            )
            for account_column, side in (
                (Transfer.debit_account_id, "debit"),
                (Transfer.credit_account_id, "credit"),
            )
        )
    ).subquery()
    signed = case((movements.c.side == "credit", movements.c.amount), else_=-movements.c.amount)
    in_month = movements.c.value_date >= bindparam("month")

    def total(condition: ColumnElement[bool], value: ColumnElement[int]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, value), else_=0)), 0)

    columns = [
        total(movements.c.value_date < bindparam("month"), signed).label("opening_minutes"),
        *(
            total(
                and_(in_month, movements.c.side == side, movements.c.purpose.in_(purposes)),
                movements.c.amount,
            ).label(name)
            for name, (purposes, side) in _COLUMNS.items()
        ),
        total(literal(True), signed).label("closing_minutes"),
    ]
    totals = select(movements.c.account_id, *columns).group_by(movements.c.account_id).subquery()
    query = select(Account.id.label("account_id")).outerjoin(totals, totals.c.account_id == Account.id)
    carried_in: ColumnElement[int] = literal_column("0", Integer)
    if carried:
        earlier = aliased(Statement)
        query = query.outerjoin(
            earlier, and_(earlier.account_id == Account.id, earlier.period_id == bindparam("previous_id"))
        )
        carried_in = func.coalesce(earlier.closing_minutes, 0)
    return (
        query.add_columns(
            (carried_in + func.coalesce(totals.c.opening_minutes, 0)).label("opening_minutes"),
            *(func.coalesce(totals.c[name], 0).label(name) for name in _COLUMNS),
            (carried_in + func.coalesce(totals.c.closing_minutes, 0)).label("closing_minutes"),
        )
        .where(Account.timebank_id == bindparam("timebank_id"))
        .order_by(Account.id)
    )


def period_checksum(session: Session, period: Period) -> str:
    """sha256 over the period's statements (by account) and the month's transfers (by id).

    The hashed text is one header line, then per statement ``statement {account_id} {opening}
    ... {closing}`` and per transfer (every phase) ``transfer {id} {debit} {credit} {amount}
    {phase} {purpose} {YYYY-MM-DD}``, each ending in a newline. The database writes the lines
    (on PostgreSQL already joined in order, one value per part), so no row is converted or
    formatted in Python: the close and ``check_ledger`` scale with the month's size only in
    SQL. Stored checksums depend on these exact bytes (tests/ledger/test_close_checksum.py)."""
    digest = hashlib.sha256(f"period {period.timebank_id} {period.month.isoformat()}\n".encode())
    for part in _checksum_text(session, period):
        digest.update(part.encode())
    return digest.hexdigest()


def _checksum_text(session: Session, period: Period) -> tuple[str, ...]:
    """The statement lines and the transfer lines of ``period_checksum``, each in order."""
    params = {
        "period_id": period.id,
        "timebank_id": period.timebank_id,
        "month": period.month,
        "end": next_month(period.month),
    }
    queries = _checksum_queries(session.get_bind().dialect.name == "postgresql")
    if len(queries) == 1:  # PostgreSQL: one row, one value per part
        return tuple(str(value) for value in session.execute(queries[0], params).one())
    connection = session.connection()  # plain rows of one string: no ORM loading to pay for
    return tuple("".join(connection.execute(query, params).scalars()) for query in queries)


@functools.cache
def _checksum_queries(postgres: bool) -> tuple[Select[Any], ...]:
    """The queries of ``_checksum_text`` (built once per database; parameters ``period_id``,
    ``timebank_id``, ``month`` and ``end``)."""
    statement_lines = select(_line("statement", *(getattr(Statement, name) for name in STATEMENT_FIELDS))).where(
        Statement.period_id == bindparam("period_id")
    )
    value_date = func.to_char(Transfer.value_date, "YYYY-MM-DD") if postgres else cast(Transfer.value_date, String)
    transfer_lines = select(
        _line(
            "transfer",
            Transfer.id,
            Transfer.debit_account_id,
            Transfer.credit_account_id,
            Transfer.amount_minutes,
            Transfer.phase,
            Transfer.purpose,
            value_date,
        )
    ).where(
        Transfer.timebank_id == bindparam("timebank_id"),
        Transfer.value_date >= bindparam("month"),
        Transfer.value_date < bindparam("end"),
    )
    if postgres:
        # string_agg(line, '' ORDER BY ...): the parts come back whole and in order.
        def joined(lines: Select[Any], order: ColumnExpressionArgument[Any]) -> ScalarSelect[Any]:
            line = lines.selected_columns[0]
            return lines.with_only_columns(
                func.coalesce(func.string_agg(line, aggregate_order_by(literal_column("''"), order)), "")
            ).scalar_subquery()

        return (select(joined(statement_lines, Statement.account_id), joined(transfer_lines, Transfer.id)),)
    # SQLite (before 3.44) has no ORDER BY inside group_concat and does not promise an ordered
    # subquery keeps its order there, so the ordered lines come back one per row (in process,
    # as plain strings: nothing to convert).
    return statement_lines.order_by(Statement.account_id), transfer_lines.order_by(Transfer.id)


def _line(tag: str, *fields: ColumnExpressionArgument[Any]) -> ColumnElement[str]:
    """``tag field field ...\\n`` as SQL text: integers as decimal digits, enums as their stored
    values (what ``str()`` of a StrEnum gives)."""
    line: ColumnElement[str] = literal(tag, String)
    for field in fields:
        line = line + " " + cast(field, String)
    return line + "\n"


@dataclass(frozen=True)
class ClosedMonthMismatch:
    period_id: int
    timebank_id: int
    month: date

    def __str__(self) -> str:
        return (
            f"closed month {self.month:%Y-%m} of timebank {self.timebank_id} (period {self.period_id}) "
            "has changed since it was closed: its checksum does not match"
        )


def verify_closed_months(session: Session) -> list[str]:
    """Recompute each closed month's checksum; one message per month that no longer matches.

    Periods without a checksum (marked closed by ``close_period`` alone) are not checked."""
    problems = []
    for period in session.scalars(select(Period).where(Period.checksum.is_not(None)).order_by(Period.id)):
        if period_checksum(session, period) != period.checksum:
            problems.append(str(ClosedMonthMismatch(period.id, period.timebank_id, period.month)))
    return problems


def verify_statements(session: Session) -> list[str]:
    """Each closed month's statements against its transfers: the figures ``close_month`` would
    write now, from the month's posted transfers and the month before's closing balances (which
    are themselves checked the same way, back to the first month, whose opening balances come
    from the whole history). One message per account whose statement differs; an account with no
    statement must have had nothing to state.

    The checksum (``verify_closed_months``) proves a closed month has not changed since it was
    closed; this proves what was written then was right."""
    problems = []
    for period in session.scalars(select(Period).where(Period.checksum.is_not(None)).order_by(Period.id)):
        stored = {
            row[0]: tuple(int(value) for value in row)
            for row in session.execute(
                select(*(getattr(Statement, name) for name in STATEMENT_FIELDS)).where(Statement.period_id == period.id)
            )
        }
        where = f"for {period.month:%Y-%m} (period {period.id})"
        for row in statement_rows(session, period.timebank_id, period.month):
            expected = tuple(row[name] for name in STATEMENT_FIELDS)
            account_id = expected[0]
            found = stored.pop(account_id, None)
            if found is None:
                if any(expected[1:]):
                    problems.append(f"account {account_id} has no statement {where}, but its transfers give {row}")
                continue
            wrong = [
                f"{name} {found[n]} (transfers give {expected[n]})"
                for n, name in enumerate(STATEMENT_FIELDS)
                if found[n] != expected[n]
            ]
            if wrong:
                problems.append(f"the statement of account {account_id} {where} says " + ", ".join(wrong))
        problems += [
            f"the statement of account {account_id} {where} is not of an account of its timebank"
            for account_id in stored
        ]
    return problems
