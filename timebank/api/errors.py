"""Every API error has one shape: ``{"error": {"code", "message", "fields"}}``.

Typed errors from the services (ledger, exchanges, listings, members, ...) get their status from
the ONE table in ``timebank/errors.py`` (``known_status``); this module only turns them into
JSON. ``ApiError`` is for what only the API can get wrong (a missing bearer token, a body that
is not JSON). Anything else is a bug: a 500 in the same shape, logged, the session rolled back.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from ..ledger.busy import is_database_busy
from .blueprint import API_PREFIX

# Short machine-readable codes for plain HTTP errors.
HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal_error",
    503: "database_busy",
}

HTTP_MESSAGES: dict[int, str] = {
    400: "The request could not be read.",
    401: "Send a valid API token: Authorization: Bearer <token>.",
    403: "You may not do this.",
    404: "There is no such thing here.",
    405: "This address does not take that method.",
    429: "Too many attempts. Wait a little and try again.",
    500: "Something went wrong on our side. Nothing was changed.",
}

# Service errors name the web form's fields; the API's fields have these names instead.
FIELD_NAMES: dict[str, str] = {
    "duration": "hours",
    "estimated_minutes": "estimated_hours",
    "provider_account_id": "provider_id",
    "recipient_account_id": "recipient_id",
}


class ApiError(Exception):
    """An error only the API layer can find (its status is its own)."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status: int, code: str, message: str, fields: dict[str, Any] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="timebank"'
    return response


def http_error_response(error: HTTPException) -> Response:
    status = error.code or 500
    message = HTTP_MESSAGES.get(status) or (error.description or "").strip() or "The request failed."
    response = error_response(status, HTTP_CODES.get(status, "error"), message)
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    if status == 429:
        retry_after = error.get_response().headers.get("Retry-After")
        if retry_after:
            response.headers["Retry-After"] = retry_after
    return response


def _snake_case(name: str) -> str:
    """``InvalidTransition`` -> ``invalid_transition``: a code for an error class without one."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _fields_of(error: Exception) -> dict[str, Any]:
    field = getattr(error, "field", None)
    if not field:
        return {}
    return {FIELD_NAMES.get(field, field): [getattr(error, "message", str(error))]}


def validation_fields(error: ValidationError) -> dict[str, Any]:
    messages = error.messages
    if isinstance(messages, dict):
        return {FIELD_NAMES.get(str(k), str(k)): v for k, v in messages.items()}
    return {"_schema": messages}


def handle_api_error(error: Exception) -> Response:
    """The api blueprint's one error handler (and the app's, for unknown ``/api/`` paths)."""
    from ..errors import known_status  # the one status table; imported late (it imports the areas)

    if isinstance(error, ApiError):
        db.session.rollback()
        return error_response(error.status, error.code, error.message, error.fields)
    if isinstance(error, ValidationError):
        db.session.rollback()
        return error_response(422, "invalid", "Some of the values sent are not right.", validation_fields(error))
    if isinstance(error, HTTPException):
        db.session.rollback()
        return http_error_response(error)
    status = known_status(error)
    if status is not None:
        db.session.rollback()
        code = getattr(error, "code", None) or _snake_case(type(error).__name__)
        return error_response(status, str(code), getattr(error, "message", str(error)), _fields_of(error))
    if is_database_busy(error):
        from ..busy import busy_response  # imported late: it imports this module

        return busy_response()  # 503 with Retry-After, after any retries
    db.session.rollback()
    current_app.logger.exception("Unexpected error in the API")
    return error_response(500, "internal_error", HTTP_MESSAGES[500])
