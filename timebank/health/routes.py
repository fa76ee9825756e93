"""``GET /healthz``: is this worker able to serve? Load balancers and monitors poll it.

It answers 200 only when the database answers a query; 503 otherwise, with the reason, so a
balancer takes the worker out of rotation instead of sending people to error pages.
"""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        reason = type(error).__name__
        return jsonify(status="unavailable", database="unreachable", reason=reason), 503
    finally:
        db.session.close()
    return jsonify(status="ok", database="ok"), 200
