"""Corrections: reversing an approved exchange (a new transfer the other way, once, with a
reason both members see; refused when it would take the provider below their floor) and
granting hours from the community pool (never below zero; once per form). Who may do it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.coordinator_exchange_helpers import (
    account_of,
    approved,
    audit_events,
    donated,
    pool_balance,
    recorded,
    status_of,
    with_organisation,
)
from tests.exchange_helpers import Browser, assert_nothing_changed, balance, form_key, ledger_ok, snapshot
from timebank.exchanges import grants, service
from timebank.exchanges.errors import ExchangeNotFound, NotAllowed
from timebank.models import Exchange, ExchangeStatus, Role, Transfer, TransferPhase, TransferPurpose


def _reverse(browser: Browser, exchange_id: int, reason: str = "Recorded twice by mistake"):  # type: ignore[no-untyped-def]
    return browser.post(f"/coordinator/exchanges/{exchange_id}/reverse", {"reverse-reason": reason})


# -- reversing -------------------------------------------------------------------------------


def test_reversing_an_approved_exchange_adds_a_reversing_transfer_and_both_members_see_why(browser, factory, session):
    world = factory.world()
    exchange_id = approved(session, world.coordinator, world.alice, world.bob, 120)
    assert balance(session, world.alice) == 120
    browser.sign_in(world.coordinator)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "Reverse this exchange" in page and 'name="reverse-reason"' in page

    response = _reverse(browser, exchange_id, "Bob was away that week: recorded by mistake")
    assert response.status_code == 302
    assert status_of(session, exchange_id) == ExchangeStatus.REVERSED
    assert balance(session, world.alice) == 0
    assert balance(session, world.bob) == 0
    exchange = session.get(Exchange, exchange_id)
    assert exchange is not None
    posted = session.scalar(
        select(Transfer).where(
            Transfer.pending_id == exchange.pending_transfer_id, Transfer.phase == TransferPhase.POST
        )
    )
    assert posted is not None
    reversal = session.scalar(select(Transfer).where(Transfer.reverses_id == posted.id))
    assert reversal is not None
    assert reversal.purpose == TransferPurpose.REVERSAL and reversal.amount_minutes == 120
    assert reversal.debit_account_id == posted.credit_account_id  # taken back from Alice
    assert reversal.memo == "Bob was away that week: recorded by mistake"
    [event] = audit_events(session, "exchange.reversed")
    assert event.actor_id == world.coordinator.id and event.subject_id == exchange_id
    assert event.before == {"status": "approved"}
    assert event.after == {
        "status": "reversed",
        "reason": "Bob was away that week: recorded by mistake",
        "minutes": 120,
    }
    assert ledger_ok(session)

    for member in (world.alice, world.bob):
        browser.sign_in(member)
        member_page = browser.page(f"/exchanges/{exchange_id}")
        assert "Bob was away that week: recorded by mistake" in member_page
        assert "This was approved and then reversed by a coordinator." in member_page
        assert "Reverse this exchange" not in member_page


def test_reversing_twice_is_409_and_moves_nothing_more(browser, factory, session):
    world = factory.world()
    exchange_id = approved(session, world.coordinator, world.alice, world.bob, 60)
    browser.sign_in(world.coordinator)
    assert _reverse(browser, exchange_id).status_code == 302
    before = snapshot(session)
    response = _reverse(browser, exchange_id)
    assert response.status_code == 409
    assert "This exchange has already been reversed." in response.get_data(as_text=True)
    assert_nothing_changed(session, before)
    assert balance(session, world.alice) == 0


def test_reversing_needs_a_reason(browser, factory, session):
    world = factory.world()
    exchange_id = approved(session, world.coordinator, world.alice, world.bob, 60)
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _reverse(browser, exchange_id, "  ")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#reverse-reason"' in page and "Say why, so the others understand." in page
    assert_nothing_changed(session, before)


def test_a_reversal_that_would_take_the_provider_below_their_floor_is_refused_and_changes_nothing(
    browser, factory, session
):
    world = factory.world()
    alice_account = account_of(session, world.alice)
    alice_account.floor_minutes = 0
    session.commit()
    earned = approved(session, world.coordinator, world.alice, world.bob, 120)
    approved(session, world.coordinator, world.bob, world.alice, 120)  # Alice spent it again
    assert balance(session, world.alice) == 0
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _reverse(browser, earned)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Reversing this would take Alice below their floor" in page
    assert "Nothing was changed." in page
    assert_nothing_changed(session, before)
    assert status_of(session, earned) == ExchangeStatus.APPROVED


def test_only_approved_exchanges_can_be_reversed(browser, factory, session):
    world = factory.world()
    waiting = recorded(session, world.alice, world.bob, 60)
    browser.sign_in(world.coordinator)
    assert "Reverse this exchange" not in browser.page(f"/exchanges/{waiting}")
    before = snapshot(session)
    response = _reverse(browser, waiting)
    assert response.status_code == 409
    assert "This exchange is recorded, so it cannot be reversed now." in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_a_person_to_agency_exchange_can_be_reversed(browser, factory, session):
    world = factory.world()
    exchange_id = with_organisation(session, world.alice, 60, earns=True)
    service.approve_exchange(session, world.coordinator, exchange_id)
    browser.sign_in(world.coordinator)
    assert _reverse(browser, exchange_id).status_code == 302
    assert balance(session, world.alice) == 0
    assert ledger_ok(session)


def test_who_may_reverse(browser, factory, session):
    world = factory.world()
    other_coordinator = factory.member(world.other_timebank, "Oscar", role=Role.COORDINATOR)
    exchange_id = approved(session, world.coordinator, world.alice, world.bob, 60)
    before = snapshot(session)
    response = _reverse(browser, exchange_id)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    browser.sign_in(world.alice)  # a party to it, but not a coordinator
    assert "Reverse this exchange" not in browser.page(f"/exchanges/{exchange_id}")
    assert _reverse(browser, exchange_id).status_code == 403
    browser.sign_in(other_coordinator)
    assert _reverse(browser, exchange_id).status_code == 404
    assert _reverse(browser, exchange_id, "").status_code == 404  # not even the form's message
    assert_nothing_changed(session, before)
    with pytest.raises(NotAllowed):
        service.reverse_exchange(session, world.bob, exchange_id, "I want my hours back")
    assert_nothing_changed(session, before)


# -- grants from the community pool ----------------------------------------------------------


def _grant(browser: Browser, member_id: object, amount: str, reason: str = "Help while recovering from an operation"):  # type: ignore[no-untyped-def]
    key = form_key(browser.page("/coordinator/grants/new"))
    return browser.post(
        "/coordinator/grants/new", {"member_id": str(member_id), "amount": amount, "reason": reason, "request_key": key}
    ), key


def test_a_grant_moves_hours_from_the_pool_to_the_member_and_is_audited(browser, factory, session):
    world = factory.world()
    donated(session, world.alice, 180)
    browser.sign_in(world.coordinator)
    page = browser.page("/coordinator/grants/new")
    assert "The pool has <strong>3 hours</strong> to give." in page
    response, _ = _grant(browser, world.bob.id, "2")
    assert response.status_code == 302
    assert balance(session, world.bob) == 120
    assert pool_balance(session, world.timebank.id) == 60
    grant = session.scalar(select(Transfer).where(Transfer.purpose == TransferPurpose.GRANT))
    assert grant is not None and grant.phase == TransferPhase.SINGLE and grant.created_by_id == world.coordinator.id
    [event] = audit_events(session, "pool.granted")
    assert event.actor_id == world.coordinator.id and event.subject_id == world.bob.id
    assert event.before == {"pool_minutes": 180, "member_balance_minutes": 0}
    assert event.after is not None and event.after["minutes"] == 120 and event.after["pool_minutes"] == 60
    assert event.after["reason"] == "Help while recovering from an operation"
    assert ledger_ok(session)
    browser.sign_in(world.bob)
    assert "You got 2 hours from Riverside community pool" in browser.page("/dashboard")


def test_a_grant_beyond_the_pool_is_409_and_says_what_the_pool_has(browser, factory, session):
    world = factory.world()
    donated(session, world.alice, 60)
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response, _ = _grant(browser, world.bob.id, "1:30")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The community pool has only 1 hour" in page and 'href="#amount"' in page
    assert_nothing_changed(session, before)


def test_an_empty_pool_cannot_give(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response, _ = _grant(browser, world.bob.id, "0:15")
    assert response.status_code == 409
    assert "The community pool has only 0 hours" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_sending_the_grant_form_twice_grants_once(browser, factory, session):
    world = factory.world()
    donated(session, world.alice, 120)
    browser.sign_in(world.coordinator)
    response, key = _grant(browser, world.bob.id, "2")
    assert response.status_code == 302
    before = snapshot(session)
    again = browser.post(
        "/coordinator/grants/new",
        {
            "member_id": str(world.bob.id),
            "amount": "2",
            "reason": "Help while recovering from an operation",
            "request_key": key,
        },
    )
    assert again.status_code == 302  # the pool is empty now, yet the repeat finds the first grant
    assert_nothing_changed(session, before)
    assert balance(session, world.bob) == 120
    assert len(audit_events(session, "pool.granted")) == 1
    changed = browser.post(
        "/coordinator/grants/new",
        {"member_id": str(world.alice.id), "amount": "2", "reason": "Other", "request_key": key},
    )
    assert changed.status_code == 409  # the same form reference with other details
    assert_nothing_changed(session, before)


@pytest.mark.parametrize(
    ("member", "amount", "reason", "message"),
    [
        ("bob", "lots", "Needs help", "Enter the time in hours"),
        ("bob", "0", "Needs help", "The time must be more than zero."),
        ("bob", "0:10", "Needs help", "Give the time in steps of 15 minutes"),
        ("bob", "", "Needs help", "Enter how much time credit to give"),
        ("bob", "1", "  ", "Say why this member is getting hours from the pool."),
        ("", "1", "Needs help", "Choose who the hours are for."),
        ("outsider", "1", "Needs help", "Choose a member from the list."),
    ],
)
def test_a_grant_with_bad_input_is_422_and_changes_nothing(browser, factory, session, member, amount, reason, message):
    world = factory.world()
    donated(session, world.alice, 120)
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    member_id = {"bob": world.bob.id, "outsider": world.outsider.id, "": ""}[member]
    response, _ = _grant(browser, member_id, amount, reason)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_the_grant_service_refuses_another_timebanks_member_and_participants(factory, session):
    world = factory.world()
    donated(session, world.alice, 120)
    before = snapshot(session)
    with pytest.raises(ExchangeNotFound):
        grants.grant_from_pool(
            session, world.coordinator, grants.GrantRequest(world.outsider.id, 60, "Needs help", "key-1")
        )
    with pytest.raises(NotAllowed):
        grants.grant_from_pool(session, world.bob, grants.GrantRequest(world.bob.id, 60, "For me", "key-2"))
    assert_nothing_changed(session, before)


def test_who_may_grant(browser, factory, session):
    world = factory.world()
    other_coordinator = factory.member(world.other_timebank, "Oscar", role=Role.COORDINATOR)
    donated(session, world.alice, 120)
    before = snapshot(session)
    data = {"member_id": str(world.bob.id), "amount": "1", "reason": "Needs help", "request_key": "k"}
    response = browser.post("/coordinator/grants/new", data)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    browser.sign_in(world.bob)
    assert browser.get("/coordinator/grants/new").status_code == 403
    assert browser.post("/coordinator/grants/new", data).status_code == 403
    browser.sign_in(other_coordinator)
    page = browser.page("/coordinator/grants/new")
    assert "Bob" not in page  # only their own timebank's members to choose from
    assert browser.post("/coordinator/grants/new", data).status_code == 422
    assert_nothing_changed(session, before)
    assert session.scalar(select(func.count(Transfer.id)).where(Transfer.purpose == TransferPurpose.GRANT)) == 0
