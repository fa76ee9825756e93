"""The OpenAPI document: valid, complete, served in public, and true to the shared conventions;
the human docs page made from it; and the response checker that holds every API test to it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Blueprint, Flask
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from sqlalchemy import create_engine

from tests.api.spec_check import SpecChecker
from timebank import create_app
from timebank.api.openapi import build_spec, openapi_document, openapi_path, undocumented_endpoints
from timebank.api.spec import documented
from timebank.models import Base

# The contract of issue 6: these operations must exist, at these paths.
CONTRACT = {
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/current"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/members"),
    ("post", "/api/v1/members"),
    ("get", "/api/v1/members/{member_id}"),
    ("get", "/api/v1/listings"),
    ("post", "/api/v1/listings"),
    ("get", "/api/v1/listings/{listing_id}"),
    ("patch", "/api/v1/listings/{listing_id}"),
    ("delete", "/api/v1/listings/{listing_id}"),
    ("get", "/api/v1/listings/{listing_id}/matches"),
    ("post", "/api/v1/exchanges"),
    ("get", "/api/v1/exchanges"),
    ("post", "/api/v1/exchanges/{exchange_id}/confirm"),
    ("post", "/api/v1/exchanges/{exchange_id}/approve"),
    ("post", "/api/v1/exchanges/{exchange_id}/reject"),
    ("post", "/api/v1/exchanges/{exchange_id}/reverse"),
    ("get", "/api/v1/accounts/{account_id}"),
    ("get", "/api/v1/accounts/{account_id}/transfers"),
    ("get", "/api/v1/reports/{month}"),
    ("get", "/api/v1/openapi.json"),
}
PUBLIC = {("post", "/api/v1/tokens"), ("get", "/api/v1/openapi.json")}


@pytest.fixture(scope="module")
def spec_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app with an empty SQLite database: the document needs no data."""
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'spec.sqlite'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url, "SERVER_NAME": "localhost"}
    )
    with app.app_context():
        yield app


@pytest.fixture(scope="module")
def document(spec_app: Flask) -> dict[str, Any]:
    return openapi_document(spec_app)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


def test_every_api_endpoint_carries_its_documentation(spec_app: Flask) -> None:
    assert undocumented_endpoints(spec_app) == [], "decorate these API views with @documented(...)"


def test_the_document_holds_the_whole_contract_and_every_rule_of_the_blueprint(
    spec_app: Flask, document: dict[str, Any]
) -> None:
    documented = {(method, path) for method, path, _ in operations(document)}
    assert documented >= CONTRACT, f"missing: {sorted(CONTRACT - documented)}"
    rules = {
        (method.lower(), openapi_path(rule.rule))
        for rule in spec_app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert documented == rules


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))


def test_errors_security_and_idempotency_follow_the_shared_conventions(document: dict[str, Any]) -> None:
    error_ref = {"$ref": "#/components/schemas/Error"}
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A token from POST /api/v1/tokens.",
    }
    for method, path, operation in operations(document):
        responses = operation["responses"]
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"] == {"application/json": {"schema": error_ref}}, (method, path, status)
        if (method, path) in PUBLIC:
            assert operation["security"] == [], (method, path)
        else:
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in responses, (method, path)
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert "{" + parameter["name"] + "}" in path
    assert "429" in document["paths"]["/api/v1/tokens"]["post"]["responses"]
    headers = [p for p in document["paths"]["/api/v1/exchanges"]["post"]["parameters"] if p["in"] == "header"]
    assert [(p["name"], p["required"]) for p in headers] == [("Idempotency-Key", True)]
    error = _resolve(document, document["components"]["schemas"]["Error"]["properties"]["error"])
    assert {"code", "message", "fields"} <= set(error["required"])


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_lists_answer_a_page_envelope_and_take_page_parameters(document: dict[str, Any]) -> None:
    lists = ["/api/v1/members", "/api/v1/listings", "/api/v1/exchanges", "/api/v1/accounts/{account_id}/transfers"]
    for path in lists:
        operation = document["paths"][path]["get"]
        envelope = _resolve(document, operation["responses"]["200"]["content"]["application/json"]["schema"])
        assert {"items", "page", "per_page", "total"} <= set(envelope["properties"]), path
        assert envelope["properties"]["items"]["type"] == "array", path
        query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        assert {"page", "per_page"} <= set(query), path
        assert query["per_page"]["schema"].get("maximum") == 100, path


