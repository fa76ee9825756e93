"""A tour of every page of the app, as each kind of visitor who may see it, with the demo loaded.

Used by tests/browser/test_every_page.py (which checks each page at 360 px and 1280 px) and by
``scripts/screenshots`` (which photographs them for a person to review). The pages come from the
app's URL map and the authorization matrix (tests/test_authorization_matrix.py), so a new page is
toured as soon as it has a row there; its URL parameters are filled with real objects of the
demo's Riverside time bank.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import case, or_, select
from werkzeug.routing import Rule

from tests.test_authorization_matrix import EXPECTED, OK
from timebank.auth.tokens import make_reset_token
from timebank.clock import today_in
from timebank.coordinator.activities import ActivityRequest, record_activity
from timebank.demo import build_demo
from timebank.digest.service import make_unsubscribe_token
from timebank.extensions import db
from timebank.models import (
    Activity,
    ActivityDirection,
    Exchange,
    ExchangeStatus,
    Listing,
    Member,
    MemberStatus,
    Period,
    Role,
    Timebank,
)

DEMO_PASSWORD = "demo-password"
# The visitors of the tour, in the order the matrix names them (the other timebank's coordinator
# sees the same pages as the coordinator, with other data: not toured twice).
ROLES = ("anonymous", "participant", "coordinator", "admin", "applicant")
# Visitors the matrix does not name (an applicant), and pages the matrix refuses a role only
# because its objects are someone else's (Bob's statements): each role's own.
OWN_PAGES = {
    "applicant": ("auth.application_status",),
    "participant": ("statements.member_statements", "statements.show"),
}
MATRIX_ROLES = ("anonymous", "participant", "coordinator", "admin")
# GET endpoints that answer with a file or data, not a page.
NOT_PAGES = frozenset(
    {
        "admin.audit_csv",
        "api.openapi",
        "auth.session_status",  # JSON for the session warning's script
        "coordinator.audit_csv",
        "coordinator.timesheet_template",
        "health.healthz",
        "reports.monthly_csv",
        "reports.monthly_pdf",
        "reports.network_csv",
        "statements.csv",
        "statements.pdf",
        "statements.month_statements_pdf",
    }
)
# Pages nobody reaches by simply opening their address: each sends the visitor on, by design.
ONLY_REACHED_ON_THE_WAY = {
    "two_factor.sign_in": "the code step after a password was accepted (tests/browser/test_two_factor_pages.py)",
}


@dataclass(frozen=True)
class Visit:
    role: str
    endpoint: str
    url: str

    @property
    def name(self) -> str:
        return f"{self.role}--{self.endpoint}"


@dataclass
class DemoSite:
    """Who signs in as each role, and what each URL parameter is filled with."""

    emails: dict[str, str]
    params: dict[str, object]
    # (role, endpoint) -> parameters where the role needs objects of its own (its own statements).
    own: dict[tuple[str, str], dict[str, object]] = field(default_factory=dict)
    queries: dict[str, dict[str, object]] = field(default_factory=dict)


def load_demo_site(app: Flask) -> DemoSite:
    """Load the demo into the app's empty database, and pick the objects the tour opens."""
    with app.app_context():
        session = db.session()
        logins = build_demo(session, password=DEMO_PASSWORD)
        emails = {
            "admin": next(login.email for login in logins if login.role == "admin"),
            "coordinator": next(login.email for login in logins if login.role == "coordinator"),
            "participant": next(login.email for login in logins if login.role == "participant"),
            "applicant": next(login.email for login in logins if login.role == "applicant"),
        }
        participant = session.scalars(select(Member).where(Member.email == emails["participant"])).one()
        coordinator = session.scalars(select(Member).where(Member.email == emails["coordinator"])).one()
        timebank = session.get(Timebank, participant.timebank_id)
        assert timebank is not None and participant.account is not None
        neighbour = session.scalars(
            select(Member)
            .where(
                Member.timebank_id == timebank.id,
                Member.id != participant.id,
                Member.role == Role.PARTICIPANT,
                Member.status == MemberStatus.APPROVED,
            )
            .order_by(Member.id)
        ).first()
        applicant = session.scalars(
            select(Member).where(Member.timebank_id == timebank.id, Member.status == MemberStatus.APPLIED)
        ).first()
        assert neighbour is not None and neighbour.account is not None
        # One of the participant's exchanges, one still open if there is one (it shows its actions).
        account_ids = (participant.account.id,)
        open_first = case((Exchange.status.in_([ExchangeStatus.RECORDED, ExchangeStatus.CONFIRMED]), 0), else_=1)
        exchange_id = session.scalar(
            select(Exchange.id)
            .where(
                or_(Exchange.provider_account_id.in_(account_ids), Exchange.recipient_account_id.in_(account_ids))
            )
            .order_by(open_first, Exchange.id.desc())
            .limit(1)
        )
        listing_id = session.scalar(
            select(Listing.id).where(Listing.member_id == participant.id).order_by(Listing.id).limit(1)
        )
        activity_id = session.scalar(select(Activity.id).where(Activity.timebank_id == timebank.id).limit(1))
        if activity_id is None:
            activity_id = record_activity(
                session,
                coordinator,
                ActivityRequest(
                    title="Garden day",
                    held_on=today_in(timebank.time_zone) - timedelta(days=1),
                    minutes=120,
                    direction=ActivityDirection.EARN,
                    attendee_ids=(participant.id, neighbour.id),
                    request_key=str(uuid.uuid4()),
                ),
            ).id
            session.commit()
        month = session.scalar(
            select(Period.month)
            .where(Period.timebank_id == timebank.id)
            .order_by(Period.month.desc())
            .limit(1)
        )
        assert exchange_id is not None and listing_id is not None and month is not None
        secret = app.config["SECRET_KEY"]
        params: dict[str, object] = {
            "member_id": neighbour.id,
            "listing_id": listing_id,
            "exchange_id": exchange_id,
            "slug": timebank.slug,
            "timebank_id": timebank.id,
            "activity_id": activity_id,
            "month": f"{month:%Y-%m}",
            "token": make_reset_token(secret, neighbour.id, neighbour.password_hash),
        }
        site = DemoSite(
            emails=emails,
            params=params,
            own={
                ("participant", "statements.member_statements"): {"member_id": participant.id},
                ("participant", "statements.show"): {"member_id": participant.id},
                ("anonymous", "digest.unsubscribe"): {"token": make_unsubscribe_token(secret, neighbour.id)},
            },
            queries={"exchanges.new": {"member_id": neighbour.id}},
        )
        if applicant is not None:
            site.own[("coordinator", "coordinator.application")] = {"member_id": applicant.id}
        db.session.remove()
    return site


