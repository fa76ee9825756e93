"""Running a job and keeping a record of the run (``JobRun``).

A job is a plain function ``job(session, *, now) -> JobResult``: ``now`` is an aware UTC
datetime handed down to everything the job does, so a test can freeze the clock. Each run is
recorded before it starts (so a run that never finishes shows) and when it ends: ok, and one
line saying what it did. A job that raises is recorded as failed with the error's one line and
logged with its traceback; the scheduler keeps going.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..ledger import write_transaction
from ..models import JobRun

log = logging.getLogger("timebank.jobs")

MAX_SUMMARY = 1000


@dataclass(frozen=True)
class JobResult:
    """What a run did, in one line, and anything that went wrong on the way."""

    summary: str
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        text = self.summary if self.ok else f"{self.summary} Problems: {'; '.join(self.problems)}"
        text = " ".join(text.split())
        return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


JobFunction = Callable[..., JobResult]


def naive_utc(moment: datetime) -> datetime:
    """An aware datetime as the database stores timestamps: naive UTC."""
    if moment.tzinfo is None:
        raise ValueError("Jobs need an aware datetime for 'now'.")
    return moment.astimezone(UTC).replace(tzinfo=None)


def run_recorded(session: Session, name: str, job: JobFunction, *, now: datetime) -> JobResult:
    """Run ``job`` once, recording the run. Never raises for the job's own errors."""
    started = naive_utc(now)
    run = JobRun(job=name, started_at=started)
    with write_transaction(session):
        session.add(run)
    clock = time.perf_counter()
    try:
        result = job(session, now=now)
    except Exception as error:
        session.rollback()
        log.exception("Job %s failed", name)
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        result = JobResult("The job stopped with an error.", (f"{type(error).__name__}: {message}".rstrip(": "),))
    with write_transaction(session):
        run.finished_at = started + timedelta(seconds=time.perf_counter() - clock)
        run.ok = result.ok
        run.summary = result.line()
    return result


@dataclass(frozen=True)
class LastRun:
    job: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None
    summary: str


def last_runs(session: Session) -> dict[str, LastRun]:
    """Each job's latest run, from one grouped query."""
    latest = select(func.max(JobRun.id)).group_by(JobRun.job)
    runs = session.scalars(select(JobRun).where(JobRun.id.in_(latest)))
    return {run.job: LastRun(run.job, run.started_at, run.finished_at, run.ok, run.summary) for run in runs}
