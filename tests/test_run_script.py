"""``./scripts/run`` serves the app with the scheduler beside it, and Ctrl+C stops both.

The script runs in a copy of the repository (its own instance/timebank.sqlite, a free port, the
same .venv), with a database that already has a timebank, so it skips the demo load; it must
then answer on its port, the scheduler must run its jobs (its catch-up at start runs every job
and sends the waiting email), and Ctrl+C (SIGINT to the whole process group, as a terminal
sends it) must leave no process behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from timebank.jobs import JOBS

REPO = Path(__file__).resolve().parents[1]
COPIED = ("scripts", "timebank", "templates", "static", "migrations", "config.py", "wsgi.py", "requirements.txt")
SEED = """
from timebank import create_app
from timebank.extensions import db
from timebank.notifications.service import queue_email
from timebank.timebanks.service import create_timebank

with create_app().app_context():
    create_timebank(db.session, name="Riverside", organisation_name="Riverside Day Service")
    queue_email(db.session, member=None, kind="test", subject="Waiting", text_body="Hello", to_address="a@b.example")
    db.session.commit()
"""


def _venv_in_step() -> bool:
    """scripts/run reinstalls requirements.txt when .venv's stamp differs; never do that here."""
    stamp = REPO / ".venv" / ".requirements.sha256"
    digest = hashlib.sha256((REPO / "requirements.txt").read_bytes())
    digest.update(sys.version.encode())
    return stamp.is_file() and stamp.read_text().strip() == digest.hexdigest()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def copy_of_the_repo(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    if not _venv_in_step():
        pytest.skip("SKIPPED: .venv is not in step with requirements.txt (run ./scripts/test once)")
    root = tmp_path / "timebank"
    root.mkdir()
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    (root / ".venv").symlink_to((REPO / ".venv").resolve())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "TIMEBANK_", "DATABASE_URL", "FLASK_"))}
    env.update({"FLASK_APP": "wsgi", "PATH": f"{REPO / '.venv' / 'bin'}:{env.get('PATH', '')}"})
    flask = str(REPO / ".venv" / "bin" / "flask")
    subprocess.run([flask, "db", "upgrade"], cwd=root, env=env, check=True, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-c", SEED], cwd=root, env=env, check=True, capture_output=True, timeout=300)
    yield root, env


def test_the_run_script_serves_runs_the_jobs_and_ctrl_c_stops_both(
    copy_of_the_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, env = copy_of_the_repo
    port = _free_port()
    log = (tmp_path / "run.log").open("w")
    script = subprocess.Popen(
        ["bash", "scripts/run"],
        cwd=root,
        env={**env, "TIMEBANK_PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    database = root / "instance" / "timebank.sqlite"
    try:
        deadline = time.monotonic() + 240
        served = jobs_ran = False
        while time.monotonic() < deadline and not (served and jobs_ran):
            assert script.poll() is None, (tmp_path / "run.log").read_text()
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                    served = response.status == 200
            except OSError:
                served = False
            with sqlite3.connect(database, timeout=5) as connection:
                ran = {job for (job,) in connection.execute("SELECT job FROM job_runs WHERE ok = 1")}
                unsent = connection.execute("SELECT count(*) FROM outbound_emails WHERE sent_at IS NULL").fetchone()
            jobs_ran = ran == set(JOBS) and unsent == (0,)
        assert served and jobs_ran, (tmp_path / "run.log").read_text()

        os.killpg(script.pid, signal.SIGINT)  # Ctrl+C
        assert script.wait(timeout=60) != 0
        deadline = time.monotonic() + 30
        while _alive(script.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _alive(script.pid), "the web app or the scheduler was left running"
    finally:
        if _alive(script.pid):
            os.killpg(script.pid, signal.SIGKILL)
        script.wait(timeout=30)
        log.close()
