"""Exchanges the whole way, through the pages: propose from a listing, a match or a member;
accept; record the time; confirm; approved by the timebank's policy; credits move once."""

from __future__ import annotations

from tests.exchange_helpers import (
    Browser,
    add_listing,
    balance,
    created_id,
    exchange,
    form_key,
    ledger_ok,
    only_exchange,
    pending,
    today,
)
from timebank.models import ApprovalPolicy, ExchangeStatus, ListingKind


def test_request_for_help_goes_from_proposal_to_credit_when_no_coordinator_is_needed(browser, factory, session):
    world = factory.world(approval_policy=ApprovalPolicy.NEVER)
    shelf = add_listing(session, world.bob, ListingKind.REQUEST, "Put up a shelf")
    browser.sign_in(world.alice)
    form = browser.page(f"/exchanges/new?listing_id={shelf.id}")
    assert "Offer to help Bob" in form
    assert "Put up a shelf" in form
    assert "Who will help whom?" not in form  # the direction follows from Bob's request

    exchange_id = created_id(browser.propose(f"/exchanges/new?listing_id={shelf.id}", rough_hours="1:30"))
    proposed = exchange(session, exchange_id)
    assert proposed.status == ExchangeStatus.PROPOSED
    assert proposed.provider_account.member_id == world.alice.id
    assert proposed.recipient_account.member_id == world.bob.id
    assert proposed.proposed_by_id == world.alice.id
    assert proposed.minutes == 90
    assert proposed.listing_id == shelf.id
    assert pending(session, world.bob) == (0, 0)  # nothing reserved for a proposal

    assert "Waiting for Bob to answer." in browser.page(f"/exchanges/{exchange_id}")
    browser.sign_in(world.bob)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "Alice offered to help you" in page
    assert "Yes, accept" in page
    assert browser.post(f"/exchanges/{exchange_id}/accept").status_code == 302
    assert exchange(session, exchange_id).status == ExchangeStatus.ACCEPTED

    response = browser.record(exchange_id, duration="2 hours", description="Put up the shelf in the hall")
    assert response.status_code == 302
    recorded = exchange(session, exchange_id)
    assert recorded.status == ExchangeStatus.RECORDED
    assert recorded.recorded_by_id == world.bob.id
    assert recorded.minutes == 120
    assert pending(session, world.bob) == (0, 120)
    assert pending(session, world.alice) == (120, 0)

    browser.sign_in(world.alice)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "You gave 2 hours to Bob" in page
    assert "Bob recorded the time. Please confirm it" in page
    assert browser.post(f"/exchanges/{exchange_id}/confirm").status_code == 302

    assert exchange(session, exchange_id).status == ExchangeStatus.APPROVED
    assert balance(session, world.alice) == 120
    assert balance(session, world.bob) == -120
    assert pending(session, world.alice) == (0, 0)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "You earned 2 hours of time credit." in page
    assert "Approved: both sides agreed, and the time credits moved." in page
    assert ledger_ok(session)


def test_with_approval_always_a_confirmed_exchange_waits_for_the_coordinator(browser, factory, session):
    world = factory.world(approval_policy=ApprovalPolicy.ALWAYS)
    lifts = add_listing(session, world.bob, ListingKind.OFFER, "Lifts to the shops")
    browser.sign_in(world.alice)
    page = browser.page(f"/exchanges/new?listing_id={lifts.id}")
    assert "Ask Bob for help" in page
    exchange_id = created_id(browser.propose(f"/exchanges/new?listing_id={lifts.id}"))
    proposed = exchange(session, exchange_id)
    assert proposed.provider_account.member_id == world.bob.id  # Bob's offer: Bob helps
    assert proposed.recipient_account.member_id == world.alice.id

    browser.sign_in(world.bob)
    browser.post(f"/exchanges/{exchange_id}/accept")
    browser.sign_in(world.alice)
    assert browser.record(exchange_id, duration="1.5").status_code == 302
    browser.sign_in(world.bob)
    browser.post(f"/exchanges/{exchange_id}/confirm")
    assert exchange(session, exchange_id).status == ExchangeStatus.CONFIRMED
    assert balance(session, world.bob) == 0

    browser.sign_in(world.coordinator)
    queue = browser.page("/coordinator/exchanges")
    assert "Bob gave 1 hour 30 minutes to Alice" in queue
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/approve").status_code == 302
    assert exchange(session, exchange_id).status == ExchangeStatus.APPROVED
    assert balance(session, world.bob) == 90
    assert balance(session, world.alice) == -90
    assert "Nothing is waiting" in browser.page("/coordinator/exchanges")
    assert ledger_ok(session)


def test_above_threshold_only_longer_exchanges_wait_for_a_coordinator(browser, factory, session):
    world = factory.world(approval_policy=ApprovalPolicy.ABOVE_THRESHOLD)  # threshold: 3 hours
    ids = []
    for hours in ("3", "3.25"):
        browser.sign_in(world.alice)
        exchange_id = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
        browser.sign_in(world.bob)
        browser.post(f"/exchanges/{exchange_id}/accept")
        browser.record(exchange_id, duration=hours)
        browser.sign_in(world.alice)
        browser.post(f"/exchanges/{exchange_id}/confirm")
        ids.append(exchange_id)
    assert exchange(session, ids[0]).status == ExchangeStatus.APPROVED
    assert exchange(session, ids[1]).status == ExchangeStatus.CONFIRMED
    assert balance(session, world.alice) == 180
    assert ledger_ok(session)


