"""Form input shared by every area: hours typed the way people type them.

People write "1.5", "1:30", "1h30", "90 mins", "2 hours" or "1 hour 30 minutes"; every form that
takes an amount of time parses it here, in one place, into integer minutes (DESIGN.md rule 1).
No Flask here: the JSON API and the CLI can call it too.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .hours import hours_in_words

_HOUR_WORDS = r"(?:h|hr|hrs|hour|hours)"
_MINUTE_WORDS = r"(?:m|min|mins|minute|minutes)"
_NUMBER = r"([0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)"

# Digits are ASCII 0-9 only: Python's \d (and Decimal, and int) also read "١" (Arabic-Indic one)
# or "１" (full-width) as 1, a number the person may not have meant and cannot see we read.
_CLOCK = re.compile(r"([0-9]+):([0-5][0-9])")
_PLAIN_NUMBER = re.compile(_NUMBER)
_MINUTES_ONLY = re.compile(rf"([0-9]+)\s*{_MINUTE_WORDS}")
_HOURS_AND_MINUTES = re.compile(rf"{_NUMBER}\s*{_HOUR_WORDS}(?:\s*(?:and\s*)?([0-9]+)\s*{_MINUTE_WORDS}?)?")

EXAMPLES = "for example 1.5, 1:30 or 90 minutes"
OTHER_DIGITS_MESSAGE = f"Write the time with the digits 0 to 9, {EXAMPLES}."


class HoursInputError(ValueError):
    """The text is not an amount of time we can use. ``message`` is for the person who typed it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _hours_to_minutes(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", ".")) * 60
    except InvalidOperation as error:  # pragma: no cover - the patterns only let numbers through
        raise HoursInputError(f"Enter the time as a number of hours, {EXAMPLES}.") from error


def _raw_minutes(text: str) -> Decimal:
    if match := _CLOCK.fullmatch(text):
        return Decimal(int(match.group(1)) * 60 + int(match.group(2)))
    if match := _PLAIN_NUMBER.fullmatch(text):
        return _hours_to_minutes(match.group(1))
    if match := _MINUTES_ONLY.fullmatch(text):
        return Decimal(int(match.group(1)))
    if match := _HOURS_AND_MINUTES.fullmatch(text):
        minutes = _hours_to_minutes(match.group(1))
        if match.group(2) is not None:
            extra = int(match.group(2))
            if extra >= 60:
                raise HoursInputError(f"Minutes after the hours must be less than 60, {EXAMPLES}.")
            minutes += extra
        return minutes
    raise HoursInputError(f"Enter the time in hours, {EXAMPLES}.")


def parse_hours_to_minutes(text: str | None, granularity: int, *, maximum_minutes: int | None = None) -> int:
    """Minutes in ``text``, which must be more than zero and a whole number of ``granularity``
    steps (the timebank's, 15 minutes by default). Raises ``HoursInputError`` with a plain
    message otherwise.

    >>> [parse_hours_to_minutes(t, 15) for t in ("1.5", "1:30", "1h30", "90 mins", "2 hours")]
    [90, 90, 90, 90, 120]
    """
    cleaned = re.sub(r"\s+", " ", (text or "").strip().lower())
    if not cleaned:
        raise HoursInputError(f"Enter how long, {EXAMPLES}.")
    _check_digits(cleaned)
    minutes = _raw_minutes(cleaned)
    if minutes != minutes.to_integral_value():
        raise HoursInputError(f"Enter a whole number of minutes, {EXAMPLES}.")
    whole = int(minutes)
    if whole <= 0:
        raise HoursInputError("The time must be more than zero.")
    if granularity > 0 and whole % granularity:
        raise HoursInputError(
            f"Give the time in steps of {granularity} minutes, "
            f"for example {_example_for(granularity)}."
        )
    if maximum_minutes is not None and whole > maximum_minutes:
        raise HoursInputError(f"The time must be {hours_in_words(maximum_minutes)} or less.")
    return whole


def parse_signed_hours_to_minutes(text: str | None, granularity: int, *, maximum_minutes: int | None = None) -> int:
    """Like ``parse_hours_to_minutes`` for a balance limit, which may be zero or below zero:
    "-10", "−2:30" (a typographic minus), "0", "+100". ``maximum_minutes`` bounds the size.

    >>> [parse_signed_hours_to_minutes(t, 15) for t in ("-10", "0", "1h30", "− 2:30")]
    [-600, 0, 90, -150]
    """
    cleaned = re.sub(r"\s+", " ", (text or "").strip().lower()).replace("\u2212", "-")
    sign = -1 if cleaned.startswith("-") else 1
    cleaned = cleaned.lstrip("+-").strip()
    if not cleaned:
        raise HoursInputError(f"Enter a number of hours, {EXAMPLES}.")
    _check_digits(cleaned)
    if _raw_minutes(cleaned) == 0:
        return 0
    return sign * parse_hours_to_minutes(cleaned, granularity, maximum_minutes=maximum_minutes)


def _check_digits(text: str) -> None:
    """Refuse digits other than ASCII 0-9 ("١", "１", "²") with a message that says so."""
    if any(character.isdigit() and not character.isascii() for character in text):
        raise HoursInputError(OTHER_DIGITS_MESSAGE)


def _example_for(granularity: int) -> str:
    return f"1:{granularity:02d}" if granularity < 60 else "1 or 2"
