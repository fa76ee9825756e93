"""Bad input through the API: refused at the edge with 400/404/413/422 in the error shape, never a
500 (docs/API.md, "Errors"); hidden members answered like ids that do not exist; integers as the
OpenAPI document means them; hours in ASCII digits. Both databases; every answer is also checked
against the OpenAPI document (tests/api/spec_check.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiClient, ApiWorld, error_of, new_key
from tests.api.test_api_members_listings import _category_id
from tests.conftest import Factory
from timebank.input_guard import MAX_CONTENT_LENGTH, MAX_JSON_DEPTH
from timebank.models import Exchange, MemberStatus


def _record(client: ApiClient, provider_id: Any, recipient_id: Any, hours: Any = 1, **extra: Any):  # type: ignore[no-untyped-def]
    body = {
        "provider_id": provider_id,
        "recipient_id": recipient_id,
        "hours": hours,
        "performed_on": (date.today() - timedelta(days=1)).isoformat(),
        "description": "Dug the vegetable bed",
        **extra,
    }
    return client.post("/api/v1/exchanges", body, headers={"Idempotency-Key": new_key()})


def _exchange_count(session: Session) -> int:
    return len(session.scalars(select(Exchange.id)).all())


# -- 13: hidden members are answered like ids that do not exist -------------------------------


@pytest.mark.parametrize("status", [MemberStatus.APPLIED, MemberStatus.SUSPENDED, MemberStatus.DECLINED])
def test_a_member_the_participant_cannot_see_is_answered_like_no_member(
    api_world: ApiWorld, factory: Factory, session: Session, status: MemberStatus
) -> None:
    w = api_world.world
    hidden = factory.member(w.timebank, "Kofi Boateng", status=status)
    before = _exchange_count(session)
    for hours in (1, "١"):  # the same answer even when another field is wrong too
        for party in ("recipient", "provider"):
            ids = {"provider": w.alice.id, "recipient": w.alice.id, party: hidden.id}
            unknown = {**ids, party: 2_000_000_000}
            got = _record(api_world.alice, ids["provider"], ids["recipient"], hours)
            expected = _record(api_world.alice, unknown["provider"], unknown["recipient"], hours)
            assert (got.status_code, got.get_json()) == (expected.status_code, expected.get_json())
            assert got.status_code == 404 and "Kofi" not in got.get_data(as_text=True)
    assert _exchange_count(session) == before


def test_another_timebanks_member_is_answered_like_no_member(api_world: ApiWorld) -> None:
    w = api_world.world
    got = _record(api_world.alice, w.alice.id, w.outsider.id)
    expected = _record(api_world.alice, w.alice.id, 2_000_000_000)
    assert (got.status_code, got.get_json()) == (expected.status_code, expected.get_json())
    assert "Olive" not in got.get_data(as_text=True)


def test_a_coordinator_who_sees_a_suspended_member_is_told_why_they_cannot_take_part(
    api_world: ApiWorld, factory: Factory
) -> None:
    w = api_world.world
    suspended = factory.member(w.timebank, "Kofi Boateng", status=MemberStatus.SUSPENDED)
    response = _record(api_world.coordinator, w.alice.id, suspended.id)
    assert response.status_code == 409 and "Kofi Boateng" in error_of(response)["message"]


# -- 14: no 500 on bad input -------------------------------------------------------------------


def test_a_nul_byte_anywhere_is_a_400_naming_the_field(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    before = _exchange_count(session)
    response = _record(api_world.alice, w.alice.id, w.bob.id, description="Dug\x00the bed")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "unreadable_input" and list(error["fields"]) == ["description"]
    in_query = api_world.alice.get("/api/v1/listings", query={"q": "tea\x00"})
    assert in_query.status_code == 400 and list(error_of(in_query)["fields"]) == ["q"]
    before_sign_in = ApiClient(api_world.alice.client, None).post(
        "/api/v1/tokens", {"email": "a\x00@example.org", "password": "x"}, idempotency_key=None
    )
    assert before_sign_in.status_code == 400 and error_of(before_sign_in)["code"] == "unreadable_input"
    assert _exchange_count(session) == before


def test_a_lone_surrogate_is_a_400(api_world: ApiWorld) -> None:
    w = api_world.world
    raw = (
        f'{{"provider_id": {w.alice.id}, "recipient_id": {w.bob.id}, "hours": 1, '
        f'"performed_on": "{date.today().isoformat()}", "description": "Dug \\ud800 the bed"}}'
    )
    response = api_world.alice.post("/api/v1/exchanges", raw=raw)
    assert response.status_code == 400 and list(error_of(response)["fields"]) == ["description"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 2, 100_000])
def test_json_nested_too_deeply_is_a_400(api_world: ApiWorld, depth: int) -> None:
    response = api_world.alice.post("/api/v1/exchanges", raw="[" * depth + "]" * depth)
    assert response.status_code == 400 and "nested" in error_of(response)["message"]
    nested = api_world.alice.post("/api/v1/donations", raw='{"note": ' + "[" * depth + "]" * depth + "}")
    assert nested.status_code == 400


def test_a_body_over_the_limit_is_a_clear_413(api_world: ApiWorld) -> None:
    w = api_world.world
    response = _record(api_world.alice, w.alice.id, w.bob.id, description="x" * MAX_CONTENT_LENGTH)
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "payload_too_large" and "1024 KB" in error["message"]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("too_large", [2**31, 2**63, 10**20])
def test_an_id_too_large_to_store_is_404_on_every_method(api_world: ApiWorld, method: str, too_large: int) -> None:
    for path in (f"/api/v1/exchanges/{too_large}", f"/api/v1/listings/{too_large}", f"/api/v1/members/{too_large}"):
        response = api_world.coordinator.open(method, path)
        assert response.status_code == 404 and error_of(response)["code"] == "not_found", (method, path)


def test_page_numbers_beyond_64_bits_are_a_422(api_world: ApiWorld) -> None:
    for query in ({"page": "99999999999999999999"}, {"per_page": "99999999999999999999"}, {"page": "١"}):
        response = api_world.coordinator.get("/api/v1/exchanges", query=query)
        assert response.status_code == 422, query


def test_a_month_beyond_any_calendar_is_a_422(api_world: ApiWorld) -> None:
    response = api_world.coordinator.get("/api/v1/reports/99999999999999999999-01")
    assert response.status_code in (404, 422)


# -- integers: what the OpenAPI document calls an integer, the server takes ---------------------


def test_an_integer_written_as_114_point_0_is_an_integer(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    created = _record(api_world.alice, float(w.alice.id), float(w.bob.id), 1)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["recipient"]["member_id"] == w.bob.id
    listing = api_world.alice.post(
        "/api/v1/listings",
        {"kind": "offer", "category_id": float(_category_id(session, w.timebank.id)), "title": "Tea"},
    )
    assert listing.status_code == 201, listing.get_json()
    page = api_world.alice.get("/api/v1/exchanges", query={"page": "1.0", "per_page": "20"})
    assert page.status_code == 200 and page.get_json()["page"] == 1


@pytest.mark.parametrize("value", [1.5, True, "2", "١", None, [2], 1e300])
def test_what_is_not_an_integer_is_refused_naming_the_field(api_world: ApiWorld, value: Any) -> None:
    w = api_world.world
    response = _record(api_world.alice, w.alice.id, value)
    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["recipient_id"]


def test_the_document_says_integer_where_the_server_reads_one(api_world: ApiWorld, app) -> None:  # type: ignore[no-untyped-def]
    from timebank.api.openapi import openapi_document

    schema = openapi_document(app)["components"]["schemas"]["ExchangeCreate"]["properties"]
    assert schema["provider_id"]["type"] == "integer" and schema["recipient_id"]["type"] == "integer"


# -- hours are ASCII digits --------------------------------------------------------------------


@pytest.mark.parametrize("hours", ["١", "١.٥", "１", "²", "٢ hours"])
def test_hours_in_other_digits_are_refused_with_a_clear_message(
    api_world: ApiWorld, session: Session, hours: str
) -> None:
    w = api_world.world
    before = _exchange_count(session)
    response = _record(api_world.alice, w.alice.id, w.bob.id, hours)
    assert response.status_code == 422
    assert error_of(response)["fields"]["hours"] == [
        "Write the time with the digits 0 to 9, for example 1.5, 1:30 or 90 minutes."
    ]
    assert _exchange_count(session) == before
