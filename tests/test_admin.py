"""Installation admins create timebanks, set their settings (granularity, default floor and cap,
approval policy, time zone) and appoint coordinators. Everyone else is refused (403; visitors
are sent to sign in); bad input is a clear 422, a conflict a 409, and nothing changes."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.admin import service as admin_service
from timebank.admin.errors import NotAnAdmin
from timebank.clock import today_in
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.models import (
    Account,
    AccountKind,
    ApprovalPolicy,
    AuditEvent,
    Member,
    MemberStatus,
    Role,
    Timebank,
)

GOOD_SETTINGS = {
    "granularity": "30",
    "default_floor": "-5",
    "default_cap": "50",
    "approval_policy": "above_threshold",
    "approval_threshold": "2",
    "time_zone": "Europe/Dublin",
}


@pytest.fixture
def admin(factory) -> Member:  # type: ignore[no-untyped-def]
    return factory.member(None, "Ada Admin", is_admin=True)


def _state(session: Session) -> tuple[Any, ...]:
    """Timebanks with every setting, members' roles, accounts and the audit trail."""
    session.rollback()
    session.expire_all()
    timebanks = tuple(
        (
            t.id,
            t.slug,
            t.name,
            t.organisation_name,
            t.granularity_minutes,
            t.default_floor_minutes,
            t.default_cap_minutes,
            t.approval_policy.value,
            t.approval_threshold_minutes,
            t.time_zone,
        )
        for t in session.scalars(select(Timebank).order_by(Timebank.id))
    )
    members = tuple((m.id, m.role.value, m.status.value) for m in session.scalars(select(Member).order_by(Member.id)))
    accounts = session.scalar(select(func.count(Account.id)))
    audit = session.scalar(select(func.count(AuditEvent.id)))
    return timebanks, members, accounts, audit


def _audit(session: Session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _timebank(session: Session, timebank_id: int) -> Timebank:
    session.rollback()
    session.expire_all()
    timebank = session.get(Timebank, timebank_id)
    assert timebank is not None
    return timebank


def _admin_urls(timebank_id: int, member_id: int, coordinator_id: int) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("GET", "/admin/", {}),
        ("GET", "/admin/timebanks/new", {}),
        ("POST", "/admin/timebanks/new", {"name": "Hilltop", "organisation_name": "Hilltop Trust"}),
        ("GET", f"/admin/timebanks/{timebank_id}", {}),
        ("POST", f"/admin/timebanks/{timebank_id}/settings", GOOD_SETTINGS),
        ("POST", f"/admin/timebanks/{timebank_id}/coordinators", {"member_id": str(member_id)}),
        ("POST", f"/admin/timebanks/{timebank_id}/coordinators/{coordinator_id}/stand-down", {}),
    ]