def test_proposing_directly_to_a_member_asks_who_helps_whom(browser, factory, session):
    world = factory.world()
    page = None
    browser.sign_in(world.alice)
    page = browser.page(f"/exchanges/new?member_id={world.bob.id}")
    assert "Who will help whom?" in page
    response = browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="they_help")
    proposed = exchange(session, created_id(response))
    assert proposed.provider_account.member_id == world.bob.id
    assert proposed.recipient_account.member_id == world.alice.id
    assert "Alice asked you for help" in _page_as(browser, world.bob, f"/exchanges/{proposed.id}")


def test_proposing_from_a_match_for_my_request_asks_the_matched_member_to_help(browser, factory, session):
    world = factory.world()
    garden = add_listing(session, world.alice, ListingKind.REQUEST, "Weed the garden")
    browser.sign_in(world.alice)
    url = f"/exchanges/new?listing_id={garden.id}&member_id={world.bob.id}"
    assert "Ask Bob for help" in browser.page(url)
    proposed = exchange(session, created_id(browser.propose(url)))
    assert proposed.provider_account.member_id == world.bob.id
    assert proposed.listing_id == garden.id


def test_a_proposal_form_sent_twice_makes_one_proposal(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    url = f"/exchanges/new?member_id={world.bob.id}"
    key = form_key(browser.page(url))
    data = {"request_key": key, "message": "Tea and a chat?", "direction": "i_help"}
    first = created_id(browser.post(url, data))
    second = created_id(browser.post(url, data))
    assert first == second
    assert only_exchange(session).id == first


def test_the_other_side_can_decline_with_a_reason(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    exchange_id = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
    browser.sign_in(world.bob)
    response = browser.post(f"/exchanges/{exchange_id}/decline", {"decline-reason": "I am away that week"})
    assert response.status_code == 302
    declined = exchange(session, exchange_id)
    assert declined.status == ExchangeStatus.DECLINED
    assert declined.decision_reason == "I am away that week"
    page = _page_as(browser, world.alice, f"/exchanges/{exchange_id}")
    assert "I am away that week" in page
    assert "Record the time" not in page


def test_the_proposer_can_cancel_and_either_side_can_cancel_once_accepted(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    first = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
    assert browser.post(f"/exchanges/{first}/cancel").status_code == 302
    assert exchange(session, first).status == ExchangeStatus.CANCELLED

    second = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
    browser.sign_in(world.bob)
    browser.post(f"/exchanges/{second}/accept")
    assert browser.post(f"/exchanges/{second}/cancel", {"cancel-reason": "Found someone nearer"}).status_code == 302
    cancelled = exchange(session, second)
    assert cancelled.status == ExchangeStatus.CANCELLED
    assert cancelled.decision_reason == "Found someone nearer"
    assert ledger_ok(session)


def test_cancelling_after_recording_releases_the_reserved_hours(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    exchange_id = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
    browser.sign_in(world.bob)
    browser.post(f"/exchanges/{exchange_id}/accept")
    browser.sign_in(world.alice)
    browser.record(exchange_id)
    assert pending(session, world.bob) == (0, 120)
    assert browser.post(f"/exchanges/{exchange_id}/cancel").status_code == 302
    cancelled = exchange(session, exchange_id)
    assert cancelled.status == ExchangeStatus.CANCELLED
    assert pending(session, world.bob) == (0, 0)
    assert pending(session, world.alice) == (0, 0)
    assert balance(session, world.alice) == 0
    assert ledger_ok(session)


def test_help_recorded_without_a_proposal_goes_the_same_way(browser, factory, session):
    world = factory.world(approval_policy=ApprovalPolicy.NEVER)
    browser.sign_in(world.alice)
    page = browser.page(f"/exchanges/record?member_id={world.bob.id}")
    data = {
        "request_key": form_key(page),
        "other_member": str(world.bob.id),
        "direction": "they_helped",
        "performed_on": today().strftime("%d/%m/%Y"),
        "duration": "45 mins",
        "description": "Bob sorted my phone",
    }
    exchange_id = created_id(browser.send_and_confirm("/exchanges/record", data))
    recorded = exchange(session, exchange_id)
    assert recorded.status == ExchangeStatus.RECORDED
    assert recorded.provider_account.member_id == world.bob.id
    assert recorded.minutes == 45
    browser.sign_in(world.bob)
    assert "Alice recorded the time" in browser.page(f"/exchanges/{exchange_id}")
    browser.post(f"/exchanges/{exchange_id}/confirm")
    assert balance(session, world.bob) == 45
    assert ledger_ok(session)


def test_my_exchanges_are_grouped_by_who_must_act(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.alice)
    waiting = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
    browser.sign_in(world.bob)
    to_answer = created_id(browser.propose(f"/exchanges/new?member_id={world.alice.id}", direction="i_help"))
    done = created_id(browser.propose(f"/exchanges/new?member_id={world.alice.id}", direction="they_help"))
    browser.post(f"/exchanges/{done}/cancel")
    browser.sign_in(world.alice)
    page = browser.page("/exchanges")
    action = page.index("Needs your action")
    waiting_at = page.index("Waiting for others")
    done_at = page.index("<h2 id=\"group-done\"")
    assert action < page.index(f"/exchanges/{to_answer}\"") < waiting_at
    assert waiting_at < page.index(f"/exchanges/{waiting}\"") < done_at
    assert done_at < page.index(f"/exchanges/{done}\"")


def _page_as(browser: Browser, member, url: str) -> str:  # type: ignore[no-untyped-def]
    browser.sign_in(member)
    return browser.page(url)
