"""No 500 on bad input, ever: every route of the app's URL map is sent what no form or client
should send, on SQLite and PostgreSQL, and must answer with a 4xx (docs/ARCHITECTURE.md, "Bad
input at the edge").

Each endpoint is tried by a visitor the authorization matrix allows in (its ``EXPECTED`` row),
with URL parameters pointing at the matrix's seeded objects, so the bad input reaches the view
and the database the way a real request's would:

- a NUL byte in the query string, in every field of the form the page shows (or of the JSON
  body, on the API), and in text path parameters: 400, in the usual error shape;
- a lone surrogate ("\\ud800") and a 100,000-deep body in JSON: 400;
- ids too large to store (10**20, 2**63, 2**31) in the path: 404 on every method, not 405;
- page numbers, ids and a month beyond 64 bits, and digits Python misreads ("²"), in the query
  string: no 5xx.

Then each kind of bad input once more as a person meets it on the web (sign-in, upload, report
month, page numbers, hours typed in other digits).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD, Factory
from tests.exchange_helpers import Browser, assert_nothing_changed, form_key, snapshot, today
from tests.test_authorization_matrix import EXPECTED, OK, ROLES, UNCHANGED, Seeded, _endpoints, _rule_for, _seed
from timebank.api.auth import issue_token
from timebank.coordinator.timesheets import MAX_FILE_BYTES
from timebank.forms_common import HoursInputError, parse_hours_to_minutes, parse_signed_hours_to_minutes
from timebank.ids import StoredId, parse_id
from timebank.input_guard import MAX_CONTENT_LENGTH
from timebank.models import Member

NUL = "a\x00b"
HUGE = "99999999999999999999"
ODD_DIGITS = "²"  # str.isdigit() says yes, int() raises ValueError
TOO_LARGE_IDS = (10**20, 2**63, 2**31)
DEEP_JSON = "[" * 100_000 + "]" * 100_000
# Query parameters the views read, beside the names of the fields of each page's forms.
QUERY_NAMES = ("q", "page", "per_page", "month", "member_id", "listing_id", "category", "kind", "status", "direction")
# Fields of forms that live on another page than the URL they are posted to (the exchange page's
# buttons, the coordinator's decisions...), beside the names scraped from each page.
FORM_NAMES = ("reason", "action", "request_key", "exchange_ids", "note", "email", "password", "month")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Who tries each endpoint: the first of these the authorization matrix lets in.
TRY_AS = ("participant", "coordinator", "admin", "anonymous", "other_coordinator")
PATH_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


class _FieldNames(HTMLParser):
    """The names of every input, select and textarea of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = dict(attrs).get("name")
        if tag in ("input", "select", "textarea", "button") and name and name not in self.names:
            self.names.append(name)


def field_names(html: str) -> list[str]:
    parser = _FieldNames()
    parser.feed(html)
    return parser.names


@dataclass
class Walk:
    app: Flask
    seeded: Seeded
    clients: dict[str, FlaskClient]
    emails: dict[str, str]
    api_token: str  # the coordinator's
    problems: list[str] = field(default_factory=list)

    def sign_in(self, role: str) -> None:
        if role == "anonymous":
            return
        response = self.clients[role].post("/login", data={"email": self.emails[role], "password": PASSWORD})
        assert response.status_code == 302, role

    def send(self, role: str, method: str, url: str, **kwargs: Any) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}))
        if url.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self.api_token}"
            headers.setdefault("Idempotency-Key", "bad-input-walk")
        response = self.clients[role].open(url, method=method, headers=headers, **kwargs)
        response.get_data()
        response.close()
        if method != "GET" and response.status_code < 400:
            self.sign_in(role)  # an accepted POST may have signed them out
        return response

    def expect(self, what: str, response: TestResponse, statuses: tuple[int, ...] | None = None) -> None:
        """No 5xx; with ``statuses``, one of them, in the usual error shape."""
        status = response.status_code
        if status >= 500 or (statuses is not None and status not in statuses):
            wanted = "/".join(map(str, statuses)) if statuses else "below 500"
            self.problems.append(f"{what}: {status}, expected {wanted}")
            return
        if statuses is not None and status >= 400:
            problem = _shape_problem(response)
            if problem:
                self.problems.append(f"{what}: {problem}")


