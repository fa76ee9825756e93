"""Getting, using, expiring and revoking API tokens; sessions count for nothing; token creation is
rate-limited like signing in."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiClient, ApiWorld, error_of
from tests.conftest import PASSWORD, AuthActions, Factory, forget_cached_login
from timebank import create_app
from timebank.extensions import db
from timebank.models import ApiToken, MemberStatus, utcnow


def _ask_for_token(client: ApiClient, email: str | None, password: str, address: str = "192.0.2.1"):  # type: ignore[no-untyped-def]
    return client.client.post(
        "/api/v1/tokens", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_a_member_gets_a_token_stored_only_as_its_hash_and_uses_it(
    api_world: ApiWorld, api_anonymous: ApiClient, session: Session
) -> None:
    alice = api_world.world.alice
    response = _ask_for_token(api_anonymous, alice.email, PASSWORD)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "expires_at"} and body["expires_at"].endswith("Z")
    token = body["token"]
    stored = session.scalars(select(ApiToken).where(ApiToken.member_id == alice.id)).all()
    assert token not in {row.token_hash for row in stored}
    assert hashlib.sha256(token.encode()).hexdigest() in {row.token_hash for row in stored}
    # About thirty days by default.
    row = next(r for r in stored if r.token_hash == hashlib.sha256(token.encode()).hexdigest())
    assert timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)

    me = ApiClient(api_anonymous.client, token).get("/api/v1/me")
    assert me.status_code == 200 and me.get_json()["id"] == alice.id


def test_wrong_passwords_unknown_emails_and_bad_bodies_get_no_token(
    api_world: ApiWorld, api_anonymous: ApiClient
) -> None:
    alice = api_world.world.alice
    wrong = _ask_for_token(api_anonymous, alice.email, "not the password")
    assert wrong.status_code == 401 and error_of(wrong)["code"] == "invalid_credentials"
    unknown = _ask_for_token(api_anonymous, "nobody@example.org", PASSWORD)
    assert unknown.status_code == 401 and error_of(unknown)["message"] == error_of(wrong)["message"]
    not_json = api_anonymous.post("/api/v1/tokens", raw="email=a&password=b")
    assert not_json.status_code == 400 and error_of(not_json)["code"] == "bad_request"
    missing = api_anonymous.post("/api/v1/tokens", {"email": alice.email})
    assert missing.status_code == 422 and "password" in error_of(missing)["fields"]
    unexpected = api_anonymous.post("/api/v1/tokens", {"email": alice.email, "password": PASSWORD, "admin": True})
    assert unexpected.status_code == 422 and "admin" in error_of(unexpected)["fields"]


def test_members_who_may_not_sign_in_get_no_token(factory: Factory, api_anonymous: ApiClient) -> None:
    timebank = factory.timebank()
    for status in (MemberStatus.APPLIED, MemberStatus.SUSPENDED, MemberStatus.DECLINED):
        member = factory.member(timebank, f"Paused {status}", status=status)
        response = _ask_for_token(api_anonymous, member.email, PASSWORD)
        assert response.status_code == 403 and error_of(response)["code"] == "account_not_active", status


def test_a_token_stops_working_when_it_expires_is_revoked_or_its_member_is_suspended(
    api_world: ApiWorld, session: Session
) -> None:
    alice, bob, coordinator = api_world.alice, api_world.bob, api_world.coordinator
    assert alice.get("/api/v1/me").status_code == 200

    row = session.scalar(select(ApiToken).where(ApiToken.member_id == alice.member_id))
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    expired = alice.get("/api/v1/me")
    assert expired.status_code == 401 and error_of(expired)["code"] == "token_expired"
    assert expired.headers["WWW-Authenticate"].startswith("Bearer")

    assert bob.delete("/api/v1/tokens/current").status_code == 204
    revoked = bob.get("/api/v1/me")
    assert revoked.status_code == 401 and error_of(revoked)["code"] == "token_revoked"
    assert bob.delete("/api/v1/tokens/current").status_code == 401

    # Suspended since the token was issued: refused at once.
    assert coordinator.get("/api/v1/me").status_code == 200
    api_world.world.coordinator.status = MemberStatus.SUSPENDED
    session.commit()
    suspended = coordinator.get("/api/v1/me")
    assert suspended.status_code == 401 and error_of(suspended)["code"] == "account_not_active"


def test_garbage_and_missing_tokens_are_401_in_the_error_shape(api_anonymous: ApiClient) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        response = api_anonymous.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, headers
        assert error_of(response)["code"] in ("unauthorized", "invalid_token")


def test_a_signed_in_web_session_is_not_an_api_token(api_world: ApiWorld, client, auth: AuthActions) -> None:  # type: ignore[no-untyped-def]
    assert auth.login(api_world.world.alice).status_code == 302
    assert client.get("/dashboard").status_code == 200  # the session works on the web...
    response = client.get("/api/v1/me")  # ...and counts for nothing in the API
    assert response.status_code == 401
    posted = client.post("/api/v1/listings", json={"kind": "offer"})
    assert posted.status_code == 401  # not a CSRF error page: the API is CSRF-exempt and token-only


def test_api_answers_set_no_cookies(api_world: ApiWorld) -> None:
    response = api_world.alice.get("/api/v1/me")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def limited_app(database_url: str) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    forget_cached_login(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_token_creation_is_rate_limited_per_account_with_a_json_429(limited_app: Flask) -> None:
    world = Factory(db.session()).world()
    client = ApiClient(limited_app.test_client(use_cookies=False), None)
    for number in range(5):  # the sign-in's own limit: five failures a minute per account
        assert _ask_for_token(client, world.alice.email, "wrong", address=f"198.51.100.{number}").status_code == 401
    refused = _ask_for_token(client, world.alice.email, PASSWORD, address="203.0.113.7")
    assert refused.status_code == 429
    assert error_of(refused)["code"] == "rate_limited"
    assert "Retry-After" in refused.headers
    # Another account is not affected.
    assert _ask_for_token(client, world.bob.email, PASSWORD, address="203.0.113.8").status_code == 201
