"""The OpenAPI 3.1 document of the JSON API, built from the URL map and ``documented`` records.

Every rule of the ``api`` blueprint becomes an operation: werkzeug converters become path
parameters, the view's ``__api_doc__`` (see ``spec.py``) gives the summary, tags, request body,
query parameters and responses, and apispec's MarshmallowPlugin turns the marshmallow schemas
into JSON Schema components. What every endpoint shares is added here, in one place:

- the error shape ``{"error": {"code", "message", "fields"}}`` for every 4xx,
- 401 and the bearer security requirement on every authenticated endpoint,
- 400 on every endpoint (any request may carry a NUL byte, refused by ``input_guard.py``), 422
  on every endpoint that reads a JSON body or query parameters, 413 where there is a body,
- on every text field without a pattern of its own, a pattern that excludes NUL,
- the ``Idempotency-Key`` header (and its 409) on idempotent POSTs,
- 429 on token creation (rate limited),
- 503 with Retry-After on every endpoint (the database was too busy: nothing was done).

The document is built once per app and cached in ``app.extensions``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema
from werkzeug.routing import Rule

from ..ids import MAX_ID
from .schemas import ErrorSchema
from .spec import ApiDoc, api_doc_of

API_BLUEPRINT = "api"
API_TITLE = "Timebank API"
API_VERSION = "1.0.0"
ERROR_SCHEMA = "Error"
SECURITY_SCHEME = "bearerAuth"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Rate limited: a client that asks too often is answered 429 (see docs/API.md).
RATE_LIMITED_ENDPOINTS = frozenset({"api.create_token"})
# Tags in the order a newcomer needs them; any other tag comes after these, Documentation last.
TAG_ORDER = ("Tokens", "Me", "Members", "Listings", "Exchanges", "Accounts", "Reports")
LAST_TAG = "Documentation"
_CACHE_KEY = "timebank_openapi"

DESCRIPTION = "\n\n".join(
    [
        "The JSON API of the timebank: the same services, rules and permissions as the web pages.",
        "Get a token with `POST /api/v1/tokens` (your email and password), then send it on every request as "
        "`Authorization: Bearer <token>`.",
        "Hours are exact JSON numbers in the timebank's granularity (1.25 = 1 hour 15 minutes); the rare value "
        'with no exact decimal is the clock string "H:MM" (20 minutes = "0:20"). Every hours field has the exact '
        "whole minutes beside it (`*_minutes`).",
        'Every error is `{"error": {"code": "...", "message": "...", "fields": {...}}}`.',
        'Lists take `?page=&per_page=` (at most 100 per page) and answer `{"items", "page", "per_page", "total"}`.',
        "A POST that records hours takes an `Idempotency-Key` header: sending the same key with the same body "
        "again returns the first response; with a different body it is refused with 409.",
    ]
)

# werkzeug converter -> JSON Schema of the path parameter. ``int`` is the app's id converter
# (ids.StoredId): 1..MAX_ID, anything else matches no route (404).
CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
    "string": {"type": "string", "minLength": 1, "pattern": "^[^/\\x00]+$"},
    "default": {"type": "string", "minLength": 1, "pattern": "^[^/\\x00]+$"},
    "path": {"type": "string", "minLength": 1},
}
_RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")

TOKEN_EXAMPLE = """\
curl -X POST https://timebank.example.org/api/v1/tokens \\
  -H 'Content-Type: application/json' \\
  -d '{"email": "you@example.org", "password": "your password"}'

# Answer: {"token": "...", "expires_at": "..."}
# Then send the token on every request:
curl https://timebank.example.org/api/v1/me -H 'Authorization: Bearer <token>'"""


@dataclass(frozen=True)
class Operation:
    """One documented API operation: a rule, a method and its ``ApiDoc``."""

    rule: Rule
    method: str
    doc: ApiDoc | None

    @property
    def path(self) -> str:
        return openapi_path(self.rule.rule)


def openapi_path(rule: str) -> str:
    """``/api/v1/listings/<int:listing_id>`` -> ``/api/v1/listings/{listing_id}``."""
    return _RULE_ARGUMENT.sub(lambda match: "{" + match.group("name") + "}", rule)


