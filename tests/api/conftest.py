"""Fixtures for the JSON API tests: clients that carry a bearer token.

    api_world   factory.world() with an ApiClient for each person: .coordinator, .alice, .bob,
                .outsider (a participant of the other timebank); .world is the World
    api_as      api_as(member) -> an ApiClient with a fresh token for that member
    api_anonymous  an ApiClient without a token

Tokens are issued through ``timebank.api.auth.issue_token`` (the endpoint's own service), so
tests do not pay for a password hash each; the token endpoint has tests of its own.
Every response of an ``api.`` endpoint is checked against the OpenAPI document by the autouse
fixture from ``tests/api/spec_check.py`` (the API-SPEC helper's).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from tests.api.spec_check import validate_api_responses  # noqa: F401  (autouse: responses match the spec)
from tests.conftest import Factory, World
from timebank.api.auth import issue_token
from timebank.models import Member


@dataclass
class ApiClient:
    """A test client that sends JSON with ``Authorization: Bearer <token>`` (no cookies)."""

    client: FlaskClient
    token: str | None
    member_id: int | None = None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def open(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        query: dict[str, Any] | None = None,
        raw: str | None = None,
    ) -> TestResponse:
        data = raw if raw is not None else (json.dumps(json_body) if json_body is not None else None)
        response = self.client.open(
            path,
            method=method,
            data=data,
            content_type="application/json" if data is not None else None,
            headers=self.headers(headers),
            query_string=query,
        )
        response.get_data()
        return response

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, *, idempotency_key: str | None = "new", **kwargs: Any) -> TestResponse:
        """A POST with a fresh Idempotency-Key (every creating POST needs one), unless the headers
        carry one or ``idempotency_key=None``."""
        headers = dict(kwargs.pop("headers", None) or {})
        if idempotency_key is not None and "Idempotency-Key" not in headers:
            headers["Idempotency-Key"] = new_key() if idempotency_key == "new" else idempotency_key
        return self.open("POST", path, json, headers=headers, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.open("PATCH", path, json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.open("DELETE", path, **kwargs)


def token_for(session: Session, member: Member) -> str:
    token, _row = issue_token(session, member)
    return token


@pytest.fixture
def api_as(app: Flask, session: Session):  # type: ignore[no-untyped-def]
    def make(member: Member) -> ApiClient:
        return ApiClient(app.test_client(use_cookies=False), token_for(session, member), member.id)

    return make


@pytest.fixture
def api_anonymous(app: Flask) -> ApiClient:
    return ApiClient(app.test_client(use_cookies=False), None)


@dataclass
class ApiWorld:
    world: World
    coordinator: ApiClient
    alice: ApiClient
    bob: ApiClient
    outsider: ApiClient


@pytest.fixture
def api_world(factory: Factory, api_as) -> ApiWorld:  # type: ignore[no-untyped-def]
    world = factory.world()
    return ApiWorld(
        world=world,
        coordinator=api_as(world.coordinator),
        alice=api_as(world.alice),
        bob=api_as(world.bob),
        outsider=api_as(world.outsider),
    )


def new_key() -> str:
    return str(uuid.uuid4())


def error_of(response: TestResponse) -> dict[str, Any]:
    """The error object of an error response, checked to have exactly the API's error shape."""
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["message"], str) and error["message"]
    return error  # type: ignore[no-any-return]
