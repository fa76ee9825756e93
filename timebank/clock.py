"""The current time and the calendar, as a timebank sees them. One place, so tests can freeze it
and so every area counts months the same way."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
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


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month_start(month) + timedelta(days=32)).replace(day=1)


def previous_month(month: date) -> date:
    return month_start(month_start(month) - timedelta(days=1))


def months_ending(month: date, count: int) -> list[date]:
    """The first days of ``count`` months, oldest first, ending with ``month``'s."""
    months = [month_start(month)]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months[::-1]


def local_midnight_utc(day: date, time_zone: str) -> datetime:
    """The start of ``day`` in the timebank's zone, as the naive UTC the database stores."""
    local = datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone))
    return local.astimezone(UTC).replace(tzinfo=None)
