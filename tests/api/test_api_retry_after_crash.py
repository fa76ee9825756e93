"""A request whose worker dies mid-way, retried with the same Idempotency-Key (docs/API.md).

The stored answer commits in the same transaction as what the request did, so a worker killed at
any moment leaves both or neither:

- killed after the commit, before the answer reached the client: the retry gets the first
  answer, byte for byte (``Idempotent-Replayed: true``), and nothing is done twice;
- killed after the step's writes but before the commit: nothing is left behind, and the retry
  does the step once, with a 2xx.

Never a ``409 invalid_transition`` ("already approved") for the request's own effect. Every
creating POST and every step of the API, on both databases. A "killed worker" is an exception
that no handler catches (``WorkerKilled`` is a BaseException), raised at the moment in question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiClient, ApiWorld, new_key
from timebank.api import idempotency
from timebank.api.views import donations, exchanges, listings, members
from timebank.extensions import db
from timebank.models import ApiIdempotencyRecord, Base


class WorkerKilled(BaseException):
    """The worker died here: no error handler, no response."""


def _record_exchange(api_world: ApiWorld) -> int:
    response = _send(_create_exchange(api_world), new_key())
    assert response.status_code == 201
    return int(response.get_json()["id"])


def _confirmed_exchange(api_world: ApiWorld) -> int:
    """Recorded by Alice and confirmed by Bob: ready for a coordinator's approval."""
    exchange_id = _record_exchange(api_world)
    assert api_world.bob.post(f"/api/v1/exchanges/{exchange_id}/confirm").status_code == 200
    return exchange_id


def _approved_exchange(api_world: ApiWorld) -> int:
    exchange_id = _confirmed_exchange(api_world)
    assert api_world.coordinator.post(f"/api/v1/exchanges/{exchange_id}/approve").status_code == 200
    return exchange_id


@dataclass(frozen=True)
class Call:
    client: ApiClient
    path: str
    body: dict[str, Any] | None
    status: int


@dataclass(frozen=True)
class Scenario:
    """One API POST: how to get to where it can be sent, and the view function that renders its
    answer (after its writes, before the commit)."""

    prepare: Callable[[ApiWorld], Call]
    render: tuple[object, str]


def _create_exchange(api_world: ApiWorld) -> Call:
    w = api_world.world
    body = {
        "provider_id": w.alice.id,
        "recipient_id": w.bob.id,
        "hours": 1.5,
        "performed_on": (date.today() - timedelta(days=2)).isoformat(),
        "description": "Fixed the fence",
    }
    return Call(api_world.alice, "/api/v1/exchanges", body, 201)


def _create_member(api_world: ApiWorld) -> Call:
    body = {"display_name": "Dora Daly", "checks_note": "Met her at the day centre; references checked."}
    return Call(api_world.coordinator, "/api/v1/members", body, 201)


def _create_listing(api_world: ApiWorld) -> Call:
    category = api_world.world.timebank.categories[0]
    body = {"kind": "offer", "category_id": category.id, "title": "Help with the garden"}
    return Call(api_world.alice, "/api/v1/listings", body, 201)


def _donate(api_world: ApiWorld) -> Call:
    return Call(api_world.alice, "/api/v1/donations", {"hours": 0.5, "note": "For the pool"}, 201)


def _confirm(api_world: ApiWorld) -> Call:
    return Call(api_world.bob, f"/api/v1/exchanges/{_record_exchange(api_world)}/confirm", None, 200)


def _approve(api_world: ApiWorld) -> Call:
    return Call(api_world.coordinator, f"/api/v1/exchanges/{_confirmed_exchange(api_world)}/approve", None, 200)


def _reject(api_world: ApiWorld) -> Call:
    path = f"/api/v1/exchanges/{_record_exchange(api_world)}/reject"
    return Call(api_world.coordinator, path, {"reason": "Not timebank work"}, 200)


def _reverse(api_world: ApiWorld) -> Call:
    path = f"/api/v1/exchanges/{_approved_exchange(api_world)}/reverse"
    return Call(api_world.coordinator, path, {"reason": "Entered twice"}, 200)