def _call(client: FlaskClient, method: str, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.get(url) if method == "GET" else client.post(url, data=data)


# -- signing in and finding the way -----------------------------------------------------------


def test_an_admin_lands_on_administration_and_sees_every_timebank_with_member_counts(client, auth, factory, admin):
    world = factory.world()
    factory.member(world.timebank, "Wanda Waiting", status=MemberStatus.APPLIED)
    response = auth.login(admin)
    assert response.headers["Location"].endswith("/admin/")
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/"' in page  # the Admin link in the navigation
    riverside = page.split("Riverside</a>")[1].split("</tr>")[0]
    assert [cell.split("<")[0].strip() for cell in re.split(r'class="num"[^>]*>', riverside)[1:]] == ["3", "1", "1"]
    assert "Elm Park" in page
    # pages every signed-in visitor can open still work for an admin outside any timebank
    assert client.get("/").status_code == 200
    assert client.get("/account/password").status_code == 200
    assert client.get("/dashboard").status_code == 302
    assert client.get("/login").headers["Location"].endswith("/admin/")


def test_members_who_are_not_admins_see_no_admin_link(client, auth, factory):
    world = factory.world()
    auth.login(world.coordinator)
    assert 'href="/admin/"' not in client.get("/coordinator/").get_data(as_text=True)


# -- creating a timebank --------------------------------------------------------------------


def test_admin_creates_a_timebank_with_its_accounts_audited(client, auth, factory, session, admin):
    auth.login(admin)
    assert "Create a timebank" in client.get("/admin/timebanks/new").get_data(as_text=True)
    response = client.post(
        "/admin/timebanks/new",
        data={"name": "  Hilltop  Time Bank ", "organisation_name": "Hilltop Trust", "slug": ""},
    )
    assert response.status_code == 302
    timebank = session.scalar(select(Timebank).where(Timebank.slug == "hilltop-time-bank"))
    assert timebank is not None and timebank.name == "Hilltop Time Bank"
    assert response.headers["Location"].endswith(f"/admin/timebanks/{timebank.id}")
    kinds = set(session.scalars(select(Account.kind).where(Account.timebank_id == timebank.id)))
    assert kinds == {AccountKind.ORGANISATION, AccountKind.POOL}
    [event] = _audit(session, "timebank.created")
    assert event.timebank_id == timebank.id and event.actor_id == admin.id
    assert event.after == {
        "name": "Hilltop Time Bank",
        "organisation_name": "Hilltop Trust",
        "slug": "hilltop-time-bank",
    }
    auth.logout()
    assert client.get("/join/hilltop-time-bank").status_code == 200  # people can apply to join it


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "organisation_name": "Trust", "slug": "x"}, "Enter the timebank’s name."),
        ({"name": "   ", "organisation_name": "Trust", "slug": "x"}, "Enter the timebank’s name."),
        ({"name": "Hilltop", "organisation_name": "", "slug": "x"}, "Enter the organisation’s name."),
        ({"name": "Hilltop", "organisation_name": "Trust", "slug": "riverside"}, "is taken by another timebank"),
        ({"name": "Riverside", "organisation_name": "Trust", "slug": ""}, "is taken by another timebank"),
        ({"name": "Hilltop", "organisation_name": "Trust", "slug": "Hill Top!"}, "small letters, numbers and dashes"),
        ({"name": "!!!", "organisation_name": "Trust", "slug": ""}, "small letters, numbers and dashes"),
        ({"name": "H" * 201, "organisation_name": "Trust", "slug": "h"}, "200 characters or fewer"),
    ],
)
def test_creating_a_timebank_with_bad_details_is_refused(client, auth, factory, session, admin, data, message):
    factory.world()
    auth.login(admin)
    before = _state(session)
    response = client.post("/admin/timebanks/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert _state(session) == before


# -- settings ---------------------------------------------------------------------------------


def test_admin_changes_a_timebanks_settings_audited_with_before_and_after(client, auth, factory, session, admin):
    world = factory.world()
    auth.login(admin)
    page = client.get(f"/admin/timebanks/{world.timebank.id}").get_data(as_text=True)
    assert 'value="-10"' in page and 'value="Europe/London"' in page
    response = client.post(f"/admin/timebanks/{world.timebank.id}/settings", data=GOOD_SETTINGS)
    assert response.status_code == 302
    timebank = _timebank(session, world.timebank.id)
    assert timebank.granularity_minutes == 30
    assert (timebank.default_floor_minutes, timebank.default_cap_minutes) == (-300, 3000)
    assert timebank.approval_policy == ApprovalPolicy.ABOVE_THRESHOLD
    assert timebank.approval_threshold_minutes == 120
    assert timebank.time_zone == "Europe/Dublin"
    [event] = _audit(session, "timebank.settings_changed")
    assert event.timebank_id == world.timebank.id and event.actor_id == admin.id
    assert event.before == {
        "granularity_minutes": 15,
        "default_floor_minutes": -600,
        "default_cap_minutes": 6000,
        "approval_policy": "always",
        "approval_threshold_minutes": 180,
        "time_zone": "Europe/London",
    }
    assert event.after["approval_policy"] == "above_threshold" and event.after["time_zone"] == "Europe/Dublin"
    # the other timebank is untouched
    assert _timebank(session, world.other_timebank.id).granularity_minutes == 15
    # saving the same settings again changes nothing and writes no new event
    client.post(f"/admin/timebanks/{world.timebank.id}/settings", data=GOOD_SETTINGS)
    assert len(_audit(session, "timebank.settings_changed")) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"granularity": "7"}, "divides an hour"),
        ({"granularity": "seven"}, "Choose a step from the list."),
        ({"time_zone": "Mars/Olympus_Mons"}, "Choose a time zone from the list"),
        ({"time_zone": ""}, "Enter a time zone"),
        ({"default_floor": "5"}, "zero or below zero"),
        ({"default_cap": "-5"}, "must be zero or more"),
        ({"default_cap": "plenty"}, "Enter the time in hours"),
        ({"approval_threshold": ""}, "above how many hours"),
        ({"approval_policy": "sometimes"}, "Not a valid choice"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(client, auth, factory, session, admin, change, message):
    world = factory.world()
    auth.login(admin)
    before = _state(session)
    response = client.post(f"/admin/timebanks/{world.timebank.id}/settings", data={**GOOD_SETTINGS, **change})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert _state(session) == before


def test_a_default_floor_some_member_is_already_below_is_refused(client, auth, factory, session, admin):
    world = factory.world()
    alice, bob = world.alice, world.bob
    assert alice.account is not None and bob.account is not None
    record_exchange(
        session,
        alice,
        RecordRequest(
            provider_account_id=alice.account.id,
            recipient_account_id=bob.account.id,
            minutes=6 * 60,
            performed_on=today_in("Europe/London") - timedelta(days=1),
            description="Painted the fence",
            request_key=str(uuid.uuid4()),
        ),
    )
    session.commit()
    auth.login(admin)
    before = _state(session)
    response = client.post(f"/admin/timebanks/{world.timebank.id}/settings", data=GOOD_SETTINGS)  # floor -5 h
    assert response.status_code == 422
    assert "Bob could go below that" in response.get_data(as_text=True)
    assert _state(session) == before
    low_cap = client.post(
        f"/admin/timebanks/{world.timebank.id}/settings",
        data={**GOOD_SETTINGS, "default_floor": "-10", "default_cap": "5"},
    )
    assert low_cap.status_code == 422 and "Alice could go above that" in low_cap.get_data(as_text=True)
    assert _state(session) == before
    assert ledger.check_ledger(session).ok


def test_unknown_timebanks_are_not_found(client, auth, factory, session, admin):
    auth.login(admin)
    assert client.get("/admin/timebanks/999999").status_code == 404
    assert client.get(f"/admin/timebanks/{2**31}").status_code == 404
    assert client.post("/admin/timebanks/999999/settings", data=GOOD_SETTINGS).status_code == 404
    assert client.post("/admin/timebanks/999999/coordinators", data={"member_id": "1"}).status_code == 404


# -- coordinators -----------------------------------------------------------------------------


def test_admin_appoints_an_approved_member_as_coordinator(client, auth, factory, session, admin):
    world = factory.world()
    auth.login(admin)
    page = client.get(f"/admin/timebanks/{world.timebank.id}").get_data(as_text=True)
    assert f'<option value="{world.bob.id}">Bob</option>' in page
    response = client.post(f"/admin/timebanks/{world.timebank.id}/coordinators", data={"member_id": str(world.bob.id)})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Member, world.bob.id).role == Role.COORDINATOR
    [event] = _audit(session, "member.role_changed")
    assert event.before == {"role": "participant"} and event.after == {"role": "coordinator"}
    assert event.timebank_id == world.timebank.id and event.subject_id == world.bob.id
    auth.logout()
    auth.login(world.bob)
    assert client.get("/coordinator/").status_code == 200


