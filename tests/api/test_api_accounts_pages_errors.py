"""Accounts and their transfers; pages and their bounds; the one error shape for everything,
unknown API paths and methods included. Both databases."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from tests.api.conftest import ApiClient, ApiWorld, error_of, new_key
from timebank.clock import today_in
from timebank.timebanks.service import organisation_account


def _coordinator_records(api_world: ApiWorld, provider_id: int, recipient_id: int, hours: float, on: date) -> int:
    response = api_world.coordinator.post(
        "/api/v1/exchanges",
        {
            "provider_id": provider_id,
            "recipient_id": recipient_id,
            "hours": hours,
            "performed_on": on.isoformat(),
            "description": "Shopping trip",
        },
        headers={"Idempotency-Key": new_key()},
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def test_an_account_and_its_transfers_for_its_member_and_coordinators_only(api_world: ApiWorld, session) -> None:  # type: ignore[no-untyped-def]
    w = api_world.world
    today = today_in(w.timebank.time_zone)
    earlier = today - timedelta(days=3)
    _coordinator_records(api_world, w.alice.id, w.bob.id, 1.5, earlier)
    _coordinator_records(api_world, w.bob.id, w.alice.id, 0.25, today)
    assert w.alice.account is not None
    path = f"/api/v1/accounts/{w.alice.account.id}"

    account = api_world.alice.get(path).get_json()
    assert account["kind"] == "member" and account["member_id"] == w.alice.id
    assert account["balance_hours"] == 1.25 and account["balance_minutes"] == 75
    assert api_world.coordinator.get(path).status_code == 200
    for refused in (api_world.bob, api_world.outsider):
        assert refused.get(path).status_code == 404
        assert refused.get(f"{path}/transfers").status_code == 404

    rows = api_world.alice.get(f"{path}/transfers").get_json()
    # Each approved exchange: a pending reservation and its post.
    assert rows["total"] == 4
    assert [(r["phase"], r["direction"], r["amount_hours"]) for r in rows["items"]] == [
        ("post", "out", 0.25),
        ("pending", "out", 0.25),
        ("post", "in", 1.5),
        ("pending", "in", 1.5),
    ]
    # Value dates: a reservation counts on the day of the help, its post on the day of approval.
    narrowed = api_world.alice.get(f"{path}/transfers", query={"from": today.isoformat()}).get_json()
    assert [(r["phase"], r["amount_hours"]) for r in narrowed["items"]] == [
        ("post", 0.25),
        ("pending", 0.25),
        ("post", 1.5),
    ]
    before = api_world.alice.get(f"{path}/transfers", query={"to": earlier.isoformat()}).get_json()
    assert [(r["phase"], r["amount_hours"]) for r in before["items"]] == [("pending", 1.5)]
    backwards = api_world.alice.get(
        f"{path}/transfers", query={"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()}
    )
    assert backwards.status_code == 422 and "from" in error_of(backwards)["fields"]
    assert api_world.alice.get(f"{path}/transfers", query={"from": "last week"}).status_code == 422

    organisation = organisation_account(session, w.timebank.id)
    assert api_world.coordinator.get(f"/api/v1/accounts/{organisation.id}").status_code == 200
    assert api_world.alice.get(f"/api/v1/accounts/{organisation.id}").status_code == 404


def test_pages_have_bounds_and_an_end(api_world: ApiWorld, factory) -> None:  # type: ignore[no-untyped-def]
    w = api_world.world
    for number in range(3):
        factory.member(w.timebank, f"Zed {number}")
    first = api_world.coordinator.get("/api/v1/members", query={"per_page": 2}).get_json()
    assert (first["page"], first["per_page"], first["total"], len(first["items"])) == (1, 2, 6, 2)
    third = api_world.coordinator.get("/api/v1/members", query={"per_page": 2, "page": 3}).get_json()
    assert len(third["items"]) == 2
    names = [
        m["display_name"]
        for page in (1, 2, 3)
        for m in api_world.coordinator.get("/api/v1/members", query={"per_page": 2, "page": page}).get_json()["items"]
    ]
    assert len(set(names)) == 6  # every member once
    past = api_world.coordinator.get("/api/v1/members", query={"per_page": 2, "page": 4}).get_json()
    assert past["items"] == [] and past["page"] == 4 and past["total"] == 6
    for query in ({"per_page": 101}, {"per_page": 0}, {"page": 0}, {"page": "two"}, {"per_page": "-1"}):
        response = api_world.coordinator.get("/api/v1/members", query=query)
        assert response.status_code == 422, query
        assert set(error_of(response)["fields"]) <= {"page", "per_page"}
    assert api_world.coordinator.get("/api/v1/members", query={"per_page": 100}).status_code == 200


def test_unknown_api_paths_and_methods_answer_in_the_error_shape(api_world: ApiWorld, app: Flask) -> None:
    client = ApiClient(app.test_client(use_cookies=False), None)
    unknown = client.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404 and unknown.mimetype == "application/json"
    assert error_of(unknown)["code"] == "not_found"
    too_big = api_world.alice.get("/api/v1/exchanges/99999999999")
    assert too_big.status_code == 404 and error_of(too_big)["code"] == "not_found"
    wrong_method = client.open("PUT", "/api/v1/me")
    assert wrong_method.status_code == 405 and error_of(wrong_method)["code"] == "method_not_allowed"
    # The web keeps its pages.
    assert "text/html" in app.test_client().get("/no-such-page").content_type


def test_a_bug_is_a_500_in_the_error_shape_without_details(
    api_world: ApiWorld, monkeypatch, validate_api_responses
) -> None:  # type: ignore[no-untyped-def]
    from timebank.api.views import me

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(me, "balance_figures", broken)
    response = api_world.alice.get("/api/v1/me")
    assert response.status_code == 500 and error_of(response)["code"] == "internal_error"
    assert "a bug" not in response.get_data(as_text=True)
    if validate_api_responses is not None:  # a 500 is never a documented outcome of an operation
        validate_api_responses.problems[:] = [p for p in validate_api_responses.problems if "answered 500" not in p]
