"""How an amount of time is written, on every page, email, chart, CSV file and PDF: the only
place that turns minutes into text (the JSON API keeps its own numbers, see docs/API.md).

Two styles, so a page never mixes four (docs/ARCHITECTURE.md, "Hours, in words and in tables"):

- in sentences, words: "2 hours 30 minutes", "1 hour", "45 minutes", "0 hours",
  "minus 1 hour 15 minutes";
- in tables, charts and figures, hours and minutes: "2:30", "0:45", "87:45", "−1:15" (a real
  minus sign, which screen readers say as "minus"), and a change "+2:30" or "−0:30".
  ``HOURS_IN_TABLES`` explains it once on each page that has such a table.

A spreadsheet cell (CSV) uses the table style with a plain "-", which spreadsheet programs read
as a negative duration. No Flask here: the ledger's messages and the jobs use it too.
"""

from __future__ import annotations

MINUS = "\u2212"  # "−": read as "minus"; a hyphen is often read as "dash"

HOURS_IN_TABLES = "Hours in tables are written as hours:minutes, so 2:30 means 2 hours 30 minutes."
SPREADSHEET_HOURS_HEADING = "hours:minutes"


def _plural(number: int, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"


def hours_in_words(minutes: int) -> str:
    """For sentences: '2 hours 30 minutes', '1 hour', '45 minutes', '0 hours',
    'minus 1 hour 15 minutes'."""
    if minutes == 0:
        return "0 hours"
    hours, rest = divmod(abs(minutes), 60)
    parts = [_plural(hours, "hour")] if hours else []
    if rest:
        parts.append(_plural(rest, "minute"))
    return ("minus " if minutes < 0 else "") + " ".join(parts)


def hours_change_in_words(minutes: int) -> str:
    """A change in a sentence: 'plus 2 hours', 'minus 30 minutes', 'no change'."""
    if minutes == 0:
        return "no change"
    return f"{'plus' if minutes > 0 else 'minus'} {hours_in_words(abs(minutes))}"


def _clock(minutes: int) -> str:
    hours, rest = divmod(abs(minutes), 60)
    return f"{hours}:{rest:02d}"


def hours_in_table(minutes: int) -> str:
    """For a table cell, a chart or a figure: '2:30', '0:45', '87:45', '−1:15'."""
    return (MINUS if minutes < 0 else "") + _clock(minutes)


def hours_change_in_table(minutes: int) -> str:
    """A change in a table cell: '+2:30', '−0:30', '0:00'."""
    sign = "+" if minutes > 0 else MINUS if minutes < 0 else ""
    return sign + _clock(minutes)


def hours_for_spreadsheet(minutes: int) -> str:
    """A CSV cell: the table style with an ASCII '-', so '−' never turns a number into text."""
    return ("-" if minutes < 0 else "") + _clock(minutes)


def hours_for_editing(minutes: int | None) -> str:
    """What a form's box shows to be changed, the shortest text the hours parser reads back:
    90 → '1:30', 120 → '2', -600 → '-10', None → ''."""
    if minutes is None:
        return ""
    hours, rest = divmod(abs(minutes), 60)
    return ("-" if minutes < 0 else "") + (f"{hours}:{rest:02d}" if rest else str(hours))
