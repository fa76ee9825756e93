"""Reading a JSON request body through a marshmallow schema."""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import RAISE, Schema

from .errors import ApiError


def raw_json() -> dict[str, Any]:
    """The body as a JSON object, or 400."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_request", "Send a JSON object in the body, with Content-Type: application/json.")
    return data


def json_body(schema: type[Schema], *, partial: bool = False) -> dict[str, Any]:
    """The body loaded with ``schema``: unknown fields and wrong values are a 422 naming them."""
    loaded: dict[str, Any] = schema(unknown=RAISE, partial=partial).load(raw_json())
    return loaded
