"""Configuration read from the environment. ``create_app`` picks a class, tests pass overrides."""

from __future__ import annotations

import os
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


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, object]] = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # forms left open on a day-centre PC should still submit
    DEFAULT_TIME_ZONE = os.environ.get("TIMEBANK_TIME_ZONE", "Europe/London")
    TESTING = False


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


def config_from_environment() -> type[Config]:
    if os.environ.get("TIMEBANK_ENV") == "production":
        if os.environ.get("SECRET_KEY") in (None, "", Config.SECRET_KEY):
            raise RuntimeError("Set SECRET_KEY to a long random value in production.")
        return ProductionConfig
    return Config
