"""Forgetting old web sessions: rows that ended (or must have ended) more than 30 days ago go,
with any form kept on them (``auth.sessions.forget_old_sessions``: one DELETE, so a second run
or a second scheduler finds nothing left to do)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..ledger import write_transaction
from .runs import JobResult


def forget_old_sessions(session: Session, *, now: datetime) -> JobResult:
    from ..auth.sessions import forget_old_sessions as forget

    with write_transaction(session):
        forgotten = forget(session, now)
    return JobResult(f"Forgot {forgotten} old sign-in{'' if forgotten == 1 else 's'}.")
