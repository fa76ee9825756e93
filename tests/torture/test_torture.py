"""The ledger torture test at CI size: 4 gunicorn workers on a fresh PostgreSQL database, 16
HTTP clients doing random records, confirmations, approvals, rejections, reversals and donations
with Idempotency-Keys and retries against small floors and caps, a worker SIGKILLed every few
seconds. Then check-ledger, Σ = 0, limits, every acknowledged operation in the ledger exactly
once, every replay identical, and every interrupted request's retry a 2xx or its first answer,
never a 409 for its own effect (tests/torture/harness.py says how). Real parts only, so PostgreSQL
is required (skipped loudly without it). ``scripts/torture`` runs the same at any size.

TIMEBANK_TORTURE_SECONDS changes the length of the load (default 25 s).

A small run on SQLite (the embedded default most installations start with) needs nothing but
gunicorn, so it always runs: 8 clients, 2 workers, a kill every 2 s, 0 violations, no 5xx.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import require_postgres
from tests.torture.harness import Settings, run

# The slow tier: CI runs it, `-m "not slow"` leaves it out while iterating.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.mark.postgres
def test_the_ledger_holds_under_load_retries_and_killed_workers(capsys: pytest.CaptureFixture[str]) -> None:
    require_postgres("the torture test: gunicorn workers on PostgreSQL")
    seconds = float(os.environ.get("TIMEBANK_TORTURE_SECONDS", "25"))
    report = run(Settings(seconds=seconds, clients=16, workers=4, kill_every=2.5, members=24))
    with capsys.disabled():
        print("\n" + report.text())
    assert not report.violations, report.text()
    assert not report.server_errors
    # It really was tortured: workers died under it, requests were retried and replayed.
    assert report.kills > 0
    assert report.total_retries > 0 and report.replays_matched > 0
    assert sum(report.interrupted.values()) > 0, "requests were interrupted mid-way and retried"
    assert sum(report.acknowledged.values()) > 0 and report.transfers > 0


@pytest.mark.slow
def test_the_ledger_holds_on_sqlite_under_load_and_killed_workers(capsys: pytest.CaptureFixture[str]) -> None:
    seconds = float(os.environ.get("TIMEBANK_TORTURE_SQLITE_SECONDS", "12"))
    report = run(
        Settings(seconds=seconds, clients=8, workers=2, kill_every=2.0, members=16, database="sqlite")
    )
    with capsys.disabled():
        print("\n" + report.text())
    assert not report.violations, report.text()
    assert not report.server_errors  # "database is locked" was a 500 here
    assert report.kills > 0
    assert report.total_retries > 0 and report.replays_matched > 0
    assert sum(report.acknowledged.values()) > 0 and report.transfers > 0
