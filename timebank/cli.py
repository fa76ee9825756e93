"""``flask timebank ...`` commands. Each is a thin wrapper over a service function."""

from __future__ import annotations

import functools
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from .clock import today_in
from .extensions import db
from .ledger import LedgerError, check_ledger, unit_of_work
from .models import Statement, Timebank

timebank_cli = AppGroup("timebank", help="Run and check a Timebank installation.")

F = TypeVar("F", bound=Callable[..., Any])


def writes(command: F) -> F:
    """A command that writes: every transaction it begins on SQLite takes the write lock at its
    BEGIN, so a web request writing at the same moment never makes it fail half-way."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with unit_of_work(writes=True):
            return command(*args, **kwargs)

    return cast(F, wrapped)


@timebank_cli.command("check-ledger")
def check_ledger_command() -> None:
    """Check the ledger from outside: every account's totals, exchange, reversal and closed
    month against the transfers; exit 1 on any problem."""
    result = check_ledger(db.session())
    for problem in result.problems:
        click.echo(f"  - {problem}", err=True)
    click.echo(result.summary())
    if not result.ok:
        sys.exit(1)


@timebank_cli.command("close-month")
@click.option("--timebank", "slug", required=True, help="The timebank's slug.")
@click.option("--month", required=True, type=click.DateTime(formats=["%Y-%m"]), help="The month to close (YYYY-MM).")
@writes
def close_month_command(slug: str, month: datetime) -> None:
    """Close a finished month: make it read-only and write each account's statement (with its
    audit event and month summary, as the scheduler and the coordinator's button do)."""
    from .statements.service import close_and_record

    session = db.session()
    timebank = session.scalar(select(Timebank).where(Timebank.slug == slug))
    if timebank is None:
        raise click.ClickException(f"There is no timebank {slug!r}.")
    try:
        period = close_and_record(
            session, timebank.id, month.date(), today=today_in(timebank.time_zone), actor=None
        )
    except LedgerError as exc:
        raise click.ClickException(exc.message) from exc
    statements = session.scalar(select(func.count(Statement.id)).where(Statement.period_id == period.id))
    click.echo(f"{period.month:%B %Y} of {slug} is closed: {statements} statements, checksum {period.checksum}.")


@timebank_cli.command("backfill-month-summaries")
@writes
def backfill_month_summaries_command() -> None:
    """Store the report figures of closed months that have none (closed before migration 0007,
    or by a tool that bypasses the closing job). Safe to run again; the pages are right without
    it, only slower on those months."""
    from .reports.service import backfill_month_summaries

    started = time.perf_counter()
    written = backfill_month_summaries(db.session())
    seconds = time.perf_counter() - started
    click.echo(f"Wrote {written} month summar{'y' if written == 1 else 'ies'} in {seconds:.1f} s.")


@timebank_cli.command("demo")
@click.option("--password", help="One password for every demo account (otherwise one is generated).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Pretend today is this date (YYYY-MM-DD).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has timebanks.")
@writes
def demo_command(password: str | None, today: object, if_empty: bool) -> None:
    """Create the demo installation: a day-service time bank and a small neighbourhood one."""
    from .demo import DemoAlreadyLoaded, build_demo

    chosen = password or secrets.token_urlsafe(9)
    _refuse_weak_password(chosen)
    day: date | None = today.date() if today is not None else None  # type: ignore[attr-defined]
    try:
        logins = build_demo(db.session(), password=chosen, today=day)
    except DemoAlreadyLoaded as exc:
        if if_empty:
            click.echo("Demo data is already loaded; nothing to do.")
            return
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Demo loaded. Every demo account's password is: {chosen}")
    click.echo(f"{'email':<44} {'role':<12} timebank")
    for login in logins:
        click.echo(f"{login.email:<44} {login.role:<12} {login.timebank}")


@timebank_cli.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduled jobs, as their own process beside the web app (Ctrl+C stops it)."""
    import logging

    from flask import current_app

    from .jobs.scheduler import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run_scheduler(current_app._get_current_object())  # type: ignore[attr-defined]


@timebank_cli.command("run-job")
@click.argument("name")
@click.option("--now", "now_text", help="Pretend it is this moment (ISO 8601; UTC unless it says otherwise).")
def run_job_command(name: str, now_text: str | None) -> None:
    """Run one scheduled job once, now; exit 1 if it had problems."""
    from .jobs import UnknownJob, run_job

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError as exc:
            raise click.BadParameter("use ISO 8601, e.g. 2026-04-01T01:00:00+00:00", param_hint="--now") from exc
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    try:
        result = run_job(name, now=now)
    except UnknownJob as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{name}: {result.line()}")
    if not result.ok:
        sys.exit(1)


@timebank_cli.command("jobs")
def jobs_command() -> None:
    """List the scheduled jobs, when they run, and their last run."""
    from .jobs import JOBS, last_runs

    runs = last_runs(db.session())
    for job in JOBS.values():
        run = runs.get(job.name)
        if run is None:
            last = "never run"
        else:
            outcome = "running" if run.ok is None else ("ok" if run.ok else "FAILED")
            last = f"last run {run.started_at:%Y-%m-%d %H:%M} UTC, {outcome}: {run.summary}"
        click.echo(f"{job.name} ({job.schedule})\n    {job.description}\n    {last}")


@timebank_cli.command("generate")
@click.option("--timebanks", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--members", type=click.IntRange(min=3), default=500, show_default=True, help="Across all timebanks.")
@click.option("--months", type=click.IntRange(min=1, max=120), default=12, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed and --today: same data.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="The last day of history (YYYY-MM-DD).")
@click.option("--rate", type=click.FloatRange(min=0.0, max=20.0), default=0.6, show_default=True,
              help="Exchanges per active member per month, before the seasons.")
@click.option("--password", help="One password for every generated member (otherwise they cannot sign in).")
@writes
def generate_command(
    timebanks: int, members: int, months: int, seed: int, today: datetime | None, rate: float, password: str | None
) -> None:
    """Bulk-generate realistic test data (for benchmarks and scale tests, not for demos)."""
    from .generate import GeneratedDataExists, GenerateSpec, generate

    if password:
        _refuse_weak_password(password)
    spec = GenerateSpec(
        timebanks=timebanks,
        members=members,
        months=months,
        seed=seed,
        today=today.date() if today else None,
        exchanges_per_member_month=rate,
        password=password,
    )
    started = time.perf_counter()
    try:
        summary = generate(db.session(), spec)
    except (GeneratedDataExists, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Generated {summary} in {time.perf_counter() - started:.1f} s.")


def _refuse_weak_password(password: str) -> None:
    """The same password rules as every web form: a command's accounts can be signed in to."""
    from .auth.passwords import password_problem

    problem = password_problem(password)
    if problem:
        raise click.BadParameter(problem, param_hint="--password")


def register(app: Flask) -> None:
    app.cli.add_command(timebank_cli)