def _shape_problem(response: TestResponse) -> str | None:
    if response.request.path.startswith("/api/"):
        body = response.get_json(silent=True)
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict) or set(error) != {"code", "message", "fields"}:
            return f"not the API's error shape: {response.get_data(as_text=True)[:200]}"
        return None
    if response.mimetype != "text/html":
        return f"not an HTML page: {response.mimetype}"
    return None


@pytest.fixture
def walk(app: Flask, session: Session) -> Iterator[Walk]:
    seeded = _seed(session)
    session.commit()
    emails = {}
    for role, member_id in seeded.members.items():
        member = session.get(Member, member_id)
        assert member is not None and member.email is not None
        emails[role] = member.email
    coordinator = session.get(Member, seeded.members["coordinator"])
    assert coordinator is not None
    token, _row = issue_token(session, coordinator)
    session.commit()
    built = Walk(
        app=app,
        seeded=seeded,
        clients={role: app.test_client() for role in ROLES},
        emails=emails,
        api_token=token,
    )
    for role in ROLES:
        built.sign_in(role)
    yield built


def _role_for(endpoint: str) -> str:
    policy = EXPECTED[endpoint]
    if endpoint.startswith("api.") and endpoint not in ("api.create_token", "api.openapi"):
        return "coordinator"  # with the coordinator's bearer token
    # A route nobody in the matrix may use (only the member who asked withdraws their request) is
    # still tried, as a coordinator: bad input is refused before any permission check.
    return next((role for role in TRY_AS if getattr(policy, role) in (OK, UNCHANGED)), "coordinator")


def _values(walk: Walk, rule: Rule) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in rule.arguments:
        key = (rule.endpoint, name)
        values[name] = walk.seeded.overrides.get(key, walk.seeded.params.get(name))
    return values


def _path(rule: Rule, values: dict[str, Any]) -> str:
    """The rule's path with these values put in as they are (no converter checks them)."""
    return re.sub(r"<(?:[^>:]+:)?([^>]+)>", lambda match: quote(str(values[match.group(1)]), safe=""), rule.rule)


def _methods(rule: Rule) -> list[str]:
    return [method for method in METHODS if method in (rule.methods or set())]


def _form_names(walk: Walk, role: str, rule: Rule, url: str) -> list[str]:
    names = list(FORM_NAMES)
    if "GET" in (rule.methods or set()) and not url.startswith("/api/"):
        page = walk.send(role, "GET", url)
        if page.mimetype == "text/html":
            names += [name for name in field_names(page.get_data(as_text=True)) if name not in names]
    return names


def _body_names(walk: Walk, rule: Rule, method: str) -> list[str]:
    """The API body's fields, from the OpenAPI document."""
    from timebank.api.openapi import openapi_document, openapi_path

    document = openapi_document(walk.app)
    operation = document["paths"].get(openapi_path(rule.rule), {}).get(method.lower(), {})
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return list(schema.get("properties", {})) or ["title"]


