"""A coordinator vets applications to join their own timebank: approve once references and
checks are done, or decline with a reason the applicant sees."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import PASSWORD
from timebank.coordinator import service
from timebank.coordinator.errors import ApplicationAlreadyDecided, ApplicationNotFound, NotACoordinator
from timebank.models import AuditEvent, Member, MemberStatus

APPROVE = {"approve-checks_done": "y", "approve-checks_note": "Met at the centre; reference from a neighbour"}


def _applicant(factory, world, name: str = "Nadia") -> Member:  # type: ignore[no-untyped-def]
    return factory.member(world.timebank, name, status=MemberStatus.APPLIED)


def _status(session, member: Member) -> MemberStatus:  # type: ignore[no-untyped-def]
    session.expire_all()
    found = session.get(Member, member.id)
    assert found is not None
    return found.status


def _audit_actions(session) -> list[str]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_coordinator_sees_waiting_applications_in_their_timebank_only(client, auth, factory):
    world = factory.world()
    nadia = _applicant(factory, world)
    elsewhere = factory.member(world.other_timebank, "Oscar Elsewhere", status=MemberStatus.APPLIED)
    auth.login(world.coordinator)
    index = client.get("/coordinator/").get_data(as_text=True)
    assert "Applications to join" in index and "1 waiting" in index
    page = client.get("/coordinator/applications").get_data(as_text=True)
    assert nadia.display_name in page
    assert elsewhere.display_name not in page
    assert world.alice.display_name not in page  # already a member
    detail = client.get(f"/coordinator/applications/{nadia.id}").get_data(as_text=True)
    assert "Application from Nadia" in detail
    assert "I have taken up references and done the checks our timebank needs" in detail


def test_approving_with_checks_done_lets_the_applicant_sign_in(client, auth, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    auth.login(world.coordinator)
    response = client.post(f"/coordinator/applications/{nadia.id}/approve", data=APPROVE)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/coordinator/applications")
    assert _status(session, nadia) == MemberStatus.APPROVED
    assert session.get(Member, nadia.id).approved_at is not None
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "member.approved"))
    assert event is not None
    assert event.actor_id == world.coordinator.id and event.subject_id == nadia.id
    assert event.timebank_id == world.timebank.id
    auth.logout()
    assert client.post("/login", data={"email": nadia.email, "password": PASSWORD}).status_code == 302
    assert client.get("/me").status_code == 200


def test_approving_without_the_checks_box_is_refused(client, auth, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    auth.login(world.coordinator)
    response = client.post(f"/coordinator/applications/{nadia.id}/approve", data={})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert "Confirm that references and checks are done before approving." in page
    assert _status(session, nadia) == MemberStatus.APPLIED
    assert "member.approved" not in _audit_actions(session)


def test_approving_without_a_note_of_the_checks_is_refused(client, auth, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    auth.login(world.coordinator)
    response = client.post(
        f"/coordinator/applications/{nadia.id}/approve", data={"approve-checks_done": "y", "approve-checks_note": "  "}
    )
    assert response.status_code == 422
    assert "Write which references and checks you did." in response.get_data(as_text=True)
    assert _status(session, nadia) == MemberStatus.APPLIED
    assert session.get(Member, nadia.id).checks_done_at is None
    assert "member.approved" not in _audit_actions(session)


def test_approving_keeps_the_vetting_record_who_checked_what_and_when(client, auth, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    auth.login(world.coordinator)
    client.post(f"/coordinator/applications/{nadia.id}/approve", data=APPROVE)
    session.expire_all()
    approved = session.get(Member, nadia.id)
    assert approved.checks_note == APPROVE["approve-checks_note"]
    assert approved.checks_done_by_id == world.coordinator.id
    assert approved.checks_done_at is not None


def test_declining_needs_a_reason_which_the_applicant_then_sees(client, auth, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    auth.login(world.coordinator)
    empty = client.post(f"/coordinator/applications/{nadia.id}/decline", data={"decline-reason": "   "})
    assert empty.status_code == 422
    assert "Write a short reason. The person will see it." in empty.get_data(as_text=True)
    assert _status(session, nadia) == MemberStatus.APPLIED

    reason = "We could not take up a reference. Please come and see us at the centre."
    response = client.post(f"/coordinator/applications/{nadia.id}/decline", data={"decline-reason": reason})
    assert response.status_code == 302
    assert _status(session, nadia) == MemberStatus.DECLINED
    assert session.get(Member, nadia.id).status_reason == reason
    assert "member.declined" in _audit_actions(session)

    auth.logout()
    client.post("/login", data={"email": nadia.email, "password": PASSWORD})
    page = client.get("/application").get_data(as_text=True)
    assert "Your application was not accepted" in page and reason in page


def test_deciding_twice_is_a_conflict_and_changes_nothing(client, auth, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    auth.login(world.coordinator)
    client.post(f"/coordinator/applications/{nadia.id}/approve", data=APPROVE)
    again = client.post(f"/coordinator/applications/{nadia.id}/approve", data=APPROVE)
    assert again.status_code == 409
    assert "already been decided" in again.get_data(as_text=True)
    decline = client.post(f"/coordinator/applications/{nadia.id}/decline", data={"decline-reason": "Changed my mind"})
    assert decline.status_code == 409
    assert _status(session, nadia) == MemberStatus.APPROVED
    assert _audit_actions(session).count("member.approved") == 1


def test_coordinator_of_another_timebank_gets_not_found_and_nothing_changes(client, auth, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    other_coordinator = factory.member(world.other_timebank, "Otto Coordinator", role=world.coordinator.role)
    auth.login(other_coordinator)
    assert client.get(f"/coordinator/applications/{nadia.id}").status_code == 404
    approve = client.post(f"/coordinator/applications/{nadia.id}/approve", data=APPROVE)
    assert approve.status_code == 404
    decline = client.post(f"/coordinator/applications/{nadia.id}/decline", data={"decline-reason": "No"})
    assert decline.status_code == 404
    assert client.post("/coordinator/applications/999999/approve", data=APPROVE).status_code == 404
    assert _status(session, nadia) == MemberStatus.APPLIED
    assert not any(action in _audit_actions(session) for action in ("member.approved", "member.declined"))


def test_participant_opening_coordinator_pages_is_forbidden(client, auth, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    auth.login(world.alice)
    for path in ("/coordinator/", "/coordinator/applications", f"/coordinator/applications/{nadia.id}"):
        response = client.get(path)
        assert response.status_code == 403
        assert "You cannot see this page" in response.get_data(as_text=True)
    approve = client.post(f"/coordinator/applications/{nadia.id}/approve", data=APPROVE)
    assert approve.status_code == 403
    assert _status(session, nadia) == MemberStatus.APPLIED


def test_anonymous_visitor_is_sent_to_sign_in(client, factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    for path in ("/coordinator/", "/coordinator/applications"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    response = client.post(f"/coordinator/applications/{nadia.id}/approve", data=APPROVE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _status(session, nadia) == MemberStatus.APPLIED


def test_coordinator_link_shows_only_for_coordinators(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    assert 'href="/coordinator/"' not in client.get("/me").get_data(as_text=True)
    auth.logout()
    auth.login(world.coordinator)
    assert 'href="/coordinator/"' in client.get("/coordinator/applications").get_data(as_text=True)


def test_services_refuse_participants_and_other_timebanks(factory, session):
    world = factory.world()
    nadia = _applicant(factory, world)
    with pytest.raises(NotACoordinator):
        service.approve_application(session, world.alice, nadia.id, checks_done=True, checks_note="Met in person")
    with pytest.raises(NotACoordinator):
        service.pending_applications(session, world.bob)
    outsider_coordinator = factory.member(world.other_timebank, "Otto", role=world.coordinator.role)
    with pytest.raises(ApplicationNotFound):
        service.decline_application(session, outsider_coordinator, nadia.id, reason="No")
    service.decline_application(session, world.coordinator, nadia.id, reason="Not this time")
    with pytest.raises(ApplicationAlreadyDecided):
        service.approve_application(session, world.coordinator, nadia.id, checks_done=True, checks_note="Met in person")
