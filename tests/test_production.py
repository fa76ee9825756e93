"""The production setup: security headers, the __Host- session cookie over HTTPS behind a
proxy, the health endpoint, and the app served by real gunicorn workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine

import config
from tests.conftest import PASSWORD, Factory, _free_port
from timebank import create_app
from timebank.auth.passwords import configure_hashing, verify_password
from timebank.extensions import db
from timebank.models import Base, Member

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_every_page_carries_the_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "object-src 'none'" in policy
    assert "base-uri 'none'" in policy
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    # Development is plain HTTP: no HSTS (a browser would remember it for a year).
    assert "Strict-Transport-Security" not in response.headers


def test_health_answers_ok_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_answers_503_when_the_database_does_not(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory" / "db.sqlite"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}", "SERVER_NAME": "localhost"})
    with app.app_context():
        response = app.test_client().get("/healthz")
        db.engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


@pytest.fixture
def production_app(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Flask:
    """The real ProductionConfig (chosen by TIMEBANK_ENV), behind one proxy that ends TLS."""
    monkeypatch.setenv("TIMEBANK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret-for-the-test")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TRUSTED_PROXIES": 1,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "timebank.example",
        }
    )
    return app


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEBANK_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_production_behind_a_tls_proxy_sends_hsts_and_a_host_cookie(production_app: Flask) -> None:
    with production_app.app_context():
        factory = Factory(db.session())
        world = factory.world()
        email = world.alice.email
        db.session.commit()
    client = production_app.test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD}, headers=https, base_url="http://timebank.example"
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    page = client.get("/", headers=https, base_url="http://timebank.example")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # Straight to the worker without the proxy's word that it was HTTPS: no HSTS.
    plain = client.get("/", base_url="http://timebank.example")
    assert "Strict-Transport-Security" not in plain.headers
    with production_app.app_context():
        db.engine.dispose()


PRODUCTION_HASH = "$argon2id$v=19$m=19456,t=3,p=1$"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_production_hashes_passwords_with_the_full_argon2id_settings(production_app: Flask) -> None:
    """The suite hashes cheaply (tests/__init__.py sets TIMEBANK_PASSWORD_HASH_*); a production
    app ignores that: 19 MiB, 3 iterations, 1 lane. A cheaper hash is upgraded at the next
    sign-in."""
    assert os.environ["TIMEBANK_PASSWORD_HASH_MEMORY_KIB"] == "8"  # what every other test runs with
    try:
        with production_app.app_context():
            factory = Factory(db.session())
            world = factory.world()
            assert world.alice.password_hash is not None
            assert world.alice.password_hash.startswith(PRODUCTION_HASH)
            cheap = PasswordHasher(memory_cost=8, time_cost=1, parallelism=1, type=Type.ID).hash(PASSWORD)
            world.bob.password_hash = cheap
            db.session.commit()
            email, bob_id = world.bob.email, world.bob.id
        client = production_app.test_client()
        https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        response = client.post(
            "/login", data={"email": email, "password": PASSWORD}, headers=https, base_url="http://timebank.example"
        )
        assert response.status_code == 302
        with production_app.app_context():
            upgraded = db.session.get(Member, bob_id)
            assert upgraded is not None and upgraded.password_hash is not None
            assert upgraded.password_hash.startswith(PRODUCTION_HASH)
            assert verify_password(upgraded.password_hash, PASSWORD)
            db.engine.dispose()
    finally:
        configure_hashing(config.Config.PASSWORD_HASH_MEMORY_KIB, config.Config.PASSWORD_HASH_ITERATIONS)


def test_gunicorn_serves_the_app_with_two_workers(tmp_path: Path) -> None:
    """The production server, as configured in gunicorn.conf.py, boots with the production
    settings and answers."""
    database = tmp_path / "served.sqlite"
    engine = create_engine(f"sqlite:///{database}")
    Base.metadata.create_all(engine)
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "TIMEBANK_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        # The real production settings, chosen the way a server chooses them: before the import.
        "TIMEBANK_ENV": "production",
        "SECRET_KEY": "a-long-random-production-secret-set-before-the-app-is-imported",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body, headers = _wait_for_health(f"http://127.0.0.1:{port}/healthz", server)
        assert body == b'{"database":"ok","status":"ok"}\n'
        assert "object-src 'none'" in headers["Content-Security-Policy"]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert output.count("Booting worker") == 2, output


def _wait_for_health(url: str, server: subprocess.Popen[str]) -> tuple[bytes, dict[str, str]]:
    # Polls until the workers are up; the bound is only there to stop a hung test.
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            raise AssertionError(f"gunicorn exited: {server.communicate()[0]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read(), dict(response.headers)
        except (urllib.error.URLError, ConnectionError, TimeoutError):  # a worker still booting
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_pages_name_an_icon_that_is_served(client: FlaskClient) -> None:
    """Browsers ask for an icon on every page; without one each page view logs a 404."""
    page = client.get("/").get_data(as_text=True)
    assert 'rel="icon" href="/static/img/favicon.svg"' in page
    icon = client.get("/static/img/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
