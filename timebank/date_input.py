"""Dates as people type them: the GOV.UK date input (day, month and year boxes), or one text read
day first, and the date said back in words ("Saturday 5 December 2026") before anything is saved.

One place for every form that asks for a date (docs/ARCHITECTURE.md, "Dates typed day first"):

- ``date_from_parts`` reads the three boxes: "5", "12" (or "Dec", "December"), "2026";
- ``date_from_text`` reads one text, always day first: "5/12/2026", "5.12.2026", "5 12 2026",
  "05122026", "5 December 2026", "Saturday 5 December 2026"; a year-first "2026-12-05" too
  (what a date picker sends, and unambiguous). "05122026" is 5 December, never 12 May;
- ``DateInputField`` is the WTForms field behind the boxes, named ``<name>-day``,
  ``<name>-month`` and ``<name>-year`` (GOV.UK's naming); a form that sends ``<name>`` as one text
  instead is read with ``date_from_text``;
- ``date_in_words`` says a date back: "Saturday 5 December 2026".

Only ASCII digits count as numbers. No Flask here.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from wtforms import Field, Form
from wtforms.utils import unset_value

PARTS = ("day", "month", "year")
EARLIEST_YEAR = 1900
LATEST_YEAR = 2999
EXAMPLE = "for example 27 3 2026"
MAX_PART_LENGTH = 20  # longer than any month name; a longer box is not a date

_MONTHS = {
    **{name.lower(): number for number, name in enumerate(calendar.month_name) if name},
    **{name.lower(): number for number, name in enumerate(calendar.month_abbr) if name},
    "sept": 9,
}
_WEEKDAYS = "|".join(name.lower() for name in (*calendar.day_name, *calendar.day_abbr))
_LEADING_WEEKDAY = re.compile(rf"^(?:{_WEEKDAYS})\b[\s,]*")
_ORDINAL = re.compile(r"\b([0-9]{1,2})(?:st|nd|rd|th)\b")
_YEAR_FIRST = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", re.ASCII)
_EIGHT_DIGITS = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})", re.ASCII)
_DAY_MONTH_YEAR = re.compile(r"([0-9]{1,2})[\s/.\-]+([0-9]{1,2}|[a-z]+)[\s/.\-,]+([0-9]+)", re.ASCII)
_NUMBER = re.compile(r"[0-9]+", re.ASCII)


class DateInputError(ValueError):
    """Not a date we can use. ``message`` is for the person who typed it; ``parts`` names the
    boxes to mark ("day", "month", "year"; all three when the date as a whole is wrong)."""

    def __init__(self, message: str, parts: Iterable[str] = PARTS) -> None:
        super().__init__(message)
        self.message = message
        self.parts = tuple(parts)


def date_in_words(value: date) -> str:
    """'Saturday 5 December 2026'."""
    return f"{value:%A} {value.day} {value:%B %Y}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _month_number(text: str) -> int:
    if _NUMBER.fullmatch(text):
        return int(text)
    number = _MONTHS.get(text.lower().rstrip("."))
    if number is None:
        raise DateInputError(f"Enter the month as a number from 1 to 12, {EXAMPLE}.", ["month"])
    return number


def date_from_parts(day: str, month: str, year: str) -> date | None:
    """The date in the three boxes, or None when all three are empty. Raises ``DateInputError``
    naming the boxes to fix (GOV.UK's messages)."""
    values = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    if not any(values.values()):
        return None
    missing = [part for part in PARTS if not values[part]]
    if missing:
        raise DateInputError(f"The date must include a {_and(missing)}.", missing)
    if not _NUMBER.fullmatch(values["day"]):
        raise DateInputError(f"Enter the day as a number, {EXAMPLE}.", ["day"])
    month_number = _month_number(values["month"])
    if not _NUMBER.fullmatch(values["year"]) or len(values["year"]) != 4:
        raise DateInputError("Enter the year with 4 numbers, for example 2026.", ["year"])
    year_number = int(values["year"])
    if not EARLIEST_YEAR <= year_number <= LATEST_YEAR:
        raise DateInputError(f"Enter a year from {EARLIEST_YEAR} to {LATEST_YEAR}.", ["year"])
    try:
        return date(year_number, month_number, int(values["day"]))
    except ValueError as error:
        raise DateInputError(f"The date must be a real date, {EXAMPLE}.") from error


def date_from_text(text: str | None) -> date | None:
    """A date typed as one text, read day first; None when it is empty."""
    cleaned = " ".join((text or "").strip().lower().split())
    cleaned = _ORDINAL.sub(r"\1", _LEADING_WEEKDAY.sub("", cleaned)).strip()
    if not cleaned:
        return None
    if match := _YEAR_FIRST.fullmatch(cleaned):
        year, month, day = match.groups()
    elif (match := _EIGHT_DIGITS.fullmatch(cleaned)) or (match := _DAY_MONTH_YEAR.fullmatch(cleaned)):
        day, month, year = match.groups()
    else:
        raise DateInputError(f"Enter the date as day, month and year, {EXAMPLE}.")
    return date_from_parts(day, month, year)


def _parts_of(value: date | None) -> tuple[str, str, str]:
    return ("", "", "") if value is None else (str(value.day), str(value.month), str(value.year))


class DateInputField(Field):
    """A date in day, month and year boxes (rendered by ``field()`` in
    templates/_form_helpers.html as a fieldset with a legend and three labelled boxes).

    ``confirm_in_words``: a new date is not accepted until it has been shown back in words once
    (the form comes back with "That is Saturday 5 December 2026" and the person presses the
    button again). Forms that show their answers on a check page first do not need it; see
    ``dates_confirmed``.
    """

    data: date | None

    def __init__(self, label: str | None = None, validators: Any = None, *, confirm_in_words: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(label, validators, **kwargs)
        self.confirm_in_words = confirm_in_words
        self.typed: tuple[str, str, str] | None = None  # the boxes as sent, to show them back
        self.error_parts: tuple[str, ...] = ()
        self.shown_in_words: str | None = None
        self.sent = False  # the date came with the request (not from the object being edited)

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        """Reads the three boxes (WTForms' own ``process`` reads one input per field; this is
        the hook WTForms documents for a field made of several inputs)."""
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        self.data = data if isinstance(data, date) else None
        self.typed = None
        self.raw_data = []
        self.sent = False
        self.error_parts = ()
        if formdata is None:
            return
        self.shown_in_words = formdata.get(f"{self.name}-shown")
        keys = [f"{self.name}-{part}" for part in PARTS]
        try:
            if any(key in formdata for key in keys):
                day, month, year = (str(formdata.get(key) or "")[:MAX_PART_LENGTH] for key in keys)
                self.typed = (day, month, year)
                self.raw_data = [" ".join(self.typed).strip()]
                self.data = date_from_parts(day, month, year)
            elif self.name in formdata:
                text = str(formdata.get(self.name) or "")[: MAX_PART_LENGTH * 3]
                self.raw_data = [text.strip()]
                self.typed = (text, "", "")
                self.data = date_from_text(text)
                self.typed = None if self.data else self.typed
            else:
                return
            self.sent = True
        except DateInputError as error:
            self.sent = True
            self.data = None
            self.error_parts = error.parts
            self.process_errors.append(error.message)

    @property
    def parts(self) -> tuple[str, str, str]:
        """What the day, month and year boxes show: as typed, else the date's."""
        return self.typed if self.typed is not None else _parts_of(self.data)

    def _value(self) -> str:
        return self.data.isoformat() if self.data else ""

    @property
    def words(self) -> str:
        """The date in words, once it is a real date ('' otherwise)."""
        return date_in_words(self.data) if self.data is not None and not self.errors else ""

    @property
    def waits_for_confirming(self) -> bool:
        """A date just sent that has not been shown back in words yet."""
        return bool(
            self.confirm_in_words
            and self.sent
            and self.data is not None
            and self.shown_in_words != self.data.isoformat()
        )


def dates_confirmed(form: Form) -> bool:
    """True unless a ``confirm_in_words`` date is new: then the form is shown again with the date
    in words, and nothing is saved until the person sends it again."""
    return not any(isinstance(f, DateInputField) and f.waits_for_confirming for f in form)
