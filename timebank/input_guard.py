"""Input no route can use is refused at the edge, once for every route, before any view,
form, rate limit or database sees it (docs/ARCHITECTURE.md, "Bad input at the edge").

- Text a database cannot store: a NUL byte (PostgreSQL refuses it in text) or a lone surrogate
  ("\\ud800" in JSON: no UTF-8 encoding exists) anywhere in the path, the query string, a form
  field or file name, a header, or a string or key of a JSON body. Answered 400, naming the field.
- JSON nested more than ``MAX_JSON_DEPTH`` deep (no request of ours has more than three levels;
  a 100,000-deep body would exhaust Python's recursion while being read). Answered 400.
- JSON sent to a web page: its forms are read from what a browser sends. Answered 400.
- A request body larger than ``MAX_CONTENT_LENGTH`` (Werkzeug refuses it with 413 as it reads:
  ``errors.py`` gives the page and the API's JSON).

The JSON provider also turns a ``RecursionError`` while decoding into a plain decoding error,
so no code that reads JSON (Flask-WTF, the API, rate-limit keys) can fail with a 500 on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from .api.errors import is_api_request

# Far above any real request: the largest timesheet upload is 256 KB (its own, friendlier limit,
# coordinator/timesheets.py) and its signed copy in the confirmation form about as much again.
MAX_CONTENT_LENGTH = 1024 * 1024
MAX_JSON_DEPTH = 32

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

UNREADABLE_MESSAGE = (
    "Something sent has a character that cannot be stored (an invisible zero byte or a broken "
    "character). Please type it again without it."
)
FORM_EXPECTED_MESSAGE = "This page takes a form filled in on the page, not JSON. The JSON API is at /api/v1."
TOO_DEEP_MESSAGE = f"The JSON sent is nested more than {MAX_JSON_DEPTH} levels deep. No request needs that many."


class UnreadableInput(BadRequest):
    """A request refused at the edge: ``message`` in plain words, ``field`` the part it is about."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class JsonNestedTooDeeply(ValueError):
    pass


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a document too deep to decode is a decoding error (a ValueError, which
    ``request.get_json`` answers with 400) rather than a RecursionError (a 500)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise JsonNestedTooDeeply(TOO_DEEP_MESSAGE) from None


def has_unstorable_text(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def _json_strings(document: Any) -> Iterator[tuple[str, str]]:
    """Every string of a JSON document (keys too) with the top-level field it is under; walked
    without recursion, refusing anything deeper than MAX_JSON_DEPTH."""
    pending: list[tuple[Any, str, int]] = [(document, "", 0)]
    while pending:
        value, field, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise UnreadableInput(TOO_DEEP_MESSAGE, field or None)
        if isinstance(value, str):
            yield field, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield field or key, key
                pending.append((item, field or key, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, field, depth + 1) for item in value)


def _reads_json() -> bool:
    """A body that says it is JSON; on the API, any body (its idempotency fingerprint reads any
    body as JSON)."""
    return request.is_json or is_api_request()


def _json_body() -> Any:
    """The body read as JSON, or None when it is not JSON (the view then says so itself)."""
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return current_app.json.loads(raw)
    except JsonNestedTooDeeply:
        raise UnreadableInput(TOO_DEEP_MESSAGE) from None
    except ValueError:
        return None


def _texts() -> Iterator[tuple[str, str]]:
    """(field, text) for every piece of text the request carries: a name and its value."""
    yield "path", request.path
    for name, value in request.args.items(multi=True):
        yield name, name
        yield name, value
    for name, value in request.headers.items():
        yield name, value
    if _reads_json():
        yield from _json_strings(_json_body())
        return
    for name, value in request.form.items(multi=True):
        yield name, name
        yield name, value
    for name, upload in request.files.items(multi=True):
        yield name, upload.filename or ""


def refuse_unreadable_input() -> None:
    """The before-request hook: raise ``UnreadableInput`` (400) at the first unstorable text, or
    for JSON sent to a web page (Flask-WTF would read any JSON as the form, lists and numbers too)."""
    if request.is_json and not is_api_request() and request.get_data(cache=True):
        raise UnreadableInput(FORM_EXPECTED_MESSAGE)
    for field, text in _texts():
        if has_unstorable_text(text):
            raise UnreadableInput(UNREADABLE_MESSAGE, None if has_unstorable_text(field) else field)


def register(app: Flask) -> None:
    """Call before the extensions: this hook must run before CSRF and rate limits read the body."""
    if app.config.get("MAX_CONTENT_LENGTH") is None:
        app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.json = BoundedJSONProvider(app)
    app.before_request(refuse_unreadable_input)
