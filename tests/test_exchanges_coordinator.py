"""The coordinator's exchange approvals: the queue, approving once, refusing with a reason,
settling a dispute either way; and participants kept out (403)."""

from __future__ import annotations

from sqlalchemy import select

from tests.exchange_helpers import (
    Browser,
    assert_nothing_changed,
    balance,
    created_id,
    exchange,
    ledger_ok,
    pending,
    snapshot,
)
from timebank.models import AuditEvent, ExchangeStatus


def _recorded(browser: Browser, world, duration: str = "2") -> int:  # type: ignore[no-untyped-def]
    """Alice helped Bob; Bob accepted her offer; Alice recorded the time."""
    browser.sign_in(world.alice)
    exchange_id = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
    browser.sign_in(world.bob)
    browser.post(f"/exchanges/{exchange_id}/accept")
    browser.sign_in(world.alice)
    assert browser.record(exchange_id, duration=duration).status_code == 302
    return exchange_id


def _disputed(browser: Browser, world) -> int:  # type: ignore[no-untyped-def]
    exchange_id = _recorded(browser, world)
    browser.sign_in(world.bob)
    response = browser.post(f"/exchanges/{exchange_id}/dispute", {"dispute-reason": "It was one hour, not two"})
    assert response.status_code == 302
    assert exchange(session_of(browser), exchange_id).status == ExchangeStatus.DISPUTED
    return exchange_id


def session_of(browser: Browser):  # type: ignore[no-untyped-def]
    from timebank.extensions import db

    return db.session()


def test_a_participant_cannot_open_or_use_the_coordinator_pages(browser, factory, session):
    world = factory.world()
    exchange_id = _recorded(browser, world)
    browser.sign_in(world.bob)
    before = snapshot(session)
    assert browser.get("/coordinator/exchanges").status_code == 403
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/approve").status_code == 403
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/reject", {"reject-reason": "x"}).status_code == 403
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/settle", {"settle-outcome": "stand"}).status_code == 403
    assert_nothing_changed(session, before)


def test_signed_out_visitors_are_sent_to_sign_in(client, factory):
    factory.world()
    response = client.get("/coordinator/exchanges")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_queue_lists_waiting_exchanges_oldest_first(browser, factory, session):
    world = factory.world()
    first = _recorded(browser, world, "1")
    second = _recorded(browser, world, "2")
    browser.sign_in(world.coordinator)
    page = browser.page("/coordinator/exchanges")
    assert page.index(f"/exchanges/{first}\"") < page.index(f"/exchanges/{second}\"")
    assert "Alice recorded the time; Bob has not confirmed it yet." in page


def test_approving_twice_moves_the_credits_once(browser, factory, session):
    world = factory.world()
    exchange_id = _recorded(browser, world)
    browser.sign_in(world.coordinator)
    reason = {"reason": "Bob confirmed it on the phone"}
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/approve", reason).status_code == 302
    assert balance(session, world.alice) == 120
    before = snapshot(session)
    response = browser.post(f"/coordinator/exchanges/{exchange_id}/approve", reason)
    assert response.status_code == 409
    assert "This exchange has already been approved." in response.get_data(as_text=True)
    assert_nothing_changed(session, before)
    assert balance(session, world.alice) == 120
    assert balance(session, world.bob) == -120


def test_refusing_needs_a_reason_and_then_releases_the_hours(browser, factory, session):
    world = factory.world()
    exchange_id = _recorded(browser, world)
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = browser.post(f"/coordinator/exchanges/{exchange_id}/reject", {"reject-reason": " "})
    assert response.status_code == 422
    assert 'href="#reject-reason"' in response.get_data(as_text=True)
    assert_nothing_changed(session, before)

    reason = "This was a favour between neighbours, not timebank time"
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/reject", {"reject-reason": reason}).status_code == 302
    refused = exchange(session, exchange_id)
    assert refused.status == ExchangeStatus.REJECTED
    assert pending(session, world.bob) == (0, 0)
    assert balance(session, world.alice) == 0
    browser.sign_in(world.alice)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert reason in page
    assert "A coordinator did not approve this. No time credits moved." in page
    assert ledger_ok(session)


