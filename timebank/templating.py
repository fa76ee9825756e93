"""Template filters: hours (``timebank/hours.py``: words in sentences, hours:minutes in tables)
and dates in plain words, in the timebank's time zone."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app
from flask_login import current_user

from .clock import local_datetime
from .hours import HOURS_IN_TABLES, hours_change_in_table, hours_in_table, hours_in_words
from .members.service import history_words


def viewer_time_zone() -> str:
    """The signed-in member's timebank time zone, else the installation default (Europe/London)."""
    timebank = getattr(current_user, "timebank", None)
    if timebank is not None:
        return str(timebank.time_zone)
    return str(current_app.config.get("DEFAULT_TIME_ZONE", "Europe/London"))


def human_date(value: date | datetime | None) -> str:
    """'Tuesday 24 November 2026'. Stored timestamps are UTC, so they are moved to local time
    first; otherwise a late-evening record shows the next day's date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_datetime(value, viewer_time_zone())
    return f"{value:%A} {value.day} {value:%B %Y}"


def human_datetime(value: datetime | None) -> str:
    """'Tuesday 24 November 2026 at 5:30pm', local time."""
    if value is None:
        return ""
    local = local_datetime(value, viewer_time_zone())
    hour = local.hour % 12 or 12
    return f"{human_date(local)} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def register(app: Flask) -> None:
    # {{ minutes|minutes }} in sentences ("2 hours 30 minutes"); {{ minutes|hours }} in table
    # cells and figures ("2:30"), {{ change|hours_change }} for a change ("+2:30"), with
    # {{ hours_in_tables }} said once on the page.
    app.add_template_filter(hours_in_words, "minutes")
    app.add_template_filter(hours_in_table, "hours")
    app.add_template_filter(hours_change_in_table, "hours_change")
    app.jinja_env.globals["hours_in_tables"] = HOURS_IN_TABLES
    app.add_template_filter(human_date, "human_date")
    app.add_template_filter(human_datetime, "human_datetime")
    app.add_template_filter(history_words, "history_words")