def _try_endpoint(walk: Walk, endpoint: str) -> None:
    rule = _rule_for(_endpoints(walk.app)[endpoint])
    role = _role_for(endpoint)
    values = _values(walk, rule)
    missing = [name for name, value in values.items() if value is None]
    assert not missing, f"{endpoint}: the matrix seeds nothing for {missing}"
    url = _path(rule, values)
    query = walk.seeded.queries.get(endpoint, {})
    base = url + ("?" + urlencode(query) if query else "")
    joiner = "&" if query else "?"
    api = url.startswith("/api/")
    for method in _methods(rule):
        label = f"{method} {endpoint} ({role})"
        nul_query = urlencode({name: NUL for name in QUERY_NAMES})
        walk.expect(f"{label}, NUL in the query", walk.send(role, method, base + joiner + nul_query), (400,))
        huge = urlencode({"page": HUGE, "per_page": HUGE, "member_id": HUGE, "listing_id": HUGE, "month": f"{HUGE}-01"})
        walk.expect(f"{label}, numbers beyond 64 bits in the query", walk.send(role, method, base + joiner + huge))
        odd = urlencode(dict.fromkeys(("page", "per_page", "member_id", "listing_id", "month"), ODD_DIGITS))
        walk.expect(f"{label}, digits Python reads oddly in the query", walk.send(role, method, base + joiner + odd))
        for converter, name in PATH_ARGUMENT.findall(rule.rule):
            if converter == "int":
                for too_large in TOO_LARGE_IDS:
                    path = _path(rule, {**values, name: too_large})
                    for any_method in METHODS:
                        walk.expect(
                            f"{any_method} {endpoint}, {name}={too_large}", walk.send(role, any_method, path), (404,)
                        )
            else:
                path = _path(rule, {**values, name: NUL})
                walk.expect(f"{label}, NUL in <{name}>", walk.send(role, method, path), (400,))
        if method == "GET":
            continue
        if api:
            for name in _body_names(walk, rule, method):
                walk.expect(f"{label}, NUL in JSON {name!r}", walk.send(role, method, url, json={name: NUL}), (400,))
            walk.expect(
                f"{label}, a lone surrogate in JSON",
                walk.send(role, method, url, data='{"title": "\\ud800"}', content_type="application/json"),
                (400,),
            )
        else:
            names = _form_names(walk, role, rule, base)
            walk.expect(
                f"{label}, NUL in every form field",
                walk.send(role, method, base, data=dict.fromkeys(names, NUL)),
                (400,),
            )
            walk.expect(
                f"{label}, a JSON body with NUL", walk.send(role, method, base, json=dict.fromkeys(names, NUL)), (400,)
            )
        walk.expect(
            f"{label}, JSON 100,000 deep",
            walk.send(role, method, base, data=DEEP_JSON, content_type="application/json"),
            (400,),
        )


def test_no_route_answers_bad_input_with_a_server_error(walk: Walk) -> None:
    endpoints = sorted(endpoint for endpoint in _endpoints(walk.app) if endpoint in EXPECTED)
    assert len(endpoints) > 100, "the URL map lost its routes"
    for endpoint in endpoints:
        _try_endpoint(walk, endpoint)
    assert not walk.problems, f"{len(walk.problems)} answers were wrong:\n" + "\n".join(walk.problems)


def test_the_walk_notices_a_server_error(walk: Walk) -> None:
    """The check can fail: a view that breaks is caught."""

    def broken() -> str:
        raise RuntimeError("a bug")

    walk.app.view_functions["health.healthz"] = broken
    _try_endpoint(walk, "health.healthz")
    assert walk.problems and all(": 500, expected" in problem for problem in walk.problems), walk.problems


def test_every_id_in_a_path_is_a_stored_id(app: Flask) -> None:
    """No route takes an id the database cannot hold: ``<int:...>`` is ``ids.StoredId`` (which
    takes no arguments), and no route takes a number any other way."""
    assert app.url_map.converters["int"] is StoredId
    numeric = [
        f"{rule.rule}: <{converter}:{name}>"
        for rule in app.url_map.iter_rules()
        for converter, name in PATH_ARGUMENT.findall(rule.rule)
        if converter == "float"
    ]
    assert not numeric


def test_json_in_a_web_form_is_read_safely(walk: Walk) -> None:
    response = walk.send("participant", "POST", "/donate", data=json.dumps([1, 2]), content_type="application/json")
    walk.expect("POST /donate with a JSON list", response)
    assert not walk.problems


# -- each kind of bad input on the web, as a person would meet it -------------------------------


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


