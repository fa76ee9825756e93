"""Hours in the API are exact: never a float whose JSON text is not exactly minutes / 60."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from timebank.api.schemas import HoursInput, hours_value

GRANULARITIES = (5, 10, 15, 20, 30, 60)  # every step a timebank may choose (admin settings)


def test_every_amount_in_every_granularity_is_sent_exactly() -> None:
    """Every multiple of every granularity, either sign, up to 10,000 hours and at the limits of
    the ledger's BIGINT: the JSON text of a number is exactly minutes / 60; a value with no exact
    decimal (a third of an hour) is the exact clock string instead, never a rounded float."""
    amounts = {0, 2**53, -(2**53), 2**62 - 2**62 % 60 + 45}
    for granularity in GRANULARITIES:
        amounts.update(range(-600_000, 600_001, granularity * 7))
        amounts.update(range(-600, 601, granularity))
    clocks = 0
    for minutes in amounts:
        value = hours_value(minutes)
        text = json.dumps(value)
        if isinstance(value, str):
            clocks += 1
            sign = -1 if value.startswith("-") else 1
            hours, rest = value.lstrip("-").split(":")
            assert sign * (int(hours) * 60 + int(rest)) == minutes, (minutes, value)
            assert Decimal(minutes) % 3 != 0 or abs(minutes) >= 2**53  # only when no short exact decimal exists
        else:
            assert Decimal(text) * 60 == minutes, (minutes, text)
            assert isinstance(value, int) == (minutes % 60 == 0)
    assert clocks  # 5-, 10- and 20-minute steps do produce thirds of an hour


@pytest.mark.parametrize(
    ("minutes", "sent"),
    [(75, 1.25), (120, 2), (90, 1.5), (45, 0.75), (6, 0.1), (-90, -1.5), (20, "0:20"), (-100, "-1:40"), (0, 0)],
)
def test_examples(minutes: int, sent: object) -> None:
    assert hours_value(minutes) == sent
    assert type(hours_value(minutes)) is type(sent)


def test_hours_coming_in_keep_their_exact_text() -> None:
    field = HoursInput()
    assert field.deserialize(1.25) == "1.25"
    assert field.deserialize(0.1) == "0.1"
    assert field.deserialize(2) == "2"
    assert field.deserialize("1:30") == "1:30"
    for bad in (True, None, [1], {"h": 1}, float("nan")):
        with pytest.raises(Exception):  # noqa: B017 - ValidationError, or None refused by marshmallow
            field.deserialize(bad)
