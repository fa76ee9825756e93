"""Exchanges through the API: the exchanges service's own steps, statuses in the API's set, and
every typed ledger error with its status. Both databases."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiClient, ApiWorld, error_of, new_key
from timebank.clock import today_in
from timebank.ledger.close import close_month
from timebank.models import Account, ApprovalPolicy, Exchange, Transfer


def _yesterday(world: ApiWorld) -> date:
    return today_in(world.world.timebank.time_zone) - timedelta(days=1)


def _record(client: ApiClient, provider_id: int, recipient_id: int, hours: object = 1.25, **extra: object):  # type: ignore[no-untyped-def]
    body = {
        "provider_id": provider_id,
        "recipient_id": recipient_id,
        "hours": hours,
        "performed_on": extra.pop("performed_on", None) or (date.today() - timedelta(days=1)).isoformat(),
        "description": "Dug the vegetable bed",
        **extra,
    }
    return client.post("/api/v1/exchanges", body, headers={"Idempotency-Key": new_key()})


def _me(client: ApiClient) -> dict:  # type: ignore[type-arg]
    return client.get("/api/v1/me").get_json()["account"]  # type: ignore[no-any-return]


def test_record_confirm_approve_moves_the_hours_and_reports_each_status(api_world: ApiWorld) -> None:
    w = api_world.world
    created = _record(api_world.alice, w.alice.id, w.bob.id, "1:15", performed_on=_yesterday(api_world).isoformat())
    assert created.status_code == 201, created.get_json()
    exchange = created.get_json()
    assert exchange["status"] == "pending" and exchange["stage"] == "recorded"
    assert exchange["hours"] == 1.25 and exchange["minutes"] == 75
    assert exchange["provider"]["member_id"] == w.alice.id and exchange["recipient"]["member_id"] == w.bob.id
    assert exchange["actions"] == ["cancel"]  # Alice recorded it: Bob confirms, not her
    assert _me(api_world.alice)["pending_hours"] == 1.25 and _me(api_world.bob)["pending_hours"] == -1.25

    path = f"/api/v1/exchanges/{exchange['id']}"
    assert api_world.bob.get(path).get_json()["actions"] == ["confirm", "dispute"]
    confirmed = api_world.bob.post(f"{path}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.get_json()["status"] == "pending" and confirmed.get_json()["stage"] == "confirmed"

    approved = api_world.coordinator.post(f"{path}/approve")
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert _me(api_world.alice)["balance_hours"] == 1.25 and _me(api_world.alice)["pending_hours"] == 0
    assert _me(api_world.bob)["balance_hours"] == -1.25

    again = api_world.coordinator.post(f"{path}/approve")
    assert again.status_code == 409 and error_of(again)["code"] == "invalid_transition"

    reversed_ = api_world.coordinator.post(f"{path}/reverse", {"reason": "Recorded twice by mistake"})
    assert reversed_.status_code == 200 and reversed_.get_json()["status"] == "reversed"
    assert reversed_.get_json()["decision_reason"] == "Recorded twice by mistake"
    assert _me(api_world.alice)["balance_hours"] == 0
    twice = api_world.coordinator.post(f"{path}/reverse", {"reason": "Again"})
    assert twice.status_code == 409


def test_a_timebank_that_needs_no_approval_approves_on_confirmation(factory, api_as) -> None:  # type: ignore[no-untyped-def]
    world = factory.world(approval_policy=ApprovalPolicy.NEVER)
    alice, bob = api_as(world.alice), api_as(world.bob)
    exchange = _record(alice, world.alice.id, world.bob.id, 2).get_json()
    confirmed = bob.post(f"/api/v1/exchanges/{exchange['id']}/confirm")
    assert confirmed.get_json()["status"] == "approved"
    assert _me(alice)["balance_hours"] == 2


def test_a_coordinator_records_for_two_members_approved_at_once(api_world: ApiWorld) -> None:
    w = api_world.world
    created = _record(api_world.coordinator, w.bob.id, w.alice.id, 0.5)
    assert created.status_code == 201
    exchange = created.get_json()
    assert exchange["status"] == "approved"
    assert exchange["entered_by_id"] == w.coordinator.id and exchange["recorded_by_id"] == w.bob.id
    assert _me(api_world.bob)["balance_hours"] == 0.5


def test_reject_needs_a_reason_and_releases_the_reservation(api_world: ApiWorld) -> None:
    w = api_world.world
    exchange = _record(api_world.alice, w.alice.id, w.bob.id, 3).get_json()
    path = f"/api/v1/exchanges/{exchange['id']}/reject"
    no_reason = api_world.coordinator.post(path, {"reason": "  "})
    assert no_reason.status_code == 422 and "reason" in error_of(no_reason)["fields"]
    missing = api_world.coordinator.post(path, {})
    assert missing.status_code == 422 and "reason" in error_of(missing)["fields"]
    rejected = api_world.coordinator.post(path, {"reason": "Not a timebank activity"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert _me(api_world.bob)["pending_hours"] == 0


def test_who_may_do_what(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    others = _record(api_world.alice, w.bob.id, w.coordinator.id)
    assert others.status_code == 403 and error_of(others)["code"] == "forbidden"
    exchange = _record(api_world.alice, w.alice.id, w.bob.id).get_json()
    path = f"/api/v1/exchanges/{exchange['id']}"
    assert api_world.alice.post(f"{path}/approve").status_code == 403
    assert api_world.alice.post(f"{path}/confirm").status_code == 403  # she recorded it
    assert api_world.bob.post(f"{path}/reject", {"reason": "no"}).status_code == 403
    assert api_world.outsider.get(path).status_code == 404
    assert api_world.outsider.post(f"{path}/confirm").status_code == 404
    stranger = _record(api_world.alice, w.alice.id, w.outsider.id)
    assert stranger.status_code == 404
    foreign_listing = _record(api_world.alice, w.alice.id, w.bob.id, listing_id=999_999)
    assert foreign_listing.status_code == 404
    assert api_world.alice.get("/api/v1/exchanges/999999").status_code == 404
    counted = session.scalar(select(func.count(Exchange.id)))
    assert counted == 1  # only the one allowed record


def test_typed_ledger_errors_have_their_statuses(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    floor = _record(api_world.alice, w.alice.id, w.bob.id, 10.25)
    assert floor.status_code == 409 and error_of(floor)["code"] == "exceeds_floor"

    alice_account = session.scalar(select(Account).where(Account.member_id == w.alice.id))
    assert alice_account is not None
    alice_account.cap_minutes = 60
    session.commit()
    cap = _record(api_world.alice, w.alice.id, w.bob.id, 1.25)
    assert cap.status_code == 409 and error_of(cap)["code"] == "exceeds_cap"

    steps = _record(api_world.alice, w.alice.id, w.bob.id, 0.1)  # 6 minutes: the timebank counts in 15s
    assert steps.status_code == 422 and list(error_of(steps)["fields"]) == ["hours"]
    future = _record(
        api_world.alice, w.alice.id, w.bob.id, 1, performed_on=(date.today() + timedelta(days=3)).isoformat()
    )
    assert future.status_code == 422 and "performed_on" in error_of(future)["fields"]
    same = _record(api_world.alice, w.alice.id, w.alice.id, 1)
    assert same.status_code == 422
    bad_date = _record(api_world.alice, w.alice.id, w.bob.id, 1, performed_on="yesterday")
    assert bad_date.status_code == 422 and "performed_on" in error_of(bad_date)["fields"]
    assert session.scalar(select(func.count(Transfer.id))) == 0  # nothing moved on any refusal


def test_nothing_is_recorded_into_a_closed_month(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    today = today_in(w.timebank.time_zone)
    last_month = today.replace(day=1) - timedelta(days=1)
    close_month(session, w.timebank.id, last_month)
    closed = _record(api_world.coordinator, w.alice.id, w.bob.id, 1, performed_on=last_month.isoformat())
    assert closed.status_code == 409 and error_of(closed)["code"] == "closed_period"
    assert session.scalar(select(func.count(Exchange.id))) == 0


def test_listing_exchanges_by_status_and_member(api_world: ApiWorld) -> None:
    w = api_world.world
    first = _record(api_world.alice, w.alice.id, w.bob.id, 1).get_json()
    # Cora's own time (Alice not in it): it waits for Bob and another coordinator.
    own = _record(api_world.coordinator, w.bob.id, w.coordinator.id, 1).get_json()
    assert own["status"] == "pending" and own["needs_another_coordinator"] is True
    mine = api_world.alice.get("/api/v1/exchanges").get_json()
    assert [e["id"] for e in mine["items"]] == [first["id"]] and mine["total"] == 1
    everyone = api_world.coordinator.get("/api/v1/exchanges").get_json()
    assert everyone["total"] == 2
    pending = api_world.coordinator.get("/api/v1/exchanges", query={"status": "pending"}).get_json()
    assert [e["id"] for e in pending["items"]] == [own["id"], first["id"]]
    bobs = api_world.coordinator.get("/api/v1/exchanges", query={"member_id": w.alice.id}).get_json()
    assert bobs["total"] == 1
    assert api_world.outsider.get("/api/v1/exchanges").get_json()["total"] == 0
    wrong = api_world.alice.get("/api/v1/exchanges", query={"status": "recorded"})
    assert wrong.status_code == 422 and "status" in error_of(wrong)["fields"]
