"""Exchange steps (confirm, approve, reject, reverse) take an optional Idempotency-Key: a client
that retries a step after a timeout gets the first answer again, not a 409, and the credits move
once. Without a key a step works as before. Both databases."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiWorld, error_of, new_key
from timebank.models import Transfer, TransferPhase, TransferPurpose


def _record(api_world: ApiWorld) -> int:
    w = api_world.world
    body = {
        "provider_id": w.alice.id,
        "recipient_id": w.bob.id,
        "hours": 1,
        "performed_on": (date.today() - timedelta(days=1)).isoformat(),
        "description": "Dug the bed",
    }
    response = api_world.alice.post("/api/v1/exchanges", body)
    assert response.status_code == 201
    return int(response.get_json()["id"])


def _count(session: Session, *conditions: object) -> int:
    session.rollback()
    return session.scalar(select(func.count(Transfer.id)).where(*conditions)) or 0  # type: ignore[arg-type]


def test_a_retried_step_gets_its_first_answer_and_moves_credits_once(api_world: ApiWorld, session: Session) -> None:
    exchange_id = _record(api_world)
    path = f"/api/v1/exchanges/{exchange_id}"
    assert api_world.bob.post(f"{path}/confirm").status_code == 200
    key = {"Idempotency-Key": new_key()}
    first = api_world.coordinator.post(f"{path}/approve", headers=key)
    assert first.status_code == 200 and first.get_json()["status"] == "approved"
    again = api_world.coordinator.post(f"{path}/approve", headers=key)
    assert again.status_code == 200 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    # A new key is a new request: the exchange is approved already.
    fresh = api_world.coordinator.post(f"{path}/approve")
    assert fresh.status_code == 409 and error_of(fresh)["code"] == "invalid_transition"
    # The same key for another step is a conflict, not a replay.
    other = api_world.coordinator.post(f"{path}/reverse", {"reason": "Twice"}, headers=key)
    assert other.status_code == 409 and error_of(other)["code"] == "idempotency_conflict"
    assert _count(session, Transfer.phase == TransferPhase.POST) == 1

    reverse_key = {"Idempotency-Key": new_key()}
    reversed_ = api_world.coordinator.post(f"{path}/reverse", {"reason": "Entered twice"}, headers=reverse_key)
    assert reversed_.status_code == 200
    replay = api_world.coordinator.post(f"{path}/reverse", {"reason": "Entered twice"}, headers=reverse_key)
    assert replay.status_code == 200 and replay.get_data() == reversed_.get_data()
    assert _count(session, Transfer.purpose == TransferPurpose.REVERSAL) == 1


def test_a_step_needs_no_key(api_world: ApiWorld) -> None:
    exchange_id = _record(api_world)
    path = f"/api/v1/exchanges/{exchange_id}"
    confirmed = api_world.bob.post(f"{path}/confirm", idempotency_key=None)
    assert confirmed.status_code == 200 and confirmed.get_json()["stage"] == "confirmed"
    rejected = api_world.coordinator.post(f"{path}/reject", {"reason": "Not timebank work"}, idempotency_key=None)
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
