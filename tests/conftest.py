"""Test fixtures: the app on SQLite and (when available) PostgreSQL, a real SMTP server
(`smtp_inbox`), and helpers that read like what a user does.

PostgreSQL: set TIMEBANK_TEST_POSTGRES_URL (the test command does it for a local server). Without
it the PostgreSQL-specific tests are skipped, and the summary says so loudly.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from flask import Flask, current_app, g, request_started
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession
from jinja2.bccache import Bucket, BytecodeCache
from psycopg import sql
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from tests.clock_control import ControllableClock
from timebank import clock as timebank_clock
from timebank import create_app
from timebank.extensions import db
from timebank.members.service import create_member
from timebank.models import ApprovalPolicy, Base, Member, MemberStatus, Role, Timebank
from timebank.timebanks.service import create_timebank

PASSWORD = "correct horse battery staple"
GIVEN_POSTGRES_URL = os.environ.get("TIMEBANK_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("TIMEBANK_REQUIRE_POSTGRES") == "1"
# Under pytest-xdist each worker process is "gw0", "gw1", ...; it gets a database of its own.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
REDIS_URL = os.environ.get("TIMEBANK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# The reasons printed when tests are skipped for want of a server (the summary counts them).
POSTGRES_SKIP_REASON = "SKIPPED: no PostgreSQL"
REDIS_SKIP_REASON = "SKIPPED: no Redis"


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _libpq_url(url: str, database: str) -> str:
    """The same server, another database, as a URL psycopg (libpq) accepts."""
    url_object = make_url(_sqlalchemy_url(url)).set(drivername="postgresql", database=database)
    return url_object.render_as_string(hide_password=False)


def _postgres_admin_url() -> str:
    """The server's maintenance database, where the workers' databases are created."""
    given = os.environ.get("TIMEBANK_TEST_POSTGRES_ADMIN_URL")
    if given:
        return _libpq_url(given, make_url(_sqlalchemy_url(given)).database or "postgres")
    return _libpq_url(GIVEN_POSTGRES_URL, "postgres")


def _worker_database_name() -> str:
    return f"{make_url(_sqlalchemy_url(GIVEN_POSTGRES_URL)).database or 'timebank_test'}_{XDIST_WORKER}"


_worker_database_error = ""


def _create_worker_database() -> str:
    """Under xdist: a fresh database beside the given one, <name>_gw0 and so on, for this worker
    alone (two workers emptying one database would wipe each other's tests). Dropped when the
    worker ends. Without xdist: the given database itself."""
    if not GIVEN_POSTGRES_URL or not XDIST_WORKER:
        return GIVEN_POSTGRES_URL
    global _worker_database_error
    name = _worker_database_name()
    try:
        with psycopg.connect(_postgres_admin_url(), autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            # A throwaway database: a commit need not wait for the disk.
            admin.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
    except psycopg.Error as error:
        # The PostgreSQL tests are then skipped (or, where they are required, the run stops).
        _worker_database_error = f"could not create the worker's database {name}: {error}".strip()
    return _libpq_url(GIVEN_POSTGRES_URL, name)


def _drop_worker_database() -> None:
    if not GIVEN_POSTGRES_URL or not XDIST_WORKER:
        return
    with suppress(psycopg.Error), psycopg.connect(_postgres_admin_url(), autocommit=True, connect_timeout=5) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(_worker_database_name()))
        )


# This process's test database: tests import it (and ``postgres_url()``) to reach it.
POSTGRES_URL = _create_worker_database()


def postgres_url() -> str:
    return _sqlalchemy_url(POSTGRES_URL)


def _postgres_available() -> bool:
    if not POSTGRES_URL:
        return False
    try:
        engine = create_engine(postgres_url())
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


POSTGRES_AVAILABLE = _postgres_available()


def pytest_sessionstart(session: pytest.Session) -> None:
    if REQUIRE_POSTGRES and not POSTGRES_AVAILABLE:
        pytest.exit(
            f"TIMEBANK_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {POSTGRES_URL!r} {_worker_database_error}",
            returncode=3,
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    global _housekeeping
    if _housekeeping is not None:
        _housekeeping.dispose()
        _housekeeping = None
    _drop_worker_database()


def require_postgres(reason: str = "PostgreSQL-specific test") -> None:
    if not POSTGRES_AVAILABLE:
        pytest.skip(f"{POSTGRES_SKIP_REASON} (set TIMEBANK_TEST_POSTGRES_URL) - {reason}")


def _redis_available() -> bool:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def require_redis(reason: str = "Redis-specific test") -> str:
    """The Redis URL to use, or skip loudly (listed in the summary) when Redis is not reachable."""
    if not _redis_available():
        if os.environ.get("TIMEBANK_REQUIRE_REDIS") == "1":
            pytest.fail(f"TIMEBANK_REQUIRE_REDIS=1 but Redis is not reachable at {REDIS_URL!r}")
        pytest.skip(f"{REDIS_SKIP_REASON} at {REDIS_URL} (set TIMEBANK_TEST_REDIS_URL) - {reason}")
    return REDIS_URL


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tier first (a stable sort: the order within each part stays): on two workers its
    long tests start early, instead of running alone at the end while the other worker idles."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def skipped_with(terminalreporter: pytest.TerminalReporter, reason: str) -> int:
    """How many tests were skipped with this reason. Counted from the reports, which reach the
    main process from every xdist worker (a worker's own variables do not)."""
    return sum(1 for report in terminalreporter.stats.get("skipped", []) if reason in str(report.longrepr))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped_redis = skipped_with(terminalreporter, REDIS_SKIP_REASON)
    if skipped_redis:
        terminalreporter.write_sep("!", "REDIS TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{skipped_redis} Redis tests did not run: nothing answered at {REDIS_URL}. "
            "Start redis-server on 127.0.0.1:6379 or set TIMEBANK_TEST_REDIS_URL.",
            red=True,
        )
    committed = sorted(
        {
            report.nodeid
            for reports in terminalreporter.stats.values()
            for report in reports
            if (COMMITTED_PAST_ROLLBACK, True) in getattr(report, "user_properties", ())
        }
    )
    if committed:
        terminalreporter.write_sep("!", "TESTS THAT COMMITTED PAST THEIR ROLLBACK", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{len(committed)} tests ran in a transaction rolled back at the end, yet left committed rows "
            "(through another connection): they were emptied after each. Mark them @pytest.mark.real_commits "
            "(docs/TESTING.md):",
            yellow=True,
        )
        for nodeid in committed:
            terminalreporter.write_line(f"  {nodeid}", yellow=True)
    skipped_postgres = skipped_with(terminalreporter, POSTGRES_SKIP_REASON)
    if skipped_postgres:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{skipped_postgres} PostgreSQL tests did not run: TIMEBANK_TEST_POSTGRES_URL is unset or "
            "the server is unreachable. CI runs them; run ./scripts/test with PostgreSQL on 127.0.0.1:5432.",
            red=True,
        )


# --- PostgreSQL: the schema once per process, an empty database for every test ----------------
#
# Most tests run inside one transaction that is rolled back at the end (``app`` below): the
# app's commits become savepoints, so nothing is ever committed and nothing needs emptying. A
# test that must really commit (several connections or threads, a server, another process) is
# marked ``@pytest.mark.real_commits``; after it, the tables it filled are emptied before the
# next test needs them.

_postgres_schema_ready = False
_postgres_dirty = True  # committed rows may be left: empty the tables before the next test
_housekeeping: Engine | None = None
# Noted on a rolled-back test that committed anyway (another connection): the summary lists them.
COMMITTED_PAST_ROLLBACK = "committed_past_rollback"


def _housekeeping_engine() -> Engine:
    global _housekeeping
    if _housekeeping is None:
        _housekeeping = create_engine(postgres_url(), pool_size=1)
    return _housekeeping


def _empty_the_tables_sql() -> str:
    """One round trip: TRUNCATE the tables that have rows (not all: each one TRUNCATEd costs new
    files), and restart every sequence that moved, so ids start at 1 as on a fresh database."""
    tables = ", ".join(f"'{table.name}'" for table in Base.metadata.sorted_tables)
    return f"""
DO $$
DECLARE
    name text;
    has_rows boolean;
    busy text[] := '{{}}';
BEGIN
    FOREACH name IN ARRAY ARRAY[{tables}]::text[] LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', name) INTO has_rows;
        IF has_rows THEN
            busy := busy || name;
        END IF;
    END LOOP;
    IF cardinality(busy) > 0 THEN
        EXECUTE 'TRUNCATE ' || (SELECT string_agg(format('%I', b), ', ') FROM unnest(busy) b) || ' CASCADE';
    END IF;
    PERFORM setval(format('%I.%I', schemaname, sequencename), 1, false)
        FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL;
END $$"""


def _has_rows_sql() -> str:
    return " OR ".join(f'EXISTS (SELECT 1 FROM "{table.name}")' for table in Base.metadata.sorted_tables)


def _reset_postgres() -> None:
    """An empty database with the schema, for a test that commits for real: the schema is built
    once per process (DROP SCHEMA, create_all), after that the tables with rows are emptied.
    Tests that manage their own engines call this first; the next test empties it again."""
    global _postgres_schema_ready, _postgres_dirty
    with _housekeeping_engine().begin() as connection:
        if not _postgres_schema_ready:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
            Base.metadata.create_all(connection)
            _postgres_schema_ready = True
        else:
            # TRUNCATE does not fire the append-only row triggers, so tests can start clean.
            connection.execute(text(_empty_the_tables_sql()))
    _postgres_dirty = True  # the caller is about to commit


def _clean_postgres() -> None:
    """The database empty (it already is after a rolled-back test: nothing to do)."""
    global _postgres_dirty
    if _postgres_dirty or not _postgres_schema_ready:
        _reset_postgres()
    _postgres_dirty = False


def _check_rolled_back(request: pytest.FixtureRequest) -> None:
    """After a rolled-back test: sequences back to 1 and, should anything have been committed
    past the test's transaction (another connection), note it and empty it before the next."""
    global _postgres_dirty
    with _housekeeping_engine().begin() as connection:
        connection.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) FROM pg_sequences "
                "WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        )
        if connection.execute(text(f"SELECT {_has_rows_sql()}")).scalar_one():
            request.node.user_properties.append((COMMITTED_PAST_ROLLBACK, True))
            _postgres_dirty = True


