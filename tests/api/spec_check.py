"""Every response of the API tests is checked against the OpenAPI document.

``validate_api_responses`` (autouse, imported by tests/api/conftest.py) listens to Flask's
``request_finished`` signal on the test's app: each response of an ``api.`` endpoint must have
its status listed for that path and method, its media type documented, and a JSON body that
validates (jsonschema, JSON Schema 2020-12, formats checked) against the documented schema.
Problems are collected and fail the test at teardown, with the request and the reason, since an
exception inside ``request_finished`` may be swallowed by Flask's error handling.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, request, request_finished
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.wrappers import Response

from timebank.api.openapi import API_BLUEPRINT, openapi_document, openapi_path

DOCUMENT_URI = "urn:timebank:openapi"


def _pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


@dataclass
class SpecChecker:
    """Checks responses against one app's OpenAPI document."""

    document: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    def __post_init__(self) -> None:
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)

    def problem_with(
        self,
        method: str,
        path: str,
        status: int,
        mimetype: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> str | None:
        """Why this response breaks the document, or None when it conforms."""
        operation = self.document["paths"].get(path, {}).get(method.lower())
        if operation is None:
            return f"{method} {path} is not in the OpenAPI document"
        responses = operation["responses"]
        key = str(status) if str(status) in responses else "default"
        if key not in responses:
            return f"{method} {path} answered {status}, a status the OpenAPI document does not list"
        for name, header in responses[key].get("headers", {}).items():
            if header.get("required") and name.lower() not in {sent.lower() for sent in (headers or {})}:
                return f"{method} {path} {status}: the required header {name} is missing"
        content = responses[key].get("content", {})
        if not content:
            if body:
                return f"{method} {path} {status}: the document says no body, but one was sent ({mimetype})"
            return None
        if mimetype not in content:
            return f"{method} {path} {status}: media type {mimetype!r} not documented (only {sorted(content)})"
        if mimetype != "application/json" or "schema" not in content[mimetype]:
            return None
        try:
            instance = json.loads(body)
        except ValueError as error:
            return f"{method} {path} {status}: the body is not JSON ({error})"
        pointer = _pointer("paths", path, method.lower(), "responses", key, "content", mimetype, "schema")
        validator = Draft202012Validator(
            {"$ref": f"{DOCUMENT_URI}#/{pointer}"},
            registry=self._registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.absolute_path))
        if errors:
            details = "; ".join(
                f"at {'/'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
                for error in errors[:5]
            )
            return f"{method} {path} {status}: body breaks the schema: {details}\nbody: {body[:500]!r}"
        return None

    def check(self, method: str, rule: str, response: Response) -> None:
        self.checked += 1
        problem = self.problem_with(
            method,
            openapi_path(rule),
            response.status_code,
            response.mimetype or "",
            response.get_data(),
            dict(response.headers),
        )
        if problem:
            self.problems.append(problem)


_DOCUMENTS: dict[tuple[tuple[str, str, tuple[str, ...]], ...], dict[str, Any]] = {}


def checker_for(app: Flask) -> SpecChecker:
    """A checker for the app's document. Every test makes a new app from the same code, so the
    document is built once per run for each distinct set of API rules (tests are many)."""
    key = tuple(
        sorted(
            (rule.endpoint, rule.rule, tuple(sorted(rule.methods or ())))
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith(API_BLUEPRINT + ".")
        )
    )
    if key not in _DOCUMENTS:
        _DOCUMENTS[key] = openapi_document(app)
    return SpecChecker(_DOCUMENTS[key])


@pytest.fixture(autouse=True)
def validate_api_responses(request: pytest.FixtureRequest) -> Iterator[SpecChecker | None]:
    """For tests that use the ``app`` fixture: every API response must conform to the document."""
    if "app" not in request.fixturenames:
        yield None
        return
    app: Flask = request.getfixturevalue("app")
    checker = checker_for(app)

    def on_response(sender: Flask, response: Response, **_extra: object) -> None:
        rule = request_rule()
        if rule is None:
            return
        endpoint, method, path = rule
        if endpoint.startswith(API_BLUEPRINT + ".") and method not in ("HEAD", "OPTIONS"):
            checker.check(method, path, response)

    request_finished.connect(on_response, app)
    try:
        yield checker
    finally:
        request_finished.disconnect(on_response, app)
    if checker.problems:
        pytest.fail("Responses that break the OpenAPI document:\n" + "\n".join(checker.problems), pytrace=False)


def request_rule() -> tuple[str, str, str] | None:
    """(endpoint, method, rule) of the request being finished, or None when no rule matched."""
    rule = request.url_rule
    if rule is None or rule.endpoint is None:
        return None
    return rule.endpoint, request.method, rule.rule
