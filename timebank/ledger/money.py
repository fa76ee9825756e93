"""Time amounts: integer minutes, a positive multiple of the timebank's granularity. How they
are written is ``timebank/hours.py``'s business."""

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

