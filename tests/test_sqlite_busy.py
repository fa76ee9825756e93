"""SQLite with another writer at work: a write waits for the write lock at its BEGIN instead of
being refused half-way ("database is locked" was a 500 at once), a busy database that stays busy
is a 503 with Retry-After (the API's error shape; a page that keeps what was typed), and a
read-only request that writes outside ``write_transaction`` is caught in tests.

Another writer is a plain sqlite3 connection holding the write lock (``BEGIN IMMEDIATE``), for
a moment or for the whole request. SQLite only: PostgreSQL locks rows, not the database (the
served load test and the torture test cover both).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, Factory, Inbox, _free_port
from timebank import create_app
from timebank.api.auth import issue_token
from timebank.extensions import db
from timebank.ledger import UndeclaredWrite, run_again_when_busy, unit_of_work, write_transaction
from timebank.models import ApiToken, Exchange, JobRun, Listing, Member

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def database_file(app: Flask) -> Path:
    return Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database or "")


@contextmanager
def another_writer(app: Flask, *, for_seconds: float | None = None) -> Iterator[None]:
    """Another connection holds the database's write lock: for ``for_seconds``, or to the end."""
    connection = sqlite3.connect(database_file(app), isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            connection.execute("ROLLBACK")

    timer = threading.Timer(for_seconds, release) if for_seconds is not None else None
    if timer is not None:
        timer.start()
    try:
        yield
    finally:
        if timer is not None:
            timer.join()
        release()
        connection.close()


def write_lock_is_free(app: Flask) -> bool:
    """Can another connection take the write lock right now (without waiting)?"""
    connection = sqlite3.connect(database_file(app), isolation_level=None, timeout=0)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


def api_token(session: Session, member: Member) -> str:
    token, _row = issue_token(session, member)
    return token


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


# -- a writer waits its turn ------------------------------------------------------------------------


def test_an_api_record_waits_for_another_writer_instead_of_failing(
    app: Flask, client: FlaskClient, session: Session, factory: Factory
) -> None:
    world = factory.world()
    token = api_token(session, world.coordinator)
    body = {
        "provider_id": world.alice.id,
        "recipient_id": world.bob.id,
        "hours": 1,
        "performed_on": YESTERDAY,
        "description": "Dug the garden",
    }
    session.commit()  # the test holds nothing open: the request begins its own transactions
    with another_writer(app, for_seconds=0.5):
        response = client.post("/api/v1/exchanges", json=body, headers=bearer(token, "garden-1"))

    assert response.status_code == 201, response.get_data(as_text=True)
    assert session.scalar(select(func.count(Exchange.id))) == 1
    again = client.post("/api/v1/exchanges", json=body, headers=bearer(token, "garden-1"))
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == response.get_json()["id"]


def test_a_get_that_notes_when_a_token_was_used_waits_for_another_writer(
    app: Flask, client: FlaskClient, session: Session, factory: Factory
) -> None:
    world = factory.world()
    token = api_token(session, world.alice)
    session.commit()
    with another_writer(app, for_seconds=0.5):
        response = client.get("/api/v1/me", headers=bearer(token))

    assert response.status_code == 200, response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(ApiToken.last_used_at)) is not None


def test_a_post_holds_the_write_lock_from_its_first_read_and_a_get_never_takes_it(app: Flask) -> None:
    with app.test_request_context("/", method="POST"), unit_of_work(writes=True):
        db.session.execute(text("SELECT 1"))
        assert not write_lock_is_free(app), "a unit that may write begins IMMEDIATE"
        db.session.rollback()
    with app.test_request_context("/"), unit_of_work(writes=False):
        db.session.execute(text("SELECT 1"))
        assert write_lock_is_free(app), "a read-only unit begins DEFERRED: reads never wait for writers"
        with write_transaction(db.session()):
            assert not write_lock_is_free(app), "write_transaction begins IMMEDIATE whatever the unit"
    assert write_lock_is_free(app)


def test_a_read_only_request_that_writes_outside_write_transaction_is_caught(app: Flask, session: Session) -> None:
    factory = Factory(session)
    member = factory.member(factory.timebank())
    member_id = member.id
    session.commit()
    with unit_of_work(writes=False):
        found = session.get(Member, member_id)
        assert found is not None
        found.display_name = "Written on a GET"
        with pytest.raises(UndeclaredWrite):
            session.commit()
        session.rollback()
        with write_transaction(session):  # the way for a GET to write
            found = session.get(Member, member_id)
            assert found is not None
            found.display_name = "Written properly"
    assert session.scalar(select(Member.display_name).where(Member.id == member_id)) == "Written properly"


def test_a_scheduled_job_waits_for_another_writer_and_records_its_run(app: Flask, session: Session) -> None:
    from timebank.jobs import run_job

    Factory(session).timebank()  # the app has used the database (so it is in WAL mode, as always after a migration)
    with another_writer(app, for_seconds=0.5):
        result = run_job("send_emails")
    assert result.ok
    run = session.scalars(select(JobRun)).one()
    assert run.ok and run.finished_at is not None


def test_no_write_lock_is_held_while_a_password_reset_email_is_sent(app: Flask, client: FlaskClient,
                                                                    factory: Factory) -> None:
    from timebank.jobs import run_job

    member = factory.member(factory.timebank(), "Alice")
    free_while_sending: list[bool] = []

    class Watching(Inbox):
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            free_while_sending.append(write_lock_is_free(app))
            return await super().handle_DATA(server, session, envelope)

    inbox = Watching()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False, MAIL_USERNAME="")
    try:
        email = member.email
        db.session.commit()
        response = client.post("/forgot-password", data={"email": email})
        # The request only queues the email; the scheduler's mail job sends it.
        assert response.status_code in (302, 303)
        assert inbox.messages == []
        assert run_job("send_emails").ok
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and "Riverside" in inbox.messages[0].text
    assert free_while_sending == [True], "other writers must not wait for a mail server"


