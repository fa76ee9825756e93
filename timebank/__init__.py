"""Timebank: a web service that runs time banks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from config import INSTANCE_DIR, config_from_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(PROJECT_DIR / "templates"),
        static_folder=str(PROJECT_DIR / "static"),
    )
    app.config.from_object(config_from_environment())
    if overrides:
        app.config.update(overrides)
    INSTANCE_DIR.mkdir(exist_ok=True)
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from . import busy, cli, errors, ids, input_guard, security, templating
    from .auth.passwords import configure_hashing
    from .extensions import csrf, db, limiter, login_manager, migrate
    from .ledger import configure_engine

    # First: routes compile with the id converter, and bad input is refused before the
    # extensions' own hooks (CSRF, rate limits) read the body.
    ids.register_converters(app)
    input_guard.register(app)
    configure_hashing(app.config.get("PASSWORD_HASH_MEMORY_KIB"), app.config.get("PASSWORD_HASH_ITERATIONS"))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_DIR / "migrations"), compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        busy_timeout_ms = int(float(app.config["SQLITE_BUSY_TIMEOUT_SECONDS"]) * 1000)
        configure_engine(db.engine, busy_timeout_ms=busy_timeout_ms, strict=app.testing)

    from .admin.routes import bp as admin_bp
    from .api import bp as api_bp
    from .api.docs import bp as api_docs_bp
    from .auth.routes import bp as auth_bp
    from .auth.two_factor_routes import bp as two_factor_bp
    from .coordinator.routes import bp as coordinator_bp
    from .dashboard.routes import bp as dashboard_bp
    from .digest.routes import bp as digest_bp
    from .exchanges.routes import bp as exchanges_bp
    from .health.routes import bp as health_bp
    from .listings.routes import bp as listings_bp
    from .main.routes import bp as main_bp
    from .matching.routes import bp as matching_bp
    from .members.routes import bp as members_bp
    from .notifications import routes as notifications_routes
    from .reports.routes import bp as reports_bp
    from .statements.routes import bp as statements_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(two_factor_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(coordinator_bp)
    app.register_blueprint(members_bp)
    app.register_blueprint(statements_bp)
    app.register_blueprint(listings_bp)
    app.register_blueprint(matching_bp)
    app.register_blueprint(exchanges_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(notifications_routes.bp)
    notifications_routes.register(app)
    app.register_blueprint(reports_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_docs_bp)
    app.register_blueprint(digest_bp)
    app.register_blueprint(health_bp)
    busy.register(app)  # after the blueprints: it wraps every view
    errors.register(app)
    security.register(app)
    templating.register(app)
    cli.register(app)
    return app