# Every POST of the API that takes an Idempotency-Key, by endpoint (the last test keeps it whole).
SCENARIOS: dict[str, Scenario] = {
    "api.create_exchange": Scenario(_create_exchange, (exchanges, "exchange_json")),
    "api.create_member": Scenario(_create_member, (members, "_profile")),
    "api.create_listing": Scenario(_create_listing, (listings, "_listing")),
    "api.create_donation": Scenario(_donate, (donations, "_donation_json")),
    "api.confirm_exchange": Scenario(_confirm, (exchanges, "exchange_json")),
    "api.approve_exchange": Scenario(_approve, (exchanges, "exchange_json")),
    "api.reject_exchange": Scenario(_reject, (exchanges, "exchange_json")),
    "api.reverse_exchange": Scenario(_reverse, (exchanges, "exchange_json")),
}


def _rows(session: Session) -> dict[str, int]:
    """How many rows every table holds (what a request did, and whether it did it twice)."""
    session.rollback()
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def _send(call: Call, key: str) -> Any:
    return call.client.post(call.path, call.body, headers={"Idempotency-Key": key})


@contextmanager
def killed_once(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> Iterator[list[Any]]:
    """Replace ``target.name`` so that its first call does its work, notes what it was given,
    and then kills the worker; later calls are left alone."""
    original = getattr(target, name)
    seen: list[Any] = []

    def dying(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        if not seen:
            seen.append(args)
            raise WorkerKilled
        return result

    with monkeypatch.context() as patched:
        patched.setattr(target, name, dying)
        yield seen
    # The worker's session dies with it (the tests' requests share the app context's session;
    # a live server gives each request its own).
    db.session.close()


@pytest.mark.parametrize("endpoint", sorted(SCENARIOS))
def test_a_request_killed_after_its_commit_gets_its_first_answer_on_retry(
    api_world: ApiWorld, session: Session, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    call = SCENARIOS[endpoint].prepare(api_world)
    key = new_key()
    before = _rows(session)
    with killed_once(monkeypatch, idempotency, "answer_ready") as answered, pytest.raises(WorkerKilled):
        _send(call, key)
    [(first,)] = answered  # the answer the worker was about to send when it died
    assert isinstance(first, Response) and first.status_code == call.status
    after_kill = _rows(session)
    assert after_kill != before, "the request did its work before the worker died"

    retry = _send(call, key)

    assert retry.status_code == call.status, retry.get_data(as_text=True)
    assert retry.get_data() == first.get_data(), "the first answer, byte for byte"
    assert retry.headers.get("Idempotent-Replayed") == "true"
    stored = session.scalar(select(ApiIdempotencyRecord).where(ApiIdempotencyRecord.key == key))
    assert stored is not None and stored.status_code == call.status
    assert _rows(session) == after_kill, "the retry did nothing a second time"
    again = _send(call, key)
    assert (again.status_code, again.get_data()) == (retry.status_code, retry.get_data())


@pytest.mark.parametrize("endpoint", sorted(SCENARIOS))
def test_a_request_killed_after_its_writes_before_its_commit_leaves_nothing_and_the_retry_does_it_once(
    api_world: ApiWorld, session: Session, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    scenario = SCENARIOS[endpoint]
    call = scenario.prepare(api_world)
    key = new_key()
    before = _rows(session)
    with killed_once(monkeypatch, *scenario.render) as rendered, pytest.raises(WorkerKilled):
        _send(call, key)
    assert rendered, "the answer was being built when the worker died"
    assert _rows(session) == before, "nothing of a request that never committed is left"

    retry = _send(call, key)

    assert retry.status_code == call.status, retry.get_data(as_text=True)
    assert "Idempotent-Replayed" not in retry.headers
    done = _rows(session)
    replay = _send(call, key)
    assert (replay.status_code, replay.get_data()) == (retry.status_code, retry.get_data())
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert _rows(session) == done


def test_every_post_of_the_api_is_covered(app: Flask) -> None:
    """A new creating POST or step must join SCENARIOS (tokens take no Idempotency-Key)."""
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and "POST" in (rule.methods or ())
    }
    assert posts - {"api.create_token"} == set(SCENARIOS)
