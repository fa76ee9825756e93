"""Configuration read from the environment. ``create_app`` picks a class, tests pass overrides."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'timebank.sqlite'}")
    # Accept the common "postgres://" and "postgresql://" forms and use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


DEV_SECRET_KEY = "dev-only-not-secret"


def _optional_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    # Only "Keep me signed in on this device" makes the cookie outlive the browser, for at most the
    # longest such sign-in (the server ends sessions earlier: docs/PRODUCTION.md, "Sessions").
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # forms left open on a day-centre PC should still submit
    DEFAULT_TIME_ZONE = os.environ.get("TIMEBANK_TIME_ZONE", "Europe/London")

    # Rate limits (sign in, password reset, joining). Several processes must share one store,
    # so production sets RATELIMIT_STORAGE_URI=redis://host:6379/0; memory:// serves one process.
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") != "0"
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on a 429
    # If Redis goes away, keep limiting per process rather than failing every sign-in.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Behind a reverse proxy (nginx, a load balancer) set this to the number of proxies in front
    # of the app, so rate limits see each visitor's address rather than the proxy's.
    TRUSTED_PROXIES = int(os.environ.get("TIMEBANK_TRUSTED_PROXIES", "0"))

    # Outgoing mail (password reset, notifications). Without MAIL_SERVER, mail is written to the
    # log instead of being sent (development).
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "1") != "0"  # STARTTLS
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Timebank <no-reply@localhost>")
    MAIL_TIMEOUT_SECONDS = int(os.environ.get("MAIL_TIMEOUT_SECONDS", "15"))
    # Where people reach the app, for links in emails sent by the scheduler (no request to ask).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    # Installation admins must use two-factor sign-in (on in production unless turned off; a
    # timebank's coordinators need it when an admin switches it on for that timebank).
    ADMINS_NEED_TWO_FACTOR = os.environ.get("TIMEBANK_ADMINS_NEED_TWO_FACTOR", "0") == "1"
    # JSON API bearer tokens expire after this many hours (30 days by default).
    API_TOKEN_LIFETIME_HOURS = int(os.environ.get("API_TOKEN_LIFETIME_HOURS", str(24 * 30)))
    # SQLite only: how long a transaction that may write waits at its BEGIN for another writer
    # (docs/PRODUCTION.md, "SQLite"). Keep it well below the worker timeout.
    SQLITE_BUSY_TIMEOUT_SECONDS = float(os.environ.get("TIMEBANK_SQLITE_BUSY_TIMEOUT", "5"))
    TESTING = False
    HSTS_SECONDS = 0  # sent only by ProductionConfig, and only on HTTPS requests
    # argon2id cost of password hashes; None is timebank/auth/passwords.py's production setting.
    # Only the test suite lowers them (tests/__init__.py), to save 40 ms on each of its hashes.
    PASSWORD_HASH_MEMORY_KIB = _optional_int("TIMEBANK_PASSWORD_HASH_MEMORY_KIB")
    PASSWORD_HASH_ITERATIONS = _optional_int("TIMEBANK_PASSWORD_HASH_ITERATIONS")
    # Admins can read every queued and sent email at /admin/outbox: for development, where mail
    # goes to no SMTP server. Off in production (the emails hold reset links and private messages).
    OUTBOX_PAGE = True


class ProductionConfig(Config):
    # Served over HTTPS (behind a TLS-terminating proxy: set TIMEBANK_TRUSTED_PROXIES so
    # request.is_secure sees X-Forwarded-Proto). "__Host-" makes the browser refuse the cookie
    # unless it is Secure, host-only and for the whole site.
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_NAME = "__Host-remember"
    PREFERRED_URL_SCHEME = "https"
    HSTS_SECONDS = int(os.environ.get("TIMEBANK_HSTS_SECONDS", str(365 * 24 * 3600)))
    ADMINS_NEED_TWO_FACTOR = os.environ.get("TIMEBANK_ADMINS_NEED_TWO_FACTOR", "1") == "1"
    # Production always hashes passwords with the full settings, whatever the environment says.
    PASSWORD_HASH_MEMORY_KIB = None
    PASSWORD_HASH_ITERATIONS = None
    OUTBOX_PAGE = False
    # Connection pool per worker process: workers x (pool + overflow) must stay below
    # PostgreSQL's max_connections (see docs/PRODUCTION.md).
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {
        "pool_pre_ping": True,
        "pool_size": int(os.environ.get("TIMEBANK_DB_POOL_SIZE", "5")),
        "max_overflow": int(os.environ.get("TIMEBANK_DB_MAX_OVERFLOW", "5")),
        "pool_timeout": 10,
        "pool_recycle": 1800,
    }


def config_from_environment() -> type[Config]:
    if os.environ.get("TIMEBANK_ENV") == "production":
        if os.environ.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
            raise RuntimeError("Set SECRET_KEY to a long random value in production.")
        return ProductionConfig
    return Config
