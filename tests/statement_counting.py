"""Counting the SQL statements a piece of code sends: how the tests pin round-trip budgets
(an N+1 or a query per month shows up as a count that grows with the data)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session


@contextmanager
def counting_statements(bind: Session | Engine, *, count_begin: bool = True) -> Iterator[list[str]]:
    """The statements sent inside the block, in order. ``count_begin=False`` leaves out
    SQLite's own BEGIN (ledger/locking.py sends it), so one budget fits both databases."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if count_begin or not statement.startswith("BEGIN"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
