"""Ids that arrive from outside (URLs, forms, the API) are checked before they reach the database:
an id too large for an INTEGER column is simply "not found", never a database error.

In a URL the check is made by the route converter: in this app ``<int:...>`` is ``StoredId``
(``register_converters`` replaces Werkzeug's own), whose pattern matches only 1 to ``MAX_ID``
written in ASCII digits. Anything else matches no route at all, so it is a 404 whatever the
method (a converter that refused the value only after matching would make Werkzeug answer 405
when the path's other methods "matched"), and no view ever sees an id it cannot look up.
"""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # the largest value of a 32-bit INTEGER column (SQLite takes 64 bits, PostgreSQL 32)
URL_ID = "int"  # a route converter: f"/<{URL_ID}:listing_id>" answers 404 for anything but 1..MAX_ID

_ASCII_DIGITS = re.compile(r"[0-9]+")


def is_storable_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def parse_id(text: str | None) -> int | None:
    """An id typed or sent as text ("42"): ASCII digits naming a storable id, else None.
    (``str.isdigit`` is true for "²" and "١", which ``int`` then refuses or reads as 1.)"""
    cleaned = (text or "").strip()
    if not _ASCII_DIGITS.fullmatch(cleaned) or len(cleaned) > len(str(MAX_ID)):
        return None
    value = int(cleaned)
    return value if is_storable_id(value) else None


def numbers_up_to(limit: int) -> str:
    """A regular expression matching exactly the whole numbers 1..``limit``, in ASCII digits,
    without leading zeros. For 2147483647: shorter numbers, then each digit position below it."""
    text = str(limit)
    alternatives = [rf"[1-9][0-9]{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for position, digit in enumerate(text):
        lowest = 1 if position == 0 else 0
        if int(digit) > lowest:
            rest = len(text) - position - 1
            alternatives.append(f"{text[:position]}[{lowest}-{int(digit) - 1}][0-9]{{{rest}}}")
    alternatives.append(text)
    return "(?:" + "|".join(alternatives) + ")"


class StoredId(IntegerConverter):
    """``<int:name>``: an id a database column can hold (1..MAX_ID), or no match (404)."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=MAX_ID)
        self.regex = numbers_up_to(MAX_ID)


def register_converters(app: Flask) -> None:
    """Before any blueprint is registered: routes are compiled with the converters of that moment."""
    app.url_map.converters["int"] = StoredId