def path_parameters(rule: Rule, overrides: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One parameter per ``<converter:name>`` of the rule; ``overrides`` (from ``documented``'s
    ``path``) replace the converter's schema, e.g. a pattern for a month."""
    parameters = []
    for match in _RULE_ARGUMENT.finditer(rule.rule):
        name = match.group("name")
        converter = match.group("converter") or "default"
        schema = dict((overrides or {}).get(name) or CONVERTER_SCHEMAS.get(converter, CONVERTER_SCHEMAS["default"]))
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    return parameters


def api_operations(app: Flask, blueprint: str = API_BLUEPRINT) -> Iterator[Operation]:
    """Every (rule, method) of the blueprint, in URL order, with the view's ``ApiDoc`` or None."""
    prefix = blueprint + "."
    rules = sorted(
        (rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith(prefix)),
        key=lambda rule: (rule.rule, rule.endpoint),
    )
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield Operation(rule, method, api_doc_of(view))


def undocumented_endpoints(app: Flask, blueprint: str = API_BLUEPRINT) -> list[str]:
    return sorted({operation.rule.endpoint for operation in api_operations(app, blueprint) if operation.doc is None})


# What each status means in this API, in plain words (the docs page shows these).
STATUS_MEANINGS: dict[int, str] = {
    200: "Done: the answer is in the body.",
    201: "Created: the new thing is in the body.",
    204: "Done: nothing to send back.",
    400: "The request could not be read: the body is not JSON or is nested too deeply, a header is wrong, or "
    "some text holds a NUL byte.",
    401: "No valid token: send Authorization: Bearer <token> with a token that has not expired.",
    403: "Your role may not do this.",
    404: "Not found, or not in your timebank.",
    409: "Not possible now: already done, a limit would be crossed, or the Idempotency-Key was used "
    "for another request.",
    413: "The body is larger than the server accepts (1 MB).",
    422: "A value is not right: error.fields says which and why.",
    429: "Too many attempts: wait a little and try again.",
    503: "Busy just now, so nothing was done: wait the Retry-After seconds and send the same request again "
    "(with the same Idempotency-Key, if it had one).",
}


def _description(status: int) -> str:
    if status in STATUS_MEANINGS:
        return STATUS_MEANINGS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)


# Response headers worth knowing, by status (documented, so clients and the fuzzer can rely on them).
ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "Always `Bearer realm=\"timebank\"`: this API takes bearer tokens only.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before sending the same request again.",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _description(status),
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}},
    }
    if status in ERROR_HEADERS:
        response["headers"] = ERROR_HEADERS[status]
    return response


def _statuses(operation: Operation, doc: ApiDoc) -> dict[int, Schema | type[Schema] | None]:
    statuses = dict(doc.responses)
    # Any request may be unreadable: a NUL byte in its path, query or a header (input_guard.py).
    statuses.setdefault(400, None)
    if doc.auth:
        statuses.setdefault(401, None)
    if doc.body is not None or doc.query is not None:
        statuses.setdefault(422, None)
    if doc.body is not None:
        statuses.setdefault(413, None)
    if doc.idempotent:
        statuses.setdefault(400, None)
        statuses.setdefault(409, None)
    if operation.rule.arguments:
        statuses.setdefault(404, None)
    if operation.rule.endpoint in RATE_LIMITED_ENDPOINTS:
        statuses.setdefault(429, None)
    statuses.setdefault(503, None)  # any request may meet a database too busy to answer (timebank/busy.py)
    return dict(sorted(statuses.items()))


