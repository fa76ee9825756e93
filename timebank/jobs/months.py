"""Closing finished months, in each timebank's own time zone.

A month may close from 02:00 local time on the 1st of the next month (so the last evening's
records are in). The job runs every hour and decides per timebank: it closes every finished
month that is still open, earliest first (``ledger.close_month`` insists on the order), so a
server that was down on the 1st catches up at its next run, however many months it missed.
``close_month`` itself is idempotent and safe when two processes close at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..clock import next_month
from ..ledger import LedgerError, month_start
from ..ledger.periods import latest_closed_month
from ..models import Timebank, Transfer
from ..statements.service import close_and_record
from .runs import JobResult

CLOSE_HOUR = 2  # local time on the 1st


def closing_day(time_zone: str, now: datetime) -> date:
    """The local date whose month is the earliest that may not close yet: every month before
    it may. Until 02:00 on the 1st that is still the previous month's last day."""
    local = now.astimezone(ZoneInfo(time_zone))
    # Aware arithmetic with zoneinfo is wall-clock arithmetic: 02:00 local is always 00:00 here,
    # whatever the offset that day (BST or GMT).
    return (local - timedelta(hours=CLOSE_HOUR)).date()


def months_to_close(session: Session, timebank_id: int, today: date) -> list[date]:
    """Open months before ``today``'s, earliest first: from the month after the latest closed
    one (or the month of the first transfer, before any close) up to last month."""
    latest = latest_closed_month(session, timebank_id)
    if latest is not None:
        start = next_month(latest)
    else:
        first = session.scalar(select(func.min(Transfer.value_date)).where(Transfer.timebank_id == timebank_id))
        if first is None:
            return []
        start = month_start(first)
    months = []
    end = month_start(today)
    while start < end:
        months.append(start)
        start = next_month(start)
    return months


def close_due_months(session: Session, *, now: datetime) -> JobResult:
    """Close every month that is over, in every timebank, in order."""
    timebanks = session.execute(select(Timebank.id, Timebank.slug, Timebank.time_zone).order_by(Timebank.id)).all()
    closed: list[str] = []
    problems: list[str] = []
    for timebank_id, slug, time_zone in timebanks:
        today = closing_day(time_zone, now)
        try:
            for month in months_to_close(session, timebank_id, today):
                close_and_record(session, timebank_id, month, today=today, actor=None)
                closed.append(f"{slug} {month:%Y-%m}")
        except LedgerError as error:
            session.rollback()
            problems.append(f"{slug}: {error.message}")
    session.commit()
    if closed:
        summary = f"Closed {len(closed)} month{'s' if len(closed) != 1 else ''}: {', '.join(closed)}."
    else:
        summary = f"No month was due to close in {len(timebanks)} timebank{'s' if len(timebanks) != 1 else ''}."
    return JobResult(summary, tuple(problems))
