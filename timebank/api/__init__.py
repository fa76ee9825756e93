"""The JSON API, ``/api/v1``: bearer tokens, one error shape, pages, Idempotency-Key, exact
hours. Thin views over the same services as the web UI (docs/API.md).

The blueprint is CSRF-exempt (no cookies are trusted: only ``Authorization: Bearer``), and every
error raised while serving it, typed service errors included, becomes
``{"error": {"code", "message", "fields"}}`` with the status from ``timebank/errors.py``.
"""

from __future__ import annotations

import importlib
import importlib.util

from flask import Response

from ..extensions import csrf
from . import auth  # noqa: F401  (routes: tokens)
from .blueprint import bp
from .errors import handle_api_error
from .views import accounts, donations, exchanges, listings, me, members  # noqa: F401  (routes)

# Routes of the API-SPEC helper's modules (the OpenAPI document, monthly reports), when present.
for _module in ("openapi", "reports"):
    if importlib.util.find_spec(f"{__name__}.{_module}") is not None:
        importlib.import_module(f"{__name__}.{_module}")

csrf.exempt(bp)


@bp.errorhandler(Exception)
def _api_error(error: Exception) -> Response:
    return handle_api_error(error)


@bp.after_request
def _no_cookies(response: Response) -> Response:
    """API answers never set or refresh a session cookie, and are not cached."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.vary.add("Authorization")
    return response


__all__ = ["bp"]
