"""Sign-in is rate-limited per account and per address (Flask-Limiter), in memory by default
and in Redis when RATELIMIT_STORAGE_URI points at one."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, Factory, forget_cached_login, require_redis
from timebank import create_app
from timebank.extensions import db


@pytest.fixture
def limited_app(database_url: str) -> Iterator[Flask]:
    app = _make_app(database_url, "memory://")
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _make_app(database_url: str, storage_uri: str, **extra: object) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": storage_uri,
            **extra,
        }
    )
    forget_cached_login(app)
    return app


def _sign_in(client: FlaskClient, email: str, password: str, address: str = "192.0.2.1"):  # type: ignore[no-untyped-def]
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_sixth_wrong_password_in_a_minute_is_refused_with_a_plain_429(limited_app):
    world = Factory(db.session()).world()
    client = limited_app.test_client()
    for _ in range(5):
        assert _sign_in(client, world.alice.email, "wrong password").status_code == 401
    response = _sign_in(client, world.alice.email, "wrong password")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many tries" in page
    assert "Please wait a few minutes, then try again." in page
    assert "Retry-After" in response.headers
    # Even the right password waits: the limit protects the account, not the guess.
    assert _sign_in(client, world.alice.email, PASSWORD).status_code == 429


def test_the_account_limit_applies_across_addresses(limited_app):
    world = Factory(db.session()).world()
    client = limited_app.test_client()
    for number in range(5):
        assert _sign_in(client, world.alice.email, "wrong", address=f"198.51.100.{number + 1}").status_code == 401
    assert _sign_in(client, world.alice.email, "wrong", address="203.0.113.99").status_code == 429
    # Another account from a fresh address is not affected.
    assert _sign_in(client, world.bob.email, PASSWORD, address="203.0.113.100").status_code == 302


def test_the_account_limit_counts_only_failed_sign_ins(limited_app):
    world = Factory(db.session()).world()
    client = limited_app.test_client()
    for _ in range(7):
        assert _sign_in(client, world.alice.email, PASSWORD).status_code == 302
        client.post("/logout")


def test_one_address_trying_many_accounts_is_limited(limited_app):
    Factory(db.session()).world()
    client = limited_app.test_client()
    for number in range(30):
        assert _sign_in(client, f"guess{number}@example.org", "wrong").status_code == 401
    assert _sign_in(client, "guess-last@example.org", "wrong").status_code == 429
    assert _sign_in(client, "guess-last@example.org", "wrong", address="192.0.2.200").status_code == 401


def test_password_reset_requests_are_limited_per_account(limited_app):
    world = Factory(db.session()).world()
    client = limited_app.test_client()
    for number in range(5):
        response = client.post(
            "/forgot-password", data={"email": world.alice.email}, environ_base={"REMOTE_ADDR": f"192.0.2.{number}"}
        )
        assert response.status_code == 302
    refused = client.post("/forgot-password", data={"email": world.alice.email})
    assert refused.status_code == 429


def test_limits_are_shared_through_redis(database_url):
    redis_url = require_redis("rate limits stored in Redis")
    import redis

    # Unique names and addresses, so runs sharing this Redis database never count each other.
    run = uuid.uuid4().hex[:12]
    address = f"10.{int(run[:2], 16)}.{int(run[2:4], 16)}."
    # Two app instances (two server processes) sharing one Redis see one count.
    first = _make_app(database_url, redis_url)
    with first.app_context():
        factory = Factory(db.session())
        member = factory.member(factory.timebank(f"Redis {run}"), f"Rita {run}")
        email = member.email
        client = first.test_client()
        for _ in range(3):
            assert _sign_in(client, email, "wrong", address=address + "1").status_code == 401
        db.session.remove()
        db.engine.dispose()
    hashed = hashlib.sha256(email.encode()).hexdigest()
    assert redis.Redis.from_url(redis_url).keys(f"*{hashed}*"), "the count is not in Redis"
    second = _make_app(database_url, redis_url)
    with second.app_context():
        client = second.test_client()
        for _ in range(2):
            assert _sign_in(client, email, "wrong", address=address + "2").status_code == 401
        assert _sign_in(client, email, "wrong", address=address + "3").status_code == 429
        db.session.remove()
        db.engine.dispose()


def test_behind_a_trusted_proxy_each_visitor_address_is_counted_on_its_own(database_url):
    app = _make_app(database_url, "memory://", TRUSTED_PROXIES=1)
    with app.app_context():
        Factory(db.session()).world()
        client = app.test_client()

        def attempt(visitor: str):  # type: ignore[no-untyped-def]
            return client.post(
                "/login",
                data={"email": f"guess-{uuid.uuid4().hex}@example.org", "password": "wrong"},
                headers={"X-Forwarded-For": visitor},
                environ_base={"REMOTE_ADDR": "10.0.0.1"},  # the proxy
            )

        for _ in range(30):
            assert attempt("192.0.2.10").status_code == 401
        assert attempt("192.0.2.10").status_code == 429
        assert attempt("192.0.2.11").status_code == 401  # another visitor through the same proxy
        db.session.remove()
        db.engine.dispose()


def _ask_for_token(client: FlaskClient, email: str, password: str, address: str = "192.0.2.1"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/tokens", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_the_web_form_and_the_api_share_one_budget_per_account(limited_app):
    world = Factory(db.session()).world()
    client = limited_app.test_client()
    for number in range(3):
        assert _sign_in(client, world.alice.email, "wrong", address=f"198.51.100.{number + 1}").status_code == 401
    for number in range(2):
        assert _ask_for_token(client, world.alice.email, "wrong", f"198.51.100.{number + 10}").status_code == 401
    # Five failures in all: both doors are shut for this account, even with the right password.
    refused = _ask_for_token(client, world.alice.email, PASSWORD, address="203.0.113.7")
    assert refused.status_code == 429
    assert "Retry-After" in refused.headers
    assert refused.get_json()["error"]["code"]  # the API's own error shape
    assert _sign_in(client, world.alice.email, PASSWORD, address="203.0.113.8").status_code == 429
    # Another account is not affected, through either door.
    assert _ask_for_token(client, world.bob.email, PASSWORD, address="203.0.113.9").status_code == 201


def test_the_api_counts_only_failures_against_the_account_too(limited_app):
    world = Factory(db.session()).world()
    client = limited_app.test_client()
    for number in range(7):
        assert _ask_for_token(client, world.alice.email, PASSWORD, f"198.51.100.{number + 1}").status_code == 201


def test_one_address_shares_its_budget_between_the_web_form_and_the_api(limited_app):
    Factory(db.session()).world()
    client = limited_app.test_client()
    for number in range(15):
        assert _sign_in(client, f"web{number}@example.org", "wrong").status_code == 401
        assert _ask_for_token(client, f"api{number}@example.org", "wrong").status_code == 401
    assert _ask_for_token(client, "api-last@example.org", "wrong").status_code == 429
    assert _sign_in(client, "web-last@example.org", "wrong").status_code == 429


def test_the_shared_budget_holds_across_servers_through_redis(database_url):
    redis_url = require_redis("one sign-in budget across web, API and servers, in Redis")
    run = uuid.uuid4().hex[:12]
    address = f"10.{int(run[:2], 16)}.{int(run[2:4], 16)}."
    web_server = _make_app(database_url, redis_url)
    with web_server.app_context():
        factory = Factory(db.session())
        member = factory.member(factory.timebank(f"Shared {run}"), f"Sam {run}")
        email = member.email
        assert email is not None
        client = web_server.test_client()
        for _ in range(3):
            assert _sign_in(client, email, "wrong", address=address + "1").status_code == 401
        db.session.remove()
        db.engine.dispose()
    api_server = _make_app(database_url, redis_url)
    with api_server.app_context():
        client = api_server.test_client()
        for _ in range(2):
            assert _ask_for_token(client, email, "wrong", address=address + "2").status_code == 401
        assert _ask_for_token(client, email, PASSWORD, address=address + "3").status_code == 429
        db.session.remove()
        db.engine.dispose()


def test_a_right_password_after_wrong_ones_costs_nothing(limited_app):
    world = Factory(db.session()).world()
    client = limited_app.test_client()
    for _ in range(4):
        assert _sign_in(client, world.alice.email, "wrong").status_code == 401
    for _ in range(3):
        assert _sign_in(client, world.alice.email, PASSWORD).status_code == 302
        client.post("/logout")
    assert _sign_in(client, world.alice.email, "wrong").status_code == 401  # the fifth failure
    assert _sign_in(client, world.alice.email, PASSWORD).status_code == 429


def test_wrong_two_factor_codes_count_against_the_same_budget_as_wrong_passwords(limited_app):
    import pyotp

    from timebank.auth import two_factor

    session = db.session()
    world = Factory(session).world()
    secret = two_factor.new_secret()
    two_factor.turn_on(session, world.alice, secret, pyotp.TOTP(secret).now())
    client = limited_app.test_client()
    for _ in range(3):
        assert _sign_in(client, world.alice.email, "wrong").status_code == 401
    assert _sign_in(client, world.alice.email, PASSWORD).status_code == 302  # the right password costs nothing
    for _ in range(2):
        assert client.post("/login/two-factor", data={"code": "000000"}).status_code == 401
    # Five failures in all: the code step, the form and the API are shut for this account.
    next_code = pyotp.TOTP(secret).at(time.time() + 30)
    assert client.post("/login/two-factor", data={"code": next_code}).status_code == 429
    assert _sign_in(client, world.alice.email, PASSWORD).status_code == 429
    assert _ask_for_token(client, world.alice.email, PASSWORD).status_code == 429
