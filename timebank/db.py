"""Inserts that let a unique constraint decide, in one round trip, on SQLite and PostgreSQL alike.

``INSERT .. ON CONFLICT DO NOTHING RETURNING ..``: a row whose unique key already exists (also
when a concurrent transaction has just written it: the database waits for it and decides) is
skipped, without an error that would end a PostgreSQL transaction, so no SAVEPOINT and no
SELECT before it are needed. The caller learns what was skipped from what comes back.

The statements are plain ``text()`` built once per shape: the dialects' own ON CONFLICT
constructs cannot be cached by SQLAlchemy and were compiled again on every call.

``attach`` makes an object built in Python from an inserted row part of the session without
reading the row back.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Row, TextualSelect, bindparam, text
from sqlalchemy.orm import Session, make_transient_to_detached

from .models import Base

T = TypeVar("T", bound=Base)


def insert_once(
    session: Session,
    table_name: str,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str] | None = None,
    returning: Sequence[str] = ("id",),
) -> list[Row[Any]]:
    """Insert ``rows`` (each with the same keys) in one statement, skipping any that collide with
    a unique key (``conflict``: those columns' constraint; None: any unique constraint). Returns
    the ``returning`` columns of the rows actually inserted, in no particular order. The caller
    flushes the session first if the rows refer to objects not yet written."""
    if not rows:
        return []
    columns = tuple(rows[0])
    statement = _statement(table_name, columns, len(rows), tuple(conflict or ()), tuple(returning))
    params = {f"{column}_{n}": row[column] for n, row in enumerate(rows) for column in columns}
    return list(session.execute(statement, params))


def attach(session: Session, obj: T) -> T:
    """Make ``obj`` (a new object carrying every column of a row just inserted, its id included)
    a persistent, unmodified object of the session, as if it had been loaded."""
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


@functools.cache
def _statement(
    table_name: str, columns: tuple[str, ...], count: int, conflict: tuple[str, ...], returning: tuple[str, ...]
) -> TextualSelect:
    table = Base.metadata.tables[table_name]
    values = ", ".join("(" + ", ".join(f":{c}_{n}" for c in columns) + ")" for n in range(count))
    target = f"({', '.join(conflict)}) " if conflict else ""
    sql = (
        f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES {values} "
        f"ON CONFLICT {target}DO NOTHING RETURNING {', '.join(returning)}"
    )
    return (
        text(sql)
        .bindparams(*(bindparam(f"{c}_{n}", type_=table.c[c].type) for n in range(count) for c in columns))
        .columns(*(table.c[c] for c in returning))
    )
