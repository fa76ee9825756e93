"""The scheduler process: APScheduler's ``BlockingScheduler`` running the jobs on a timetable.

Run it as its own process beside the web app (``flask timebank scheduler``); web workers never
run jobs. Times are UTC; each job decides for itself what is due in each timebank's time zone
(a month closes from 02:00 on the 1st local time, the digest goes from Monday 08:00 local), so
one hourly trigger serves every time zone, daylight saving included, and a timebank created
later (in any zone) needs no restart. With whole-hour offsets the close happens at 02:05 local.

- close_due_months            every hour at :05
- expire_pending_exchanges    every hour at :15
- pause_ended_listings        every hour at :25 (hourly rather than daily, so a listing pauses
                              soon after midnight in its own time zone, wherever that is)
- queue_weekly_digests        every hour at :35
- send_emails                 every minute
- forget_old_sessions         every day at 03:45

``coalesce`` (a backlog of missed runs runs once), ``max_instances=1`` (a slow run is never
overlapped by the next one) and a misfire grace time. On start, before the timetable, every job
runs once in order: that is the catch-up after the server was down (a missed close on the 1st,
a missed digest on Monday). Two schedulers started by mistake are safe: the jobs themselves are
(locks and unique constraints), the timetable is only when to look.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from . import JOBS, run_job

log = logging.getLogger("timebank.jobs")

MISFIRE_GRACE_SECONDS = 10 * 60
JOB_DEFAULTS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS}
# The catch-up order at start (JOBS is listed in it): close and expire before the mail goes out.
START_ORDER = tuple(JOBS)


def triggers() -> dict[str, BaseTrigger]:
    """When each job runs (UTC)."""
    return {
        "close_due_months": CronTrigger(minute=5, timezone=UTC),
        "expire_pending_exchanges": CronTrigger(minute=15, timezone=UTC),
        "pause_ended_listings": CronTrigger(minute=25, timezone=UTC),
        "queue_weekly_digests": CronTrigger(minute=35, timezone=UTC),
        "send_emails": CronTrigger(minute="*", timezone=UTC),
        "forget_old_sessions": CronTrigger(hour=3, minute=45, timezone=UTC),
    }


def run_in_app(app: Flask, name: str, now: datetime | None = None) -> None:
    """One run of one job, in its own app context and session; errors are logged, not raised,
    so the scheduler keeps going (the run is recorded as failed)."""
    with app.app_context():
        try:
            result = run_job(name, now=now)
        except Exception:  # a failure to even record the run, e.g. the database is down
            log.exception("Job %s could not run", name)
            return
        level = logging.INFO if result.ok else logging.WARNING
        log.log(level, "%s: %s", name, result.line())


def build_scheduler(app: Flask) -> BlockingScheduler:
    """The scheduler with every job on its timetable, not started."""
    scheduler = BlockingScheduler(timezone=UTC, job_defaults=dict(JOB_DEFAULTS))
    for name, trigger in triggers().items():
        assert name in JOBS, name
        scheduler.add_job(
            run_in_app,
            trigger=trigger,
            args=(app, name),
            id=name,
            name=name,
            replace_existing=True,
            **JOB_DEFAULTS,  # on each job too, so they can be read back before the scheduler starts
        )
    return scheduler


def catch_up(app: Flask) -> None:
    """Run every job once, in order (what was missed while no scheduler ran)."""
    for name in START_ORDER:
        run_in_app(app, name)


def run_scheduler(app: Flask) -> None:
    """Catch up, then run the timetable until stopped (Ctrl+C or SIGTERM)."""
    scheduler = build_scheduler(app)
    log.info("Scheduler starting: catching up first")
    catch_up(app)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("Scheduler stopped")
