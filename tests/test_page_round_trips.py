"""What every signed-in page pays before its own work: one statement for the signed-in member with
their account, their timebank and their unread count (the navigation and the footer read all
four; they were four statements), and the remembered count is never served after a write."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from tests.conftest import AuthActions, Factory
from tests.statement_counting import counting_statements
from timebank.extensions import db
from timebank.models import Notification
from timebank.notifications import service as notifications


@pytest.mark.real_commits
def test_a_signed_in_page_reads_the_member_account_timebank_and_unread_count_in_one_statement(
    client: FlaskClient, auth: AuthActions, factory: Factory, session: Session, engine: Engine
):
    world = factory.world()
    for number in range(2):
        notifications.notify(session, world.alice, "exchange.approved", f"News {number}")
    session.commit()
    auth.login(world.alice)
    assert client.get("/notifications/settings").status_code == 200  # templates compiled
    db.session.remove()  # a served request starts with a new session (the tests share one)

    with counting_statements(engine, count_begin=False) as statements:
        page = client.get("/notifications/settings").get_data(as_text=True)

    assert len(statements) == 1, statements
    assert 'Notifications (2)<span class="visually-hidden"> unread</span>' in page
    assert ">Dashboard</a>" in page and ">My hours</a>" in page  # the account's links
    assert "Riverside · run by Riverside Day Service" in page  # the footer's timebank


def test_the_notifications_page_counts_unread_once(
    client: FlaskClient, auth: AuthActions, factory: Factory, session: Session, engine: Engine
):
    world = factory.world()
    notifications.notify(session, world.alice, "exchange.approved", "News")
    session.commit()
    auth.login(world.alice)
    client.get("/notifications")
    db.session.remove()
    with counting_statements(engine, count_begin=False) as statements:
        page = client.get("/notifications").get_data(as_text=True)
    counts = [s for s in statements if "count(notifications.id)" in s]
    assert len(counts) == 1, statements  # in the member's query only
    assert 'Notifications (1)<span class="visually-hidden"> unread</span>' in page


def test_a_remembered_unread_count_is_counted_again_after_any_write_or_transaction_end(
    factory: Factory, session: Session, engine: Engine
):
    world = factory.world()
    alice, bob = world.alice, world.bob
    assert bob.id is not None  # loaded (the factory's commits expired it)
    remembered = session.scalar(select(notifications.unread_count_of(alice.id)))
    notifications.remember_unread(session, alice, int(remembered or 0))
    with counting_statements(engine, count_begin=False) as statements:
        assert notifications.unread_count(session, alice) == 0
        assert notifications.unread_count(session, bob) == 0  # someone else's: counted
    assert len(statements) == 1, statements

    # A notification written in the same transaction (not committed yet) is counted.
    notifications.remember_unread(session, alice, 0)
    notifications.notify(session, alice, "exchange.approved", "News")
    assert notifications.unread_count(session, alice) == 1

    # Marked read by a bulk UPDATE through the session, still in the same transaction.
    notifications.remember_unread(session, alice, 1)
    session.execute(update(Notification).where(Notification.member_id == alice.id).values(read_at=db.func.now()))
    assert notifications.unread_count(session, alice) == 0

    # And never past the transaction's end.
    notifications.remember_unread(session, alice, 7)
    session.rollback()
    assert alice.id is not None  # loaded again (the rollback expired it)
    with counting_statements(engine, count_begin=False) as statements:
        assert notifications.unread_count(session, alice) == 0  # the notification was rolled back
    assert len(statements) == 1
