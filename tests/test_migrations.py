"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

Each test starts from an EMPTY database (not the fixtures' create_all schema): a fresh SQLite
file, or a throwaway PostgreSQL database created beside the test database and dropped after.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from psycopg import sql
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import POSTGRES_URL, _reset_postgres, postgres_url, require_postgres
from timebank import create_app, ledger
from timebank.extensions import db
from timebank.models import Base, TransferPurpose, utcnow
from timebank.models.base import EXPRESSION_INDEXES, include_in_autogenerate
from timebank.timebanks.service import create_timebank, organisation_account, pool_account


def _admin_url() -> str:
    """A libpq URL for the server's maintenance database, where databases are created."""
    given = os.environ.get("TIMEBANK_TEST_POSTGRES_ADMIN_URL")
    url = make_url(given) if given else make_url(POSTGRES_URL).set(database="postgres")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run_admin(statement: sql.Composable) -> None:
    with psycopg.connect(_admin_url(), autocommit=True) as connection:
        connection.execute(statement)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        return
    require_postgres(f"migrations on an empty PostgreSQL database ({request.node.nodeid})")
    # Named after the test database so ./scripts/test can sweep up leftovers of a killed run.
    base = make_url(POSTGRES_URL).database or "timebank_test"
    name = f"{base[:40]}_mig_{secrets.token_hex(4)}"
    _run_admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(POSTGRES_URL)
            .set(drivername="postgresql+psycopg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        _run_admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def migrated_app(empty_database_url: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        assert inspect(db.engine).get_table_names() == [], "the database should start empty"
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def _schema_differences() -> str:
    """What autogenerate would put in a new migration: empty when migrations match the models."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_in_autogenerate}
        )
        return "\n".join(repr(difference) for difference in compare_metadata(context, Base.metadata))


def test_upgrade_on_empty_database_gives_exactly_the_models_schema(migrated_app: Flask) -> None:
    assert _schema_differences() == "", "the migrations and the models disagree; run flask db migrate"
    tables = set(inspect(db.engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_expression_indexes_autogenerate_cannot_compare_are_built_by_name(migrated_app: Flask) -> None:
    """The PostgreSQL full-text index is left out of the comparison above; check it is there."""
    built = {index["name"] for table in Base.metadata.tables for index in inspect(db.engine).get_indexes(table)}
    if db.engine.dialect.name == "postgresql":
        assert built >= EXPRESSION_INDEXES
    else:
        assert not EXPRESSION_INDEXES & built


def test_downgrade_to_base_then_upgrade_again_gives_the_same_schema(migrated_app: Flask) -> None:
    downgrade(revision="base")
    assert inspect(db.engine).get_table_names() == ["alembic_version"]
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            leftover = connection.scalar(text("SELECT count(*) FROM pg_proc WHERE proname = 'refuse_change'"))
        assert leftover == 0, "downgrade should drop the append-only trigger function"
    upgrade()
    assert _schema_differences() == "", "the migrations and the models disagree; run flask db migrate"


@pytest.mark.parametrize("statement", ["UPDATE transfers SET memo = 'changed'", "DELETE FROM transfers"])
def test_migrated_transfers_refuse_update_and_delete(migrated_app: Flask, statement: str) -> None:
    session = db.session()
    timebank = create_timebank(session, name="Riverside", organisation_name="Riverside Day Service")
    session.commit()
    with ledger.write_transaction(session):
        ledger.create_transfer(
            session,
            timebank_id=timebank.id,
            debit_account_id=organisation_account(session, timebank.id).id,
            credit_account_id=pool_account(session, timebank.id).id,
            amount_minutes=60,
            value_date=date.today(),
            purpose=TransferPurpose.GRANT,
            idempotency_key="grant-1",
        )

    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
        session.commit()
    session.rollback()
    assert session.scalar(text("SELECT count(*) FROM transfers WHERE memo = ''")) == 1


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'changed'", "DELETE FROM audit_events"])
def test_migrated_audit_trail_refuses_update_and_delete(migrated_app: Flask, statement: str) -> None:
    session = db.session()
    session.execute(
        text("INSERT INTO audit_events (action, subject_type, created_at) VALUES ('test', 'test', :now)"),
        {"now": utcnow()},
    )
    session.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        session.execute(text(statement))
        session.commit()
    session.rollback()
    assert session.scalar(text("SELECT action FROM audit_events")) == "test"


def _triggers(connection: Connection) -> set[tuple[str, str]]:
    """Every trigger of the database, with its definition (PostgreSQL: and the function it runs)."""
    if connection.dialect.name == "sqlite":
        rows = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
        return {(name, sql) for name, sql in rows}
    rows = connection.execute(
        text(
            "SELECT t.tgname, pg_get_triggerdef(t.oid) || ' ' || p.prosrc FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal"
        )
    )
    return {(name, definition) for name, definition in rows}


def test_the_migrated_database_has_exactly_the_triggers_create_all_makes(migrated_app: Flask, tmp_path: Path) -> None:
    """The triggers are written twice on purpose (the models for create_all, the migrations by
    hand): the same names and the same definitions, or a migrated installation would enforce
    less (or other) than the tests prove."""
    with db.engine.connect() as connection:
        migrated = _triggers(connection)
    if db.engine.dialect.name == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'created.sqlite'}")
    else:
        _reset_postgres()
        engine = create_engine(postgres_url())
    try:
        Base.metadata.create_all(engine)
        with engine.connect() as connection:
            created = _triggers(connection)
    finally:
        engine.dispose()
    names = {name for name, _definition in created}
    assert {"transfers_reversal_mirrors_original"} <= names
    assert {"periods_no_update", "periods_no_delete"} <= names or "periods_stay_closed" in names
    assert migrated == created


def test_the_migrated_ledger_refuses_a_reversal_that_does_not_mirror_its_original(migrated_app: Flask) -> None:
    session = db.session()
    timebank = create_timebank(session, name="Riverside", organisation_name="Riverside Day Service")
    session.commit()
    organisation, pool = organisation_account(session, timebank.id), pool_account(session, timebank.id)
    with ledger.write_transaction(session):
        grant = ledger.create_transfer(
            session,
            timebank_id=timebank.id,
            debit_account_id=organisation.id,
            credit_account_id=pool.id,
            amount_minutes=60,
            value_date=date.today(),
            purpose=TransferPurpose.GRANT,
            idempotency_key="grant-1",
        )
    same_way = (
        "INSERT INTO transfers (timebank_id, debit_account_id, credit_account_id, amount_minutes, phase, purpose, "
        "reverses_id, value_date, memo, idempotency_key, request_fingerprint, created_at) VALUES "
        "(:timebank, :debit, :credit, 60, 'single', 'reversal', :original, :day, '', 'crafted', 'x', :now)"
    )
    with pytest.raises(DBAPIError, match="a reversal must name the transfer it reverses"):
        session.execute(
            text(same_way),
            {"timebank": timebank.id, "debit": organisation.id, "credit": pool.id, "original": grant.id,
             "day": date.today(), "now": utcnow()},
        )
        session.commit()
    session.rollback()
    with ledger.write_transaction(session):
        ledger.reverse_transfer(
            session, timebank_id=timebank.id, transfer_id=grant.id, value_date=date.today(), idempotency_key="undo"
        )
    assert session.scalar(text("SELECT count(*) FROM transfers WHERE purpose = 'reversal'")) == 1


@pytest.mark.parametrize(
    "statement",
    ["UPDATE periods SET checksum = 'forged'", "UPDATE periods SET month = '2000-01-01'", "DELETE FROM periods"],
)
def test_a_migrated_closed_month_cannot_be_reopened_or_changed(migrated_app: Flask, statement: str) -> None:
    session = db.session()
    timebank = create_timebank(session, name="Riverside", organisation_name="Riverside Day Service")
    session.commit()
    today = date.today()
    period = ledger.close_month(session, timebank.id, date(today.year - 1, 1, 1), today=today)
    checksum = period.checksum
    assert checksum is not None
    with pytest.raises(DBAPIError, match="closed periods cannot be reopened or changed"):
        session.execute(text(statement))
        session.commit()
    session.rollback()
    assert session.scalar(text("SELECT checksum FROM periods")) == checksum
