"""A database too busy to take a write just now, and running a unit of work again when it was.

On SQLite every transaction that may write waits for the write lock at its BEGIN (up to the busy
timeout, ``locking.SQLITE_BUSY_TIMEOUT_MS``). What still meets a busy database, and on
PostgreSQL a deadlock, a serialization failure or a lock timeout, is transient: the same work a
moment later would succeed. ``run_again_when_busy`` runs a unit again, a bounded number of times
with a short random backoff, but only while it has committed no write (nothing acknowledged, so
running it again cannot do anything twice). What remains is answered "busy, try again" (a 503,
timebank/busy.py), never a 500.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from .locking import current_unit

T = TypeVar("T")

ATTEMPTS = 3  # the first run and two more
BACKOFF_SECONDS = (0.05, 0.2)  # before the 2nd and 3rd attempts, each times a random 0.5-1.5
# No new attempt once this long has gone by (each may wait the busy timeout at its BEGIN): the
# answer must come well before gunicorn's 30 s worker timeout.
GIVE_UP_AFTER_SECONDS = 10.0

_SQLITE_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
# deadlock_detected, serialization_failure, lock_not_available
_POSTGRES_TRANSIENT_STATES = {"40P01", "40001", "55P03"}


def is_database_busy(error: BaseException) -> bool:
    """The database refused for now (busy, locked, a deadlock or serialization failure): the
    same work later would succeed. Nothing of a refused transaction was written."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_BUSY_CODES  # extended codes: BUSY_SNAPSHOT, LOCKED_SHAREDCACHE, ...
        return "locked" in str(original)
    return getattr(original, "sqlstate", None) in _POSTGRES_TRANSIENT_STATES


def run_again_when_busy(run: Callable[[], T], *, reset: Callable[[], None]) -> T:
    """``run()``; when it meets a busy database having committed no write in the current unit of
    work (``locking.unit_of_work``), ``reset()`` (roll back) and run it again, up to ``ATTEMPTS``
    times. Outside a unit there is no knowing what was committed, so nothing is run again."""
    started = time.monotonic()
    for attempt in range(1, ATTEMPTS + 1):
        unit = current_unit()
        committed_before = unit.committed_writes if unit is not None else None
        try:
            return run()
        except DBAPIError as error:
            if (
                not is_database_busy(error)
                or unit is None
                or unit.committed_writes != committed_before
                or attempt == ATTEMPTS
                or time.monotonic() - started > GIVE_UP_AFTER_SECONDS
            ):
                raise
            reset()
            time.sleep(BACKOFF_SECONDS[attempt - 1] * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")  # the loop returns or raises
