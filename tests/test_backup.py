"""Backup and restore with pg_dump: scripts/backup then scripts/restore into an empty database
gives the same ledger, and check-ledger passes on the restored copy."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tests.conftest import Factory, require_postgres
from tests.test_migrations import _admin_url, _run_admin
from timebank.clock import today_in
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.models import Transfer

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_backup_restores_into_an_empty_database_with_the_same_ledger(
    session: Session, factory: Factory, database_url: str, tmp_path: Path
) -> None:
    require_postgres("pg_dump backup and restore")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed")
    world = factory.world()
    session.commit()
    day = today_in(world.timebank.time_zone) - timedelta(days=1)
    alice, bob = world.alice.account, world.bob.account
    assert alice is not None and bob is not None
    record_exchange(
        session,
        world.coordinator,
        RecordRequest(
            alice.id, bob.id, 90, day, "Gardening", request_key="backup-test-1", for_member_id=world.alice.id
        ),
    )
    transfers = session.scalar(select(func.count(Transfer.id)))
    assert transfers and transfers >= 2
    session.close()

    dump = tmp_path / "backups" / "timebank.dump"
    subprocess.run([str(PROJECT_DIR / "scripts/backup"), database_url, str(dump)], check=True, capture_output=True)
    assert dump.exists() and not dump.with_name("timebank.dump.partial").exists()

    name = f"{(make_url(database_url).database or 'timebank_test')[:40]}_rst_{secrets.token_hex(4)}"
    _run_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)
    try:
        restored = subprocess.run(
            [str(PROJECT_DIR / "scripts/restore"), str(dump), target], capture_output=True, text=True
        )
        assert restored.returncode == 0, restored.stderr + restored.stdout
        assert "Ledger balances" in restored.stdout
        with psycopg.connect(target) as connection:
            row = connection.execute("select count(*) from transfers").fetchone()
            assert row is not None and row[0] == transfers
            # The append-only triggers came back with the data.
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                connection.execute("update transfers set amount_minutes = 1")
        # A second restore into the now non-empty database is refused, changing nothing.
        again = subprocess.run(
            [str(PROJECT_DIR / "scripts/restore"), str(dump), target], capture_output=True, text=True
        )
        assert again.returncode == 1
        assert "already has" in again.stderr
    finally:
        _run_admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_restore_checks_the_ledger_with_the_active_environment_not_the_repositorys_venv(
    session: Session, factory: Factory, database_url: str, tmp_path: Path
) -> None:
    """A production server installed another way (its own virtualenv, no .venv in the
    repository): scripts/restore runs check-ledger with the environment that is active."""
    require_postgres("pg_dump backup and restore")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump/pg_restore are not installed")
    factory.world()
    session.close()
    dump = tmp_path / "timebank.dump"
    subprocess.run([str(PROJECT_DIR / "scripts/backup"), database_url, str(dump)], check=True, capture_output=True)

    # The "active" virtualenv: its python records that it ran, then is the real one.
    active = tmp_path / "server-env"
    (active / "bin").mkdir(parents=True)
    used = tmp_path / "active-python-was-used"
    shim = active / "bin" / "python"
    shim.write_text(f'#!/bin/sh\ntouch "{used}"\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHON"}
    environment["VIRTUAL_ENV"] = str(active)

    name = f"{(make_url(database_url).database or 'timebank_test')[:40]}_rst_{secrets.token_hex(4)}"
    _run_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    target = make_url(_admin_url()).set(database=name).render_as_string(hide_password=False)
    try:
        restored = subprocess.run(
            [str(PROJECT_DIR / "scripts/restore"), str(dump), target],
            capture_output=True,
            text=True,
            env=environment,
        )
        assert restored.returncode == 0, restored.stderr + restored.stdout
        assert "Ledger balances" in restored.stdout
        assert used.exists(), "check-ledger did not run with the active environment's python"
    finally:
        _run_admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
