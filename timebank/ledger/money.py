"""Time amounts: integer minutes (DESIGN.md rule 1), and how to say them in plain words."""

from __future__ import annotations

from .errors import InvalidAmount


def validate_amount(amount: object, granularity: int) -> int:
    """Return ``amount`` if it is a positive whole multiple of the timebank's granularity."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"The amount must be a whole number of minutes, not {amount!r}.")
    if amount <= 0:
        raise InvalidAmount("The amount must be more than zero.")
    if amount % granularity:
        raise InvalidAmount(
            f"The amount must be in steps of {granularity} minutes; {amount} minutes is not."
        )
    return amount


def format_minutes(minutes: int) -> str:
    """'1 hour 30 minutes', '2 hours', '45 minutes', '-1 hour 15 minutes'."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return sign + " ".join(parts)


def format_hours(minutes: int) -> str:
    """Compact hours for tables: '1.5', '-2', '0.25'."""
    hours = minutes / 60
    text = f"{hours:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
