"""The admin's Outbox (development only): every email queued and sent, with its subject, who it
is to, when, and its text, so someone trying Timebank out can read what it sent without a mail
server. Admins only; not there at all in production."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import Config, ProductionConfig
from tests.conftest import AuthActions, Factory
from timebank.jobs import run_job
from timebank.models import OutboundEmail, utcnow
from timebank.notifications.service import queue_email


def _queue(session: Session, subject: str, to: str, body: str) -> OutboundEmail:
    email = queue_email(session, member=None, kind="test", subject=subject, text_body=body, to_address=to)
    assert email is not None
    session.commit()
    return email


@pytest.mark.real_commits  # the mail job runs in a session of its own
def test_an_admin_reads_queued_and_sent_emails_newest_first(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, session: Session
) -> None:
    world = factory.world()
    sent = _queue(session, "Your hours were approved", "alice@example.org", "Bob confirmed 2 hours 30 minutes.")
    sent.created_at = utcnow() - timedelta(hours=2)
    session.commit()
    run_job("send_emails")  # no MAIL_SERVER: written to the log and marked sent
    _queue(session, "Reset your password", "bob@example.org", "Use this link: http://localhost/reset/abc")

    auth.login(factory.member(None, "Ada Admin", is_admin=True))
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("Reset your password") < html.index("Your hours were approved")  # newest first
    assert "bob@example.org" in html and "Use this link: http://localhost/reset/abc" in html
    assert "Not yet: waiting for the scheduler" in html
    assert "alice@example.org" in html and "Bob confirmed 2 hours 30 minutes." in html
    assert html.count("<dt>Sent</dt>") == 2 and html.count("Not yet") == 1
    assert 'href="/admin/outbox"' in client.get("/admin/").get_data(as_text=True)
    auth.logout()

    for member in (world.alice, world.coordinator):
        auth.login(member)
        assert client.get("/admin/outbox").status_code == 403
        auth.logout()
    assert client.get("/admin/outbox").status_code == 302  # to sign in


def test_there_is_no_outbox_in_production(
    app: Flask, client: FlaskClient, auth: AuthActions, factory: Factory, session: Session
) -> None:
    assert Config.OUTBOX_PAGE and not ProductionConfig.OUTBOX_PAGE
    _queue(session, "Reset your password", "bob@example.org", "Use this link: http://localhost/reset/abc")
    app.config["OUTBOX_PAGE"] = False
    auth.login(factory.member(None, "Ada Admin", is_admin=True))
    assert client.get("/admin/outbox").status_code == 404
    assert 'href="/admin/outbox"' not in client.get("/admin/").get_data(as_text=True)
