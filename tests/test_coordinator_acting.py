"""Acting for members: a coordinator adds a listing, records an exchange from a paper timesheet
and proposes one, for a member who does not use the website; each record says "Recorded by
<coordinator> for <member>" (or "Proposed by ..."), and the audit trail names both."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.coordinator_exchange_helpers import audit_events, organisation_balance, status_of
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
    with_date,
)
from timebank.exchanges import service
from timebank.exchanges.errors import NotAllowed
from timebank.models import Account, Category, ExchangeStatus, Listing, MemberStatus, Role
from timebank.timebanks.service import organisation_account


def _record_for(browser: Browser, member_id: int, **data: str):  # type: ignore[no-untyped-def]
    url = f"/coordinator/act/{member_id}/record"
    fields = {**date_boxes("performed_on", today()), "duration": "1.5", "description": "Dug the vegetable bed"}
    return browser.send_and_confirm(url, {"request_key": form_key(browser.page(url)), **with_date(fields, data)})


def _propose_for(browser: Browser, member_id: int, **data: str):  # type: ignore[no-untyped-def]
    url = f"/coordinator/act/{member_id}/propose"
    fields = {"message": "Could you help Alice with her shopping on Tuesday?"}
    fields.update(data)
    return browser.post(url, {"request_key": form_key(browser.page(url)), **fields})


# -- choosing the member ---------------------------------------------------------------------


def test_the_picker_leads_to_the_things_a_coordinator_can_do_for_the_member(browser, factory, session):
    world = factory.world()
    factory.member(world.timebank, "Adam Applicant", status=MemberStatus.APPLIED)
    browser.sign_in(world.coordinator)
    page = browser.page("/coordinator/act")
    assert f'<option value="{world.alice.id}">Alice</option>' in page
    assert "Adam Applicant" not in page and world.outsider.display_name not in page
    response = browser.get(f"/coordinator/act?member_id={world.alice.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/coordinator/act/{world.alice.id}")
    page = browser.page(f"/coordinator/act/{world.alice.id}")
    assert "Acting for Alice" in page
    for link in ("record", "propose", "listings/new?kind=offer", "listings/new?kind=request"):
        assert f'href="/coordinator/act/{world.alice.id}/{link}"' in page
    assert f'href="/coordinator/grants/new?member_id={world.alice.id}"' in page


def test_the_picker_refuses_a_member_who_is_not_in_the_list(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    for value in ("", str(world.outsider.id), "abc"):
        response = browser.get(f"/coordinator/act?member_id={value}")
        assert response.status_code == 422
        assert 'href="#member_id"' in response.get_data(as_text=True)


# -- recording -------------------------------------------------------------------------------


def test_recording_for_a_member_approves_at_once_and_says_who_recorded_it_for_whom(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    bob_account = session.scalar(select(Account).where(Account.member_id == world.bob.id))
    assert bob_account is not None
    response = _record_for(browser, world.alice.id, other_account=str(bob_account.id), direction="member_helped")
    exchange_id = created_id(response)
    recorded = exchange(session, exchange_id)
    assert recorded.status == ExchangeStatus.APPROVED
    assert recorded.recorded_by_id == world.alice.id and recorded.entered_by_id == world.coordinator.id
    assert balance(session, world.alice) == 90 and balance(session, world.bob) == -90
    [event] = audit_events(session, "exchange.recorded")
    assert event.actor_id == world.coordinator.id and event.on_behalf_of_id == world.alice.id
    assert ledger_ok(session)

    assert "Recorded by you for Alice" in browser.page(f"/exchanges/{exchange_id}")
    browser.sign_in(world.alice)
    alice_page = browser.page(f"/exchanges/{exchange_id}")
    assert "Recorded by Cora Coordinator for you" in alice_page
    assert "Cora Coordinator recorded 1 hour 30 minutes" in alice_page and "for you." in alice_page
    browser.sign_in(world.bob)
    assert "Recorded by Cora Coordinator for Alice" in browser.page(f"/exchanges/{exchange_id}")
    assert "Recorded by Cora Coordinator for Alice" in browser.page("/exchanges")


def test_recording_help_the_member_received_speaks_for_that_member(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    bob_account = session.scalar(select(Account).where(Account.member_id == world.bob.id))
    assert bob_account is not None
    exchange_id = created_id(
        _record_for(browser, world.alice.id, other_account=str(bob_account.id), direction="member_was_helped")
    )
    recorded = exchange(session, exchange_id)
    assert recorded.recorded_by_id == world.alice.id  # not Bob, though Bob gave the help
    assert balance(session, world.alice) == -90
    browser.sign_in(world.bob)
    assert "Recorded by Cora Coordinator for Alice" in browser.page(f"/exchanges/{exchange_id}")


def test_recording_time_with_the_organisation_for_a_member(browser, factory, session):
    world = factory.world()
    organisation = organisation_account(session, world.timebank.id)
    browser.sign_in(world.coordinator)
    assert f'<option value="{organisation.id}">Riverside Day Service</option>' in browser.page(
        f"/coordinator/act/{world.alice.id}/record"
    )
    created_id(_record_for(browser, world.alice.id, other_account=str(organisation.id), direction="member_helped"))
    assert balance(session, world.alice) == 90
    assert organisation_balance(session, world.timebank.id) == -90
    assert ledger_ok(session)


def test_sending_the_record_form_twice_records_once(browser, factory, session):
    world = factory.world()
    bob_account = session.scalar(select(Account).where(Account.member_id == world.bob.id))
    assert bob_account is not None
    browser.sign_in(world.coordinator)
    url = f"/coordinator/act/{world.alice.id}/record"
    data = {
        "request_key": form_key(browser.page(url)),
        "other_account": str(bob_account.id),
        "direction": "member_helped",
        "answers": "confirmed",  # pressed on the page that says it back
        "performed_on": today().isoformat(),
        "duration": "2",
        "description": "Painted the fence",
    }
    first = created_id(browser.post(url, data))
    assert created_id(browser.post(url, data)) == first
    only_exchange(session)
    assert balance(session, world.alice) == 120


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"other_account": ""}, "Choose who the exchange was with."),
        ({"direction": ""}, "Choose who helped whom."),
        ({"duration": "forever"}, "Enter the time in hours"),
        ({"duration": "0:20"}, "Give the time in steps of 15 minutes"),
        ({"performed_on": "2999-01-01"}, "The date cannot be in the future."),
        ({"performed_on": "31/02/2025"}, "The date must be a real date"),
        ({"description": ""}, "Say briefly what was done."),
        ({"other_account": "self"}, "Choose someone from the list."),
        ({"other_account": "outsider"}, "Choose someone from the list."),
    ],
)
def test_a_record_with_bad_input_is_422_and_changes_nothing(browser, factory, session, changes, message):
    world = factory.world()
    bob_account = session.scalar(select(Account).where(Account.member_id == world.bob.id))
    alice_account = session.scalar(select(Account).where(Account.member_id == world.alice.id))
    outsider_account = session.scalar(select(Account).where(Account.member_id == world.outsider.id))
    assert bob_account and alice_account and outsider_account
    accounts = {"self": str(alice_account.id), "outsider": str(outsider_account.id)}
    fields = {"other_account": str(bob_account.id), "direction": "member_helped"}
    fields.update({key: accounts.get(value, value) for key, value in changes.items()})
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _record_for(browser, world.alice.id, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_a_record_that_would_take_the_member_below_their_floor_is_409(browser, factory, session):
    world = factory.world()
    bob_account = session.scalar(select(Account).where(Account.member_id == world.bob.id))
    assert bob_account is not None
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _record_for(
        browser, world.alice.id, other_account=str(bob_account.id), direction="member_was_helped", duration="11"
    )
    assert response.status_code == 409
    assert "Alice does not have enough time credits for this" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_the_record_service_only_lets_a_coordinator_speak_for_someone_else(factory, session):
    world = factory.world()
    carol = factory.member(world.timebank, "Carol")
    accounts = {
        m.id: session.scalar(select(Account).where(Account.member_id == m.id)) for m in (world.alice, world.bob, carol)
    }
    before = snapshot(session)
    request = service.RecordRequest(
        provider_account_id=accounts[world.alice.id].id,  # type: ignore[union-attr]
        recipient_account_id=accounts[world.bob.id].id,  # type: ignore[union-attr]
        minutes=60,
        performed_on=today(),
        description="Shopping",
        request_key="k1",
        for_member_id=world.bob.id,
    )
    with pytest.raises(NotAllowed):
        service.record_exchange(session, world.alice, request)
    stranger = service.RecordRequest(
        provider_account_id=accounts[world.alice.id].id,  # type: ignore[union-attr]
        recipient_account_id=accounts[world.bob.id].id,  # type: ignore[union-attr]
        minutes=60,
        performed_on=today(),
        description="Shopping",
        request_key="k2",
        for_member_id=carol.id,
    )
    with pytest.raises(service.InvalidExchange):
        service.record_exchange(session, world.coordinator, stranger)
    assert_nothing_changed(session, before)


# -- proposing -------------------------------------------------------------------------------


def test_proposing_for_a_member_makes_them_the_proposer_and_the_other_side_can_answer(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    response = _propose_for(
        browser, world.alice.id, other_member=str(world.bob.id), direction="other_helps", rough_hours="2"
    )
    exchange_id = created_id(response)
    proposal = exchange(session, exchange_id)
    assert proposal.status == ExchangeStatus.PROPOSED
    assert proposal.proposed_by_id == world.alice.id and proposal.entered_by_id == world.coordinator.id
    assert proposal.recipient_account.member_id == world.alice.id
    assert proposal.provider_account.member_id == world.bob.id
    [event] = audit_events(session, "exchange.proposed")
    assert event.actor_id == world.coordinator.id and event.on_behalf_of_id == world.alice.id

    browser.sign_in(world.bob)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "Proposed by Cora Coordinator for Alice" in page
    assert "Cora Coordinator proposed it for Alice." in page
    assert "Yes, accept" in page
    assert browser.post(f"/exchanges/{exchange_id}/accept").status_code == 302
    assert status_of(session, exchange_id) == ExchangeStatus.ACCEPTED
    browser.sign_in(world.alice)
    page = browser.page(f"/exchanges/{exchange_id}")
    assert "Proposed by Cora Coordinator for you" in page
    assert ledger_ok(session)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"message": ""}, "Write a short message"),
        ({"other_member": ""}, "Choose who should be asked."),
        ({"other_member": "alice"}, "Choose someone from the list."),
        ({"other_member": "outsider"}, "Choose someone from the list."),
        ({"direction": "sideways"}, "Choose who will help whom."),
        ({"rough_hours": "ages"}, "Enter the time in hours"),
    ],
)
def test_a_proposal_with_bad_input_is_422_and_changes_nothing(browser, factory, session, changes, message):
    world = factory.world()
    people = {"alice": str(world.alice.id), "outsider": str(world.outsider.id)}
    fields = {"other_member": str(world.bob.id), "direction": "member_helps"}
    fields.update({key: people.get(value, value) for key, value in changes.items()})
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _propose_for(browser, world.alice.id, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_the_proposal_service_refuses_a_member_acting_for_someone_else(factory, session):
    world = factory.world()
    before = snapshot(session)
    with pytest.raises(NotAllowed):
        service.propose_exchange(
            session,
            world.bob,
            service.ProposalRequest(
                request_key="k",
                message="Hi",
                member_id=world.coordinator.id,
                actor_provides=True,
                for_member_id=world.alice.id,
            ),
        )
    with pytest.raises(service.InvalidExchange):
        service.propose_exchange(
            session,
            world.coordinator,
            service.ProposalRequest(
                request_key="k2",
                message="Hi",
                member_id=world.alice.id,
                actor_provides=True,
                for_member_id=world.alice.id,
            ),
        )
    assert_nothing_changed(session, before)


# -- listings --------------------------------------------------------------------------------


def test_adding_a_listing_for_a_member_lists_it_under_their_name(browser, factory, session):
    world = factory.world()
    cooking = session.scalar(
        select(Category).where(Category.timebank_id == world.timebank.id, Category.name == "Cooking")
    )
    assert cooking is not None
    browser.sign_in(world.coordinator)
    page = browser.page(f"/coordinator/act/{world.alice.id}/listings/new?kind=offer")
    assert "You are adding this for Alice" in page
    response = browser.post(
        f"/coordinator/act/{world.alice.id}/listings/new",
        {"kind": "offer", "category_id": str(cooking.id), "title": "Caribbean cooking lessons", "hours": "2"},
    )
    assert response.status_code == 302
    session.rollback()
    listing = session.scalar(select(Listing))
    assert listing is not None
    assert listing.member_id == world.alice.id and listing.created_by_id == world.coordinator.id
    assert listing.estimated_minutes == 120
    [event] = audit_events(session, "listing.created")
    assert event.actor_id == world.coordinator.id and event.on_behalf_of_id == world.alice.id
    browser.sign_in(world.alice)
    assert "Caribbean cooking lessons" in browser.page("/listings/mine")


def test_a_listing_with_bad_input_is_422_and_changes_nothing(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = browser.post(
        f"/coordinator/act/{world.alice.id}/listings/new", {"kind": "offer", "category_id": "", "title": ""}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose a category." in page and "Enter a short title." in page
    assert_nothing_changed(session, before)
    assert session.scalar(select(Listing)) is None


# -- who may ---------------------------------------------------------------------------------

ACTING_PAGES = ("", "/record", "/propose", "/listings/new")


def test_participants_are_refused_every_acting_page(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.bob)
    before = snapshot(session)
    assert browser.get("/coordinator/act").status_code == 403
    for page in ACTING_PAGES:
        assert browser.get(f"/coordinator/act/{world.alice.id}{page}").status_code == 403
        if page:
            assert browser.post(f"/coordinator/act/{world.alice.id}{page}", {"title": "x"}).status_code == 403
    assert_nothing_changed(session, before)


def test_another_timebanks_coordinator_cannot_act_for_our_members(browser, factory, session):
    world = factory.world()
    other_coordinator = factory.member(world.other_timebank, "Oscar", role=Role.COORDINATOR)
    browser.sign_in(other_coordinator)
    before = snapshot(session)
    for page in ACTING_PAGES:
        assert browser.get(f"/coordinator/act/{world.alice.id}{page}").status_code == 404
        if page:
            assert browser.post(f"/coordinator/act/{world.alice.id}{page}", {"title": "x"}).status_code == 404
    assert "Alice" not in browser.page("/coordinator/act")
    assert_nothing_changed(session, before)


def test_a_coordinator_cannot_act_for_someone_outside_their_timebank_or_not_yet_approved(browser, factory, session):
    world = factory.world()
    applicant = factory.member(world.timebank, "Adam Applicant", status=MemberStatus.APPLIED)
    browser.sign_in(world.coordinator)
    for member_id in (world.outsider.id, applicant.id, 2**31 - 1):
        assert browser.get(f"/coordinator/act/{member_id}").status_code == 404
        assert browser.get(f"/coordinator/act/{member_id}/record").status_code == 404
    assert browser.get(f"/coordinator/act/{2**40}").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, factory, session):
    world = factory.world()
    before = snapshot(session)
    for path in ("/coordinator/act", *(f"/coordinator/act/{world.alice.id}{page}" for page in ACTING_PAGES)):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.post(f"/coordinator/act/{world.alice.id}/record", data={"duration": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert_nothing_changed(session, before)
