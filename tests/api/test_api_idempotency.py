"""Idempotency-Key: a retry gets the first response, a different request with the same key is a
409, nothing is ever created twice, not even by two requests at the same moment. Both databases
(the race on PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiClient, ApiWorld, error_of, new_key
from tests.conftest import require_postgres
from timebank.models import ApiIdempotencyRecord, Exchange, Transfer


def _body(api_world: ApiWorld, hours: object = 1.5) -> dict[str, object]:
    w = api_world.world
    return {
        "provider_id": w.alice.id,
        "recipient_id": w.bob.id,
        "hours": hours,
        "performed_on": (date.today() - timedelta(days=1)).isoformat(),
        "description": "Fixed the fence",
    }


def _counts(session: Session) -> tuple[int, int]:
    session.rollback()
    return (session.scalar(select(func.count(Exchange.id))) or 0, session.scalar(select(func.count(Transfer.id))) or 0)


def test_a_retry_gets_the_first_response_exactly_and_nothing_twice(api_world: ApiWorld, session: Session) -> None:
    key = {"Idempotency-Key": new_key()}
    first = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    after_first = _counts(session)
    assert after_first == (1, 1)
    # Same content, other key order and spacing: the same request.
    reordered = json.dumps(dict(reversed(list(_body(api_world).items()))), indent=2)
    for retry in (
        api_world.alice.post("/api/v1/exchanges", _body(api_world), headers=key),
        api_world.alice.post("/api/v1/exchanges", raw=reordered, headers=key),
    ):
        assert retry.status_code == 201
        assert retry.get_data() == first.get_data()
        assert retry.headers["Idempotent-Replayed"] == "true"
    assert _counts(session) == after_first


def test_the_same_key_for_a_different_request_is_a_conflict(api_world: ApiWorld, session: Session) -> None:
    key = {"Idempotency-Key": new_key()}
    assert api_world.alice.post("/api/v1/exchanges", _body(api_world), headers=key).status_code == 201
    other = api_world.alice.post("/api/v1/exchanges", _body(api_world, hours=2), headers=key)
    assert other.status_code == 409 and error_of(other)["code"] == "idempotency_conflict"
    elsewhere = api_world.alice.post(
        "/api/v1/listings", {"kind": "offer", "category_id": 1, "title": "Tea"}, headers=key
    )
    assert elsewhere.status_code == 409 and error_of(elsewhere)["code"] == "idempotency_conflict"
    assert _counts(session) == (1, 1)


def test_keys_are_required_checked_released_on_failure_and_per_member(api_world: ApiWorld, session: Session) -> None:
    for path, body in (("/api/v1/exchanges", _body(api_world)), ("/api/v1/listings", {"kind": "offer"})):
        missing = api_world.alice.post(path, body, idempotency_key=None)
        assert missing.status_code == 400 and error_of(missing)["code"] == "idempotency_key_missing"
    too_long = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers={"Idempotency-Key": "k" * 201})
    assert too_long.status_code == 400 and error_of(too_long)["code"] == "invalid_idempotency_key"
    key = {"Idempotency-Key": new_key()}
    refused = api_world.alice.post("/api/v1/exchanges", _body(api_world, hours=0.1), headers=key)
    assert refused.status_code == 422
    fixed = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers=key)  # corrected, same key
    assert fixed.status_code == 201
    bobs = api_world.bob.post("/api/v1/exchanges", _body(api_world), headers=key)  # his own key space
    assert bobs.status_code == 201 and bobs.get_json()["id"] != fixed.get_json()["id"]
    assert _counts(session)[0] == 2


def test_the_exchange_service_s_own_request_key_still_protects_when_the_record_is_gone(
    api_world: ApiWorld, session: Session
) -> None:
    key = {"Idempotency-Key": new_key()}
    first = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers=key)
    session.execute(delete(ApiIdempotencyRecord))
    session.commit()
    again = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers=key)
    assert again.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    assert _counts(session) == (1, 1)


@pytest.mark.real_commits
def test_two_requests_with_one_key_at_the_same_moment_create_one_exchange(
    api_world: ApiWorld, app: Flask, session: Session, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("the race is run on PostgreSQL (SQLite serialises every writer)")
    require_postgres("concurrent Idempotency-Key")
    key = {"Idempotency-Key": new_key()}
    token = api_world.alice.token
    body = _body(api_world)
    barrier = threading.Barrier(4)
    statuses: list[int] = []
    ids: set[int] = set()

    def send() -> None:
        client = ApiClient(app.test_client(use_cookies=False), token)
        barrier.wait()
        response = client.post("/api/v1/exchanges", body, headers=key)
        statuses.append(response.status_code)
        if response.status_code == 201:
            ids.add(response.get_json()["id"])

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 4 and set(statuses) <= {201, 409}, statuses
    assert 201 in statuses and len(ids) == 1
    assert _counts(session) == (1, 1)


def _claim_as_if_running(session: Session, api_world: ApiWorld, key: str, age: timedelta) -> None:
    """An in-progress claim, as a request that is still running (or was killed) leaves it."""
    from timebank.api.idempotency import IN_PROGRESS
    from timebank.models import utcnow

    canonical = json.dumps(_body(api_world), sort_keys=True, separators=(",", ":"))
    session.add(
        ApiIdempotencyRecord(
            member_id=api_world.world.alice.id,
            key=key,
            method_path="POST /api/v1/exchanges",
            fingerprint=hashlib.sha256(f"POST /api/v1/exchanges\n{canonical}".encode()).hexdigest(),
            status_code=IN_PROGRESS,
            response_body="",
            created_at=utcnow() - age,
        )
    )
    session.commit()


def test_without_advisory_locks_a_claim_is_in_progress_until_it_is_old_enough_to_be_abandoned(
    api_world: ApiWorld, session: Session, database_url: str
) -> None:
    if database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL knows a live request by its advisory lock, not by age (next tests)")
    from timebank.api.idempotency import ABANDONED_AFTER

    busy, dead = new_key(), new_key()
    _claim_as_if_running(session, api_world, busy, timedelta(seconds=1))
    _claim_as_if_running(session, api_world, dead, ABANDONED_AFTER + timedelta(minutes=1))
    running = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers={"Idempotency-Key": busy})
    assert running.status_code == 409 and error_of(running)["code"] == "idempotency_in_progress"
    assert _counts(session) == (0, 0)
    taken_over = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers={"Idempotency-Key": dead})
    assert taken_over.status_code == 201
    assert _counts(session) == (1, 1)


def test_a_claim_whose_request_still_holds_its_lock_is_in_progress(
    app: Flask, api_world: ApiWorld, session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    from sqlalchemy import text

    from timebank.api.idempotency import lock_id
    from timebank.extensions import db

    key = new_key()
    _claim_as_if_running(session, api_world, key, timedelta(seconds=1))
    with app.app_context():
        engine = db.engine
    with engine.connect() as running_request:
        running_request.execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(api_world.world.alice.id, key)}
        )
        retry = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers={"Idempotency-Key": key})
        assert retry.status_code == 409 and error_of(retry)["code"] == "idempotency_in_progress"
        assert _counts(session) == (0, 0)
        running_request.rollback()
    # The request finished (or its worker died, which ends its connection): the claim is free.
    retry = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers={"Idempotency-Key": key})
    assert retry.status_code == 201
    assert _counts(session) == (1, 1)


def test_a_claim_left_by_a_killed_worker_is_taken_over_at_once(
    api_world: ApiWorld, session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    key = new_key()
    _claim_as_if_running(session, api_world, key, timedelta(seconds=1))  # no lock: nobody is running it
    first = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers={"Idempotency-Key": key})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    retry = api_world.alice.post("/api/v1/exchanges", _body(api_world), headers={"Idempotency-Key": key})
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_data() == first.get_data()
    assert _counts(session) == (1, 1)
