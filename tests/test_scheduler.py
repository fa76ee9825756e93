"""The scheduler process, configured but never started: every job on its timetable with
coalescing, one instance at a time and a misfire grace time; the next fire times for a frozen
moment (across London's change to summer time); catch-up at start, in order, before the
timetable; and the CLI that runs one job or lists them. No database is needed for the
timetable; the CLI tests run on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from flask.testing import FlaskCliRunner

from timebank import create_app
from timebank.jobs import JOBS
from timebank.jobs import scheduler as scheduler_module
from timebank.jobs.scheduler import MISFIRE_GRACE_SECONDS, build_scheduler


@pytest.fixture
def bare_app(tmp_path: Path) -> Flask:
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite'}"})


def test_the_scheduler_has_every_job_on_its_timetable_and_fires_at_the_stated_times(bare_app: Flask):
    scheduler = build_scheduler(bare_app)
    assert isinstance(scheduler, BlockingScheduler) and not scheduler.running
    assert str(scheduler.timezone) == "UTC"
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(jobs) == sorted(JOBS)
    for job in jobs.values():
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, MISFIRE_GRACE_SECONDS)
        assert job.args == (bare_app, job.id)

    # 29 March 2026, 00:30 UTC: London moves to summer time at 01:00 UTC. The timetable is UTC;
    # the jobs themselves decide what is due in each timebank's time zone.
    now = datetime(2026, 3, 29, 0, 30, 20, tzinfo=UTC)

    def next_fire(job_id: str, after: datetime = now) -> datetime:
        fire = jobs[job_id].trigger.get_next_fire_time(None, after)
        assert fire is not None
        return fire.astimezone(UTC)

    assert next_fire("close_due_months") == datetime(2026, 3, 29, 1, 5, tzinfo=UTC)
    assert next_fire("close_due_months", datetime(2026, 3, 29, 1, 6, tzinfo=UTC)) == datetime(
        2026, 3, 29, 2, 5, tzinfo=UTC
    )
    assert next_fire("expire_pending_exchanges") == datetime(2026, 3, 29, 1, 15, tzinfo=UTC)
    assert next_fire("pause_ended_listings") == datetime(2026, 3, 29, 1, 25, tzinfo=UTC)
    assert next_fire("queue_weekly_digests") == datetime(2026, 3, 29, 0, 35, tzinfo=UTC)
    assert next_fire("send_emails") == datetime(2026, 3, 29, 0, 31, tzinfo=UTC)
    assert next_fire("forget_old_sessions") == datetime(2026, 3, 29, 3, 45, tzinfo=UTC)
    # Hourly means every hour, the night the clocks change included (no hour skipped in UTC).
    fires, moment = [], now
    for _ in range(3):
        moment = next_fire("close_due_months", moment + timedelta(seconds=1))
        fires.append(moment.hour)
    assert fires == [1, 2, 3]


def test_starting_the_scheduler_first_runs_every_job_once_in_order_then_the_timetable(
    bare_app: Flask, monkeypatch: pytest.MonkeyPatch
):
    happened: list[str] = []
    monkeypatch.setattr(scheduler_module, "run_in_app", lambda app, name, now=None: happened.append(name))
    monkeypatch.setattr(BlockingScheduler, "start", lambda self, *a, **k: happened.append("timetable"))
    scheduler_module.run_scheduler(bare_app)
    assert happened == [
        "close_due_months",
        "expire_pending_exchanges",
        "pause_ended_listings",
        "queue_weekly_digests",
        "send_emails",
        "forget_old_sessions",
        "timetable",
    ]


@pytest.mark.real_commits  # the job runs with a session of its own (run_job)
def test_run_job_runs_one_job_at_a_given_moment_and_jobs_lists_the_last_runs(app: Flask, runner: FlaskCliRunner):
    result = runner.invoke(args=["timebank", "run-job", "close_due_months", "--now", "2026-04-01T01:00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.output == "close_due_months: No month was due to close in 0 timebanks.\n"
    listing = runner.invoke(args=["timebank", "jobs"])
    assert listing.exit_code == 0
    assert "close_due_months (every hour at :05)" in listing.output
    assert "last run 2026-04-01 01:00 UTC, ok: No month was due to close in 0 timebanks." in listing.output
    assert "send_emails (every minute)\n    Send the queued emails.\n    never run" in listing.output

    unknown = runner.invoke(args=["timebank", "run-job", "tidy_up"])
    assert unknown.exit_code != 0 and "There is no job 'tidy_up'" in unknown.output
    bad_time = runner.invoke(args=["timebank", "run-job", "send_emails", "--now", "yesterday"])
    assert bad_time.exit_code != 0 and "ISO 8601" in bad_time.output


@pytest.mark.real_commits  # the job runs with a session of its own (run_job)
def test_admins_see_each_jobs_last_run(app: Flask, factory, auth, client):  # type: ignore[no-untyped-def]
    from timebank.jobs import run_job

    admin = factory.member(None, "Ada Admin", is_admin=True)
    run_job("close_due_months", now=datetime(2026, 4, 1, 1, 0, tzinfo=UTC))
    auth.login(admin)
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<caption>Each job and its last run</caption>" in text
    assert "Worked: No month was due to close in 0 timebanks." in text
    assert "Wednesday 1 April 2026 at 2:00am" in text  # 01:00 UTC, shown in London summer time
    assert text.count("Not run yet") == len(JOBS) - 1
