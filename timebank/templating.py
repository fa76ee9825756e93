"""Template filters: hours and dates in plain words."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from .ledger import format_hours, format_minutes
from .members.service import history_words


def human_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%A} {value.day} {value:%B %Y}"


def register(app: Flask) -> None:
    app.add_template_filter(format_minutes, "minutes")
    app.add_template_filter(format_hours, "hours")
    app.add_template_filter(human_date, "human_date")
    app.add_template_filter(history_words, "history_words")
