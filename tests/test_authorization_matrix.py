"""The authorization matrix: every route of the app, tried by every kind of visitor.

The routes come from the app's URL map, so a new route cannot slip past: ``EXPECTED`` must name
every endpoint (``test_every_route_has_a_row_in_the_matrix`` fails otherwise, and says what to
add). Each row is a policy: what each of five visitors gets.

    anonymous          nobody signed in
    participant        Alice, an approved participant of timebank A
    coordinator        Cora, a coordinator of timebank A
    other_coordinator  Oscar, a coordinator of timebank B (another timebank)
    admin              Ada, an installation admin, in no timebank

URL parameters are filled with objects of timebank A (Alice's listing, an exchange Alice
recorded with Bob, Bob's member page, an applicant to A...), so the coordinator of timebank B is
exactly the "coordinator of another timebank" case: refused with 404 (they must not even learn
the object exists).

Outcomes:

    OK          allowed: a status below 400 that is not a redirect to the sign-in page.
                For a POST it may also be 400, 409 or 422: the matrix sends an empty form, and
                passing the permission check does not need a valid form (the area's own tests
                check the forms). What a POST must never do for an allowed role is answer
                401/403/404 or send to sign-in.
    LOGIN       a redirect to the sign-in page
    FORBIDDEN   403
    NOT_FOUND   404
    UNCHANGED   allowed (as OK), and the database is exactly as before: for a list-level form that
                names objects, such as ticking exchanges in the approvals queue, tried by the
                coordinator of another timebank with timebank A's exchange ids.
    UNAUTHORIZED  401: the JSON API (``api.`` endpoints) takes only bearer tokens and ignores
                session cookies, so every visitor here, signed in or not, gets 401 from every
                route that needs a token (``API_TOKEN_ONLY``). Who may do what with a token is
                tests/api/test_api_permissions.py's matrix, over the same five roles.

A rule that takes only PATCH or DELETE (API routes) is sent that method, with no body.

Every refused request (LOGIN, FORBIDDEN, NOT_FOUND) must also change nothing: a fingerprint of
every table's rows (which covers row counts and every account's totals) is compared before and
after. GET requests, allowed or not, must change nothing either.

Speed: the world is seeded once per module into a SQLite file and copied back before each
endpoint, so the matrix (every role x every endpoint) takes seconds. It runs on SQLite only:
permissions do not depend on the database, and the areas' own HTTP tests run on both.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text
from werkzeug.routing import Rule

from tests.conftest import PASSWORD, Factory
from timebank import clock, create_app
from timebank.auth.tokens import make_reset_token
from timebank.clock import today_in
from timebank.coordinator.activities import ActivityRequest, record_activity
from timebank.coordinator.members_service import set_limits
from timebank.digest.service import make_unsubscribe_token
from timebank.exchanges.service import ProposalRequest, RecordRequest, propose_exchange, record_exchange
from timebank.extensions import db
from timebank.ledger.close import close_month
from timebank.ledger.periods import month_start
from timebank.listings.service import ListingInput, create_listing
from timebank.models import (
    ActivityDirection,
    Base,
    Category,
    DecisionRequest,
    ListingKind,
    Member,
    MemberStatus,
    Notification,
    Role,
)

ROLES = ("anonymous", "participant", "coordinator", "other_coordinator", "admin")


class Outcome(StrEnum):
    OK = "ok"
    LOGIN = "login"
    FORBIDDEN = "403"
    NOT_FOUND = "404"
    UNCHANGED = "ok, no change"
    UNAUTHORIZED = "401"


OK, LOGIN, FORBIDDEN, NOT_FOUND, UNCHANGED, UNAUTHORIZED = (
    Outcome.OK,
    Outcome.LOGIN,
    Outcome.FORBIDDEN,
    Outcome.NOT_FOUND,
    Outcome.UNCHANGED,
    Outcome.UNAUTHORIZED,
)


class Policy(NamedTuple):
    """What each visitor gets, in the order of ROLES."""

    anonymous: Outcome
    participant: Outcome
    coordinator: Outcome
    other_coordinator: Outcome
    admin: Outcome


# -- policies --------------------------------------------------------------------------------
# Open to everyone (signed-in members may be sent on to their dashboard: still allowed).
PUBLIC = Policy(OK, OK, OK, OK, OK)
# Any signed-in member of a timebank; the page shows their own timebank's things. An admin
# outside every timebank has no such page.
MEMBER = Policy(LOGIN, OK, OK, OK, NOT_FOUND)
# Any signed-in visitor (admins too): their own account.
SIGNED_IN = Policy(LOGIN, OK, OK, OK, OK)
# An object of timebank A: its members and coordinators see it, other timebanks do not.
TIMEBANK_OBJECT = Policy(LOGIN, OK, OK, NOT_FOUND, NOT_FOUND)
# A coordinator's page listing their own timebank's things.
COORDINATOR = Policy(LOGIN, FORBIDDEN, OK, OK, FORBIDDEN)
# A coordinator's page or action on one object of timebank A.
COORDINATOR_OBJECT = Policy(LOGIN, FORBIDDEN, OK, NOT_FOUND, FORBIDDEN)
# Installation administration.
ADMIN = Policy(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK)
# An object of timebank A its owner (Alice) may change, and its coordinators for her.
OWNER_OR_COORDINATOR = Policy(LOGIN, OK, OK, NOT_FOUND, NOT_FOUND)
# A step only the parties to an exchange take (Alice is one; the coordinator is not).
PARTY = Policy(LOGIN, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND)
# A coordinator acting for a member (Bob) of timebank A, through the member pages.
COORDINATOR_ACTS_FOR = Policy(LOGIN, FORBIDDEN, OK, NOT_FOUND, NOT_FOUND)
# A member's private records (Bob's statements): Bob and his timebank's coordinators; anyone else 404.
MEMBER_PRIVATE = Policy(LOGIN, NOT_FOUND, OK, NOT_FOUND, NOT_FOUND)
# The JSON API with a bearer token: a session cookie counts for nothing (401 for everyone here).
API_TOKEN_ONLY = Policy(UNAUTHORIZED, UNAUTHORIZED, UNAUTHORIZED, UNAUTHORIZED, UNAUTHORIZED)


# -- the matrix ------------------------------------------------------------------------------
# Every endpoint of the app -> its policy. ADD A ROW FOR EVERY NEW ROUTE (and, if its URL takes a
# parameter the matrix does not know yet, seed the object in _seed below).
EXPECTED: dict[str, Policy] = {
    # Signing in and joining: open to all; signed-in members are sent on to their dashboard.
    "auth.login": PUBLIC,
    "auth.join": PUBLIC,
    "auth.forgot_password": PUBLIC,
    "auth.reset_link_sent": PUBLIC,
    "auth.application_sent": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.sign_ins": SIGNED_IN,
    "auth.sign_out_everywhere": SIGNED_IN,
    "auth.session_status": PUBLIC,  # JSON: {"signed_in": false} for a visitor
    "auth.send_kept_form": SIGNED_IN,
    "auth.discard_kept_form": SIGNED_IN,
    "auth.application_status": SIGNED_IN,
    # Two-factor sign-in: the code step is for someone whose password was just accepted (anyone
    # else is sent to sign in; signed-in members on to their page); the rest is one's own account.
    "two_factor.sign_in": SIGNED_IN,
    "two_factor.setup": SIGNED_IN,
    "two_factor.settings": SIGNED_IN,
    "two_factor.new_recovery_codes": SIGNED_IN,
    "two_factor.turn_off": SIGNED_IN,
    "main.home": PUBLIC,
    "health.healthz": PUBLIC,
    "dashboard.index": SIGNED_IN,
    # Notifications: each visitor's own; marking one read is tried on one of Alice's
    "notifications.index": SIGNED_IN,
    "notifications.settings": SIGNED_IN,
    "notifications.mark_all_read": SIGNED_IN,
    "notifications.mark_read": Policy(LOGIN, OK, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    # Members
    "members.directory": MEMBER,
    "members.me": MEMBER,
    "members.profile": MEMBER,
    "members.show": TIMEBANK_OBJECT,
    "members.edit_for": COORDINATOR_ACTS_FOR,
    # Listings (Alice's own listing)
    "listings.index": MEMBER,
    "listings.mine": MEMBER,
    "listings.new": MEMBER,
    "listings.show": TIMEBANK_OBJECT,
    "listings.edit": OWNER_OR_COORDINATOR,
    "listings.change_status": OWNER_OR_COORDINATOR,
    "matching.listing_matches": TIMEBANK_OBJECT,
    # Exchanges (Alice recorded time for Bob; "confirm" is tried on one Bob recorded for Alice)
    "exchanges.index": MEMBER,
    "exchanges.new": TIMEBANK_OBJECT,  # ?member_id=Bob
    "exchanges.record_direct": MEMBER,
    "exchanges.organisation": MEMBER,
    "exchanges.donate": MEMBER,
    "exchanges.detail": TIMEBANK_OBJECT,
    "exchanges.record": TIMEBANK_OBJECT,
    "exchanges.confirm": OWNER_OR_COORDINATOR,
    "exchanges.dispute": OWNER_OR_COORDINATOR,
    "exchanges.accept": PARTY,
    "exchanges.decline": PARTY,
    "exchanges.cancel": PARTY,
    # Coordinator: start page, applications, exchange approvals
    "coordinator.index": COORDINATOR,
    "coordinator.applications": COORDINATOR,
    "coordinator.application": COORDINATOR_OBJECT,
    "coordinator.approve": COORDINATOR_OBJECT,
    "coordinator.decline": COORDINATOR_OBJECT,
    "coordinator.exchanges_queue": COORDINATOR,
    "coordinator.dashboard": COORDINATOR,
    "coordinator.outreach": COORDINATOR,
    "coordinator.stale_requests": COORDINATOR,
    "coordinator.near_limits": COORDINATOR,
    "coordinator.approve_exchange": COORDINATOR_OBJECT,
    "coordinator.reject_exchange": COORDINATOR_OBJECT,
    "coordinator.settle_exchange": COORDINATOR_OBJECT,
    # Timebank A's exchange ticked and sent by another timebank's coordinator: nothing happens.
    "coordinator.bulk_decide": Policy(LOGIN, FORBIDDEN, OK, UNCHANGED, FORBIDDEN),
    # Coordinator: corrections (the exchange Alice recorded) and grants from the community pool
    "coordinator.reverse_exchange": COORDINATOR_OBJECT,
    "coordinator.request_reversal": COORDINATOR_OBJECT,
    "coordinator.new_grant": COORDINATOR,
    # What waits for another coordinator: Cole (a second coordinator of A) asked for his own
    # limits; Cora decides it; only Cole may withdraw it. The self-approval setting.
    "coordinator.decide_request": COORDINATOR_OBJECT,
    "coordinator.withdraw_request": Policy(LOGIN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN),
    "coordinator.self_approval": COORDINATOR,
    "admin.timebank_self_approval": ADMIN,
    "admin.decide_exchange": ADMIN,
    "admin.decide_request": ADMIN,
    # Coordinator: acting for a member (Bob)
    "coordinator.act": COORDINATOR,
    "coordinator.act_for": COORDINATOR_OBJECT,
    "coordinator.act_new_listing": COORDINATOR_OBJECT,
    "coordinator.act_record": COORDINATOR_OBJECT,
    "coordinator.act_propose": COORDINATOR_OBJECT,
    # Coordinator: members (Bob)
    "coordinator.members": COORDINATOR,
    "coordinator.register_member": COORDINATOR,
    "coordinator.member": COORDINATOR_OBJECT,
    "coordinator.add_note": COORDINATOR_OBJECT,
    "coordinator.member_limits": COORDINATOR_OBJECT,
    "coordinator.sign_member_out": COORDINATOR_OBJECT,
    "coordinator.suspend_member": COORDINATOR_OBJECT,
    "coordinator.reactivate_member": COORDINATOR_OBJECT,
    "coordinator.member_left": COORDINATOR_OBJECT,
    # The audit trail: a coordinator's own timebank; admins see every timebank's
    "coordinator.audit": COORDINATOR,
    "coordinator.audit_csv": COORDINATOR,
    "admin.audit": ADMIN,
    "admin.audit_csv": ADMIN,
    # Administration: timebanks (timebank A), their settings and coordinators (Bob)
    "admin.index": ADMIN,
    "admin.new_timebank": ADMIN,
    "admin.timebank": ADMIN,
    "admin.timebank_settings": ADMIN,
    "admin.timebank_session_limits": ADMIN,
    "admin.appoint_coordinator": ADMIN,
    "admin.stand_down_coordinator": ADMIN,
    "admin.jobs": ADMIN,
    "admin.outbox": ADMIN,  # development only (OUTBOX_PAGE); production: 404 for everyone
    "admin.two_factor_requirement": ADMIN,
    "admin.reset_two_factor": ADMIN,  # Bob's (who has none: a 409, still past the permission check)
    # The weekly digest's unsubscribe link (Bob's): the signed token is the permission.
    "digest.unsubscribe": PUBLIC,
    # Coordinator: group activities (one held in timebank A) and the timesheet import
    "coordinator.activities_list": COORDINATOR,
    "coordinator.new_activity": COORDINATOR,
    "coordinator.activity_detail": COORDINATOR_OBJECT,
    "coordinator.import_timesheet": COORDINATOR,
    "coordinator.commit_timesheet": COORDINATOR,
    "coordinator.recheck_timesheet": COORDINATOR,
    "coordinator.timesheet_template": COORDINATOR,
    # Reports: a coordinator's own timebank's month (another timebank's coordinator gets theirs);
    # the network report for admins
    "reports.monthly": COORDINATOR,
    "reports.monthly_csv": COORDINATOR,
    "reports.monthly_pdf": COORDINATOR,
    "reports.hour_value": COORDINATOR,
    "reports.network": ADMIN,
    "reports.network_csv": ADMIN,
    # Statements of closed months (Bob's, of a closed month of timebank A) and the month close
    "statements.mine": MEMBER,
    "statements.member_statements": MEMBER_PRIVATE,
    "statements.show": MEMBER_PRIVATE,
    "statements.csv": MEMBER_PRIVATE,
    "statements.pdf": MEMBER_PRIVATE,
    "statements.months": COORDINATOR,
    "statements.close": COORDINATOR,  # each coordinator closes last month of their own timebank
    "statements.month": COORDINATOR_OBJECT,
    "statements.month_statements_pdf": COORDINATOR_OBJECT,
    # The JSON API (/api/v1): getting a token is open to all (an empty form is a 400); every other
    # route needs a bearer token, whatever session the visitor has. Roles: tests/api/test_api_permissions.py
    "api.create_token": PUBLIC,
    "api.revoke_current_token": API_TOKEN_ONLY,
    "api.me": API_TOKEN_ONLY,
    "api.list_members": API_TOKEN_ONLY,
    "api.get_member": API_TOKEN_ONLY,
    "api.create_member": API_TOKEN_ONLY,
    "api.list_listings": API_TOKEN_ONLY,
    "api.create_listing": API_TOKEN_ONLY,
    "api.get_listing": API_TOKEN_ONLY,
    "api.update_listing": API_TOKEN_ONLY,
    "api.delete_listing": API_TOKEN_ONLY,
    "api.listing_matches": API_TOKEN_ONLY,
    "api.create_exchange": API_TOKEN_ONLY,
    "api.list_exchanges": API_TOKEN_ONLY,
    "api.get_exchange": API_TOKEN_ONLY,
    "api.confirm_exchange": API_TOKEN_ONLY,
    "api.approve_exchange": API_TOKEN_ONLY,
    "api.reject_exchange": API_TOKEN_ONLY,
    "api.reverse_exchange": API_TOKEN_ONLY,
    "api.create_donation": API_TOKEN_ONLY,
    "api.get_account": API_TOKEN_ONLY,
    "api.account_transfers": API_TOKEN_ONLY,
    "api.monthly_report": API_TOKEN_ONLY,
    # The API's OpenAPI document and its human docs page: open to everyone.
    "api.openapi": PUBLIC,
    "api_docs.index": PUBLIC,
}


# -- the world ------------------------------------------------------------------------------


@dataclass
class Seeded:
    """Ids of the seeded world: everything the URL parameters point at belongs to timebank A."""

    members: dict[str, int]  # role -> member id (no anonymous)
    params: dict[str, object]  # URL parameter name -> value
    overrides: dict[tuple[str, str], object]  # (endpoint, parameter) -> value, where the default will not do
    queries: dict[str, dict[str, object]]  # endpoint -> query string a GET needs
    forms: dict[str, dict[str, object]]  # endpoint -> what a POST sends (an empty form otherwise)


def _seed(session: Any) -> Seeded:
    factory = Factory(session)
    world = factory.world()
    a, b = world.timebank, world.other_timebank
    other_coordinator = factory.member(b, "Oscar Other", role=Role.COORDINATOR)
    second_coordinator = factory.member(a, "Cole Coordinator", role=Role.COORDINATOR)
    admin = factory.member(None, "Ada Admin", is_admin=True)
    applicant = factory.member(a, "Adam Applicant", status=MemberStatus.APPLIED)
    category = session.scalars(select(Category).where(Category.timebank_id == a.id)).first()
    assert category is not None
    listing = create_listing(
        session, world.alice, ListingInput(kind=ListingKind.OFFER, category_id=category.id, title="Shelves put up")
    )
    session.commit()
    propose_exchange(
        session, world.bob, ProposalRequest(request_key=str(uuid.uuid4()), message="Could you?", listing_id=listing.id)
    )
    session.commit()
    assert world.alice.account is not None and world.bob.account is not None
    recorded = record_exchange(
        session,
        world.alice,
        RecordRequest(
            provider_account_id=world.alice.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=90,
            performed_on=today_in(a.time_zone) - timedelta(days=1),
            description="Dug the vegetable bed",
            request_key=str(uuid.uuid4()),
        ),
    )
    session.commit()
    assert world.alice.account is not None and world.bob.account is not None
    for_alice_to_confirm = record_exchange(
        session,
        world.bob,
        RecordRequest(
            provider_account_id=world.bob.account.id,
            recipient_account_id=world.alice.account.id,
            minutes=60,
            performed_on=today_in(a.time_zone) - timedelta(days=2),
            description="Walked the dog",
            request_key=str(uuid.uuid4()),
        ),
    )
    session.commit()
    activity = record_activity(
        session,
        world.coordinator,
        ActivityRequest(
            title="Friday garden session",
            held_on=today_in(a.time_zone) - timedelta(days=1),
            minutes=120,
            direction=ActivityDirection.EARN,
            attendee_ids=(world.alice.id, world.bob.id),
            request_key=str(uuid.uuid4()),
        ),
    )
    session.commit()
    # A closed month of timebank A, with statements (two months back: before every transfer above).
    last_month = month_start(today_in(a.time_zone)) - timedelta(days=1)
    closed = month_start(month_start(last_month) - timedelta(days=1))
    close_month(session, a.id, closed, closed_by_id=world.coordinator.id)
    own_limits = set_limits(session, second_coordinator, second_coordinator.id, floor_minutes=-1200, cap_minutes=None)
    assert isinstance(own_limits, DecisionRequest)  # his own: it waits for another coordinator
    reset_token = make_reset_token("test", world.bob.id, world.bob.password_hash)
    return Seeded(
        members={
            "participant": world.alice.id,
            "coordinator": world.coordinator.id,
            "other_coordinator": other_coordinator.id,
            "admin": admin.id,
        },
        params={
            "member_id": world.bob.id,
            "listing_id": listing.id,
            "exchange_id": recorded.id,
            "slug": a.slug,
            "token": reset_token,
            "change": "pause",
            "timebank_id": a.id,
            "activity_id": activity.id,
            "month": f"{closed:%Y-%m}",
            "account_id": world.alice.account.id,
            "request_id": own_limits.id,
            # Bob's proposal told Alice (the participant) about it.
            "notification_id": session.scalar(
                select(Notification.id).where(Notification.member_id == world.alice.id).limit(1)
            ),
        },
        overrides={
            ("coordinator.application", "member_id"): applicant.id,
            ("coordinator.approve", "member_id"): applicant.id,
            ("coordinator.decline", "member_id"): applicant.id,
            ("exchanges.confirm", "exchange_id"): for_alice_to_confirm.id,
            ("digest.unsubscribe", "token"): make_unsubscribe_token("test", world.bob.id),
        },
        queries={"exchanges.new": {"member_id": world.bob.id}},
        forms={
            "coordinator.bulk_decide": {"exchange_ids": [recorded.id], "action": "approve"},
            "coordinator.decide_request": {"decision": "approve"},
            "admin.decide_request": {"decision": "approve"},
            "statements.close": {"month": f"{last_month:%Y-%m}"},
        },
    )


@dataclass
class Matrix:
    app: Flask
    template: Path
    live: Path
    seeded: Seeded
    clients: dict[str, FlaskClient]
    # Each role's session cookie. Sessions live in the database (auth/sessions.py), so the roles
    # sign in before the template is copied, and every restore brings their sessions back.
    cookies: dict[str, str] = field(default_factory=dict)

    def restore(self) -> None:
        """Put back the freshly seeded database (SQLite's backup API: safe with open connections)."""
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        with closing(sqlite3.connect(self.template)) as source, closing(sqlite3.connect(self.live)) as target:
            source.backup(target)

    def sign_in(self, role: str) -> None:
        client = self.clients[role]
        client.post("/logout")
        member_id = self.seeded.members[role]
        with self.app.app_context():
            member = db.session.get(Member, member_id)
            assert member is not None and member.email is not None
            email = member.email
            db.session.remove()
        response = client.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302 and "/login" not in response.headers["Location"], role
        cookie = client.get_cookie(self.app.config["SESSION_COOKIE_NAME"], domain="localhost")
        assert cookie is not None
        self.cookies[role] = cookie.value

    def resume(self, role: str) -> None:
        """Back to the role's own session of the template (a POST may have signed them out)."""
        self.clients[role].set_cookie(self.app.config["SESSION_COOKIE_NAME"], self.cookies[role], domain="localhost")

    def fingerprint(self) -> tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...]:
        """Every row of every table: counts, account totals, statuses, the audit trail."""
        with self.app.app_context():
            with db.engine.connect() as connection:
                tables = tuple(
                    (
                        table.name,
                        tuple(
                            tuple(row)
                            for row in connection.execute(
                                select(table).order_by(*[column for column in table.primary_key.columns])
                            )
                        ),
                    )
                    for table in Base.metadata.sorted_tables
                )
            db.session.remove()
        return tables


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    folder = tmp_path_factory.mktemp("matrix")
    template, live = folder / "template.sqlite", folder / "live.sqlite"
    engine = create_engine(f"sqlite:///{live}")
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{live}",
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": "localhost",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        seeded = _seed(db.session())
        db.session.remove()
        db.engine.dispose()
    built = Matrix(
        app=app,
        template=template,
        live=live,
        seeded=seeded,
        clients={role: app.test_client() for role in ROLES},
    )
    # The clock stands still, so no request counts as a minute's activity (a write), and no
    # session reaches its idle limit however long the matrix takes.
    frozen = clock.now_utc()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now_utc", lambda: frozen)
        for role in ROLES[1:]:
            built.sign_in(role)
        with app.app_context():
            db.engine.dispose()
        with sqlite_checkpoint(live):
            shutil.copyfile(live, template)
        yield built
    with app.app_context():
        db.engine.dispose()


