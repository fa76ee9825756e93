"""Ids that arrive from outside (URLs, forms, the API) are checked before they reach the database:
an id too large for an INTEGER column is simply "not found", never a database error."""

from __future__ import annotations

MAX_ID = 2**31 - 1  # the largest value of a 32-bit INTEGER column (SQLite takes 64 bits, PostgreSQL 32)
URL_ID = f"int(max={MAX_ID})"  # a route converter: f"/<{URL_ID}:listing_id>" answers 404 beyond it


def is_storable_id(value: int) -> bool:
    return 0 < value <= MAX_ID
