"""A coordinator looks after the members of their own timebank: the member list, a member's
page (everything on their profile, hours and limits, recent exchanges, the vetting record,
private notes), changing limits, suspending, reactivating, marking as left, and registering
someone who has no email. Participants are refused (403), other timebanks' coordinators find
nothing (404), visitors are sent to sign in, and a refused request changes nothing."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD
from timebank import ledger
from timebank.clock import today_in
from timebank.coordinator import members_service
from timebank.coordinator.errors import MemberNotFound, NotACoordinator
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.extensions import db
from timebank.listings.service import ListingInput, create_listing
from timebank.matching.service import match_request
from timebank.models import (
    Account,
    AuditEvent,
    Category,
    ContactPreference,
    CoordinatorNote,
    ListingKind,
    Member,
    MemberStatus,
    Role,
)

NOTE = "Prefers Tuesday mornings; her daughter helps with the phone. Keep this between us."


# -- helpers ---------------------------------------------------------------------------------


def _fresh(session: Session, member: Member) -> Member:
    session.rollback()
    session.expire_all()
    found = session.get(Member, member.id)
    assert found is not None
    return found


def _account(session: Session, member: Member) -> Account:
    session.rollback()
    session.expire_all()
    account = session.scalar(select(Account).where(Account.member_id == member.id))
    assert account is not None
    return account


def _state(session: Session) -> tuple[Any, ...]:
    """Everything a refused request must leave alone: members, accounts, notes, the audit trail."""
    session.rollback()
    session.expire_all()
    members = tuple(
        (m.id, m.status.value, m.role.value, m.status_reason, m.checks_note, m.display_name, m.email)
        for m in session.scalars(select(Member).order_by(Member.id))
    )
    accounts = tuple(
        (a.id, a.floor_minutes, a.cap_minutes, a.credits_posted, a.debits_posted, a.credits_pending, a.debits_pending)
        for a in session.scalars(select(Account).order_by(Account.id))
    )
    notes = session.scalar(select(func.count(CoordinatorNote.id)))
    audit = session.scalar(select(func.count(AuditEvent.id)))
    return members, accounts, notes, audit


def _audit(session: Session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _record(session: Session, provider: Member, recipient: Member, minutes: int) -> None:
    """The provider records help they gave: the hours are reserved (pending) on both accounts."""
    assert provider.account is not None and recipient.account is not None
    assert provider.timebank is not None
    record_exchange(
        session,
        provider,
        RecordRequest(
            provider_account_id=provider.account.id,
            recipient_account_id=recipient.account.id,
            minutes=minutes,
            performed_on=today_in(provider.timebank.time_zone) - timedelta(days=1),
            description="Dug the vegetable bed",
            request_key=str(uuid.uuid4()),
        ),
    )
    session.commit()


def _member_urls(member_id: int) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("GET", "/coordinator/members", {}),
        ("GET", f"/coordinator/members/{member_id}", {}),
        ("GET", "/coordinator/members/new", {}),
        ("POST", f"/coordinator/members/{member_id}/notes", {"body": NOTE}),
        ("POST", f"/coordinator/members/{member_id}/limits", {"floor": "-20", "cap": "50"}),
        ("POST", f"/coordinator/members/{member_id}/suspend", {"reason": "Missed three sessions"}),
        ("POST", f"/coordinator/members/{member_id}/reactivate", {}),
        ("POST", f"/coordinator/members/{member_id}/left", {"reason": "Moved away"}),
        ("POST", "/coordinator/members/new", {"display_name": "Maggie", "checks_note": "Met in person"}),
    ]


def _call(client: FlaskClient, method: str, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.get(url) if method == "GET" else client.post(url, data=data)


# -- the member list -------------------------------------------------------------------------


def test_member_list_shows_everyone_in_my_timebank_and_nobody_else(client, auth, factory):
    world = factory.world()
    waiting = factory.member(world.timebank, "Wanda Waiting", status=MemberStatus.APPLIED)
    auth.login(world.coordinator)
    page = client.get("/coordinator/members").get_data(as_text=True)
    for name in ("Alice", "Bob", "Cora Coordinator", "Wanda Waiting"):
        assert name in page
    assert "Olive Outsider" not in page
    assert f'href="/coordinator/members/{waiting.id}"' in page


def test_member_list_filters_by_status_and_searches_by_name(client, auth, factory, session):
    world = factory.world()
    factory.member(world.timebank, "Wanda Waiting", status=MemberStatus.APPLIED)
    factory.member(world.timebank, "Sid Suspended", status=MemberStatus.SUSPENDED)
    auth.login(world.coordinator)
    suspended = client.get("/coordinator/members?status=suspended").get_data(as_text=True)
    assert "Sid Suspended" in suspended
    assert "Alice" not in suspended and "Wanda Waiting" not in suspended
    found = client.get("/coordinator/members?q=ali").get_data(as_text=True)
    assert "Alice" in found and ">Bob<" not in found
    nobody = client.get("/coordinator/members?q=olive").get_data(as_text=True)
    assert "Olive Outsider" not in nobody and "No members match that search" in nobody
    bad = client.get("/coordinator/members?status=royalty")
    assert bad.status_code == 422
    assert "There is a problem" in bad.get_data(as_text=True)


def test_member_list_is_paginated(client, auth, factory):
    world = factory.world()
    for number in range(22):
        factory.member(world.timebank, f"Zed {number:02d}")
    auth.login(world.coordinator)
    first = client.get("/coordinator/members").get_data(as_text=True)
    assert "Showing 1–20 of 25 members" in first
    assert "Zed 21" not in first
    second = client.get("/coordinator/members?page=2").get_data(as_text=True)
    assert "Showing 21–25 of 25 members" in second and "Zed 21" in second
    beyond = client.get("/coordinator/members?page=99")
    assert beyond.status_code == 200 and "Zed 21" in beyond.get_data(as_text=True)


# -- a member's page -------------------------------------------------------------------------


def test_member_page_shows_hidden_profile_fields_hours_limits_and_recent_exchanges(client, auth, factory, session):
    world = factory.world()
    alice = _fresh(session, world.alice)
    alice.phone = "07700 900123"
    alice.show_phone = False
    alice.access_needs = "Uses a wheelchair; step-free places only"
    alice.show_access_needs = False
    session.commit()
    _record(session, _fresh(session, world.alice), _fresh(session, world.bob), 90)
    auth.login(world.coordinator)
    page = client.get(f"/coordinator/members/{world.alice.id}").get_data(as_text=True)
    assert "07700 900123" in page
    assert "Uses a wheelchair; step-free places only" in page
    assert "Hidden from other members" in page
    assert "Waiting to come in</dt><dd>1 hour 30 minutes" in page
    assert "minus 10 hours (the timebank’s default)" in page
    assert "100 hours (the timebank’s default)" in page
    assert "Dug the vegetable bed" in page or "Bob" in page  # the recent exchange, in words
    assert f'href="/members/{world.alice.id}/profile"' in page  # change the profile for her


def test_member_page_shows_the_vetting_record_of_an_approved_application(client, auth, factory, session):
    world = factory.world()
    nadia = factory.member(world.timebank, "Nadia", status=MemberStatus.APPLIED)
    auth.login(world.coordinator)
    before = client.get(f"/coordinator/members/{nadia.id}").get_data(as_text=True)
    assert "No checks have been recorded for Nadia." in before
    client.post(
        f"/coordinator/applications/{nadia.id}/approve",
        data={"approve-checks_done": "y", "approve-checks_note": "DBS seen; reference from her GP surgery"},
    )
    page = client.get(f"/coordinator/members/{nadia.id}").get_data(as_text=True)
    assert "DBS seen; reference from her GP surgery" in page
    assert "Cora Coordinator" in page.split('id="vetting"')[1].split('id="hours"')[0]


def test_unknown_or_huge_member_ids_are_not_found(client, auth, factory):
    world = factory.world()
    auth.login(world.coordinator)
    assert client.get("/coordinator/members/999999").status_code == 404
    assert client.get(f"/coordinator/members/{2**31}").status_code == 404
    assert client.post("/coordinator/members/999999/notes", data={"body": "x"}).status_code == 404
    assert client.post("/coordinator/members/999999/reactivate").status_code == 404


# -- private notes ---------------------------------------------------------------------------


def test_coordinator_adds_notes_listed_newest_first_with_author(client, auth, factory, session):
    world = factory.world()
    second_coordinator = factory.member(world.timebank, "Grace Okafor", role=Role.COORDINATOR)
    auth.login(world.coordinator)
    response = client.post(f"/coordinator/members/{world.alice.id}/notes", data={"body": "First: met at the cafe"})
    assert response.status_code == 302
    auth.logout()
    auth.login(second_coordinator)
    client.post(f"/coordinator/members/{world.alice.id}/notes", data={"body": "Second: phoned about Friday"})
    page = client.get(f"/coordinator/members/{world.alice.id}").get_data(as_text=True)
    notes = page.split('id="notes"')[1]
    assert notes.index("Second: phoned about Friday") < notes.index("First: met at the cafe")
    assert "Grace Okafor" in notes and "Cora Coordinator" in notes
    events = _audit(session, "member.note_added")
    assert [e.actor_id for e in events] == [world.coordinator.id, second_coordinator.id]
    assert all(e.subject_id == world.alice.id and e.timebank_id == world.timebank.id for e in events)
    assert all("First" not in str(e.after) for e in events)  # the words stay out of the audit trail


def test_an_empty_note_is_refused_and_nothing_is_saved(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    before = _state(session)
    response = client.post(f"/coordinator/members/{world.alice.id}/notes", data={"body": "   "})
    assert response.status_code == 422
    assert "Write the note before saving it." in response.get_data(as_text=True)
    too_long = client.post(f"/coordinator/members/{world.alice.id}/notes", data={"body": "x" * 2001})
    assert too_long.status_code == 422
    assert _state(session) == before


def test_notes_are_never_shown_to_the_member_themself_nor_other_participants(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    client.post(f"/coordinator/members/{world.alice.id}/notes", data={"body": NOTE})
    auth.logout()
    for participant in (world.alice, world.bob):
        auth.login(participant)
        assert client.get(f"/coordinator/members/{world.alice.id}").status_code == 403
        for path in ("/dashboard", "/me", "/profile", f"/members/{world.alice.id}", "/members", "/exchanges"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert NOTE not in response.get_data(as_text=True), path
        auth.logout()


def test_notes_are_never_shown_to_another_timebank(client, auth, factory, session):
    world = factory.world()
    other_coordinator = factory.member(world.other_timebank, "Otto Other", role=Role.COORDINATOR)
    auth.login(world.coordinator)
    client.post(f"/coordinator/members/{world.alice.id}/notes", data={"body": NOTE})
    auth.logout()
    auth.login(other_coordinator)
    assert client.get(f"/coordinator/members/{world.alice.id}").status_code == 404
    assert NOTE not in client.get("/coordinator/members").get_data(as_text=True)
    with pytest.raises(MemberNotFound):
        members_service.notes_about(session, _fresh(session, other_coordinator), world.alice.id)


# -- limits ----------------------------------------------------------------------------------


def test_coordinator_sets_and_clears_a_members_floor_and_cap_audited(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    response = client.post(f"/coordinator/members/{world.alice.id}/limits", data={"floor": "-20", "cap": "50"})
    assert response.status_code == 302
    account = _account(session, world.alice)
    assert (account.floor_minutes, account.cap_minutes) == (-20 * 60, 50 * 60)
    page = client.get(f"/coordinator/members/{world.alice.id}").get_data(as_text=True)
    assert "minus 20 hours (set for Alice" in page
    client.post(f"/coordinator/members/{world.alice.id}/limits", data={"floor": "", "cap": "−1:30"})
    cleared = client.post(f"/coordinator/members/{world.alice.id}/limits", data={"floor": "", "cap": ""})
    assert cleared.status_code == 302
    account = _account(session, world.alice)
    assert (account.floor_minutes, account.cap_minutes) == (None, None)
    events = _audit(session, "account.limits_changed")
    assert events[0].before == {"floor_minutes": None, "cap_minutes": None}
    assert events[0].after == {"floor_minutes": -1200, "cap_minutes": 3000}
    assert events[0].subject_id == account.id and events[0].on_behalf_of_id == world.alice.id
    assert events[-1].after == {"floor_minutes": None, "cap_minutes": None}
    assert ledger.check_ledger(session).ok


def test_a_floor_above_the_members_lowest_possible_balance_is_refused(client, auth, factory, session):
    world = factory.world()
    _record(session, _fresh(session, world.alice), _fresh(session, world.bob), 120)  # Bob could go to -2 hours
    auth.login(world.coordinator)
    before = _state(session)
    response = client.post(f"/coordinator/members/{world.bob.id}/limits", data={"floor": "-1", "cap": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert "could go as low as minus 2 hours" in page
    zero = client.post(f"/coordinator/members/{world.bob.id}/limits", data={"floor": "0", "cap": ""})
    assert zero.status_code == 422
    assert _state(session) == before
    assert ledger.check_ledger(session).ok
    allowed = client.post(f"/coordinator/members/{world.bob.id}/limits", data={"floor": "-2", "cap": ""})
    assert allowed.status_code == 302


def test_a_cap_below_the_members_highest_possible_balance_is_refused(client, auth, factory, session):
    world = factory.world()
    _record(session, _fresh(session, world.alice), _fresh(session, world.bob), 180)  # Alice could reach 3 hours
    auth.login(world.coordinator)
    before = _state(session)
    response = client.post(f"/coordinator/members/{world.alice.id}/limits", data={"floor": "", "cap": "2"})
    assert response.status_code == 422
    assert "could reach 3 hours" in response.get_data(as_text=True)
    assert _state(session) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"floor": "10", "cap": ""}, "zero or below zero"),
        ({"floor": "", "cap": "-5"}, "must be zero or more"),
        ({"floor": "lots", "cap": ""}, "Enter the time in hours"),
        ({"floor": "-1:07", "cap": ""}, "steps of 15 minutes"),
        ({"floor": "", "cap": "99999999"}, "or less"),
    ],
)
def test_limits_that_are_not_hours_or_point_the_wrong_way_are_refused(client, auth, factory, session, data, message):
    world = factory.world()
    auth.login(world.coordinator)
    before = _state(session)
    response = client.post(f"/coordinator/members/{world.alice.id}/limits", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _state(session) == before


# -- suspending, reactivating, leaving -------------------------------------------------------


def test_suspending_needs_a_reason_which_the_member_sees_when_they_try_to_sign_in(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    before = _state(session)
    empty = client.post(f"/coordinator/members/{world.alice.id}/suspend", data={"reason": "  "})
    assert empty.status_code == 422
    assert "Write a short reason. The member will see it." in empty.get_data(as_text=True)
    assert _state(session) == before

    reason = "We need to talk about the Friday session before you take part again."
    response = client.post(f"/coordinator/members/{world.alice.id}/suspend", data={"reason": reason})
    assert response.status_code == 302
    alice = _fresh(session, world.alice)
    assert alice.status == MemberStatus.SUSPENDED and alice.status_reason == reason
    [event] = _audit(session, "member.suspended")
    assert event.before == {"status": "approved", "reason": ""}
    assert event.after == {"status": "suspended", "reason": reason}
    assert event.timebank_id == world.timebank.id

    auth.logout()
    signed_in = auth.login(world.alice)
    assert signed_in.headers["Location"].endswith("/application")
    page = client.get("/application").get_data(as_text=True)
    assert "Your membership is paused" in page and reason in page
    assert client.get("/dashboard").status_code == 302  # not signed in


def test_a_suspended_member_already_signed_in_is_signed_out_on_the_next_request(app, client, auth, factory, session):
    world = factory.world()
    alice_browser = app.test_client()
    alice_browser.post("/login", data={"email": world.alice.email, "password": PASSWORD})
    assert alice_browser.get("/dashboard").status_code == 200
    auth.login(world.coordinator)
    client.post(f"/coordinator/members/{world.alice.id}/suspend", data={"reason": "Paused for now"})
    response = alice_browser.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_suspended_member_is_never_matched(client, auth, factory, session):
    world = factory.world()
    alice, bob = _fresh(session, world.alice), _fresh(session, world.bob)
    gardening = session.scalar(
        select(Category).where(Category.timebank_id == world.timebank.id, Category.name == "Gardening")
    )
    assert gardening is not None
    create_listing(session, alice, ListingInput(kind=ListingKind.OFFER, category_id=gardening.id, title="Weeding"))
    wanted = create_listing(
        session, bob, ListingInput(kind=ListingKind.REQUEST, category_id=gardening.id, title="Weeding wanted")
    )
    session.commit()
    assert alice.id in {s.member.id for s in match_request(session, bob, wanted.id)}
    auth.login(world.coordinator)
    client.post(f"/coordinator/members/{world.alice.id}/suspend", data={"reason": "Paused for now"})
    session.expire_all()
    assert alice.id not in {s.member.id for s in match_request(session, _fresh(session, world.bob), wanted.id)}


def test_reactivating_a_suspended_member_lets_them_sign_in_again(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    client.post(f"/coordinator/members/{world.alice.id}/suspend", data={"reason": "Paused for now"})
    response = client.post(f"/coordinator/members/{world.alice.id}/reactivate")
    assert response.status_code == 302
    alice = _fresh(session, world.alice)
    assert alice.status == MemberStatus.APPROVED and alice.status_reason == ""
    assert [e.after for e in _audit(session, "member.reactivated")] == [{"status": "approved", "reason": ""}]
    auth.logout()
    assert auth.login(world.alice).headers["Location"].endswith("/dashboard")


def test_marking_a_member_as_left_keeps_their_hours_and_stops_sign_in(client, auth, factory, session):
    world = factory.world()
    _record(session, _fresh(session, world.alice), _fresh(session, world.bob), 60)
    accounts_before = _state(session)[1]
    auth.login(world.coordinator)
    response = client.post(f"/coordinator/members/{world.alice.id}/left", data={"reason": "Moved to Leeds"})
    assert response.status_code == 302
    assert _fresh(session, world.alice).status == MemberStatus.LEFT
    assert _state(session)[1] == accounts_before
    assert [e.after["status"] for e in _audit(session, "member.left")] == ["left"]
    auth.logout()
    assert auth.login(world.alice).headers["Location"].endswith("/application")
    assert "You have left Riverside" in client.get("/application").get_data(as_text=True)


@pytest.mark.parametrize(
    ("status", "action", "data"),
    [
        (MemberStatus.SUSPENDED, "suspend", {"reason": "Again"}),
        (MemberStatus.LEFT, "suspend", {"reason": "Again"}),
        (MemberStatus.APPROVED, "reactivate", {}),
        (MemberStatus.APPLIED, "reactivate", {}),
        (MemberStatus.LEFT, "left", {}),
        (MemberStatus.DECLINED, "left", {}),
    ],
)
def test_a_change_the_members_status_does_not_allow_is_a_conflict(client, auth, factory, session, status, action, data):
    world = factory.world()
    member = factory.member(world.timebank, "Pat", status=status)
    auth.login(world.coordinator)
    before = _state(session)
    response = client.post(f"/coordinator/members/{member.id}/{action}", data=data)
    assert response.status_code == 409
    assert _state(session) == before


def test_a_coordinator_cannot_suspend_or_remove_themself(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    before = _state(session)
    assert client.post(f"/coordinator/members/{world.coordinator.id}/suspend", data={"reason": "x"}).status_code == 409
    assert client.post(f"/coordinator/members/{world.coordinator.id}/left", data={}).status_code == 409
    assert _state(session) == before


# -- registering a member who has no email ---------------------------------------------------


def test_registering_a_member_without_email_creates_an_approved_managed_account(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    form = client.get("/coordinator/members/new").get_data(as_text=True)
    assert "Register someone who has no email" in form
    response = client.post(
        "/coordinator/members/new",
        data={
            "display_name": "  Maggie   Reilly ",
            "phone": "",
            "area": "ls6",
            "offers_text": "Knitting, and listening",
            "wants_text": "Lifts to the shops",
            "checks_note": "Met at the Tuesday drop-in; reference from the centre manager",
            "request_key": "register-maggie-1",
        },
    )
    assert response.status_code == 302
    maggie = session.scalar(select(Member).where(Member.display_name == "Maggie Reilly"))
    assert maggie is not None
    assert response.headers["Location"].endswith(f"/coordinator/members/{maggie.id}")
    assert maggie.timebank_id == world.timebank.id
    assert maggie.status == MemberStatus.APPROVED and maggie.role == Role.PARTICIPANT
    assert maggie.email is None and maggie.password_hash is None
    assert maggie.contact_preference == ContactPreference.COORDINATOR
    assert maggie.area == "LS6" and maggie.offers_text == "Knitting, and listening"
    assert maggie.checks_note.startswith("Met at the Tuesday drop-in")
    assert maggie.checks_done_by_id == world.coordinator.id and maggie.checks_done_at is not None
    assert maggie.account is not None and maggie.account.balance_minutes == 0
    [event] = _audit(session, "member.registered")
    assert event.subject_id == maggie.id and event.actor_id == world.coordinator.id
    assert event.timebank_id == world.timebank.id
    page = client.get(f"/coordinator/members/{maggie.id}").get_data(as_text=True)
    assert "no email: you look after this account" in page
    assert "Met at the Tuesday drop-in" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"display_name": "   ", "checks_note": "Met in person"}, "Enter the member’s name."),
        ({"display_name": "Maggie", "checks_note": ""}, "Write which references and checks you did."),
        ({"display_name": "Maggie", "checks_note": "Met", "contact_preference": "phone"}, "Add a phone number"),
        ({"display_name": "Maggie", "checks_note": "Met", "contact_preference": "email"}, "Not a valid choice"),
        ({"display_name": "Maggie", "checks_note": "Met", "area": "LS6 2AB"}, "looks like a full postcode"),
        ({"display_name": "Maggie", "checks_note": "Met", "phone": "call me"}, "Enter a phone number"),
        ({"display_name": "M" * 121, "checks_note": "Met"}, "120 characters or fewer"),
    ],
)
def test_registering_with_bad_details_is_refused_and_creates_nobody(client, auth, factory, session, data, message):
    world = factory.world()
    auth.login(world.coordinator)
    before = _state(session)
    response = client.post("/coordinator/members/new", data={**data, "request_key": "register-bad-1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert _state(session) == before


def test_sending_the_registration_form_twice_registers_one_member(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    data = {"display_name": "Maggie Reilly", "checks_note": "Met in person", "request_key": "register-twice"}
    first = client.post("/coordinator/members/new", data=data)
    second = client.post("/coordinator/members/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert session.scalar(select(func.count(Member.id)).where(Member.display_name == "Maggie Reilly")) == 1
    assert len(_audit(session, "member.registered")) == 1
    # The same reference with another name is a different form: refused, nothing written.
    before = _state(session)
    other = client.post("/coordinator/members/new", data={**data, "display_name": "Someone Else"})
    assert other.status_code == 409
    assert _state(session) == before


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_registrations_sent_at_the_same_moment_make_one_member(app, factory, session):
    world = factory.world()
    session.commit()
    coordinator_id = world.coordinator.id
    barrier = threading.Barrier(2)
    results: list[int] = []

    def register() -> None:
        with app.app_context():
            own = db.session()
            coordinator = own.get(Member, coordinator_id)
            assert coordinator is not None
            barrier.wait()
            member = members_service.register_member(
                own,
                coordinator,
                members_service.Registration(display_name="Maggie", checks_note="Met", request_key="same-moment"),
            )
            results.append(member.id)
            db.session.remove()

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and results[0] == results[1]
    session.expire_all()
    assert session.scalar(select(func.count(Member.id)).where(Member.display_name == "Maggie")) == 1


# -- who may do what -------------------------------------------------------------------------


def test_participants_are_refused_every_member_page_and_action(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    before = _state(session)
    for method, url, data in _member_urls(world.bob.id):
        assert _call(client, method, url, data).status_code == 403, url
    for method, url, data in _member_urls(world.alice.id):  # not even about themself
        assert _call(client, method, url, data).status_code == 403, url
    assert _state(session) == before


def test_coordinator_of_another_timebank_finds_nothing_and_changes_nothing(client, auth, factory, session):
    world = factory.world()
    other_coordinator = factory.member(world.other_timebank, "Otto Other", role=Role.COORDINATOR)
    auth.login(other_coordinator)
    before = _state(session)
    for method, url, data in _member_urls(world.alice.id):
        if url.endswith(("/members", "/members/new")):
            continue  # their own list and form: nothing of timebank A on them
        assert _call(client, method, url, data).status_code == 404, url
    listing = client.get("/coordinator/members").get_data(as_text=True)
    assert "Alice" not in listing and "Olive Outsider" in listing
    assert _state(session) == before


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_changes(client, factory, session):
    world = factory.world()
    before = _state(session)
    for method, url, data in _member_urls(world.alice.id):
        response = _call(client, method, url, data)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert _state(session) == before


def test_services_refuse_participants(factory, session):
    world = factory.world()
    with pytest.raises(NotACoordinator):
        members_service.add_note(session, world.alice, world.bob.id, "hello")
    with pytest.raises(NotACoordinator):
        members_service.set_limits(session, world.bob, world.alice.id, floor_minutes=None, cap_minutes=None)
    with pytest.raises(NotACoordinator):
        members_service.register_member(
            session, world.alice, members_service.Registration(display_name="X", checks_note="Met")
        )
    with pytest.raises(MemberNotFound):
        members_service.suspend_member(session, world.coordinator, world.outsider.id, reason="No")
    assert _fresh(session, world.outsider).status == MemberStatus.APPROVED
