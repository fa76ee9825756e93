"""Scheduled jobs: plain functions ``job(session, *, now) -> JobResult``.

Each job is idempotent and safe when two scheduler processes run by mistake: a row lock or a
unique constraint in the database decides, never timing. ``scheduler.py`` runs them in their own
process (``flask timebank scheduler``); ``flask timebank run-job <name>`` runs one once. Web
workers never run jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ..admin.errors import NotAnAdmin
from ..clock import now_utc
from ..extensions import db
from ..ledger import unit_of_work
from ..models import Member
from .digest import queue_weekly_digests
from .exchanges import expire_pending_exchanges
from .listings import pause_ended_listings
from .mail import send_emails
from .months import close_due_months
from .runs import JobFunction, JobResult, LastRun, last_runs, run_recorded
from .sessions import forget_old_sessions


@dataclass(frozen=True)
class Job:
    name: str
    function: JobFunction
    description: str  # what it does, for the CLI and the admin page
    schedule: str  # when the scheduler runs it, in words (scheduler.py holds the triggers)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "close_due_months",
            close_due_months,
            "Close each finished month (from 02:00 on the 1st, each timebank's time), earliest first.",
            "every hour at :05",
        ),
        Job(
            "expire_pending_exchanges",
            expire_pending_exchanges,
            "Remind both sides of unconfirmed recorded time half-way, then release it when it expires.",
            "every hour at :15",
        ),
        Job(
            "pause_ended_listings",
            pause_ended_listings,
            "Pause offers and requests past their end date and tell their owners.",
            "every hour at :25",
        ),
        Job(
            "queue_weekly_digests",
            queue_weekly_digests,
            "Queue the weekly email of new offers and requests (from Monday 08:00, each timebank's time).",
            "every hour at :35",
        ),
        Job("send_emails", send_emails, "Send the queued emails.", "every minute"),
        Job(
            "forget_old_sessions",
            forget_old_sessions,
            "Forget sign-ins that ended more than 30 days ago, and any form kept on them.",
            "every day at 03:45",
        ),
    )
}


class UnknownJob(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"There is no job {name!r}. Jobs: {', '.join(JOBS)}.")
        self.message = str(self.args[0])


@dataclass(frozen=True)
class JobStatus:
    job: Job
    last: LastRun | None


def job_statuses(session: Session, viewer: Member) -> list[JobStatus]:
    """Every job with its latest run, for installation admins."""
    if not viewer.is_admin:
        raise NotAnAdmin("Only an installation admin can see the scheduled jobs.")
    runs = last_runs(session)
    return [JobStatus(job, runs.get(name)) for name, job in JOBS.items()]


def run_job(name: str, *, now: datetime | None = None) -> JobResult:
    """Run one job once with its own session (the app context's engine), recording the run."""
    job = JOBS.get(name)
    if job is None:
        raise UnknownJob(name)
    # A read-only unit of work: a job does slow things between its transactions (sending mail),
    # so only its writes (each in write_transaction) take SQLite's write lock, never its reads.
    with unit_of_work(writes=False), Session(db.engine) as session:
        return run_recorded(session, name, job.function, now=now or now_utc())


__all__ = ["JOBS", "Job", "JobResult", "JobStatus", "UnknownJob", "job_statuses", "last_runs", "run_job"]
