"""Test fixtures: the app on SQLite and (when available) PostgreSQL, a real SMTP server
(`smtp_inbox`), and helpers that read like what a user does.

PostgreSQL: set TIMEBANK_TEST_POSTGRES_URL (the test command does it for a local server). Without
it the PostgreSQL-specific tests are skipped, and the summary says so loudly.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from timebank import create_app
from timebank.extensions import db
from timebank.members.service import create_member
from timebank.models import ApprovalPolicy, Base, Member, MemberStatus, Role, Timebank
from timebank.timebanks.service import create_timebank

PASSWORD = "correct horse battery staple"
POSTGRES_URL = os.environ.get("TIMEBANK_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("TIMEBANK_REQUIRE_POSTGRES") == "1"
_skipped_postgres: list[str] = []
REDIS_URL = os.environ.get("TIMEBANK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_skipped_redis: list[str] = []


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


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
        pytest.exit(f"TIMEBANK_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {POSTGRES_URL!r}", returncode=3)


def require_postgres(reason: str = "PostgreSQL-specific test") -> None:
    if not POSTGRES_AVAILABLE:
        _skipped_postgres.append(reason)
        pytest.skip(f"SKIPPED: no PostgreSQL (set TIMEBANK_TEST_POSTGRES_URL) - {reason}")


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
        _skipped_redis.append(reason)
        pytest.skip(f"SKIPPED: no Redis at {REDIS_URL} (set TIMEBANK_TEST_REDIS_URL) - {reason}")
    return REDIS_URL


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped_redis:
        terminalreporter.write_sep("!", "REDIS TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(_skipped_redis)} Redis tests did not run: nothing answered at {REDIS_URL}. "
            "Start redis-server on 127.0.0.1:6379 or set TIMEBANK_TEST_REDIS_URL.",
            red=True,
        )
    if _skipped_postgres:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(
            f"{len(_skipped_postgres)} PostgreSQL tests did not run: TIMEBANK_TEST_POSTGRES_URL is unset or "
            "the server is unreachable. CI runs them; run ./scripts/test with PostgreSQL on 127.0.0.1:5432.",
            red=True,
        )


_postgres_schema_ready = False


def _reset_postgres() -> None:
    """Create the schema once per run, then empty every table before each test."""
    global _postgres_schema_ready
    engine = create_engine(postgres_url())
    with engine.begin() as connection:
        if not _postgres_schema_ready:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
            Base.metadata.create_all(connection)
            _postgres_schema_ready = True
        else:
            # TRUNCATE does not fire the append-only row triggers, so tests can start clean.
            tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def _forget_login(sender: Flask, **_extra: object) -> None:
    g.pop("_login_user", None)


def forget_cached_login(app: Flask) -> None:
    """The app fixture keeps one app context, and so one ``g``, for the whole test, while a real
    server gives every request a fresh one. Flask-Login caches the signed-in member in ``g``, so
    without this a member signed in through one test client would leak into the next request
    (another client, or after their session was ended). Each request starts without it."""
    request_started.connect(_forget_login, app)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that uses the database runs once on SQLite and once on PostgreSQL."""
    if request.param == "postgresql":
        require_postgres(request.node.nodeid)
        _reset_postgres()
        return postgres_url()
    url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
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
    with app.app_context():
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
