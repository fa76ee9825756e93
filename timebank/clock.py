"""The current time and the calendar, as a timebank sees them. One place, so tests can freeze it
and so every area counts months the same way."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# "2026-03": four ASCII digits, a dash, two (not "٢٠٢٦-٠٣", not a year beyond 9999).
_MONTH_CODE = re.compile(r"([0-9]{4})-([0-9]{2})")
EARLIEST_YEAR = 1900


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


def parse_month_code(text: str | None) -> date | None:
    """'2026-03' (a month picker's, a URL's) -> 1 March 2026; None for anything else, such as
    "2026-13", "1066-10" or "99999999999999999999-01" (each caller says what that means)."""
    match = _MONTH_CODE.fullmatch((text or "").strip())
    if match is None or int(match[1]) < EARLIEST_YEAR or not 1 <= int(match[2]) <= 12:
        return None
    return date(int(match[1]), int(match[2]), 1)


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
