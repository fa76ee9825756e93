"""Transactions and row locks for ledger writes (DESIGN.md rules 8 and 9), and how every
transaction begins (docs/ARCHITECTURE.md, "Locking").

PostgreSQL: the touched account rows are locked with ``SELECT … FOR NO KEY UPDATE`` in ascending
id order (one global order, so two writers can never deadlock) before any limit is checked.
SQLite ignores FOR UPDATE, so a ledger write there must start with ``BEGIN IMMEDIATE``, which
takes the database's write lock before the first read. ``write_transaction`` arranges both.

How a SQLite transaction begins is decided in one place, ``begin_mode``. A transaction that
begins as a read (DEFERRED) and then writes is refused at once with "database is locked" when
another writer got there first (its snapshot is stale, and SQLite does not wait), whatever the
busy timeout. So every transaction that may write begins IMMEDIATE, waiting (up to the busy
timeout) for the write lock at its BEGIN, where waiting is safe: inside ``write_transaction``,
and every transaction of a unit of work that may write (``unit_of_work(writes=True)``: a request
other than GET, HEAD or OPTIONS; a command that writes). A read-only unit's transactions begin
DEFERRED: reads never wait for a writer (WAL). A read-only unit that must write (a GET's
bookkeeping; a scheduled job, which sends mail between its transactions and so must not hold the
lock throughout) does each write in ``write_transaction``; a write in a DEFERRED transaction of a
read-only unit is refused in tests and logged elsewhere (``UndeclaredWrite``).

Closed months (rule 9) against a concurrent month close: a ledger write first takes a shared
lock on its timebank's row (``lock_timebank``: FOR KEY SHARE, which ledger writes share with one
another), and the month close takes FOR UPDATE on the same row (close.py). So a close waits for
every write in flight, and a write that began while a close ran waits for the close to commit.
Either way, the latest closed month read by any later statement of the write (it comes with the
account locks, ``lock_accounts_for_posting``) is the one that counts.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Select, bindparam, event, func, select
from sqlalchemy.orm import Session, joinedload

from ..models import Account, Period, Timebank
from .errors import AccountNotFound, LedgerUsageError, TimebankNotFound

log = logging.getLogger("timebank.ledger")

SQLITE_BEGIN_OPTION = "timebank_sqlite_begin"
# How long a SQLite transaction waits at its BEGIN for another writer to finish (SQLite retries
# with its own short backoff meanwhile). Well below gunicorn's 30 s worker timeout, so a request
# that still finds the database busy is answered (503, timebank/busy.py), never killed.
SQLITE_BUSY_TIMEOUT_MS = 5000

# Test switch: the concurrency tests turn locking off to prove that without it the ledger
# breaks. Never switched off outside tests.
row_locking_enabled = True


def set_row_locking(enabled: bool) -> None:
    global row_locking_enabled
    row_locking_enabled = enabled


class UndeclaredWrite(LedgerUsageError):
    """A read-only unit of work (a GET, a scheduled job) wrote in a transaction that began as a
    read. On SQLite that fails at once when another writer got there first: do the write in
    ``write_transaction``, or make the request a POST."""


@dataclass
class UnitOfWork:
    """What runs now (a request, a scheduled job, a command): whether it may write, and how many
    of its transactions have committed writes (a unit that committed nothing may be run again)."""

    writes: bool
    committed_writes: int = 0


_unit: ContextVar[UnitOfWork | None] = ContextVar("timebank_unit_of_work", default=None)


@contextmanager
def unit_of_work(*, writes: bool) -> Iterator[UnitOfWork]:
    """Declare what runs inside: ``writes=True`` makes each of its SQLite transactions begin
    IMMEDIATE; ``writes=False`` (reads only) DEFERRED. Outside any unit, DEFERRED."""
    unit = UnitOfWork(writes)
    token = _unit.set(unit)
    try:
        yield unit
    finally:
        _unit.reset(token)


def current_unit() -> UnitOfWork | None:
    return _unit.get()


def begin_mode(connection: Connection) -> str:
    """How a SQLite transaction on this connection begins: the one place that decides."""
    if not row_locking_enabled:
        return "DEFERRED"
    if connection.get_execution_options().get(SQLITE_BEGIN_OPTION) == "IMMEDIATE":
        return "IMMEDIATE"  # write_transaction
    unit = _unit.get()
    return "IMMEDIATE" if unit is not None and unit.writes else "DEFERRED"


def configure_engine(engine: Engine, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, strict: bool = False) -> None:
    """Make SQLite behave: foreign keys on, WAL, a busy timeout, and our own BEGIN (``begin_mode``).
    Both databases: note whether the open transaction has written yet (``write_transaction`` may
    then carry on in it) and count each unit's committed writes. ``strict`` (tests): a write in a
    read-only unit's DEFERRED transaction raises ``UndeclaredWrite`` instead of being logged."""
    if getattr(engine, "_timebank_configured", False):
        return
    if engine.dialect.name not in ("sqlite", "postgresql"):
        return
    engine._timebank_configured = True  # type: ignore[attr-defined]
    sqlite = engine.dialect.name == "sqlite"

    if sqlite:

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control from pysqlite so BEGIN is ours to emit.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = None
        if sqlite:
            mode = begin_mode(connection)
            connection.exec_driver_sql(f"BEGIN {mode}")
        connection.info[_BEGUN] = mode
        connection.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _sending(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if connection.info.get(_WROTE) is False and _WRITE.match(statement):
            if sqlite and connection.info.get(_BEGUN) == "DEFERRED":
                _undeclared_write(statement, strict)
            connection.info[_WROTE] = True

    @event.listens_for(engine, "commit")
    def _committing(connection: Any) -> None:
        unit = _unit.get()
        if unit is not None and connection.info.get(_WROTE):
            unit.committed_writes += 1


_BEGUN = "timebank_transaction_begun"
_WROTE = "timebank_transaction_wrote"
# A statement that writes (a CTE may front an INSERT, UPDATE or DELETE). Compiled statements
# start with their verb; nothing else is sent.
_WRITE = re.compile(
    r"\s*(?:INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b|\s*WITH\b.*\b(?:INSERT|UPDATE|DELETE)\b",
    re.IGNORECASE | re.DOTALL,
)


def _undeclared_write(statement: str, strict: bool) -> None:
    unit = _unit.get()
    if unit is None or unit.writes:
        return
    message = (
        "A read-only unit of work (a GET, a scheduled job) wrote in a transaction that began as a read; "
        "on SQLite that fails under load. "
        f"Use write_transaction (or a POST). Statement: {statement[:120]}"
    )
    if strict:
        raise UndeclaredWrite(message)
    log.warning(message)


def _only_read_so_far(session: Session) -> bool:
    """The open transaction has read but written nothing (and the session holds nothing to
    write), and carrying on in it is the same as beginning anew. PostgreSQL, read committed:
    every statement sees what is committed when it starts. SQLite: only if it began IMMEDIATE,
    so it already holds the write lock (a DEFERRED one would be refused when it writes)."""
    if session.in_nested_transaction() or session.new or session.dirty or session.deleted:
        return False
    connection = session.connection()
    if connection.info.get(_WROTE) is not False:
        return False
    if connection.dialect.name == "sqlite":
        return bool(connection.info.get(_BEGUN) == "IMMEDIATE")
    return (
        connection.dialect.name == "postgresql"
        and connection.get_execution_options().get("isolation_level") is None
        and connection.default_isolation_level == "READ COMMITTED"
    )


_HELD = "timebank_held_commit"


@contextmanager
def held_commit(session: Session) -> Iterator[None]:
    """Within this block ``write_transaction`` does not commit: it flushes (and expires what the
    session holds, as a commit would), a later one carries on in the same transaction (in a
    savepoint, so each block stays all or nothing), and the block's owner commits it, with
    whatever it adds after the writes (the API stores its answer to an Idempotency-Key so: both
    commit, or neither). What is still held when the block ends uncommitted is rolled back."""
    if _HELD in session.info:
        raise LedgerUsageError("held_commit blocks do not nest.")
    held = session.info[_HELD] = _HeldWrite()
    try:
        yield
    finally:
        del session.info[_HELD]
        if held.is_open(session):
            session.rollback()


class _HeldWrite:
    """The transaction a held ``write_transaction`` left open for the owner to commit."""

    def __init__(self) -> None:
        self.transaction: object | None = None

    def is_open(self, session: Session) -> bool:
        return self.transaction is not None and self.transaction is session.get_transaction()

    def keep(self, session: Session) -> None:
        session.flush()
        if session.expire_on_commit:
            session.expire_all()  # what the owner reads next is what a commit would show
        self.transaction = session.get_transaction()


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run a block as one all-or-nothing write: commit at the end, roll back on any error. On
    SQLite it holds the write lock from its BEGIN. Also the way for a read-only unit of work (a
    GET) to write: it ends the read transaction and begins one that may write.
    Inside ``held_commit`` the commit is left to the owner of that block."""
    held: _HeldWrite | None = session.info.get(_HELD)
    if held is not None and held.is_open(session):
        # Carry on in the held write (its write lock is already taken), in a savepoint: this
        # block is still all or nothing, and a caller that goes on after its error (as after a
        # refused commit) keeps what the earlier blocks wrote.
        savepoint = session.begin_nested()
        try:
            yield session
            savepoint.commit()
            held.keep(session)
        except BaseException:
            if savepoint.is_active:
                savepoint.rollback()
            raise
        return
    if session.in_transaction() and not _only_read_so_far(session):
        # A read transaction (e.g. loading the signed-in member) may be open. End it so the
        # write transaction begins with the write lock on SQLite (and what the session held to
        # write is committed first, as it always was). Without expiring what it loaded: the
        # signed-in member would only be read again, unlocked, a moment later. What a write
        # decides on is read again inside it, locked (the rows it changes, with
        # populate_existing; the timebank, ``lock_timebank``).
        expire = session.expire_on_commit
        session.expire_on_commit = False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire
    if not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    try:
        yield session
        if held is None:
            session.commit()
        else:
            held.keep(session)
    except BaseException:
        session.rollback()
        raise


def lock_timebank(session: Session, timebank_id: int) -> Timebank:
    """The timebank, read afresh, with a lock shared by ledger writes and exclusive of a month
    close (PostgreSQL: FOR KEY SHARE; SQLite: the write lock is already held), kept to the end of
    the transaction. Taken once per transaction: later calls answer from the session."""
    _require_write_lock(session)
    transaction = session.get_transaction()
    held: tuple[object, set[int]] | None = session.info.get(_TIMEBANK_LOCKS)
    if held is None or held[0] is not transaction:
        held = (transaction, set())
        session.info[_TIMEBANK_LOCKS] = held
    if timebank_id in held[1]:
        timebank = session.get(Timebank, timebank_id)
    else:
        timebank = session.scalar(_timebank_query(row_locking_enabled), {"id": timebank_id})
    if timebank is None:
        raise TimebankNotFound(f"There is no timebank {timebank_id}.")
    held[1].add(timebank_id)
    return timebank


def holds_timebank_lock(session: Session, timebank_id: int) -> bool:
    held = session.info.get(_TIMEBANK_LOCKS)
    return held is not None and held[0] is session.get_transaction() and timebank_id in held[1]


def lock_accounts(session: Session, account_ids: Iterable[int]) -> dict[int, Account]:
    """Load the accounts, locked for this transaction, in ascending id order."""
    accounts, _latest = _lock_accounts(session, account_ids, None)
    return accounts


def lock_accounts_for_posting(
    session: Session, timebank_id: int, account_ids: Iterable[int]
) -> tuple[dict[int, Account], date | None]:
    """``lock_accounts``, and the timebank's latest closed month read in the same statement (one
    round trip for both). Only after ``lock_timebank``: that lock is what makes the month read
    here the one that counts until commit (see the module's docstring)."""
    if not holds_timebank_lock(session, timebank_id):
        raise LedgerUsageError("Lock the timebank (lock_timebank) before posting into its ledger.")
    return _lock_accounts(session, account_ids, timebank_id)


_TIMEBANK_LOCKS = "timebank_ledger_locks"


def _require_write_lock(session: Session) -> None:
    connection = session.connection()
    if connection.dialect.name != "sqlite" or not row_locking_enabled:
        return
    # Began IMMEDIATE: by write_transaction's option, or as a transaction of a unit that writes.
    if connection.info.get(_BEGUN) != "IMMEDIATE" and begin_mode(connection) != "IMMEDIATE":
        raise LedgerUsageError("Ledger writes on SQLite must run inside write_transaction().")


def _lock_accounts(
    session: Session, account_ids: Iterable[int], closed_of: int | None
) -> tuple[dict[int, Account], date | None]:
    ids = sorted(set(account_ids))
    _require_write_lock(session)
    # The caller's pending changes are flushed first only when this read depends on them (a new
    # account, a changed one): otherwise they go with the transfer's, in one flush, not two.
    flush_first = bool(session.new or session.deleted) or any(isinstance(o, Account) for o in session.dirty)
    rows = session.execute(
        _accounts_query(row_locking_enabled, closed_of is not None),
        {"ids": ids, "timebank_id": closed_of},
        execution_options={"autoflush": flush_first},
    )
    accounts: dict[int, Account] = {}
    latest_month: date | None = None
    for row in rows:
        accounts[row[0].id] = row[0]
        if closed_of is not None:
            latest_month = row[1]
    missing = [account_id for account_id in ids if account_id not in accounts]
    if missing:
        raise AccountNotFound(f"There is no account {missing[0]}.")
    _keep_until_the_end(session, accounts.values())
    return accounts, latest_month


_KEPT = "timebank_locked_accounts"


def _keep_until_the_end(session: Session, accounts: Iterable[Account]) -> None:
    """Hold the locked accounts for the rest of the transaction. The session only holds objects
    weakly unless they have changes to flush, and the cached totals are written with a Core
    UPDATE (transfers.py), so without this the accounts (and their members) would be forgotten
    and read again, unlocked, by whatever tells the members afterwards."""
    transaction = session.get_transaction()
    kept: tuple[object, list[Account]] | None = session.info.get(_KEPT)
    if kept is None or kept[0] is not transaction:
        kept = (transaction, [])
        session.info[_KEPT] = kept
    kept[1].extend(accounts)


@functools.cache
def _timebank_query(locking: bool) -> Select[tuple[Timebank]]:
    query = select(Timebank).where(Timebank.id == bindparam("id")).execution_options(populate_existing=True)
    return query.with_for_update(read=True, key_share=True) if locking else query


@functools.cache
def _accounts_query(locking: bool, with_latest_closed: bool) -> Select[Any]:
    """Built once (building it costs more than running it)."""
    columns: list[Any] = [Account]
    if with_latest_closed:
        latest = select(func.max(Period.month)).where(Period.timebank_id == bindparam("timebank_id"))
        columns.append(latest.scalar_subquery())
    # Reading the accounts afresh would forget their members; what follows a ledger write
    # (telling the members) needs them, so they come along, unlocked.
    query = (
        select(*columns)
        .where(Account.id.in_(bindparam("ids", expanding=True)))
        .order_by(Account.id)
        .options(joinedload(Account.member))
        .execution_options(populate_existing=True)
    )
    if locking:
        # FOR NO KEY UPDATE, not FOR UPDATE: inserting a row that references an account (an
        # exchange, a transfer) takes FOR KEY SHARE on it, and FOR UPDATE conflicts with that.
        # Two writers that had both inserted such a row would then each wait for the other's key
        # share: a deadlock the ascending order cannot prevent (the torture test found it). NO KEY
        # UPDATE still excludes every other ledger writer; we never change an account's id.
        query = query.with_for_update(key_share=True, of=Account)
    return query
