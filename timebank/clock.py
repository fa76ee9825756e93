"""The current time, as a timebank sees it. One place, so tests can freeze it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now_utc() -> datetime:
    return datetime.now(UTC)


def today_in(time_zone: str) -> date:
    """Today's date in the timebank's time zone (Europe/London by default)."""
    return now_utc().astimezone(ZoneInfo(time_zone)).date()


def local_datetime(moment: datetime, time_zone: str) -> datetime:
    """A stored naive-UTC timestamp shown in the timebank's time zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(time_zone))
