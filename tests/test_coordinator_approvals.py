"""The approvals queue: filters (status, member, category, dates, person-to-agency) and bulk
decisions (approve, or refuse with one reason), each exchange decided on its own, every outcome
reported; a double submit moves nothing twice; who may do it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.coordinator_exchange_helpers import (
    approved,
    confirmed,
    days_ago,
    disputed,
    links_to_exchanges,
    recorded,
    status_of,
    with_organisation,
)
from tests.exchange_helpers import (
    Browser,
    add_listing,
    assert_nothing_changed,
    balance,
    ledger_ok,
    pending,
    snapshot,
)
from timebank.exchanges import service
from timebank.models import Category, ExchangeStatus, ListingKind, Role, Transfer


def _bulk(browser: Browser, ids: list[int], action: str, reason: str = "", query: str = "") -> Any:
    data: dict[str, Any] = {"exchange_ids": [str(i) for i in ids], "action": action}
    if reason:
        data["reason"] = reason
    return browser.client.post(f"/coordinator/exchanges/bulk{query}", data=data)


def _category(session, timebank, name: str) -> Category:  # type: ignore[no-untyped-def]
    found = session.scalar(select(Category).where(Category.timebank_id == timebank.id, Category.name == name))
    assert found is not None
    return found



def test_another_timebanks_category_is_refused_when_recording_and_nothing_is_written(factory, session):
    world = factory.world()
    elsewhere = Category(timebank_id=world.other_timebank.id, name="Elsewhere only")
    session.add(elsewhere)
    session.commit()
    before = session.scalar(select(func.count(Transfer.id)))
    with pytest.raises(service.InvalidExchange, match="categories"):
        recorded(session, world.alice, world.bob, 60, category_id=elsewhere.id)
    assert session.scalar(select(func.count(Transfer.id))) == before

# -- filters ---------------------------------------------------------------------------------


def test_the_filters_narrow_the_queue_by_status_member_category_dates_and_agency(browser, factory, session):
    world = factory.world()
    carol = factory.member(world.timebank, "Carol")
    garden = add_listing(
        session,
        world.alice,
        ListingKind.OFFER,
        "Garden help",
        category_id=_category(session, world.timebank, "Gardening").id,
    )
    from_listing = recorded(session, world.alice, world.bob, 60, days_ago=10, listing_id=garden.id)
    # Recorded without a listing, with the category chosen when recording.
    chosen = recorded(
        session, carol, world.alice, 45, days_ago=6, category_id=_category(session, world.timebank, "Gardening").id
    )
    both_agree = confirmed(session, carol, world.bob, 120, days_ago=2)
    questioned = disputed(session, world.alice, carol, 90)
    agency = with_organisation(session, carol, 30)
    browser.sign_in(world.coordinator)

    everything = links_to_exchanges(browser.page("/coordinator/exchanges"))
    assert everything == {from_listing, chosen, both_agree, questioned, agency}
    assert links_to_exchanges(browser.page("/coordinator/exchanges?status=confirmed")) == {both_agree}
    assert links_to_exchanges(browser.page("/coordinator/exchanges?status=disputed")) == {questioned}
    assert links_to_exchanges(browser.page(f"/coordinator/exchanges?member={world.bob.id}")) == {
        from_listing,
        both_agree,
    }
    gardening = _category(session, world.timebank, "Gardening").id
    assert links_to_exchanges(browser.page(f"/coordinator/exchanges?category={gardening}")) == {from_listing, chosen}
    since = days_ago(3).isoformat()
    assert links_to_exchanges(browser.page(f"/coordinator/exchanges?performed_from={since}")) == {
        both_agree,
        questioned,
        agency,
    }
    until = days_ago(5).strftime("%d/%m/%Y")
    assert links_to_exchanges(browser.page(f"/coordinator/exchanges?performed_to={until}")) == {from_listing, chosen}
    assert links_to_exchanges(browser.page("/coordinator/exchanges?agency_only=y")) == {agency}
    combined = f"/coordinator/exchanges?member={carol.id}&status=recorded&agency_only=y"
    assert links_to_exchanges(browser.page(combined)) == {agency}
    page = browser.page(f"/coordinator/exchanges?member={world.alice.id}&agency_only=y")
    assert links_to_exchanges(page) == set()
    assert "Nothing waiting matches these filters." in page


def test_a_filter_that_cannot_be_used_is_explained_with_422(browser, factory, session):
    world = factory.world()
    waiting = recorded(session, world.alice, world.bob)
    browser.sign_in(world.coordinator)
    response = browser.get(
        "/coordinator/exchanges?performed_from-day=31&performed_from-month=2&performed_from-year=2025"
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The date must be a real date" in page and 'href="#performed_from"' in page
    assert 'id="performed_from" name="performed_from-day" type="text" inputmode="numeric"' in page
    assert links_to_exchanges(page) == {waiting}  # the queue, unfiltered
    # A date the filter did use is said back in words beside its boxes.
    used = browser.page("/coordinator/exchanges?performed_from-day=1&performed_from-month=3&performed_from-year=2025")
    assert "That is Saturday 1 March 2025." in used

    backwards = f"?performed_from={days_ago(1).isoformat()}&performed_to={days_ago(5).isoformat()}"
    response = browser.get(f"/coordinator/exchanges{backwards}")
    assert response.status_code == 422
    assert "The end date must be on or after the start date." in response.get_data(as_text=True)

    response = browser.get("/coordinator/exchanges?status=approved")
    assert response.status_code == 422
    assert "Choose a status from the list." in response.get_data(as_text=True)


def test_another_timebanks_member_is_not_a_filter_choice(browser, factory, session):
    world = factory.world()
    recorded(session, world.alice, world.bob)
    browser.sign_in(world.coordinator)
    response = browser.get(f"/coordinator/exchanges?member={world.outsider.id}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose a member from the list." in page
    assert world.outsider.display_name not in page


# -- bulk decisions --------------------------------------------------------------------------


def test_bulk_approval_decides_each_exchange_on_its_own_and_reports_every_outcome(browser, factory, session):
    world = factory.world()
    outsider_friend = factory.member(world.other_timebank, "Otto")
    first = confirmed(session, world.alice, world.bob, 60)
    second = confirmed(session, world.bob, world.alice, 120)
    questioned = disputed(session, world.alice, world.bob, 30)
    done_before = approved(session, world.coordinator, world.bob, world.alice, 45)
    foreign = recorded(session, world.outsider, outsider_friend, 60)
    session.commit()
    bob_balance = balance(session, world.bob)

    browser.sign_in(world.coordinator)
    response = _bulk(browser, [first, second, questioned, done_before, foreign, 999999], "approve")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 of 6 approved." in page
    assert "Approved:</strong> <a" in page
    assert "Alice gave 1 hour to Bob" in page and "Bob gave 2 hours to Alice" in page
    assert "This exchange is disputed, so it cannot be approved now." in page
    assert "This exchange has already been approved." in page
    assert f"Exchange {foreign}" in page and "Exchange 999999" in page
    assert page.count("It is not in your timebank&#39;s records.") == 2
    assert "Olive" not in page and "Otto" not in page  # nothing about another timebank's exchange

    assert status_of(session, first) == ExchangeStatus.APPROVED
    assert status_of(session, second) == ExchangeStatus.APPROVED
    assert status_of(session, questioned) == ExchangeStatus.DISPUTED
    assert status_of(session, foreign) == ExchangeStatus.RECORDED
    assert balance(session, world.bob) == bob_balance - 60 + 120
    assert pending(session, world.outsider) == (60, 0)
    assert ledger_ok(session)


def test_sending_the_same_bulk_form_twice_moves_the_credits_once(browser, factory, session):
    world = factory.world()
    ids = [confirmed(session, world.alice, world.bob, 60), confirmed(session, world.alice, world.bob, 30)]
    browser.sign_in(world.coordinator)
    assert "2 of 2 approved." in _bulk(browser, ids, "approve").get_data(as_text=True)
    assert balance(session, world.alice) == 90
    before = snapshot(session)

    again = _bulk(browser, ids, "approve")
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert "0 of 2 approved." in page
    assert page.count("This exchange has already been approved.") == 2
    assert_nothing_changed(session, before)
    assert balance(session, world.alice) == 90
    assert balance(session, world.bob) == -90


def test_a_ticked_exchange_twice_in_one_form_is_decided_once(browser, factory, session):
    world = factory.world()
    exchange_id = confirmed(session, world.alice, world.bob, 60)
    browser.sign_in(world.coordinator)
    page = _bulk(browser, [exchange_id, exchange_id], "approve").get_data(as_text=True)
    assert "1 of 1 approved." in page
    assert balance(session, world.alice) == 60


def test_bulk_refusal_releases_the_hours_and_every_member_sees_the_one_reason(browser, factory, session):
    world = factory.world()
    carol = factory.member(world.timebank, "Carol")
    first = recorded(session, world.alice, world.bob, 60)
    second = disputed(session, carol, world.bob, 120)
    done_before = approved(session, world.coordinator, world.alice, carol, 30)
    reason = "These were favours between neighbours, not timebank hours"
    browser.sign_in(world.coordinator)
    response = _bulk(browser, [first, second, done_before], "reject", reason)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "2 of 3 not approved." in page
    assert "Could not refuse:" in page and "This exchange is approved, so it cannot be rejected now." in page

    assert status_of(session, first) == ExchangeStatus.REJECTED
    assert status_of(session, second) == ExchangeStatus.REJECTED
    assert status_of(session, done_before) == ExchangeStatus.APPROVED
    assert pending(session, world.bob) == (0, 0)
    assert balance(session, world.alice) == 30
    for member, exchange_id in ((world.alice, first), (world.bob, first), (carol, second)):
        browser.sign_in(member)
        member_page = browser.page(f"/exchanges/{exchange_id}")
        assert reason in member_page
        assert "The coordinator’s reason" in member_page
    assert ledger_ok(session)


def test_refusing_in_bulk_needs_a_reason_and_changes_nothing_without_one(browser, factory, session):
    world = factory.world()
    ids = [recorded(session, world.alice, world.bob, 60), recorded(session, world.bob, world.alice, 60)]
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _bulk(browser, ids, "reject", "   ")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Say why you are not approving them. The members will see it." in page
    assert 'href="#reason"' in page
    for exchange_id in ids:  # the ticks are kept, so nothing has to be ticked again
        assert f'value="{exchange_id}" id=' in page and "checked" in page
    assert_nothing_changed(session, before)


def test_nothing_ticked_or_no_decision_is_422_and_changes_nothing(browser, factory, session):
    world = factory.world()
    exchange_id = recorded(session, world.alice, world.bob, 60)
    browser.sign_in(world.coordinator)
    before = snapshot(session)

    response = _bulk(browser, [], "approve")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose at least one exchange." in page and 'href="#exchange_ids"' in page

    response = browser.client.post("/coordinator/exchanges/bulk", data={"exchange_ids": [str(exchange_id)]})
    assert response.status_code == 422
    assert "Choose whether to approve them or not." in response.get_data(as_text=True)

    response = _bulk(browser, [exchange_id], "delete")
    assert response.status_code == 422

    response = browser.client.post(
        "/coordinator/exchanges/bulk", data={"exchange_ids": [str(exchange_id), "drop table"], "action": "approve"}
    )
    assert response.status_code == 422
    assert "Something in the list is not an exchange." in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_the_queue_offers_ticks_and_both_bulk_buttons_in_one_form(browser, factory, session):
    world = factory.world()
    first = confirmed(session, world.alice, world.bob, 60)
    questioned = disputed(session, world.alice, world.bob, 30)
    browser.sign_in(world.coordinator)
    page = browser.page("/coordinator/exchanges?status=")
    assert 'action="/coordinator/exchanges/bulk?status="' in page
    assert f'name="exchange_ids" value="{first}"' in page and f'name="exchange_ids" value="{questioned}"' in page
    assert 'name="action" value="approve"' in page and 'name="action" value="reject"' in page
    # A single approval uses its own form, so it never sends the ticked list.
    assert f'form="approve-{first}"' in page and f'id="approve-{first}"' in page
    assert f'form="approve-{questioned}"' not in page  # a dispute is settled, not approved


def test_the_result_page_leads_back_to_the_filtered_queue(browser, factory, session):
    world = factory.world()
    exchange_id = recorded(session, world.alice, world.bob, 60)
    browser.sign_in(world.coordinator)
    page = _bulk(browser, [exchange_id], "approve", query="?status=recorded").get_data(as_text=True)
    assert 'href="/coordinator/exchanges?status=recorded"' in page


def test_bulk_decide_reports_unknown_and_foreign_ids_as_not_found_and_leaves_them_alone(factory, session):
    world = factory.world()
    other_coordinator = factory.member(world.other_timebank, "Oscar", role=Role.COORDINATOR)
    mine = recorded(session, world.alice, world.bob, 60)
    transfers = session.scalar(select(func.count(Transfer.id)))
    outcomes = service.bulk_decide(session, other_coordinator, [mine, 0, 2**40], "approve")
    assert [(o.exchange_id, o.done, o.found) for o in outcomes] == [
        (mine, False, False),
        (0, False, False),
        (2**40, False, False),
    ]
    assert all("Alice" not in o.summary for o in outcomes)
    assert status_of(session, mine) == ExchangeStatus.RECORDED
    assert session.scalar(select(func.count(Transfer.id))) == transfers
    assert ledger_ok(session)


# -- who may ---------------------------------------------------------------------------------


def test_participants_are_refused_the_filters_and_bulk_decisions(browser, factory, session):
    world = factory.world()
    exchange_id = recorded(session, world.alice, world.bob, 60)
    browser.sign_in(world.bob)
    before = snapshot(session)
    assert browser.get("/coordinator/exchanges?status=recorded").status_code == 403
    assert _bulk(browser, [exchange_id], "approve").status_code == 403
    assert _bulk(browser, [exchange_id], "reject", "no").status_code == 403
    assert_nothing_changed(session, before)


def test_another_timebanks_coordinator_cannot_decide_our_exchanges_in_bulk(browser, factory, session):
    world = factory.world()
    other_coordinator = factory.member(world.other_timebank, "Oscar", role=Role.COORDINATOR)
    ids = [recorded(session, world.alice, world.bob, 60), confirmed(session, world.bob, world.alice, 30)]
    browser.sign_in(other_coordinator)
    before = snapshot(session)
    response = _bulk(browser, ids, "approve")
    page = response.get_data(as_text=True)
    assert "0 of 2 approved." in page
    assert "Alice" not in page and "Bob" not in page
    assert links_to_exchanges(browser.page("/coordinator/exchanges")) == set()
    assert browser.get(f"/exchanges/{ids[0]}").status_code == 404
    assert_nothing_changed(session, before)


def test_signed_out_visitors_are_sent_to_sign_in_and_nothing_changes(client, factory, session):
    world = factory.world()
    exchange_id = recorded(session, world.alice, world.bob, 60)
    before = snapshot(session)
    for response in (
        client.get("/coordinator/exchanges?status=recorded"),
        client.post("/coordinator/exchanges/bulk", data={"exchange_ids": [str(exchange_id)], "action": "approve"}),
    ):
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    assert_nothing_changed(session, before)
