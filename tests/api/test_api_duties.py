"""The API keeps the same rules as the web (issue 12, points 5 and 6): nobody decides on their
own benefit (403 ``needs_another_coordinator``), and time the other side has not confirmed is
approved only with a reason (409 ``not_confirmed`` without one)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiClient, ApiWorld, error_of, new_key
from tests.exchange_helpers import assert_nothing_changed, snapshot
from timebank.models import AuditEvent, Exchange, ExchangeStatus, Role


def _record(client: ApiClient, provider_id: int, recipient_id: int, hours: object = 1):  # type: ignore[no-untyped-def]
    body = {
        "provider_id": provider_id,
        "recipient_id": recipient_id,
        "hours": hours,
        "performed_on": (date.today() - timedelta(days=1)).isoformat(),
        "description": "Helped at the tea bar",
    }
    response = client.post("/api/v1/exchanges", body, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _status(session: Session, exchange_id: int) -> ExchangeStatus:
    session.rollback()
    exchange = session.get(Exchange, exchange_id)
    assert exchange is not None
    return exchange.status


def test_a_coordinators_own_record_waits_and_they_cannot_approve_refuse_or_reverse_it(
    api_world: ApiWorld, session: Session
) -> None:
    w = api_world.world
    own = _record(api_world.coordinator, w.coordinator.id, w.alice.id)
    assert own["status"] == "pending" and own["stage"] == "recorded"  # it was approved at once
    assert own["needs_another_coordinator"] is True
    assert "approve" not in own["actions"] and "reject" not in own["actions"]
    assert own["awaiting_confirmation_by"]["member_id"] == w.alice.id

    assert api_world.alice.post(f"/api/v1/exchanges/{own['id']}/confirm").status_code == 200
    before = snapshot(session)
    for step, body in (("approve", None), ("approve", {"reason": "It happened"}), ("reject", {"reason": "No"})):
        refused = api_world.coordinator.post(f"/api/v1/exchanges/{own['id']}/{step}", body)
        assert refused.status_code == 403
        error = error_of(refused)
        assert error["code"] == "needs_another_coordinator"
        assert "another coordinator of Riverside or an administrator" in error["message"]
    assert_nothing_changed(session, before)
    assert _status(session, own["id"]) == ExchangeStatus.CONFIRMED


def test_another_coordinator_or_an_admin_with_a_token_decides_it(
    api_world: ApiWorld,
    api_as,
    factory,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    w = api_world.world
    cole = api_as(factory.member(w.timebank, "Cole Coordinator", role=Role.COORDINATOR))
    admin = api_as(factory.member(None, "Ada Admin", is_admin=True))
    first = _record(api_world.coordinator, w.coordinator.id, w.alice.id)
    second = _record(api_world.coordinator, w.bob.id, w.coordinator.id)
    api_world.alice.post(f"/api/v1/exchanges/{first['id']}/confirm")
    api_world.bob.post(f"/api/v1/exchanges/{second['id']}/confirm")

    approved = cole.post(f"/api/v1/exchanges/{first['id']}/approve")
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    by_admin = admin.post(f"/api/v1/exchanges/{second['id']}/approve")
    assert by_admin.status_code == 200 and by_admin.get_json()["status"] == "approved"
    session.rollback()
    approvals = {
        e.subject_id: e.actor_id
        for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.approved"))
    }
    assert approvals == {first["id"]: cole.member_id, second["id"]: admin.member_id}

    reversed_ = api_world.coordinator.post(f"/api/v1/exchanges/{first['id']}/reverse", {"reason": "Twice"})
    assert reversed_.status_code == 403 and error_of(reversed_)["code"] == "needs_another_coordinator"


def test_approving_time_the_other_side_has_not_confirmed_needs_a_reason(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    waiting = _record(api_world.alice, w.alice.id, w.bob.id)
    assert waiting["awaiting_confirmation_by"] == {
        "account_id": waiting["recipient"]["account_id"],
        "member_id": w.bob.id,
        "name": "Bob",
    }
    before = snapshot(session)
    refused = api_world.coordinator.post(f"/api/v1/exchanges/{waiting['id']}/approve")
    assert refused.status_code == 409
    error = error_of(refused)
    assert error["code"] == "not_confirmed" and "Bob has not confirmed this time yet" in error["message"]
    assert_nothing_changed(session, before)

    approved = api_world.coordinator.post(
        f"/api/v1/exchanges/{waiting['id']}/approve", {"reason": "Bob signed the paper timesheet"}
    )
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    session.rollback()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "exchange.approved")).one()
    assert event.after == {"unconfirmed": True, "not_confirmed_by": "Bob", "reason": "Bob signed the paper timesheet"}


def test_a_reason_that_says_nothing_is_422(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    waiting = _record(api_world.alice, w.alice.id, w.bob.id)
    before = snapshot(session)
    response = api_world.coordinator.post(f"/api/v1/exchanges/{waiting['id']}/approve", {"reason": "   "})
    assert response.status_code == 422 and "reason" in error_of(response)["fields"]
    assert_nothing_changed(session, before)