def _operation_spec(operation: Operation, doc: ApiDoc) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = path_parameters(operation.rule, doc.path)
    if doc.query is not None:
        parameters.append({"in": "query", "schema": doc.query})
    if doc.idempotent:
        parameters.append(
            {
                "in": "header",
                "name": IDEMPOTENCY_HEADER,
                "required": doc.key_required,
                "description": "A key you choose for this request (e.g. a UUID). Send the same key when you "
                "retry it: the first answer is returned and nothing happens twice."
                + ("" if doc.key_required else " Optional, but without it a retry may do the work twice."),
                "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"},
            }
        )
    responses: dict[str, Any] = {}
    for status, schema in _statuses(operation, doc).items():
        if status >= 400:
            responses[str(status)] = _error_response(status)
            continue
        response: dict[str, Any] = {"description": _description(status)}
        content: dict[str, Any] = {}
        if schema is not None:
            content["application/json"] = {"schema": schema}
        if 200 <= status < 300:
            content.update(doc.content)
        if content:
            response["content"] = content
        if doc.idempotent and 200 <= status < 300:
            response["headers"] = REPLAYED_HEADER
        responses[str(status)] = response
    spec: dict[str, Any] = {
        "operationId": _operation_id(operation),
        "summary": doc.summary,
        "tags": doc.tags,
        "responses": responses,
        "security": [{SECURITY_SCHEME: []}] if doc.auth else [],
    }
    if doc.description:
        spec["description"] = doc.description
    if parameters:
        spec["parameters"] = parameters
    if doc.body is not None:
        spec["requestBody"] = {
            "required": doc.body_required,
            "content": {"application/json": {"schema": doc.body}},
        }
    return spec


def _operation_id(operation: Operation) -> str:
    """The endpoint's name; a view answering several methods gets the method appended."""
    name = operation.rule.endpoint.split(".", 1)[1]
    if len((operation.rule.methods or set()) - {"HEAD", "OPTIONS"}) > 1:
        name += "_" + operation.method.lower()
    return name


def _tag_rank(tag: str) -> tuple[int, int]:
    if tag in TAG_ORDER:
        return (0, TAG_ORDER.index(tag))
    return (2, 0) if tag == LAST_TAG else (1, 0)


# Text may hold any character but NUL, which no database column stores: input_guard.py refuses
# it with 400, before any view. Said on every text field that has no pattern of its own (those
# that have one exclude NUL themselves, e.g. schemas.SAYS_SOMETHING).
STORABLE_TEXT_PATTERN = "^[^\\x00]*$"


def storable_text(converter: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """An apispec attribute function: the NUL-free pattern on plain text properties (not on those
    with a format such as a date, an enum or a pattern already)."""
    types = ret.get("type")
    is_text = types == "string" or (isinstance(types, list) and "string" in types)
    if is_text and not {"pattern", "enum", "format"} & set(ret):
        return {"pattern": STORABLE_TEXT_PATTERN}
    return {}


def build_spec(app: Flask, blueprint: str = API_BLUEPRINT) -> APISpec:
    """The API's OpenAPI 3.1 document as an ``APISpec`` (``.to_dict()`` for JSON)."""
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(
        title=API_TITLE,
        version=API_VERSION,
        openapi_version="3.1.0",
        plugins=[marshmallow_plugin],
        info={"description": DESCRIPTION},
    )
    assert marshmallow_plugin.converter is not None  # made by APISpec's init_spec
    marshmallow_plugin.converter.add_attribute_function(storable_text)
    spec.components.schema(
        ERROR_SCHEMA, schema=ErrorSchema, description="Every error answer of the API has this shape."
    )
    spec.components.security_scheme(
        SECURITY_SCHEME,
        {"type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/tokens."},
    )
    tags: dict[str, None] = {}
    paths: dict[str, dict[str, Any]] = {}
    for operation in api_operations(app, blueprint):
        if operation.doc is None:
            continue
        for tag in operation.doc.tags:
            tags.setdefault(tag, None)
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation_spec(operation, operation.doc)
    for tag in sorted(tags, key=_tag_rank):
        spec.tag({"name": tag})
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec


def openapi_document(app: Flask) -> dict[str, Any]:
    """The document as a dict, built once per app."""
    cached = app.extensions.get(_CACHE_KEY)
    if cached is None:
        cached = build_spec(app).to_dict()
        app.extensions[_CACHE_KEY] = cached
    return dict(cached)


def serve_openapi() -> ResponseReturnValue:
    """The view of ``GET /api/v1/openapi.json`` (registered on the api blueprint)."""
    return jsonify(openapi_document(current_app))


# The route lives on the api blueprint (imported by timebank/api/__init__.py).
from .blueprint import bp  # noqa: E402
from .spec import documented  # noqa: E402


@bp.get("/openapi.json")
@documented(
    summary="This API's OpenAPI 3.1 description",
    tags=["Documentation"],
    responses={200: None},
    auth=False,
    content={"application/json": {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}},
)
def openapi() -> ResponseReturnValue:
    return serve_openapi()
