"""Person-to-agency time (members earn from and spend with the organisation running the
timebank, confirmed by a coordinator) and donations to the community pool."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.exchange_helpers import (
    Browser,
    assert_nothing_changed,
    balance,
    created_id,
    date_boxes,
    exchange,
    form_key,
    ledger_ok,
    only_exchange,
    snapshot,
    today,
)
from timebank.models import AuditEvent, ExchangeStatus, Transfer, TransferPurpose
from timebank.timebanks.service import organisation_account, pool_account


def _organisation_time(browser: Browser, direction: str, duration: str = "3", description: str = "Tuesday lunch"):  # type: ignore[no-untyped-def]
    page = browser.page("/exchanges/organisation")
    return browser.send_and_confirm(
        "/exchanges/organisation",
        {
            "request_key": form_key(page),
            "direction": direction,
            **date_boxes("performed_on", today()),
            "duration": duration,
            "description": description,
        },
    )


def test_a_member_earns_from_the_day_service_once_a_coordinator_confirms(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    form = browser.page("/exchanges/organisation")
    assert "I helped Riverside Day Service" in form
    exchange_id = created_id(_organisation_time(browser, "earn", description="Helped run the Tuesday lunch"))
    recorded = exchange(session, exchange_id)
    assert recorded.status == ExchangeStatus.RECORDED
    assert recorded.provider_account.member_id == world.alice.id
    assert recorded.recipient_account.id == organisation_account(session, world.timebank.id).id
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "You gave 3 hours to Riverside Day Service" in page
    assert "Waiting for a coordinator to confirm it for Riverside Day Service." in page
    assert "Yes, this is right" not in page  # the organisation's side is the coordinator's

    before = snapshot(session)
    assert browser.post(f"/exchanges/{exchange_id}/confirm").status_code == 403
    assert_nothing_changed(session, before)

    browser.sign_in(world.coordinator)
    assert "Alice gave 3 hours to Riverside Day Service" in browser.page("/coordinator/exchanges")
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/approve").status_code == 302
    assert balance(session, world.alice) == 180
    assert organisation_account(session, world.timebank.id).balance_minutes == -180
    browser.sign_in(world.alice)
    assert "You earned 3 hours helping Riverside Day Service" in browser.page("/dashboard")
    assert ledger_ok(session)


def test_a_member_spends_with_the_day_service(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.bob)
    exchange_id = created_id(_organisation_time(browser, "spend", duration="4", description="The seaside trip"))
    recorded = exchange(session, exchange_id)
    assert recorded.provider_account.kind.value == "organisation"
    assert recorded.recipient_account.member_id == world.bob.id
    assert "Riverside Day Service gave you 4 hours" in browser.page(f"/exchanges/{exchange_id}")
    browser.sign_in(world.coordinator)
    browser.post(f"/coordinator/exchanges/{exchange_id}/approve")
    assert balance(session, world.bob) == -240
    assert ledger_ok(session)


def test_spending_with_the_day_service_respects_the_members_floor(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.bob)
    before = snapshot(session)
    response = _organisation_time(browser, "spend", duration="11")
    assert response.status_code == 409
    assert "does not have enough time credits" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_the_organisation_form_sent_twice_records_once(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    page = browser.page("/exchanges/organisation")
    data = {
        "request_key": form_key(page),
        "direction": "earn",
        "answers": "confirmed",  # pressed on the page that says it back
        "performed_on": today().isoformat(),
        "duration": "1",
        "description": "Washing up",
    }
    first = created_id(browser.post("/exchanges/organisation", data))
    after = snapshot(session)
    assert created_id(browser.post("/exchanges/organisation", data)) == first
    assert_nothing_changed(session, after)
    assert only_exchange(session).id == first


def test_the_organisation_form_needs_a_choice(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    before = snapshot(session)
    response = _organisation_time(browser, "")
    assert response.status_code == 422
    assert "Choose whether you helped or took part." in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


# -- donations ---------------------------------------------------------------------------------


def _give(browser: Browser, amount: str, note: str = "", key: str | None = None):  # type: ignore[no-untyped-def]
    return browser.post(
        "/donate", {"request_key": key or form_key(browser.page("/donate")), "amount": amount, "note": note}
    )


def test_a_donation_moves_hours_to_the_community_pool_at_once(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    response = _give(browser, "1.5", "For the winter lunches")
    assert response.status_code == 302
    assert balance(session, world.alice) == -90
    assert pool_account(session, world.timebank.id).balance_minutes == 90
    transfer = session.scalar(select(Transfer).where(Transfer.purpose == TransferPurpose.DONATION))
    assert transfer is not None and transfer.memo == "For the winter lunches"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "donation.given"))
    assert event is not None and event.actor_id == world.alice.id
    assert "You gave 1 hour 30 minutes to the community pool" in browser.page("/dashboard")
    assert ledger_ok(session)


def test_a_donation_form_sent_twice_gives_once(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    key = form_key(browser.page("/donate"))
    assert _give(browser, "1", key=key).status_code == 302
    after = snapshot(session)
    assert _give(browser, "1", key=key).status_code == 302
    assert_nothing_changed(session, after)
    assert len(session.scalars(select(AuditEvent).where(AuditEvent.action == "donation.given")).all()) == 1


def test_giving_beyond_the_floor_is_refused(browser, factory, session):
    world = factory.world()  # floor: -10 hours
    browser.sign_in(world.alice)
    before = snapshot(session)
    response = _give(browser, "10:15")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Alice does not have enough time credits for this" in page
    assert "There is a problem" in page
    assert_nothing_changed(session, before)


@pytest.mark.parametrize("amount", ["abc", "0", "0.1", ""])
def test_a_bad_donation_amount_is_refused(browser, factory, session, amount):
    world = factory.world()
    browser.sign_in(world.alice)
    before = snapshot(session)
    response = _give(browser, amount)
    assert response.status_code == 422
    assert 'href="#amount"' in response.get_data(as_text=True)
    assert_nothing_changed(session, before)
