"""Group activities: a coordinator records a session and everyone who came earns (or spends) the
same hours with the organisation, all together or not at all."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.exchange_helpers import (
    Browser,
    assert_nothing_changed,
    balance,
    date_boxes,
    form_key,
    ledger_ok,
    snapshot,
    today,
    with_date,
)
from timebank import ledger
from timebank.coordinator import activities
from timebank.models import (
    Account,
    Activity,
    ActivityAttendee,
    ActivityDirection,
    AuditEvent,
    MemberStatus,
    Notification,
    Role,
    Transfer,
    TransferPhase,
    TransferPurpose,
)
from timebank.timebanks.service import organisation_account

NEW = "/coordinator/activities/new"



def _send(browser: Browser, attendees: list[int], **fields: Any):  # type: ignore[no-untyped-def]
    data: dict[str, Any] = {
        "request_key": form_key(browser.page(NEW)),
        "title": "Friday garden session",
        **date_boxes("held_on", today()),
        "duration": "2",
        "direction": "earn",
        "category": "0",
        "attendees": [str(i) for i in attendees],
    }
    return browser.send_and_confirm(NEW, with_date(data, fields))


def _activity_count(session) -> int:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(select(func.count(Activity.id))) or 0


def _unchanged(session, before) -> None:  # type: ignore[no-untyped-def]
    assert_nothing_changed(session, before)
    assert _activity_count(session) == 0
    assert session.scalar(select(func.count(ActivityAttendee.id))) == 0


def _set_floor(session, member, floor_minutes: int) -> None:  # type: ignore[no-untyped-def]
    session.rollback()
    account = session.scalar(select(Account).where(Account.member_id == member.id))
    account.floor_minutes = floor_minutes
    session.commit()


def test_every_attendee_earns_the_same_hours_from_the_organisation(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    form = browser.page(NEW)
    # The attendance list: approved members as checkboxes, sorted by name.
    assert form.index(">Alice<") < form.index(">Bob<") < form.index(">Cora Coordinator<")
    assert 'type="checkbox"' in form
    assert "Each person earns the hours from Riverside Day Service" in form

    response = _send(browser, [world.bob.id, world.alice.id])
    assert response.status_code == 302
    activity_id = int(response.headers["Location"].rsplit("/", 1)[1])

    assert balance(session, world.alice) == 120
    assert balance(session, world.bob) == 120
    assert organisation_account(session, world.timebank.id).balance_minutes == -240
    transfers = session.scalars(select(Transfer).where(Transfer.purpose == TransferPurpose.ACTIVITY)).all()
    assert sorted(t.idempotency_key for t in transfers) == sorted(
        [f"activity-{activity_id}-{world.alice.id}", f"activity-{activity_id}-{world.bob.id}"]
    )
    assert all(t.phase == TransferPhase.SINGLE and t.memo == "Friday garden session" for t in transfers)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "activity.recorded"))
    assert event is not None and event.actor_id == world.coordinator.id and event.subject_id == activity_id
    assert event.after["attendee_ids"] == sorted([world.alice.id, world.bob.id])

    detail = browser.page(f"/coordinator/activities/{activity_id}")
    assert "Friday garden session" in detail and "Who came (2)" in detail
    assert '<th scope="col" class="num">Earned</th>' in detail
    assert len(re.findall(r'<td class="num"[^>]*>2:00</td>', detail)) == 2
    listing = browser.page("/coordinator/activities")
    assert "Friday garden session" in listing and "2 earned" in listing

    # Each attendee is told, once, and the coordinator who recorded it is not.
    told = session.execute(
        select(Notification.member_id, Notification.message).where(Notification.kind == "activity.recorded")
    ).all()
    assert sorted(member_id for member_id, _ in told) == sorted([world.alice.id, world.bob.id])
    assert all(message.startswith("You earned 2 hours for “Friday garden session”") for _, message in told)

    browser.sign_in(world.alice)
    assert "You earned 2 hours helping Riverside Day Service" in browser.page("/dashboard")
    assert ledger_ok(session)


def test_attendees_who_joined_a_trip_each_spend_the_hours(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    response = _send(browser, [world.alice.id, world.bob.id], title="Seaside trip", duration="1:30", direction="spend")
    assert response.status_code == 302
    assert balance(session, world.alice) == -90
    assert balance(session, world.bob) == -90
    assert organisation_account(session, world.timebank.id).balance_minutes == 180
    activity = session.scalar(select(Activity))
    assert activity is not None and activity.direction == ActivityDirection.SPEND and activity.minutes == 90
    detail = browser.page(f"/coordinator/activities/{activity.id}")
    assert '<th scope="col" class="num">Spent</th>' in detail
    assert re.search(r'<td class="num" data-label="Spent">1:30</td>', detail)
    told = session.scalars(select(Notification.message).where(Notification.kind == "activity.recorded")).all()
    assert len(told) == 2 and all(m.startswith("You spent 1 hour 30 minutes for “Seaside trip”") for m in told)
    browser.sign_in(world.bob)
    assert "You spent 1 hour 30 minutes: Riverside Day Service helped you" in browser.page("/dashboard")
    assert ledger_ok(session)


def test_nothing_is_recorded_when_one_attendee_would_go_below_their_floor(browser, factory, session):
    world = factory.world()
    _set_floor(session, world.bob, -60)
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _send(browser, [world.alice.id, world.bob.id], direction="spend", duration="2")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Bob does not have enough time credits for this" in page
    assert "There is a problem" in page
    _unchanged(session, before)


def test_nothing_is_recorded_when_one_attendee_would_go_over_their_cap(browser, factory, session):
    world = factory.world()
    session.rollback()
    account = session.scalar(select(Account).where(Account.member_id == world.alice.id))
    account.cap_minutes = 60
    session.commit()
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _send(browser, [world.alice.id, world.bob.id], direction="earn", duration="2")
    assert response.status_code == 409
    assert "Alice would go over the most time credits" in response.get_data(as_text=True)
    _unchanged(session, before)


def test_an_activity_cannot_be_dated_in_a_closed_month(browser, factory, session):
    world = factory.world()
    last_month = today().replace(day=1) - timedelta(days=1)
    ledger.close_period(session, world.timebank.id, last_month)
    session.commit()
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _send(browser, [world.alice.id], held_on=last_month.isoformat())
    assert response.status_code == 409
    assert "is closed: nothing can be added to it" in response.get_data(as_text=True)
    _unchanged(session, before)


def test_sending_the_form_twice_records_the_activity_once(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    key = form_key(browser.page(NEW))
    first = _send(browser, [world.alice.id, world.bob.id], request_key=key)
    second = _send(browser, [world.alice.id, world.bob.id], request_key=key)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _activity_count(session) == 1
    assert balance(session, world.alice) == 120
    assert session.scalar(select(func.count(Transfer.id))) == 2

    before = snapshot(session)
    conflict = _send(browser, [world.alice.id], request_key=key, duration="3")
    assert conflict.status_code == 409
    assert "already sent with different details" in conflict.get_data(as_text=True)
    assert_nothing_changed(session, before)
    assert _activity_count(session) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "   "}, "Give the activity a name"),
        ({"held_on": "tomorrow"}, "Enter the date as day, month and year"),
        ({"held_on": "FUTURE"}, "The date cannot be in the future"),
        ({"duration": ""}, "Enter how long it was"),
        ({"duration": "lots"}, "Enter the time in hours"),
        ({"duration": "10 mins"}, "steps of 15 minutes"),
        ({"duration": "0"}, "more than zero"),
        ({"direction": ""}, "Choose whether the people who came earn or spend"),
        ({"direction": "steal"}, "Not a valid choice"),
        ({"category": "999999"}, "Not a valid choice"),
        ({"attendees": []}, "Tick everyone who came"),
        ({"attendees": ["abc"]}, "could not be coerced"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(browser, factory, session, fields, message):
    world = factory.world()
    browser.sign_in(world.coordinator)
    if fields.get("held_on") == "FUTURE":
        fields = {"held_on": (today() + timedelta(days=1)).isoformat()}
    fields = dict(fields)
    attendees = fields.pop("attendees", [world.alice.id])
    before = snapshot(session)
    response = _send(browser, attendees, **fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert message in page
    _unchanged(session, before)


def test_the_same_person_ticked_twice_is_refused(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = _send(browser, [world.alice.id, world.alice.id])
    assert response.status_code == 422
    assert "Someone is on the attendance list twice" in response.get_data(as_text=True)
    _unchanged(session, before)


def test_the_service_refuses_a_request_without_its_key(factory, session):
    world = factory.world()
    before = snapshot(session)
    with pytest.raises(ledger.InvalidIdempotencyKey):
        activities.record_activity(session, world.coordinator, _request([world.alice.id], request_key=" "))
    _unchanged(session, before)


def test_members_who_cannot_take_part_are_not_on_the_list_and_are_refused(browser, factory, session):
    world = factory.world()
    suspended = factory.member(world.timebank, "Sid Suspended", status=MemberStatus.SUSPENDED)
    applicant = factory.member(world.timebank, "Ann Applicant", status=MemberStatus.APPLIED)
    browser.sign_in(world.coordinator)
    form = browser.page(NEW)
    assert "Sid Suspended" not in form and "Ann Applicant" not in form
    before = snapshot(session)
    for member in (suspended, applicant):
        response = _send(browser, [world.alice.id, member.id])
        assert response.status_code == 422
        assert "not members of your timebank" in response.get_data(as_text=True)
    _unchanged(session, before)
    # The service says so too, naming them, when asked directly.
    with pytest.raises(activities.InvalidActivity, match="Sid Suspended cannot take part"):
        activities.record_activity(session, world.coordinator, _request([world.alice.id, suspended.id]))
    _unchanged(session, before)


def _request(attendees: list[int], **changes: Any) -> activities.ActivityRequest:
    values: dict[str, Any] = {
        "title": "Friday garden session",
        "held_on": today(),
        "minutes": 120,
        "direction": ActivityDirection.EARN,
        "attendee_ids": tuple(attendees),
        "request_key": uuid.uuid4().hex,
    }
    values.update(changes)
    return activities.ActivityRequest(**values)


def test_participants_cannot_record_or_see_activities(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    activity_id = int(_send(browser, [world.alice.id]).headers["Location"].rsplit("/", 1)[1])
    browser.sign_in(world.alice)
    before = snapshot(session)
    for url in ("/coordinator/activities", NEW, f"/coordinator/activities/{activity_id}"):
        assert browser.get(url).status_code == 403
    response = browser.post(
        NEW,
        {
            "request_key": "k1",
            "title": "Free hours",
            "held_on": today().isoformat(),
            "duration": "5",
            "direction": "earn",
            "category": "0",
            "attendees": [str(world.alice.id)],
        },
    )
    assert response.status_code == 403
    assert_nothing_changed(session, before)
    assert _activity_count(session) == 1
    with pytest.raises(activities.CoordinatorError):
        activities.record_activity(session, world.alice, _request([world.alice.id]))
    assert_nothing_changed(session, before)


def test_signed_out_visitors_are_sent_to_sign_in(client, factory, session):
    world = factory.world()
    before = snapshot(session)
    for url in ("/coordinator/activities", NEW, "/coordinator/activities/1"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.post(NEW, data={"title": "x", "attendees": [str(world.alice.id)]})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert_nothing_changed(session, before)
    assert _activity_count(session) == 0


def test_another_timebanks_coordinator_can_neither_see_nor_include_our_members(browser, factory, session):
    world = factory.world()
    oscar = factory.member(world.other_timebank, "Oscar Other", role=Role.COORDINATOR)
    browser.sign_in(world.coordinator)
    activity_id = int(_send(browser, [world.alice.id]).headers["Location"].rsplit("/", 1)[1])

    browser.sign_in(oscar)
    assert browser.get(f"/coordinator/activities/{activity_id}").status_code == 404
    assert "Friday garden session" not in browser.page("/coordinator/activities")
    form = browser.page(NEW)
    assert "Alice" not in form and "Olive Outsider" in form
    before = snapshot(session)
    response = _send(browser, [world.alice.id, world.outsider.id])
    assert response.status_code == 422
    assert "not members of your timebank" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)
    # Straight to the service: another timebank's member is "not found", and nothing is written.
    with pytest.raises(activities.ActivityNotFound):
        activities.record_activity(session, oscar, _request([world.outsider.id, world.alice.id]))
    assert_nothing_changed(session, before)
    assert _activity_count(session) == 1
    # A category of the other timebank cannot be used either.
    foreign_category = world.timebank.categories[0].id
    with pytest.raises(activities.InvalidActivity, match="categories in the list"):
        activities.record_activity(session, oscar, _request([world.outsider.id], category_id=foreign_category))
    assert_nothing_changed(session, before)


def test_an_unknown_activity_is_not_found(browser, factory):
    world = factory.world()
    browser.sign_in(world.coordinator)
    assert browser.get("/coordinator/activities/424242").status_code == 404
    assert browser.get("/coordinator/activities/99999999999").status_code == 404


def test_the_coordinator_start_page_leads_to_activities_and_the_timesheet_import(browser, factory):
    world = factory.world()
    browser.sign_in(world.coordinator)
    page = browser.page("/coordinator/")
    assert 'href="/coordinator/activities"' in page and "Group activities" in page
    assert 'href="/coordinator/import"' in page and "Import paper timesheets" in page