def real_commits(request: pytest.FixtureRequest) -> bool:
    """Does this test commit for real (marked ``real_commits``)?"""
    return request.node.get_closest_marker("real_commits") is not None


class _TestTransactionSession(FlaskSession):
    """Flask-SQLAlchemy's session on the test's own connection, inside the transaction that is
    rolled back when the test ends (``join_transaction_mode="create_savepoint"``): its commits
    release savepoints and its rollbacks return to them, as a real transaction would."""

    def __init__(self, db: Any, *, test_app: Flask, test_thread: int, **options: Any) -> None:
        super().__init__(db, **options)
        self._test_app = test_app
        self._test_thread = test_thread

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is not None or current_app._get_current_object() is not self._test_app:  # type: ignore[attr-defined]
            return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if threading.get_ident() != self._test_thread:
            raise RuntimeError(
                "This test uses the database from another thread, but its connection belongs to the "
                "test's thread. Mark the test @pytest.mark.real_commits (docs/TESTING.md)."
            )
        return self.bind


def _app_context_scope() -> int:
    """One session per app context, as Flask-SQLAlchemy scopes ``db.session``."""
    return id(g._get_current_object())  # type: ignore[attr-defined]


@contextmanager
def rolled_back_at_the_end(app: Flask) -> Iterator[None]:
    """Run the test inside one PostgreSQL transaction, rolled back when it ends: ``db.session``
    (and so every request and service) works in savepoints of it. Inside an app context."""
    connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(  # type: ignore[method-assign]
        sessionmaker(
            class_=_TestTransactionSession,
            db=db,
            bind=connection,
            join_transaction_mode="create_savepoint",
            test_app=app,
            test_thread=threading.get_ident(),
        ),
        scopefunc=_app_context_scope,
    )
    try:
        yield
    finally:
        db.session.remove()
        db.session = original  # type: ignore[method-assign]
        outer.rollback()
        connection.close()


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates kept in memory for the whole run and shared by every test app
    (Jinja's own BytecodeCache interface): each test builds a fresh app, and compiling its
    templates again cost more than most tests. Keyed by template and source checksum."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


def share_compiled_templates(app: Flask) -> None:
    """Let this test app reuse the templates other test apps compiled already."""
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES


def _sqlite_without_fsync(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous = OFF")


def skip_sqlite_fsync(app: Flask) -> None:
    """A test database need not survive a power cut: SQLite commits without waiting for the disk
    (as ``synchronous_commit = off`` does for the workers' PostgreSQL databases). Locking and
    transactions are unchanged. Call before the app's first connection."""
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_without_fsync)


def _forget_login(sender: Flask, **_extra: object) -> None:
    g.pop("_login_user", None)


def forget_cached_login(app: Flask) -> None:
    """The app fixture keeps one app context, and so one ``g``, for the whole test, while a real
    server gives every request a fresh one. Flask-Login caches the signed-in member in ``g``, so
    without this a member signed in through one test client would leak into the next request
    (another client, or after their session was ended). Each request starts without it."""
    request_started.connect(_forget_login, app)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with the whole schema, built once per process (per xdist
    worker): copy it (``shutil.copyfile``) instead of running create_all, which costs far more."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()
    return path


def fresh_sqlite_url(template: Path, path: Path) -> str:
    """A fresh copy of the template database at ``path``, as a URL."""
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """Each test that uses the database runs once on SQLite and once on PostgreSQL. SQLite: a
    copy of the template file. PostgreSQL: this process's database, empty; the ``app`` fixture
    rolls the test back at the end, unless it is marked ``real_commits`` (or does not use
    ``app``), when its tables are emptied after it."""
    global _postgres_dirty
    if request.param == "postgresql":
        require_postgres(request.node.nodeid)
        _clean_postgres()
        rolled_back = "app" in request.fixturenames and not real_commits(request)
        _postgres_dirty = not rolled_back
        yield postgres_url()
        if rolled_back:
            _check_rolled_back(request)
        return
    yield fresh_sqlite_url(sqlite_template, tmp_path / "test.sqlite")


@pytest.fixture
def app(request: pytest.FixtureRequest, database_url: str) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": False,  # the rate-limit tests switch it on
        }
    )
    forget_cached_login(app)
    share_compiled_templates(app)
    skip_sqlite_fsync(app)
    with app.app_context():
        if database_url.startswith("postgresql") and not real_commits(request):
            with rolled_back_at_the_end(app):
                yield app
        else:
            yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def session(app: Flask) -> Session:
    return db.session()