def test_appointing_a_member_of_another_timebank_is_not_found(client, auth, factory, session, admin):
    world = factory.world()
    auth.login(admin)
    before = _state(session)
    response = client.post(
        f"/admin/timebanks/{world.timebank.id}/coordinators", data={"member_id": str(world.outsider.id)}
    )
    assert response.status_code == 404
    unknown = client.post(f"/admin/timebanks/{world.timebank.id}/coordinators", data={"member_id": "999999"})
    assert unknown.status_code == 404
    assert _state(session) == before


def test_appointing_someone_not_approved_or_already_coordinating_is_a_conflict(client, auth, factory, session, admin):
    world = factory.world()
    waiting = factory.member(world.timebank, "Wanda Waiting", status=MemberStatus.APPLIED)
    auth.login(admin)
    before = _state(session)
    url = f"/admin/timebanks/{world.timebank.id}/coordinators"
    assert client.post(url, data={"member_id": str(waiting.id)}).status_code == 409
    assert client.post(url, data={"member_id": str(world.coordinator.id)}).status_code == 409
    assert client.post(url, data={"member_id": "someone"}).status_code == 422
    assert _state(session) == before


def test_the_last_coordinator_cannot_stand_down_until_another_is_appointed(client, auth, factory, session, admin):
    world = factory.world()
    auth.login(admin)
    stand_down = f"/admin/timebanks/{world.timebank.id}/coordinators/{world.coordinator.id}/stand-down"
    before = _state(session)
    refused = client.post(stand_down)
    assert refused.status_code == 409
    assert "last coordinator" in refused.get_data(as_text=True)
    assert _state(session) == before

    client.post(f"/admin/timebanks/{world.timebank.id}/coordinators", data={"member_id": str(world.bob.id)})
    assert client.post(stand_down).status_code == 302
    session.expire_all()
    assert session.get(Member, world.coordinator.id).role == Role.PARTICIPANT
    events = _audit(session, "member.role_changed")
    assert events[-1].subject_id == world.coordinator.id and events[-1].after == {"role": "participant"}


