"""Every wrong turn in an exchange gets a clear message and a 4xx, and changes nothing:
no exchange, no transfer, no balance moves, and the ledger still balances."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.exchange_helpers import (
    Browser,
    add_listing,
    assert_nothing_changed,
    balance,
    created_id,
    exchange,
    form_key,
    only_exchange,
    pending,
    snapshot,
    today,
)
from timebank import ledger
from timebank.models import ApprovalPolicy, ExchangeStatus, ListingKind, ListingStatus


def _proposed(browser: Browser, proposer, other) -> int:  # type: ignore[no-untyped-def]
    browser.sign_in(proposer)
    return created_id(browser.propose(f"/exchanges/new?member_id={other.id}", direction="i_help"))


def _accepted(browser: Browser, world) -> int:  # type: ignore[no-untyped-def]
    """Alice offered to help Bob; Bob said yes. Bob is signed in."""
    exchange_id = _proposed(browser, world.alice, world.bob)
    browser.sign_in(world.bob)
    assert browser.post(f"/exchanges/{exchange_id}/accept").status_code == 302
    return exchange_id


def _recorded_by_alice(browser: Browser, world, duration: str = "2") -> int:  # type: ignore[no-untyped-def]
    exchange_id = _accepted(browser, world)
    browser.sign_in(world.alice)
    assert browser.record(exchange_id, duration=duration).status_code == 302
    return exchange_id


# -- answering a proposal ----------------------------------------------------------------------


def test_accepting_twice_is_a_conflict_with_a_clear_message(browser, factory, session):
    world = factory.world()
    exchange_id = _accepted(browser, world)
    before = snapshot(session)
    response = browser.post(f"/exchanges/{exchange_id}/accept")
    assert response.status_code == 409
    assert "This exchange has already been accepted." in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_the_proposer_cannot_accept_their_own_proposal(browser, factory, session):
    world = factory.world()
    exchange_id = _proposed(browser, world.alice, world.bob)
    before = snapshot(session)
    response = browser.post(f"/exchanges/{exchange_id}/accept")
    assert response.status_code == 403
    assert "You made this proposal, so Bob needs to answer it." in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_someone_outside_the_exchange_cannot_see_or_answer_it(browser, factory, session):
    world = factory.world()
    carol = factory.member(world.timebank, "Carol")
    exchange_id = _proposed(browser, world.alice, world.bob)
    before = snapshot(session)
    for member in (carol, world.outsider):
        browser.sign_in(member)
        assert browser.get(f"/exchanges/{exchange_id}").status_code == 404
        assert browser.post(f"/exchanges/{exchange_id}/accept").status_code == 404
        assert browser.post(f"/exchanges/{exchange_id}/decline").status_code == 404
        assert browser.get(f"/exchanges/{exchange_id}/record").status_code == 404
    assert_nothing_changed(session, before)


def test_another_timebanks_exchange_is_not_found_even_for_its_coordinator(browser, factory, session):
    world = factory.world()
    exchange_id = _recorded_by_alice(browser, world)
    other_coordinator = factory.member(world.other_timebank, "Oscar Coordinator", role=world.coordinator.role)
    before = snapshot(session)
    browser.sign_in(other_coordinator)
    assert browser.get(f"/exchanges/{exchange_id}").status_code == 404
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/approve").status_code == 404
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/reject", {"reject-reason": "No"}).status_code == 404
    assert "Alice" not in browser.page("/coordinator/exchanges")
    assert_nothing_changed(session, before)


def test_another_timebanks_listing_or_member_cannot_be_proposed_to(browser, factory, session):
    world = factory.world()
    foreign = add_listing(session, world.outsider, ListingKind.OFFER, "Lifts in Elm Park")
    browser.sign_in(world.alice)
    before = snapshot(session)
    assert browser.get(f"/exchanges/new?listing_id={foreign.id}").status_code == 404
    assert browser.get(f"/exchanges/new?member_id={world.outsider.id}").status_code == 404
    response = browser.post(
        f"/exchanges/new?listing_id={foreign.id}", {"request_key": "k", "message": "Hello", "direction": "i_help"}
    )
    assert response.status_code == 404
    assert browser.get("/exchanges/new?listing_id=99999").status_code == 404
    assert_nothing_changed(session, before)


def test_a_closed_listing_cannot_be_answered(browser, factory, session):
    world = factory.world()
    closed = add_listing(session, world.bob, ListingKind.OFFER, "Old offer", status=ListingStatus.CLOSED)
    browser.sign_in(world.alice)
    before = snapshot(session)
    response = browser.get(f"/exchanges/new?listing_id={closed.id}")
    assert response.status_code == 409
    assert "not open at the moment" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_a_proposal_needs_a_message_and_a_direction(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    url = f"/exchanges/new?member_id={world.bob.id}"
    key = form_key(browser.page(url))
    before = snapshot(session)
    response = browser.post(url, {"request_key": key, "message": "", "rough_hours": "0.1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in page
    assert "Choose whether you will help them or they will help you." in page
    assert "Write a short message" in page
    assert "steps of 15 minutes" in page
    assert_nothing_changed(session, before)


# -- recording the time ------------------------------------------------------------------------


def test_recording_on_a_declined_exchange_is_a_conflict(browser, factory, session):
    world = factory.world()
    exchange_id = _proposed(browser, world.alice, world.bob)
    browser.sign_in(world.bob)
    browser.post(f"/exchanges/{exchange_id}/decline")
    before = snapshot(session)
    response = browser.post(
        f"/exchanges/{exchange_id}/record",
        {"request_key": "k", "performed_on": today().isoformat(), "duration": "1", "description": "Help"},
    )
    assert response.status_code == 409
    assert "This exchange is declined, so it cannot be recorded now." in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_recording_on_a_proposal_not_yet_accepted_is_a_conflict(browser, factory, session):
    world = factory.world()
    exchange_id = _proposed(browser, world.alice, world.bob)
    before = snapshot(session)
    response = browser.record(exchange_id)
    assert response.status_code == 409
    assert_nothing_changed(session, before)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"performed_on": (today() + timedelta(days=1)).isoformat()}, "The date cannot be in the future."),
        ({"performed_on": "31/02/2025"}, "The date must be a real date"),
        ({"duration": "abc"}, "Enter the time in hours"),
        ({"duration": "0"}, "The time must be more than zero."),
        ({"duration": "0.1"}, "steps of 15 minutes"),
        ({"duration": "0.01"}, "Enter a whole number of minutes"),
        ({"duration": "10 mins"}, "steps of 15 minutes"),
        ({"duration": ""}, "Enter how long it took"),
        ({"description": "  "}, "Say briefly what was done."),
    ],
)
def test_a_bad_record_is_refused_with_its_error_shown_and_nothing_reserved(browser, factory, session, fields, message):
    world = factory.world()
    exchange_id = _accepted(browser, world)
    before = snapshot(session)
    response = browser.record(exchange_id, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in page
    assert message in page
    assert_nothing_changed(session, before)


def test_recording_more_than_the_recipient_can_spend_is_refused(browser, factory, session):
    world = factory.world()  # floor: -10 hours
    exchange_id = _accepted(browser, world)
    browser.sign_in(world.alice)
    before = snapshot(session)
    response = browser.record(exchange_id, duration="10:15")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Bob does not have enough time credits for this" in page
    assert "There is a problem" in page  # shown on the form, so Alice can correct it
    assert exchange(session, exchange_id).status == ExchangeStatus.ACCEPTED
    assert_nothing_changed(session, before)
    assert browser.record(exchange_id, duration="10").status_code == 302  # exactly to the floor is fine


def test_recording_into_a_closed_month_is_refused(browser, factory, session):
    world = factory.world()
    exchange_id = _accepted(browser, world)
    last_month = today().replace(day=1) - timedelta(days=1)
    with ledger.write_transaction(session):
        ledger.close_period(session, world.timebank.id, last_month)
    browser.sign_in(world.alice)
    before = snapshot(session)
    response = browser.record(exchange_id, performed_on=last_month.isoformat())
    assert response.status_code == 409
    assert "is closed" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_sending_the_record_form_twice_records_once(browser, factory, session):
    world = factory.world()
    exchange_id = _accepted(browser, world)
    url = f"/exchanges/{exchange_id}/record"
    data = {
        "request_key": form_key(browser.page(url)),
        "answers": "confirmed",  # pressed on the page that says it back
        "performed_on": today().isoformat(),
        "duration": "1:30",
        "description": "Shopping",
    }
    assert browser.post(url, data).status_code == 302
    after_first = snapshot(session)
    assert browser.post(url, data).status_code == 302
    assert_nothing_changed(session, after_first)
    assert pending(session, world.bob) == (0, 90)
    different = {**data, "duration": "2"}
    assert browser.post(url, different).status_code == 409  # already recorded, with other details
    assert_nothing_changed(session, after_first)


def test_sending_the_direct_record_form_twice_makes_one_exchange_and_one_reservation(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    data = {
        "request_key": form_key(browser.page("/exchanges/record")),
        "other_member": str(world.bob.id),
        "direction": "i_helped",
        "answers": "confirmed",  # pressed on the page that says it back
        "performed_on": today().isoformat(),
        "duration": "1",
        "description": "Walked the dog",
    }
    first = created_id(browser.post("/exchanges/record", data))
    after_first = snapshot(session)
    assert created_id(browser.post("/exchanges/record", data)) == first
    assert_nothing_changed(session, after_first)
    assert only_exchange(session).id == first
    assert after_first.transfers == 1
    changed = browser.post("/exchanges/record", {**data, "duration": "2"})
    assert changed.status_code == 409
    assert_nothing_changed(session, after_first)


def test_the_direct_record_form_needs_a_person(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    before = snapshot(session)
    response = browser.post(
        "/exchanges/record",
        {
            "request_key": form_key(browser.page("/exchanges/record")),
            "other_member": "0",
            "direction": "i_helped",
            "performed_on": today().isoformat(),
            "duration": "1",
            "description": "Walked the dog",
        },
    )
    assert response.status_code == 422
    assert "Choose who the exchange was with." in response.get_data(as_text=True)
    outsider = browser.post(
        "/exchanges/record",
        {
            "request_key": "x1",
            "other_member": str(world.outsider.id),
            "direction": "i_helped",
            "performed_on": today().isoformat(),
            "duration": "1",
            "description": "Walked the dog",
        },
    )
    assert outsider.status_code == 422  # not one of the people offered
    assert_nothing_changed(session, before)


# -- confirming --------------------------------------------------------------------------------


def test_confirming_your_own_record_is_not_allowed(browser, factory, session):
    world = factory.world(approval_policy=ApprovalPolicy.NEVER)
    exchange_id = _recorded_by_alice(browser, world)
    before = snapshot(session)
    response = browser.post(f"/exchanges/{exchange_id}/confirm")
    assert response.status_code == 403
    assert "You recorded this time, so Bob confirms it, not you." in response.get_data(as_text=True)
    assert "Yes, this is right" not in browser.page(f"/exchanges/{exchange_id}")
    assert_nothing_changed(session, before)


def test_only_the_recorder_can_cancel_a_record(browser, factory, session):
    world = factory.world()
    exchange_id = _recorded_by_alice(browser, world)
    browser.sign_in(world.bob)
    before = snapshot(session)
    response = browser.post(f"/exchanges/{exchange_id}/cancel")
    assert response.status_code == 403
    assert "say so instead" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_a_dispute_needs_a_reason(browser, factory, session):
    world = factory.world()
    exchange_id = _recorded_by_alice(browser, world)
    browser.sign_in(world.bob)
    before = snapshot(session)
    response = browser.post(f"/exchanges/{exchange_id}/dispute", {"dispute-reason": "  "})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in page
    assert 'href="#dispute-reason"' in page
    assert_nothing_changed(session, before)


def test_the_recorder_cannot_dispute_their_own_record(browser, factory, session):
    world = factory.world()
    exchange_id = _recorded_by_alice(browser, world)
    before = snapshot(session)
    response = browser.post(f"/exchanges/{exchange_id}/dispute", {"dispute-reason": "Oops"})
    assert response.status_code == 403
    assert_nothing_changed(session, before)


def test_balances_are_untouched_until_approval(browser, factory, session):
    world = factory.world()
    _recorded_by_alice(browser, world)
    assert balance(session, world.alice) == 0
    assert balance(session, world.bob) == 0


def test_ids_too_large_for_the_database_are_simply_not_found(browser, factory, session):
    world = factory.world()
    huge = 2**40
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    for url in (f"/exchanges/{huge}", f"/exchanges/new?listing_id={huge}", f"/exchanges/new?member_id={huge}"):
        assert browser.get(url).status_code == 404, url
    assert browser.post(f"/exchanges/{huge}/accept").status_code == 404
    assert browser.post(f"/coordinator/exchanges/{huge}/approve").status_code == 404
    assert_nothing_changed(session, before)
