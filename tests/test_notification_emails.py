"""Notification emails through a real SMTP server on 127.0.0.1 (aiosmtpd, the ``smtp_inbox``
fixture): what arrives, a server that cannot be reached, and two senders at once."""

from __future__ import annotations

import re
import socket
import threading
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Factory, Inbox, require_postgres
from timebank.clock import today_in
from timebank.exchanges import service as exchanges
from timebank.exchanges.service import RecordRequest
from timebank.extensions import db
from timebank.models import OutboundEmail, utcnow
from timebank.notifications import service as notifications
from timebank.notifications.delivery import MAX_ATTEMPTS, RETRY_AFTER, DeliveryResult, deliver_outbox

BASE = "https://riverside.example.org"


def outbox(session: Session) -> list[OutboundEmail]:
    session.rollback()
    return list(session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))


def test_a_recorded_exchange_emails_the_other_side_with_a_link_and_why_they_got_it(
    app: Flask, smtp_inbox: Inbox, factory: Factory, session: Session
):
    app.config["PUBLIC_BASE_URL"] = BASE
    world = factory.world()
    assert world.alice.account is not None and world.bob.account is not None
    exchange = exchanges.record_exchange(
        session,
        world.alice,
        RecordRequest(
            provider_account_id=world.alice.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=90,
            performed_on=today_in(world.timebank.time_zone) - timedelta(days=1),
            description="Dug the <vegetable> bed",
            request_key=str(uuid.uuid4()),
        ),
    )
    assert smtp_inbox.messages == []  # queued in the transaction, never sent from the request

    assert deliver_outbox(session) == DeliveryResult(sent=1)
    [received] = smtp_inbox.messages
    assert received.envelope_to == [world.bob.email]
    assert received.message["To"] == world.bob.email
    assert received.message["Subject"] == "Please confirm the time recorded – Riverside"
    link = f"{BASE}/exchanges/{exchange.id}"
    text, html = received.text, received.html
    assert "Hello Bob," in text and "Alice recorded 1 hour 30 minutes helping you" in text
    assert link in text and f'href="{link}"' in html
    assert "Dug the &lt;vegetable&gt; bed" in html and "<vegetable>" not in html  # escaped in HTML only
    assert "Dug the <vegetable> bed" in text
    # The footer says why, and where to change it.
    assert "because you asked to be told when something needs you" in text
    assert f"{BASE}/notifications/settings" in text and f'href="{BASE}/notifications/settings"' in html

    [row] = outbox(session)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""
    assert deliver_outbox(session) == DeliveryResult()  # nothing left to send


def test_extra_headers_on_a_queued_email_are_sent(app: Flask, smtp_inbox: Inbox, factory: Factory, session: Session):
    world = factory.world()
    notifications.queue_email(
        session,
        member=world.alice,
        kind="digest.weekly",
        subject="New this week",
        text_body="Offers and requests",
        headers={"List-Unsubscribe": f"<{BASE}/digest/unsubscribe/abc>"},
        dedupe_key="digest:test",
    )
    session.commit()
    deliver_outbox(session)
    [received] = smtp_inbox.messages
    assert received.message["List-Unsubscribe"] == f"<{BASE}/digest/unsubscribe/abc>"
    assert received.text.strip() == "Offers and requests"


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_keeps_the_email_and_it_is_retried_later_then_given_up(
    app: Flask, smtp_inbox: Inbox, factory: Factory, session: Session
):
    world = factory.world()
    notifications.notify(session, world.alice, "exchange.approved", "Your hours were approved", link="/dashboard")
    session.commit()
    good_port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=_unused_port(), MAIL_TIMEOUT_SECONDS=5)  # nothing listens there

    start = utcnow()
    assert deliver_outbox(session, now=start) == DeliveryResult(failed=1)
    [row] = outbox(session)
    assert row.sent_at is None and row.attempts == 1 and row.last_error  # e.g. "Connection refused"
    # Not tried again at once: it waits RETRY_AFTER since its last attempt.
    assert deliver_outbox(session, now=start + RETRY_AFTER - timedelta(seconds=1)) == DeliveryResult()

    app.config["MAIL_PORT"] = good_port  # the server is back
    assert deliver_outbox(session, now=start + RETRY_AFTER) == DeliveryResult(sent=1)
    [received] = smtp_inbox.messages
    assert received.envelope_to == [world.alice.email] and "Your hours were approved" in received.text
    [row] = outbox(session)
    assert row.sent_at is not None and row.attempts == 2 and row.last_error == ""

    # A server that never comes back: tried MAX_ATTEMPTS times, then kept, unsent, with its error.
    notifications.notify(session, world.bob, "exchange.approved", "Yours too", link="/dashboard")
    session.commit()
    app.config["MAIL_PORT"] = _unused_port()
    results = [deliver_outbox(session, now=start + RETRY_AFTER * (i + 1)) for i in range(MAX_ATTEMPTS + 1)]
    assert results[: MAX_ATTEMPTS - 1] == [DeliveryResult(failed=1)] * (MAX_ATTEMPTS - 1)
    assert results[MAX_ATTEMPTS - 1 :] == [DeliveryResult(gave_up=1), DeliveryResult()]
    bobs = outbox(session)[-1]
    assert bobs.sent_at is None and bobs.attempts == MAX_ATTEMPTS and bobs.last_error
    assert len(smtp_inbox.messages) == 1


@pytest.mark.real_commits
def test_two_senders_at_once_send_each_email_exactly_once(
    app: Flask, smtp_inbox: Inbox, factory: Factory, session: Session
):
    if session.get_bind().dialect.name != "postgresql":
        require_postgres("two senders at once need PostgreSQL's concurrency")
        pytest.skip("the PostgreSQL run of this test proves it")
    world = factory.world()
    for i in range(20):
        notifications.notify(session, world.alice if i % 2 else world.bob, "exchange.approved", f"News {i}")
    session.commit()
    barrier = threading.Barrier(2)
    results: list[DeliveryResult] = []
    errors: list[BaseException] = []

    def sender() -> None:
        with app.app_context():
            own = db.session()
            try:
                barrier.wait(timeout=10)
                results.append(deliver_outbox(own))
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(r.sent for r in results) == 20
    received = sorted(re.findall(r"News \d+", m.text)[0] for m in smtp_inbox.messages)
    assert received == sorted(f"News {i}" for i in range(20))  # each one, once
    session.rollback()
    assert session.scalar(select(func.count(OutboundEmail.id)).where(OutboundEmail.attempts == 1)) == 20