def test_the_report_is_documented_as_json_and_csv(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/reports/{month}"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    month = next(p for p in operation["parameters"] if p["name"] == "month")
    assert re.fullmatch(month["schema"]["pattern"], "2026-11")
    assert not re.fullmatch(month["schema"]["pattern"], "2026-13")
    assert {"403", "404", "422"} <= set(operation["responses"])


def test_the_document_is_served_in_public_as_built(spec_app: Flask) -> None:
    response = spec_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == json.loads(json.dumps(build_spec(spec_app).to_dict()))


def test_the_docs_page_is_built_from_the_document_with_nothing_from_elsewhere(
    spec_app: Flask, document: dict[str, Any]
) -> None:
    response = spec_app.test_client().get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count("<h1") == 1
    for tag in document["tags"]:
        assert f">{tag['name']}</h2>" in page
    for method, path, _ in operations(document):
        assert f"<code>{method.upper()} {path}</code>" in page
    assert "curl -X POST https://timebank.example.org/api/v1/tokens" in page
    assert "<caption>Answers of POST /api/v1/exchanges</caption>" in page
    assert "Idempotency-Key" in page
    # Served from local files only: no script at all, no stylesheet or image from another host.
    assert "<script" not in page
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", page)


def _checker() -> SpecChecker:
    return SpecChecker(
        {
            "openapi": "3.1.0",
            "paths": {
                "/things/{id}": {
                    "get": {
                        "responses": {
                            "200": {
                                "content": {
                                    "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}},
                                    "text/csv": {"schema": {"type": "string"}},
                                }
                            },
                            "204": {"description": "nothing"},
                            "401": {
                                "headers": {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
                                "content": {"application/json": {"schema": {"type": "object"}}},
                            },
                        }
                    }
                }
            },
            "components": {
                "schemas": {
                    "Thing": {
                        "type": "object",
                        "required": ["on"],
                        "properties": {"on": {"type": "string", "format": "date"}},
                        "additionalProperties": False,
                    }
                }
            },
        }
    )


@pytest.mark.parametrize(
    ("status", "mimetype", "body", "problem"),
    [
        (200, "application/json", b'{"on": "2026-11-24"}', None),
        (200, "text/csv", b"a,b\r\n", None),
        (204, "", b"", None),
        (404, "application/json", b'{"error": {}}', "a status the OpenAPI document does not list"),
        (200, "application/json", b'{"on": "2026-11-24", "more": 1}', "Additional properties"),
        (200, "application/json", b'{"on": "24/11/2026"}', "is not a 'date'"),
        (200, "application/json", b"{}", "'on' is a required property"),
        (200, "text/html", b"<p>", "media type 'text/html' not documented"),
        (204, "application/json", b"{}", "the document says no body"),
        (401, "application/json", b"{}", "the required header WWW-Authenticate is missing"),
    ],
)
def test_the_response_checker_catches_what_breaks_the_document(
    status: int, mimetype: str, body: bytes, problem: str | None
) -> None:
    found = _checker().problem_with("GET", "/things/{id}", status, mimetype, body, {"Content-Type": mimetype})
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found



def test_the_response_checker_accepts_a_documented_header_in_any_case() -> None:
    headers = {"www-authenticate": 'Bearer realm="timebank"'}
    assert _checker().problem_with("GET", "/things/{id}", 401, "application/json", b"{}", headers) is None


def test_a_view_without_documented_is_named_and_left_out_of_the_document() -> None:
    app = Flask(__name__)
    bp = Blueprint("api", __name__, url_prefix="/api/v1")

    @bp.get("/things/<int:thing_id>")
    @documented(summary="A thing", tags=["Things"], responses={200: None})
    def get_thing(thing_id: int) -> str:
        return ""

    @bp.post("/things")
    def create_thing() -> str:
        return ""

    app.register_blueprint(bp)
    assert undocumented_endpoints(app) == ["api.create_thing"]
    document = build_spec(app).to_dict()
    assert list(document["paths"]) == ["/api/v1/things/{thing_id}"]
    responses = document["paths"]["/api/v1/things/{thing_id}"]["get"]["responses"]
    assert set(responses) == {"200", "400", "401", "404", "503"}
