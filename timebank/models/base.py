"""The declarative base shared by every model.

Plain SQLAlchemy (no Flask) so the ledger package can use the models without importing Flask;
Flask-SQLAlchemy is handed this base in ``extensions.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import DDL, MetaData, event
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names so Alembic migrations are stable on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Naive UTC timestamp: both SQLite and PostgreSQL store it the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


# Expression indexes Alembic cannot compare: PostgreSQL stores them in a normalised form
# ("coalesce(title, '')" comes back as "COALESCE(title, ''::character varying)::text"), so
# autogenerate would drop and re-create them on every run. The migrations test checks them
# by name instead.
EXPRESSION_INDEXES = frozenset({"ix_listings_search", "ix_listings_timebank_search"})


def include_in_autogenerate(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's include_object hook, shared by migrations/env.py and the migrations test."""
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


def install_trigger_ddl(table_name: str, statements_for: Callable[[str], list[str]]) -> None:
    """Run ``statements_for(dialect)`` (a table's triggers) after ``create_all`` creates the
    table. The migrations write the same statements by hand; tests/test_migrations.py checks the
    migrated database has exactly the triggers ``create_all`` makes."""
    table = Base.metadata.tables[table_name]
    for dialect in ("sqlite", "postgresql"):
        for statement in statements_for(dialect):
            # DDL treats % as a format character.
            ddl = DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)
            event.listen(table, "after_create", ddl)