class sqlite_checkpoint:
    """Fold the write-ahead log into the main file, so copying the file copies everything."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        engine = create_engine(f"sqlite:///{self.path}")
        with engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        engine.dispose()

    def __exit__(self, *_: object) -> None:
        return None


# -- requests --------------------------------------------------------------------------------


def _endpoints(app: Flask) -> dict[str, list[Rule]]:
    rules: dict[str, list[Rule]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            rules.setdefault(rule.endpoint, []).append(rule)
    return rules


def _url_for_rule(matrix: Matrix, rule: Rule) -> str:
    values: dict[str, object] = {}
    for name in rule.arguments:
        key = (rule.endpoint, name)
        if key in matrix.seeded.overrides:
            values[name] = matrix.seeded.overrides[key]
        elif name in matrix.seeded.params:
            values[name] = matrix.seeded.params[name]
        else:
            pytest.fail(
                f"{rule.endpoint} ({rule.rule}) takes <{name}>, which the authorization matrix cannot fill: "
                f"seed an object of timebank A in _seed() in tests/test_authorization_matrix.py and add "
                f"'{name}' to Seeded.params."
            )
    built = rule.build(values, append_unknown=False)
    assert built is not None
    query = matrix.seeded.queries.get(rule.endpoint)
    return built[1] + ("?" + urlencode(query) if query else "")


def _rule_for(rules: list[Rule]) -> Rule:
    """The rule with the most parameters (so /join/<slug> rather than /join)."""
    return max(rules, key=lambda rule: len(rule.arguments))


def _outcome(status: int, location: str, method: str) -> Outcome | str:
    if status in (301, 302, 303, 307, 308) and "/login" in location.split("?")[0]:
        return LOGIN
    if status == 401:
        return UNAUTHORIZED
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status < 400 and status != 401:
        return OK
    if method != "GET" and status in (400, 409, 422):
        return OK
    return f"unexpected {status}"


@dataclass
class Tried:
    role: str
    outcome: Outcome | str
    status: int
    changed: bool


def _try(matrix: Matrix, endpoint: str, role: str, method: str, url: str) -> Tried:
    before = matrix.fingerprint()
    client = matrix.clients[role]
    form = matrix.seeded.forms.get(endpoint, {}) if method == "POST" else None
    response = client.open(url, method=method, data=form)
    response.get_data()  # a streamed body (a CSV export) runs to the end...
    response.close()  # ...and the request's teardown returns its database connection
    outcome = _outcome(response.status_code, response.headers.get("Location", ""), method)
    changed = matrix.fingerprint() != before
    if method != "GET" and role != "anonymous":
        matrix.resume(role)  # an allowed POST may have signed them out (/logout): back to their session
    return Tried(role=role, outcome=outcome, status=response.status_code, changed=changed)


def _method(rule: Rule) -> str:
    """GET where the rule takes it, else POST; else its one method (PATCH, DELETE: API routes)."""
    methods = rule.methods or set()
    for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        if method in methods:
            return method
    raise AssertionError(f"{rule.rule} takes none of GET, POST, PATCH, PUT, DELETE")


def _walk(matrix: Matrix, endpoint: str, expected: Policy | None) -> list[Tried]:
    rule = _rule_for(_endpoints(matrix.app)[endpoint])
    method = _method(rule)
    url = _url_for_rule(matrix, rule)
    matrix.restore()
    # Refused roles first, so an allowed POST cannot change the world they are tried against.
    order: list[str] = sorted(ROLES, key=lambda role: expected is not None and getattr(expected, role) is OK)
    return [_try(matrix, endpoint, role, method, url) for role in order]


def _as_expected(tried: Tried, expected: Outcome) -> bool:
    if expected is UNCHANGED:
        return tried.outcome is OK and not tried.changed
    return tried.outcome == expected


def _table(tried: list[Tried], expected: Policy) -> str:
    lines = [f"    {'role':<18} {'expected':<9} {'got':<16} status  changed"]
    for role in ROLES:
        t = next(t for t in tried if t.role == role)
        mark = "" if _as_expected(t, getattr(expected, role)) else "   <-- wrong"
        lines.append(f"    {role:<18} {getattr(expected, role)!s:<9} {t.outcome!s:<16} {t.status:<7} {t.changed}{mark}")
    return "\n".join(lines)


def test_every_route_has_a_row_in_the_matrix(matrix: Matrix) -> None:
    routes = set(_endpoints(matrix.app))
    missing = sorted(routes - set(EXPECTED))
    stale = sorted(set(EXPECTED) - routes)
    assert not missing, (
        "These endpoints have no row in EXPECTED in tests/test_authorization_matrix.py, so nobody has said "
        f"who may use them: {missing}. Add a row for each (a policy such as COORDINATOR or "
        "COORDINATOR_OBJECT, or a new Policy(...) if none fits)."
    )
    assert not stale, f"EXPECTED names endpoints the app no longer has: {stale}. Remove their rows."


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_each_role_is_allowed_or_refused_as_the_matrix_says(matrix: Matrix, endpoint: str) -> None:
    if endpoint not in _endpoints(matrix.app):
        pytest.fail(f"{endpoint} is in EXPECTED but not in the app's URL map: remove its row.")
    expected = EXPECTED[endpoint]
    rule = _rule_for(_endpoints(matrix.app)[endpoint])
    method = _method(rule)
    tried = _walk(matrix, endpoint, expected)
    wrong = [t for t in tried if not _as_expected(t, getattr(expected, t.role))]
    assert not wrong, f"{method} {_url_for_rule(matrix, rule)}:\n{_table(tried, expected)}"
    changed = [t.role for t in tried if t.changed and (method == "GET" or t.outcome is not OK)]
    assert not changed, (
        f"{method} {_url_for_rule(matrix, rule)} changed the database for {changed}, "
        f"though {'a GET' if method == 'GET' else 'they were refused'}:\n{_table(tried, expected)}"
    )


def test_the_matrix_notices_a_role_that_gets_in_where_it_should_not(matrix: Matrix) -> None:
    """The check can fail: a policy claiming participants are refused the directory is wrong."""
    tried = _walk(matrix, "members.directory", None)
    claimed = Policy(LOGIN, FORBIDDEN, OK, OK, NOT_FOUND)
    assert [t.role for t in tried if t.outcome != getattr(claimed, t.role)] == ["participant"]
