"""SQLite, the embedded default, under load: the app served on a SQLite file as ``flask run``
serves it (./scripts/run) and by gunicorn with 4 workers, 8 clients writing through the JSON API
and the web forms at once for a few seconds. 0 answers of 500 ("database is locked" was one for
most of them), every acknowledged write in the database exactly once, check-ledger passing
(tests/torture/sqlite_load.py says how). ``python -m tests.torture.sqlite_load`` runs it by hand.

TIMEBANK_SQLITE_LOAD_SECONDS changes the length of the load (default 5 s).
"""

from __future__ import annotations

import os

import pytest

from tests.torture.sqlite_load import LoadSettings, run_load

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("server", ["flask", "gunicorn"])
def test_eight_clients_writing_at_once_on_sqlite_get_no_500_and_lose_nothing(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seconds = float(os.environ.get("TIMEBANK_SQLITE_LOAD_SECONDS", "5"))
    report = run_load(LoadSettings(server=server, workers=4, clients=8, seconds=seconds))
    with capsys.disabled():
        print("\n" + report.text())
    assert not report.server_errors, report.text()
    assert not report.violations, report.text()
    # Everything was really exercised: writes acknowledged through both doors, some sent twice.
    assert report.acknowledged["api_record"] > 0
    assert report.acknowledged["web_record"] > 0 and report.acknowledged["web_listing"] > 0
    assert report.double_sends > 0