# -- a database that stays busy: 503, never 500 -----------------------------------------------------


@pytest.fixture
def impatient(database_url: str) -> Iterator[Flask]:
    """The app waiting only 0.2 s at a BEGIN for the write lock, so staying busy is quick to see."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": False,
            "SQLITE_BUSY_TIMEOUT_SECONDS": 0.2,
        }
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_an_api_write_that_stays_busy_is_a_503_with_retry_after_and_changes_nothing(impatient: Flask) -> None:
    session = db.session()
    world = Factory(session).world()
    token = api_token(session, world.coordinator)
    body = {"provider_id": world.alice.id, "recipient_id": world.bob.id, "hours": 1, "performed_on": YESTERDAY,
            "description": "Dug the garden"}
    session.commit()
    client = impatient.test_client()
    with another_writer(impatient):
        response = client.post("/api/v1/exchanges", json=body, headers=bearer(token, "garden-1"))

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    error = response.get_json()["error"]
    assert error["code"] == "database_busy" and error["fields"] == {}
    assert "again" in error["message"]
    assert session.scalar(select(func.count(Exchange.id))) == 0
    document = client.get("/api/v1/openapi.json").get_json()
    assert "Retry-After" in document["paths"]["/api/v1/exchanges"]["post"]["responses"]["503"]["headers"]
    # Sent again once the other writer has finished: recorded, once.
    again = client.post("/api/v1/exchanges", json=body, headers=bearer(token, "garden-1"))
    assert again.status_code == 201, again.get_data(as_text=True)
    assert session.scalar(select(func.count(Exchange.id))) == 1


def test_a_web_form_that_stays_busy_is_a_503_page_that_keeps_what_was_typed(impatient: Flask) -> None:
    session = db.session()
    factory = Factory(session)
    timebank = factory.timebank()
    member = factory.member(timebank, "Alice")
    email = member.email
    category_id = timebank.categories[0].id
    session.commit()
    client = impatient.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code in (302, 303)
    form = {"kind": "offer", "category_id": str(category_id), "title": "Help with a <garden> & hedges",
            "description": "Weeding, mowing.", "hours": "2"}
    with another_writer(impatient):
        response = client.post("/listings/new", data=form)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert "busy" in page and "Nothing was saved" in page
    assert 'action="/listings/new"' in page and "Send it again" in page
    for name, value in form.items():
        escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert f'name="{name}" value="{escaped}"' in page
    assert session.scalar(select(func.count(Listing.id))) == 0
    # The button sends the same form again; with the database free, it is saved.
    again = client.post("/listings/new", data=form)
    assert again.status_code in (302, 303)
    assert session.scalar(select(Listing.title)) == "Help with a <garden> & hedges"


def test_a_busy_sign_in_never_puts_the_password_in_the_page(impatient: Flask) -> None:
    session = db.session()
    factory = Factory(session)
    email = factory.member(factory.timebank(), "Alice").email
    session.commit()
    with another_writer(impatient):
        response = impatient.test_client().post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert PASSWORD not in page and "Back" in page


def test_an_error_page_for_a_post_never_waits_for_the_write_lock(impatient: Flask) -> None:
    session = db.session()
    factory = Factory(session)
    email = factory.member(factory.timebank(), "Alice").email
    session.commit()
    client = impatient.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code in (302, 303)
    impatient.config["WTF_CSRF_ENABLED"] = True
    with another_writer(impatient):
        response = client.post("/listings/new", data={"title": "No form token"})
    assert response.status_code == 400  # the expired-form page, signed in, rendered from reads alone
    assert "expired" in response.get_data(as_text=True)


# -- running a unit again ---------------------------------------------------------------------------


def busy() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


def test_a_busy_unit_is_run_again_a_bounded_number_of_times(app: Flask) -> None:
    calls: list[int] = []
    resets: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise busy()
        return "done"

    with unit_of_work(writes=True):
        assert run_again_when_busy(flaky, reset=lambda: resets.append(1)) == "done"
    assert len(calls) == 3 and len(resets) == 2

    calls.clear()

    def always_busy() -> str:
        calls.append(1)
        raise busy()

    with unit_of_work(writes=True), pytest.raises(OperationalError):
        run_again_when_busy(always_busy, reset=lambda: None)
    assert len(calls) == 3


def test_a_unit_that_committed_a_write_is_never_run_again(app: Flask, session: Session) -> None:
    factory = Factory(session)
    member_id = factory.member(factory.timebank()).id
    session.commit()
    calls: list[int] = []

    def writes_then_meets_busy() -> None:
        calls.append(1)
        with write_transaction(session):
            found = session.get(Member, member_id)
            assert found is not None
            found.display_name = f"Changed {len(calls)}"
        raise busy()

    with unit_of_work(writes=True), pytest.raises(OperationalError):
        run_again_when_busy(writes_then_meets_busy, reset=session.rollback)
    assert calls == [1], "what was committed must not be done twice"

    calls.clear()
    with pytest.raises(OperationalError):  # outside a unit nobody knows what was committed
        run_again_when_busy(writes_then_meets_busy, reset=session.rollback)
    assert calls == [1]


def test_other_database_errors_are_not_run_again(app: Flask) -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError("no such table: nothing"))

    with unit_of_work(writes=True), pytest.raises(OperationalError):
        run_again_when_busy(broken, reset=lambda: None)
    assert calls == [1]