def test_a_nul_byte_in_the_sign_in_form_is_a_400_page(client: FlaskClient, factory: Factory) -> None:
    world = factory.world()
    response = client.post("/login", data={"email": f"{world.alice.email}\x00", "password": PASSWORD})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "cannot be stored" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302  # not signed in


def test_an_upload_over_the_limit_is_a_clear_413_page(browser: Browser, factory: Factory) -> None:
    world = factory.world()
    browser.sign_in(world.coordinator)
    huge = b"date,provider,recipient,hours,description\r\n" + b"x" * MAX_CONTENT_LENGTH
    response = browser.client.post(
        "/coordinator/import", data={"file": (io.BytesIO(huge), "timesheet.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 413 and response.mimetype == "text/html"
    assert "at most 1024 KB" in response.get_data(as_text=True)


def test_the_request_limit_is_above_any_timesheet_the_import_takes() -> None:
    assert MAX_CONTENT_LENGTH > 2 * MAX_FILE_BYTES  # the file, and its signed copy in the confirmation form


@pytest.mark.parametrize("too_large", [2**31, 2**63, 10**20])
def test_an_id_too_large_to_store_is_404_on_every_method(client: FlaskClient, too_large: int) -> None:
    for path in (f"/exchanges/{too_large}", f"/listings/{too_large}/edit", f"/coordinator/applications/{too_large}"):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            assert client.open(path, method=method).status_code == 404, (method, path)


def test_a_month_beyond_any_calendar_is_refused_on_the_report_page(browser: Browser, factory: Factory) -> None:
    world = factory.world()
    browser.sign_in(world.coordinator)
    for month in ("99999999999999999999-01", "٢٠٢٦-٠١", "2026-13", "0001-01"):
        response = browser.get(f"/reports/monthly?month={month}")
        assert response.status_code == 422, month
        assert "Choose a month" in response.get_data(as_text=True)


def test_a_page_number_beyond_64_bits_shows_the_last_page(browser: Browser, factory: Factory) -> None:
    world = factory.world()
    browser.sign_in(world.alice)
    for path in ("/listings", "/members", "/notifications"):
        assert browser.get(f"{path}?page={HUGE}").status_code == 200, path
        assert browser.get(f"{path}?page=١").status_code == 200, path


@pytest.mark.parametrize("typed", ["١", "١.٥", "１", "٢ hours"])
def test_hours_in_other_digits_are_refused_on_the_form(
    browser: Browser, factory: Factory, session: Session, typed: str
) -> None:
    world = factory.world()
    browser.sign_in(world.alice)
    page = browser.page(f"/exchanges/record?member_id={world.bob.id}")
    before = snapshot(session)
    response = browser.post(
        "/exchanges/record",
        {
            "request_key": form_key(page),
            "other_member": str(world.bob.id),
            "direction": "they_helped",
            "performed_on": today().strftime("%d/%m/%Y"),
            "duration": typed,
            "description": "Bob sorted my phone",
        },
    )
    assert response.status_code == 422
    assert "Write the time with the digits 0 to 9" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("١", "digits 0 to 9"),
        ("１:３０", "digits 0 to 9"),
        ("²", "digits 0 to 9"),
        ("1_000", "Enter the time in hours"),
    ],
)
def test_the_hours_parser_reads_only_ascii_digits(typed: str, message: str) -> None:
    with pytest.raises(HoursInputError) as caught:
        parse_hours_to_minutes(typed, 15)
    assert message in caught.value.message
    with pytest.raises(HoursInputError):
        parse_signed_hours_to_minutes(f"-{typed}", 15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        (" 42 ", 42),
        ("2147483647", 2147483647),
        ("2147483648", None),
        ("0", None),
        ("²", None),
        ("١", None),
        ("-1", None),
        ("1_000", None),
        ("9" * 5000, None),
        ("", None),
        (None, None),
    ],
)
def test_an_id_typed_as_text_is_ascii_digits_naming_a_storable_id(text: str | None, expected: int | None) -> None:
    assert parse_id(text) == expected
