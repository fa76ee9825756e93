"""Forgot your password: the same reply for every email, a real email through SMTP (queued in the
outbox, sent by the mail job) with a signed link that works once and for an hour."""

from __future__ import annotations

import re
import time

import itsdangerous.timed
import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from timebank.extensions import db
from timebank.models import AuditEvent, Member, OutboundEmail
from timebank.notifications.delivery import deliver_outbox

NEW_PASSWORD = "a brand new garden gate"
BASE = "https://timebank.example.org"
LINK = re.compile(re.escape(BASE) + r"/reset-password/[A-Za-z0-9_.\-]+")


@pytest.fixture(autouse=True)
def _public_address(app):  # type: ignore[no-untyped-def]
    app.config["PUBLIC_BASE_URL"] = BASE


def _ask_for_link(client, email: str, *, deliver: bool = True):  # type: ignore[no-untyped-def]
    response = client.post("/forgot-password", data={"email": email})
    if deliver:  # what the scheduler's mail job does within a minute
        deliver_outbox(db.session())
    return response


def _link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(0).removeprefix(BASE)


def _new_password(client, path: str, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(path, data={"password": password, "confirm_password": password})


def test_reset_email_arrives_through_smtp_and_its_link_works_once(client, auth, factory, smtp_inbox, session):
    world = factory.world()
    response = _ask_for_link(client, world.alice.email)
    assert response.status_code == 302
    assert "Check your email" in client.get(response.headers["Location"]).get_data(as_text=True)

    assert len(smtp_inbox.messages) == 1
    mail = smtp_inbox.messages[0]
    assert mail.envelope_to == [world.alice.email]
    assert mail.message["To"] == world.alice.email
    assert mail.message["Subject"] == "Reset your Timebank password"
    assert mail.message["From"] == "Riverside Timebank <timebank@example.org>"
    path = _link_in(mail.text)
    assert path in mail.html  # the same link in the HTML part
    assert "Hello Alice" in mail.text

    form = client.get(path)
    assert form.status_code == 200
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert "Choose a new password" in form.get_data(as_text=True)

    done = _new_password(client, path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert auth.login(world.alice, password=NEW_PASSWORD).status_code == 302
    auth.logout()
    assert auth.login(world.alice, password=PASSWORD).status_code == 401
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "member.password_reset")) is not None

    # The same link a second time: refused, clearly, and the password stays as it is.
    again = client.get(path)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)
    reuse = _new_password(client, path, password="someone else's choice")
    assert reuse.status_code == 400
    auth.logout()
    assert auth.login(world.alice, password=NEW_PASSWORD).status_code == 302


def test_unknown_email_gets_the_same_reply_and_an_email_saying_there_is_no_account(client, factory, smtp_inbox):
    world = factory.world()
    known = _ask_for_link(client, world.alice.email)
    unknown = _ask_for_link(client, "Nobody@Example.org")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert [mail.envelope_to for mail in smtp_inbox.messages] == [[world.alice.email], ["nobody@example.org"]]
    no_account = smtp_inbox.messages[1]
    assert no_account.message["Subject"] == "About resetting a Timebank password"
    assert "There is no Timebank account with this address" in no_account.text
    assert "/reset-password/" not in no_account.text  # no link that could change anything
    assert f"{BASE}/join" in no_account.text


def test_an_unknown_address_is_told_at_most_once_a_day(client, factory, smtp_inbox):
    factory.world()
    for _ in range(3):
        assert _ask_for_link(client, "nobody@example.org").status_code == 302
    assert len(smtp_inbox.messages) == 1


def test_the_request_sends_no_mail_itself_and_does_the_same_work_for_known_and_unknown_addresses(
    client, factory, smtp_inbox, session
):
    """Nothing talks to the mail server inside the request (its time would tell who has an
    account): both answers are queued in the outbox, one row each, and only the mail job sends."""
    world = factory.world()

    def rows() -> dict[str, int]:
        session.expire_all()
        counts = {}
        for table in db.metadata.sorted_tables:
            counts[table.name] = session.scalar(select(func.count()).select_from(table)) or 0
        return counts

    before = rows()
    assert _ask_for_link(client, world.alice.email, deliver=False).status_code == 302
    after_known = rows()
    assert _ask_for_link(client, "nobody@example.org", deliver=False).status_code == 302
    after_unknown = rows()
    assert smtp_inbox.messages == []  # the mail server has heard nothing yet

    def changed(old: dict[str, int], new: dict[str, int]) -> dict[str, int]:
        return {name: new[name] - old[name] for name in new if new[name] != old[name]}

    assert changed(before, after_known) == changed(after_known, after_unknown) == {"outbound_emails": 1}
    queued = session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)).all()
    assert [email.to_address for email in queued] == [world.alice.email, "nobody@example.org"]
    assert all(email.sent_at is None for email in queued)

    assert deliver_outbox(session).sent == 2
    assert [mail.envelope_to for mail in smtp_inbox.messages] == [[world.alice.email], ["nobody@example.org"]]


