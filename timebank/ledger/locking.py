"""Transactions and row locks for ledger writes (DESIGN.md rule 8).

PostgreSQL: the touched account rows are locked with ``SELECT … FOR NO KEY UPDATE`` in ascending
id order (one global order, so two writers can never deadlock) before any limit is checked.
SQLite ignores FOR UPDATE, so a ledger write there must start with ``BEGIN IMMEDIATE``, which
takes the database's write lock before the first read. ``write_transaction`` arranges both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from ..models import Account
from .errors import AccountNotFound, LedgerUsageError

SQLITE_BEGIN_OPTION = "timebank_sqlite_begin"

# Test switch: the concurrency tests turn locking off to prove that without it the ledger
# breaks. Never switched off outside tests.
row_locking_enabled = True


def set_row_locking(enabled: bool) -> None:
    global row_locking_enabled
    row_locking_enabled = enabled


def configure_engine(engine: Engine) -> None:
    """Make SQLite behave: foreign keys on, WAL, a busy timeout, and our own BEGIN so a write
    transaction can ask for IMMEDIATE. PostgreSQL needs nothing here."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_timebank_configured", False):
        return
    engine._timebank_configured = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        if not row_locking_enabled:
            mode = "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run a block as one all-or-nothing write: commit at the end, roll back on any error."""
    if session.in_transaction():
        # A read transaction (e.g. loading the signed-in member) may be open. End it so the
        # write transaction begins with the write lock on SQLite.
        session.commit()
    session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def lock_accounts(session: Session, account_ids: Iterable[int]) -> dict[int, Account]:
    """Load the accounts, locked for this transaction, in ascending id order."""
    ids = sorted(set(account_ids))
    connection = session.connection()
    if (
        connection.dialect.name == "sqlite"
        and row_locking_enabled
        and connection.get_execution_options().get(SQLITE_BEGIN_OPTION) != "IMMEDIATE"
    ):
        raise LedgerUsageError("Ledger writes on SQLite must run inside write_transaction().")
    query = select(Account).where(Account.id.in_(ids)).order_by(Account.id)
    query = query.execution_options(populate_existing=True)
    if row_locking_enabled:
        # FOR NO KEY UPDATE, not FOR UPDATE: inserting a row that references an account (an
        # exchange, a transfer) takes FOR KEY SHARE on it, and FOR UPDATE conflicts with that.
        # Two writers that had both inserted such a row would then each wait for the other's key
        # share: a deadlock the ascending order cannot prevent (the torture test found it). NO KEY
        # UPDATE still excludes every other ledger writer; we never change an account's id.
        query = query.with_for_update(key_share=True)
    accounts = {account.id: account for account in session.scalars(query)}
    missing = [account_id for account_id in ids if account_id not in accounts]
    if missing:
        raise AccountNotFound(f"There is no account {missing[0]}.")
    return accounts