def page_rules(app: Flask) -> dict[str, Rule]:
    """Every endpoint that shows a page on GET, with its rule (the one with most parameters)."""
    rules: dict[str, Rule] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in NOT_PAGES or "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint.startswith("api.") and EXPECTED.get(rule.endpoint) != EXPECTED["api.openapi"]:
            continue  # the JSON API takes bearer tokens, not visitors
        known = rules.get(rule.endpoint)
        if known is None or len(rule.arguments) > len(known.arguments):
            rules[rule.endpoint] = rule
    return rules


def allowed_roles(endpoint: str) -> list[str]:
    policy = EXPECTED.get(endpoint)
    if policy is None:
        return []
    roles = [
        role
        for role in ROLES
        if endpoint in OWN_PAGES.get(role, ()) or (role in MATRIX_ROLES and getattr(policy, role) is OK)
    ]
    # Pages open to all send signed-in visitors on; the same page for everyone: toured once.
    return roles[:1] if "anonymous" in roles else roles


def visits(app: Flask, site: DemoSite) -> list[Visit]:
    """Every (role, page) the tour opens, grouped by role so each role signs in once."""
    from urllib.parse import urlencode

    found: list[Visit] = []
    rules = page_rules(app)
    for role in ROLES:
        for endpoint in sorted(rules):
            if endpoint in ONLY_REACHED_ON_THE_WAY or role not in allowed_roles(endpoint):
                continue
            rule = rules[endpoint]
            values = {name: site.params[name] for name in rule.arguments if name in site.params}
            values.update(site.own.get((role, endpoint), {}))
            missing = set(rule.arguments) - set(values)
            assert not missing, f"the page tour cannot fill {sorted(missing)} of {endpoint}: add it to load_demo_site"
            built = rule.build(values, append_unknown=False)
            assert built is not None
            query = site.queries.get(endpoint)
            found.append(Visit(role, endpoint, built[1] + ("?" + urlencode(query) if query else "")))
    return found


# --- In the browser ----------------------------------------------------------------------------


def sign_in_as(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "/login" not in page.url, f"could not sign in as {email}"


OVERFLOWING_JS = """() => {
    const found = [];
    for (const element of document.querySelectorAll('body *')) {
        const style = getComputedStyle(element);
        const scrolls = ['auto', 'scroll'].includes(style.overflowX);
        if (scrolls && element.scrollWidth > element.clientWidth + 1) {
            const classes = typeof element.className === 'string' ? element.className.trim() : '';
            const name = element.tagName.toLowerCase() + (element.id ? '#' + element.id : '')
                + (classes ? '.' + classes.split(/\\s+/).join('.') : '');
            found.push(`${name} (${element.scrollWidth} px in ${element.clientWidth} px)`);
        }
    }
    return found;
}"""


def sideways(page: Any) -> list[str]:
    """What scrolls sideways: the page itself, or a box on it hiding part of its content."""
    width = page.viewport_size["width"]
    problems = []
    scroll_width: int = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        problems.append(f"the page is {scroll_width} px wide in a {width} px window")
    problems += [f"a scroll box: {box}" for box in page.evaluate(OVERFLOWING_JS)]
    return problems


SMALL_TEXT_JS = """() => {
    const found = [];
    for (const text of document.querySelectorAll('svg text')) {
        const svg = text.ownerSVGElement;
        const box = svg.viewBox.baseVal;
        const scale = box && box.width ? svg.getBoundingClientRect().width / box.width : 1;
        const size = parseFloat(getComputedStyle(text).fontSize) * scale;
        if (size < 11.95) found.push(`chart text "${text.textContent.trim()}" is ${size.toFixed(1)} px`);
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode;
        const element = node.parentElement;
        if (!node.textContent.trim() || !element || element.closest('svg')) continue;
        if (!element.getClientRects().length || element.closest('.visually-hidden')) continue;
        const size = parseFloat(getComputedStyle(element).fontSize);
        if (size < 12) found.push(`"${node.textContent.trim().slice(0, 40)}" is ${size} px`);
    }
    return found;
}"""


def small_text(page: Any) -> list[str]:
    """Text drawn smaller than 12 CSS pixels (charts are scaled to fit: their text is measured as drawn)."""
    problems: list[str] = page.evaluate(SMALL_TEXT_JS)
    return problems
