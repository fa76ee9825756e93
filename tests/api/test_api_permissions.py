"""The authorization matrix of the JSON API: every ``api.`` route, tried with a bearer token by
the same five visitors as tests/test_authorization_matrix.py (nobody, Alice a participant of
timebank A, Cora a coordinator of A, Oscar a coordinator of timebank B, Ada an installation admin)
against the same seeded world (its ``_seed``): URL parameters point at timebank A's objects.

Outcomes: OK (2xx; for a write also 400/409/422, the permission check having passed),
UNAUTHORIZED (401, no token), FORBIDDEN (403), NOT_FOUND (404). Every refusal comes in the API's
error shape, and every refused request and every GET leaves each table exactly as it was
(``api_tokens`` aside: a token's ``last_used_at`` is allowed to move). Writes are sent a body
that would succeed for an allowed visitor, so a refusal is tested against a real request.

SQLite only, like the web matrix (permissions do not depend on the database; the API's own tests
run on both). The world is seeded once and restored before each endpoint.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select

from tests.test_authorization_matrix import (
    FORBIDDEN,
    NOT_FOUND,
    OK,
    ROLES,
    UNAUTHORIZED,
    Matrix,
    Outcome,
    Policy,
    Seeded,
    _endpoints,
    _method,
    _rule_for,
    _seed,
    sqlite_checkpoint,
)
from timebank import create_app
from timebank.api.auth import issue_token
from timebank.clock import today_in
from timebank.extensions import db
from timebank.models import Base, Category, Member

# -- policies (anonymous, participant, coordinator, other_coordinator, admin) ------------------
PUBLIC = Policy(OK, OK, OK, OK, OK)
ANY_TOKEN = Policy(UNAUTHORIZED, OK, OK, OK, OK)
# A list of the viewer's own timebank; an admin outside every timebank has none.
MEMBER_LIST = Policy(UNAUTHORIZED, OK, OK, OK, NOT_FOUND)
# An object of timebank A: its members and coordinators; never another timebank.
TIMEBANK_OBJECT = Policy(UNAUTHORIZED, OK, OK, NOT_FOUND, NOT_FOUND)
# Coordinators only, in their own timebank.
COORDINATOR = Policy(UNAUTHORIZED, FORBIDDEN, OK, OK, FORBIDDEN)
# A coordinator's step on timebank A's object (the other timebank's coordinator: not found).
COORDINATOR_OBJECT = Policy(UNAUTHORIZED, FORBIDDEN, OK, NOT_FOUND, FORBIDDEN)
# A coordinator's decision on timebank A's exchange; an installation admin decides in any timebank
# (what a coordinator may not decide for themselves waits for another coordinator or the admin).
DECIDER = Policy(UNAUTHORIZED, FORBIDDEN, OK, NOT_FOUND, OK)
# Something only members of a timebank do (an admin outside every timebank: refused).
MEMBER_WRITE = Policy(UNAUTHORIZED, OK, OK, OK, NOT_FOUND)
# Changing Alice's listing: Alice, or a coordinator of A.
OWNER_OR_COORDINATOR = Policy(UNAUTHORIZED, OK, OK, NOT_FOUND, FORBIDDEN)

API_EXPECTED: dict[str, Policy] = {
    "api.create_token": PUBLIC,  # an empty body: 400, the route itself is open
    "api.revoke_current_token": ANY_TOKEN,
    "api.me": ANY_TOKEN,
    "api.openapi": PUBLIC,
    "api.list_members": MEMBER_LIST,
    "api.get_member": TIMEBANK_OBJECT,
    "api.create_member": COORDINATOR,
    "api.list_listings": MEMBER_LIST,
    "api.create_listing": MEMBER_WRITE,  # Oscar: timebank A's category is not one of his (422)
    "api.get_listing": TIMEBANK_OBJECT,
    "api.update_listing": OWNER_OR_COORDINATOR,
    "api.delete_listing": OWNER_OR_COORDINATOR,
    "api.listing_matches": TIMEBANK_OBJECT,
    "api.create_exchange": TIMEBANK_OBJECT,  # Alice records with Bob; to Oscar they are unknown (404)
    "api.list_exchanges": MEMBER_LIST,
    "api.get_exchange": TIMEBANK_OBJECT,
    "api.confirm_exchange": Policy(UNAUTHORIZED, OK, OK, NOT_FOUND, FORBIDDEN),  # Bob's record for Alice
    "api.approve_exchange": DECIDER,  # not confirmed by Bob yet: 409 without a reason (allowed)
    "api.reject_exchange": DECIDER,
    "api.reverse_exchange": DECIDER,  # not approved yet: 409 (allowed)
    "api.create_donation": MEMBER_WRITE,  # each gives to their own pool; an admin outside every timebank: 404
    "api.get_account": TIMEBANK_OBJECT,  # Alice's own account
    "api.account_transfers": TIMEBANK_OBJECT,
    "api.monthly_report": Policy(UNAUTHORIZED, FORBIDDEN, OK, OK, FORBIDDEN),
}


@dataclass
class ApiMatrix:
    app: Flask
    matrix: Matrix  # the web matrix's restore and fingerprint, on the same seeded world
    tokens: dict[str, str]
    bodies: dict[str, dict[str, Any]]
    overrides: dict[tuple[str, str], object]
    client: FlaskClient


def _bodies(session: Any, seeded: Seeded) -> dict[str, dict[str, Any]]:
    alice = session.get(Member, seeded.members["participant"])
    bob = session.get(Member, seeded.params["member_id"])
    category = session.scalars(select(Category).where(Category.timebank_id == alice.timebank_id)).first()
    yesterday = today_in(alice.timebank.time_zone) - timedelta(days=1)
    return {
        "api.create_member": {"display_name": "Edna Wright", "checks_note": "Met at the centre with her daughter."},
        "api.create_listing": {"kind": "offer", "category_id": category.id, "title": "Tea and a chat"},
        "api.update_listing": {"title": "Shelves put up, brackets too"},
        "api.create_exchange": {
            "provider_id": alice.id,
            "recipient_id": bob.id,
            "hours": 1,
            "performed_on": yesterday.isoformat(),
            "description": "Carried the shopping",
        },
        "api.reject_exchange": {"reason": "Not timebank work"},
        "api.reverse_exchange": {"reason": "Entered twice"},
        "api.create_donation": {"hours": 1, "note": "For the community pool"},
    }


@pytest.fixture(scope="module")
def api_matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiMatrix]:
    folder = tmp_path_factory.mktemp("api_matrix")
    template, live = folder / "template.sqlite", folder / "live.sqlite"
    engine = create_engine(f"sqlite:///{live}")
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{live}",
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        session = db.session()
        seeded = _seed(session)
        tokens = {
            role: issue_token(session, session.get(Member, member_id))[0] for role, member_id in seeded.members.items()
        }
        bodies = _bodies(session, seeded)
        month = f"{today_in('Europe/London'):%Y-%m}"
        db.session.remove()
        db.engine.dispose()
    with sqlite_checkpoint(live):
        shutil.copyfile(live, template)
    seeded.params.setdefault("month", month)
    matrix = Matrix(app=app, template=template, live=live, seeded=seeded, clients={})
    yield ApiMatrix(
        app=app,
        matrix=matrix,
        tokens=tokens,
        bodies=bodies,
        overrides={
            ("api.monthly_report", "month"): month,
            # The exchange Bob recorded for Alice: hers to confirm.
            ("api.confirm_exchange", "exchange_id"): seeded.overrides[("exchanges.confirm", "exchange_id")],
        },
        client=app.test_client(use_cookies=False),
    )
    with app.app_context():
        db.engine.dispose()


def _url(api: ApiMatrix, endpoint: str) -> tuple[str, str]:
    rule = _rule_for(_endpoints(api.app)[endpoint])
    values: dict[str, object] = {}
    for name in rule.arguments:
        key = (endpoint, name)
        if key in api.overrides:
            values[name] = api.overrides[key]
        elif key in api.matrix.seeded.overrides:
            values[name] = api.matrix.seeded.overrides[key]
        else:
            values[name] = api.matrix.seeded.params[name]
    built = rule.build(values, append_unknown=False)
    assert built is not None
    return _method(rule), built[1]


def _fingerprint(api: ApiMatrix) -> Any:
    return tuple(table for table in api.matrix.fingerprint() if table[0] != "api_tokens")


def _outcome(status: int, method: str) -> Outcome | str:
    if status == 401:
        return UNAUTHORIZED
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status < 300 or (method != "GET" and status in (400, 409, 422)):
        return OK
    return f"unexpected {status}"


@dataclass
class Tried:
    role: str
    outcome: Outcome | str
    status: int
    changed: bool
    error_shape: bool


def _try(api: ApiMatrix, endpoint: str, role: str) -> Tried:
    method, url = _url(api, endpoint)
    headers = {"Accept": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {api.tokens[role]}"
    body = api.bodies.get(endpoint)
    before = _fingerprint(api)
    response = api.client.open(
        url,
        method=method,
        headers=headers,
        data=json.dumps(body) if body is not None and method != "GET" else None,
        content_type="application/json" if body is not None and method != "GET" else None,
    )
    response.get_data()
    response.close()
    changed = _fingerprint(api) != before
    error_shape = True
    if response.status_code >= 400:
        payload = response.get_json(silent=True)
        error_shape = isinstance(payload, dict) and set(payload.get("error", {})) == {"code", "message", "fields"}
    return Tried(role, _outcome(response.status_code, method), response.status_code, changed, error_shape)


def _api_endpoints(app: Flask) -> set[str]:
    return {endpoint for endpoint in _endpoints(app) if endpoint.startswith("api.")}


def test_every_api_route_has_a_row(api_matrix: ApiMatrix) -> None:
    routes = _api_endpoints(api_matrix.app)
    assert not sorted(routes - set(API_EXPECTED)), f"add rows to API_EXPECTED: {sorted(routes - set(API_EXPECTED))}"
    optional = {"api.openapi", "api.monthly_report"}  # another helper's routes, when present
    assert not sorted(set(API_EXPECTED) - routes - optional), "API_EXPECTED names routes the app does not have"


@pytest.mark.parametrize("endpoint", sorted(API_EXPECTED))
def test_each_role_with_a_token_is_allowed_or_refused_and_refusals_change_nothing(
    api_matrix: ApiMatrix, endpoint: str
) -> None:
    if endpoint not in _api_endpoints(api_matrix.app):
        pytest.skip(f"{endpoint} is not in this app")
    expected = API_EXPECTED[endpoint]
    api_matrix.matrix.restore()
    # Refused roles first, so an allowed write cannot change the world they are tried against.
    order = sorted(ROLES, key=lambda role: getattr(expected, role) is OK)
    tried = [_try(api_matrix, endpoint, role) for role in order]
    method, url = _url(api_matrix, endpoint)
    table = "\n".join(
        f"    {t.role:<18} expected {getattr(expected, t.role)!s:<6} got {t.outcome!s:<16} "
        f"{t.status} changed={t.changed}"
        for t in tried
    )
    assert all(t.outcome == getattr(expected, t.role) for t in tried), f"{method} {url}\n{table}"
    refused_or_read = [t.role for t in tried if t.changed and (method == "GET" or t.outcome is not OK)]
    assert not refused_or_read, f"{method} {url} changed the database for {refused_or_read}\n{table}"
    assert all(t.error_shape for t in tried), f"{method} {url}: an error without the API's error shape\n{table}"


def test_the_api_matrix_can_fail(api_matrix: ApiMatrix) -> None:
    """A policy claiming participants may approve exchanges is caught."""
    api_matrix.matrix.restore()
    tried = _try(api_matrix, "api.approve_exchange", "participant")
    assert tried.outcome == FORBIDDEN != OK