def test_standing_down_a_participant_or_another_timebanks_coordinator_is_refused(client, auth, factory, session, admin):
    world = factory.world()
    other_coordinator = factory.member(world.other_timebank, "Otto Other", role=Role.COORDINATOR)
    auth.login(admin)
    before = _state(session)
    base = f"/admin/timebanks/{world.timebank.id}/coordinators"
    assert client.post(f"{base}/{world.alice.id}/stand-down").status_code == 409
    assert client.post(f"{base}/{other_coordinator.id}/stand-down").status_code == 404
    assert _state(session) == before


# -- who may do what -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "coordinator"])
def test_members_who_are_not_admins_are_forbidden_everything_and_nothing_changes(client, auth, factory, session, who):
    world = factory.world()
    auth.login(getattr(world, who))
    before = _state(session)
    for method, url, data in _admin_urls(world.timebank.id, world.bob.id, world.coordinator.id):
        response = _call(client, method, url, data)
        assert response.status_code == 403, url
    assert _state(session) == before


def test_anonymous_visitors_are_sent_to_sign_in_and_nothing_changes(client, factory, session):
    world = factory.world()
    before = _state(session)
    for method, url, data in _admin_urls(world.timebank.id, world.bob.id, world.coordinator.id):
        response = _call(client, method, url, data)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert _state(session) == before


def test_the_admin_service_refuses_anyone_who_is_not_an_admin(factory, session):
    world = factory.world()
    with pytest.raises(NotAnAdmin):
        admin_service.new_timebank(session, world.coordinator, name="Sneaky", organisation_name="Sneaky Ltd")
    with pytest.raises(NotAnAdmin):
        admin_service.appoint_coordinator(session, world.coordinator, world.timebank.id, world.bob.id)
    assert session.scalar(select(Timebank).where(Timebank.name == "Sneaky")) is None


def test_appointing_without_choosing_anyone_is_refused(client, auth, factory, session, admin):
    world = factory.world()
    auth.login(admin)
    before = _state(session)
    response = client.post(f"/admin/timebanks/{world.timebank.id}/coordinators", data={})
    assert response.status_code == 422
    assert "Choose the member to appoint." in response.get_data(as_text=True)
    assert _state(session) == before