@pytest.fixture
def engine(app: Flask) -> Engine:
    return db.engine


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@dataclass
class World:
    """A small timebank with a coordinator and two participants, and a second timebank."""

    timebank: Timebank
    coordinator: Member
    alice: Member
    bob: Member
    other_timebank: Timebank
    outsider: Member


class Factory:
    """Builds what tests need, committed, the way the services build it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._count = 0

    def timebank(self, name: str = "Riverside", **settings: object) -> Timebank:
        timebank = create_timebank(self.session, name=name, organisation_name=f"{name} Day Service", **settings)  # type: ignore[arg-type]
        self.session.commit()
        return timebank

    def member(
        self,
        timebank: Timebank | None,
        name: str | None = None,
        role: Role = Role.PARTICIPANT,
        status: MemberStatus = MemberStatus.APPROVED,
        **kwargs: object,
    ) -> Member:
        self._count += 1
        name = name or f"Member {self._count}"
        email = f"{name.lower().replace(' ', '.')}.{self._count}@example.org"
        member = create_member(
            self.session,
            timebank=timebank,
            display_name=name,
            email=email,
            role=role,
            status=status,
            password=PASSWORD,
            **kwargs,  # type: ignore[arg-type]
        )
        self.session.commit()
        return member

    def world(self, approval_policy: ApprovalPolicy = ApprovalPolicy.ALWAYS) -> World:
        timebank = self.timebank("Riverside", approval_policy=approval_policy)
        other = self.timebank("Elm Park")
        return World(
            timebank=timebank,
            coordinator=self.member(timebank, "Cora Coordinator", role=Role.COORDINATOR),
            alice=self.member(timebank, "Alice"),
            bob=self.member(timebank, "Bob"),
            other_timebank=other,
            outsider=self.member(other, "Olive Outsider"),
        )


@pytest.fixture
def factory(session: Session) -> Factory:
    return Factory(session)


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def login(self, member: Member, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        return self._client.post("/login", data={"email": member.email, "password": password})

    def logout(self):  # type: ignore[no-untyped-def]
        return self._client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def browser(client: FlaskClient):  # type: ignore[no-untyped-def]
    """A member at the pages through the test client: ``tests.exchange_helpers.Browser``. (Under
    tests/browser the same name is the real Chromium: that folder's conftest.)"""
    from tests.exchange_helpers import Browser  # it imports this module

    return Browser(client)


TODAY = date.today()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ControllableClock:
    """The app's clock (``timebank.clock.now_utc``), standing still until the test moves it:
    ``clock.advance(minutes=31)``. Works for a live server in a thread too."""
    controllable = ControllableClock()
    monkeypatch.setattr(timebank_clock, "now_utc", controllable)
    return controllable


# A real SMTP server on 127.0.0.1 that keeps every message it receives (mail tests).


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())  # type: ignore[attr-defined]


@dataclass
class Inbox:
    """What the test SMTP server received, in order."""

    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_inbox(app: Flask) -> Iterator[Inbox]:
    """Start an SMTP server and point the app's mail settings at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        MAIL_USE_TLS=False,
        MAIL_USERNAME="",
        MAIL_PASSWORD="",
        MAIL_DEFAULT_SENDER="Riverside Timebank <timebank@example.org>",
    )
    try:
        yield inbox
    finally:
        controller.stop()
