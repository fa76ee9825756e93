"""Closed periods are read-only (DESIGN.md rule 9).

Months close in order, so a date is in a closed period when its month is on or before the
latest closed month of its timebank.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..clock import month_start
from ..models import Period, Timebank
from .errors import ClosedPeriod


def latest_closed_month(session: Session, timebank_id: int) -> date | None:
    return session.scalar(select(func.max(Period.month)).where(Period.timebank_id == timebank_id))


def is_closed(session: Session, timebank_id: int, day: date) -> bool:
    latest = latest_closed_month(session, timebank_id)
    return latest is not None and month_start(day) <= latest


def ensure_open(session: Session, timebank_id: int, day: date) -> None:
    check_open(latest_closed_month(session, timebank_id), day)


def check_open(latest_closed: date | None, day: date) -> None:
    """Refuse ``day`` if it is in a closed month, given the timebank's latest closed month."""
    if latest_closed is not None and month_start(day) <= latest_closed:
        raise ClosedPeriod(
            f"{day:%B %Y} is closed: nothing can be added to it. "
            "Record the change in the current month instead."
        )


def close_period(session: Session, timebank_id: int, month: date, closed_by_id: int | None = None) -> Period:
    """Mark a month (and so every month before it) read-only. Idempotent.

    The monthly close with statements and checksums builds on this; here it is the minimum
    the ledger needs to enforce rule 9.
    """
    month = month_start(month)
    # Exclusive of the ledger writes' shared lock on the timebank row, as close_month (locking.py).
    session.scalar(select(Timebank.id).where(Timebank.id == timebank_id).with_for_update())
    existing = session.scalar(select(Period).where(Period.timebank_id == timebank_id, Period.month == month))
    if existing is not None:
        return existing
    period = Period(timebank_id=timebank_id, month=month, closed_by_id=closed_by_id)
    session.add(period)
    session.flush()
    return period