def test_a_dispute_settled_with_the_hours_standing_is_approved(browser, factory, session):
    world = factory.world()
    exchange_id = _disputed(browser, world)
    browser.sign_in(world.coordinator)
    page = browser.page("/coordinator/exchanges")
    assert "It was one hour, not two" in page
    detail = browser.page(f"/exchanges/{exchange_id}")
    assert "Settle the dispute" in detail
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/approve").status_code == 409  # settle, not approve
    response = browser.post(
        f"/coordinator/exchanges/{exchange_id}/settle", {"settle-outcome": "stand", "settle-reason": "Checked the rota"}
    )
    assert response.status_code == 302
    assert exchange(session, exchange_id).status == ExchangeStatus.APPROVED
    assert balance(session, world.alice) == 120
    assert balance(session, world.bob) == -120
    browser.sign_in(world.bob)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "decided the hours stand" in page
    assert ledger_ok(session)


def test_a_dispute_settled_against_the_hours_is_rejected_with_the_reason_shown(browser, factory, session):
    world = factory.world()
    exchange_id = _disputed(browser, world)
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    missing = browser.post(f"/coordinator/exchanges/{exchange_id}/settle", {"settle-outcome": "reject"})
    assert missing.status_code == 422
    assert "Say why the hours do not stand" in missing.get_data(as_text=True)
    no_choice = browser.post(f"/coordinator/exchanges/{exchange_id}/settle", {})
    assert no_choice.status_code == 422
    assert_nothing_changed(session, before)

    response = browser.post(
        f"/coordinator/exchanges/{exchange_id}/settle",
        {"settle-outcome": "reject", "settle-reason": "Please record the hour again"},
    )
    assert response.status_code == 302
    settled = exchange(session, exchange_id)
    assert settled.status == ExchangeStatus.REJECTED
    assert settled.decision_reason == "Please record the hour again"
    assert pending(session, world.alice) == (0, 0)
    assert balance(session, world.alice) == 0
    assert ledger_ok(session)


def test_settling_is_only_for_disputes(browser, factory, session):
    world = factory.world()
    exchange_id = _recorded(browser, world)
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = browser.post(
        f"/coordinator/exchanges/{exchange_id}/settle", {"settle-outcome": "reject", "settle-reason": "No"}
    )
    assert response.status_code == 409
    assert_nothing_changed(session, before)


def test_a_coordinator_can_approve_before_the_other_side_confirms_only_with_a_reason(browser, factory, session):
    """They act for members who never use a computer (the state machine allows it), but approving
    what the other side never confirmed is a separate, deliberate step with a reason, audited."""
    world = factory.world()
    exchange_id = _recorded(browser, world)
    browser.sign_in(world.coordinator)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "Not yet confirmed by Bob" in page and "Approve before Bob confirms" in page

    before = snapshot(session)
    refused = browser.post(f"/coordinator/exchanges/{exchange_id}/approve")
    assert refused.status_code == 409
    assert "Bob has not confirmed this time yet. To approve it anyway, say why." in refused.get_data(as_text=True)
    assert_nothing_changed(session, before)

    reason = "Bob signed the paper timesheet"
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/approve", {"reason": reason}).status_code == 302
    assert exchange(session, exchange_id).status == ExchangeStatus.APPROVED
    assert balance(session, world.alice) == 120
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "exchange.approved", AuditEvent.subject_id == exchange_id)
    ).one()
    assert event.actor_id == world.coordinator.id
    assert event.after == {"unconfirmed": True, "not_confirmed_by": "Bob", "reason": reason}
    history = browser.page(f"/exchanges/{exchange_id}")
    assert "approved it before Bob confirmed it" in history and reason in history
    assert ledger_ok(session)