def test_expired_link_is_refused_with_a_clear_message(client, auth, factory, smtp_inbox, monkeypatch):
    world = factory.world()
    _ask_for_link(client, world.alice.email)
    path = _link_in(smtp_inbox.messages[0].text)
    # An hour and a second later (itsdangerous reads the clock through TimestampSigner).
    later = int(time.time()) + 60 * 60 + 1
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: later)
    response = client.get(path)
    assert response.status_code == 400
    assert "This link has expired" in response.get_data(as_text=True)
    assert _new_password(client, path).status_code == 400
    monkeypatch.undo()
    assert auth.login(world.alice, password=PASSWORD).status_code == 302


def test_link_just_inside_the_hour_still_works(client, factory, smtp_inbox, monkeypatch):
    world = factory.world()
    _ask_for_link(client, world.alice.email)
    path = _link_in(smtp_inbox.messages[0].text)
    later = int(time.time()) + 60 * 60 - 5
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: later)
    assert client.get(path).status_code == 200


def test_altered_link_is_refused(client, factory, smtp_inbox):
    world = factory.world()
    _ask_for_link(client, world.alice.email)
    path = _link_in(smtp_inbox.messages[0].text)
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    response = client.get(tampered)
    assert response.status_code == 400
    assert "does not work" in response.get_data(as_text=True)


def test_new_password_must_follow_the_rules(client, factory, smtp_inbox, session):
    world = factory.world()
    _ask_for_link(client, world.alice.email)
    path = _link_in(smtp_inbox.messages[0].text)
    before = world.alice.password_hash
    short = _new_password(client, path, password="short")
    assert short.status_code == 422
    assert "at least 10 characters" in short.get_data(as_text=True)
    mismatch = client.post(path, data={"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "x"})
    assert mismatch.status_code == 422
    assert "The two passwords are not the same" in mismatch.get_data(as_text=True)
    too_long = _new_password(client, path, password="x" * 1025)
    assert too_long.status_code == 422
    session.expire_all()
    assert session.get(Member, world.alice.id).password_hash == before
    # The link was not used up by the refused tries.
    assert _new_password(client, path).status_code == 302


def test_resetting_the_password_signs_out_other_sessions(app, factory, smtp_inbox):
    world = factory.world()
    other_computer = app.test_client()
    other_computer.post("/login", data={"email": world.alice.email, "password": PASSWORD})
    assert other_computer.get("/me").status_code == 200

    client = app.test_client()
    _ask_for_link(client, world.alice.email)
    assert _new_password(client, _link_in(smtp_inbox.messages[0].text)).status_code == 302
    assert other_computer.get("/me").status_code == 302


def test_in_development_the_mail_is_written_to_the_log_when_the_mail_job_runs(client, factory, app, caplog):
    world = factory.world()
    app.config["MAIL_SERVER"] = ""
    with caplog.at_level("INFO"):
        assert _ask_for_link(client, world.alice.email, deliver=False).status_code == 302
        assert "/reset-password/" not in "\n".join(record.getMessage() for record in caplog.records)
        deliver_outbox(db.session())
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Reset your Timebank password" in logged
    assert "/reset-password/" in logged


def test_mail_server_down_still_gives_the_same_reply_and_the_email_waits_in_the_outbox(client, factory, app, session):
    world = factory.world()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False)  # nothing listens on port 1
    response = _ask_for_link(client, world.alice.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/forgot-password/sent")
    waiting = session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == world.alice.email))
    assert waiting is not None and waiting.sent_at is None and waiting.attempts == 1  # tried again later


def test_forgot_password_form_needs_an_email(client):
    response = client.post("/forgot-password", data={"email": ""})
    assert response.status_code == 422
    assert "Enter your email address." in response.get_data(as_text=True)
