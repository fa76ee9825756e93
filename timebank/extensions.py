"""Flask extensions, created unbound and attached in ``create_app``."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
# "strong": a session cookie replayed from another address or browser is thrown away.
login_manager.session_protection = "strong"
csrf = CSRFProtect()
# Storage comes from RATELIMIT_STORAGE_URI (memory:// by default, redis://... in production).
# No default limits: each sensitive route (sign in, password reset, joining) declares its own.
limiter = Limiter(key_func=get_remote_address)
