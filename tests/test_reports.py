"""The monthly report and the network report, on a small hand-made ledger built through the real
services, with every answer worked out below.

Riverside (Europe/London), report month March 2026, "today" 10 April 2026. Posted help:

    2025-03-31  Alice -> Bob      15   (before the 12-month trend: not counted)
    2025-04-01  Bob -> Alice      15   (first month of the trend)
    2026-02-10  Alice -> Bob      60   (February: the previous month)
    2026-03-02  Alice -> Bob     120   on Bob's request "Weeding" (Gardening)
    2026-03-05  Bob -> Alice      90   (no category)
    2026-03-08  Alice -> org      60   (person to agency, no category)
    2026-03-12  org -> Carol     120   group activity "Cooking club" (Cooking)
    2026-03-12  org -> Dan       120     the same activity
    2026-03-15  Carol -> Bob      30   (Gardening) reversed on 2026-03-20
    not posted: Erin donates 60 to the pool (3 Mar), Cora grants 30 from it to Dan (4 Mar),
                Dan records 45 for Erin (20 Mar, waiting for approval)

    March hours  120 + 90 + 60 + 240 + 30 - 30 = 510 (8.5 hours)
      person to person 120 + 90 + 30 - 30 = 210; person to agency 60; group activity 240
      by category: Cooking 240, No category 90 + 60 = 150, Gardening 120 + 30 - 30 = 120
    exchanges 3 (the reversed one no longer counts), group activities 1
    active participants: Alice, Bob, Carol, Dan = 4 (Erin only donated; Cora did nothing)
    new members: Erin (3 Mar) = 1; Gail, approved 31 Mar 23:30 UTC = 1 April in London: April
    leaving members: Fred (25 Mar) = 1; Hal left 31 Mar 23:30 UTC = April in London
    reciprocity (January to March): Alice and Bob gave and received; Carol and Dan only gave
      (the reversal is not help received) -> 2 of 4 = 50%
    requests listed in March: Weeding (met, first exchange 24 hours later), Lift (Dan offered
      12 hours later, not approved: unmet), Shopping (Alice offered, Carol declined: unmet,
      no match); Painting, listed 31 Mar 23:30 UTC, is April's -> 3 made, 1 met, 2 unmet;
      median time to match of 24 and 12 hours = 18 hours
    value at £12.50 an hour: 8.5 x 12.50 = £106.25
    February: 60 minutes, 1 exchange, 2 active (Alice, Bob), 1 new member (Hank, 28 Feb 23:30
      UTC = February in London)

Elm Park (America/New_York): Olive -> org 60 on 3 March; Otto approved 1 April 03:00 UTC,
which is 31 March 23:00 in New York: a March new member there.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Factory
from tests.statement_counting import counting_statements
from timebank.admin.errors import NotAnAdmin
from timebank.clock import months_ending
from timebank.coordinator.activities import ActivityRequest, record_activity
from timebank.coordinator.errors import NotACoordinator
from timebank.coordinator.members_service import mark_left, reactivate_member
from timebank.exchanges.donations import DonationRequest, donate
from timebank.exchanges.grants import GrantRequest, grant_from_pool
from timebank.exchanges.service import (
    ProposalRequest,
    RecordRequest,
    decline_exchange,
    propose_exchange,
    record_exchange,
    reverse_exchange,
)
from timebank.listings.service import ListingInput, create_listing
from timebank.members.service import create_member
from timebank.models import (
    Account,
    ActivityDirection,
    AuditEvent,
    Category,
    Exchange,
    Listing,
    ListingKind,
    Member,
    MemberStatus,
    Role,
    Timebank,
)
from timebank.reports import service as reports
from timebank.reports.errors import InvalidReportRequest
from timebank.timebanks.service import organisation_account

TODAY = date(2026, 4, 10)
MARCH = date(2026, 3, 1)
LONG_AGO = datetime(2024, 6, 1, 12, 0)


@dataclass
class Ledger:
    riverside: Timebank
    elm_park: Timebank
    cora: Member
    oscar: Member
    admin: Member
    members: dict[str, Member]


class Builder:
    def __init__(self, session: Session, factory: Factory) -> None:
        self.session = session
        self.factory = factory

    def member(self, timebank: Timebank, name: str, role: Role = Role.PARTICIPANT, *, signs_in: bool = False) -> Member:
        """An approved member; only those who sign in in a test get a password (hashing is slow)."""
        if signs_in:
            member = self.factory.member(timebank, name, role=role)
        else:
            member = create_member(
                self.session, timebank=timebank, display_name=name, email=None, role=role, status=MemberStatus.APPROVED
            )
        member.approved_at = LONG_AGO
        member.created_at = LONG_AGO
        self.session.commit()
        return member

    def account(self, member: Member) -> Account:
        assert member.account is not None
        return member.account

    def organisation(self, timebank: Timebank) -> Account:
        return organisation_account(self.session, timebank.id)

    def category(self, timebank: Timebank, name: str) -> Category:
        category = self.session.scalar(
            select(Category).where(Category.timebank_id == timebank.id, Category.name == name)
        )
        assert category is not None
        return category

    def help(
        self,
        actor: Member,
        provider: Account,
        recipient: Account,
        minutes: int,
        day: date,
        *,
        listing: Listing | None = None,
        category: Category | None = None,
        created: datetime | None = None,
    ) -> Exchange:
        """Help recorded on ``day``: a coordinator's record is approved (posted) that day."""
        exchange = record_exchange(
            self.session,
            actor,
            RecordRequest(
                provider_account_id=provider.id,
                recipient_account_id=recipient.id,
                minutes=minutes,
                performed_on=day,
                description="Help",
                request_key=str(uuid.uuid4()),
                listing_id=listing.id if listing else None,
                category_id=category.id if category else None,
            ),
            today=day,
        )
        if created is not None:
            exchange.created_at = created
            self.session.commit()
        return exchange

    def request(self, owner: Member, title: str, listed: datetime) -> Listing:
        listing = create_listing(
            self.session,
            owner,
            ListingInput(
                kind=ListingKind.REQUEST, category_id=self.category(owner.timebank, "Gardening").id, title=title
            ),  # type: ignore[arg-type]
        )
        listing.created_at = listed
        self.session.commit()
        return listing

    def offer_on(self, helper: Member, listing: Listing, created: datetime) -> Exchange:
        exchange = propose_exchange(
            self.session,
            helper,
            ProposalRequest(request_key=str(uuid.uuid4()), message="I can help", listing_id=listing.id),
        )
        exchange.created_at = created
        self.session.commit()
        return exchange


def build_ledger(session: Session, factory: Factory) -> Ledger:
    b = Builder(session, factory)
    riverside = factory.timebank("Riverside")
    elm_park = factory.timebank("Elm Park", time_zone="America/New_York")
    cora = b.member(riverside, "Cora Coordinator", Role.COORDINATOR, signs_in=True)
    m = {name: b.member(riverside, name) for name in ("Bob", "Carol", "Dan", "Erin", "Fred", "Gail", "Hal", "Hank")}
    m["Alice"] = b.member(riverside, "Alice", signs_in=True)
    m["Erin"].approved_at = datetime(2026, 3, 3, 9, 0)
    m["Gail"].approved_at = datetime(2026, 3, 31, 23, 30)  # 00:30 on 1 April in London (BST)
    m["Hank"].approved_at = datetime(2026, 2, 28, 23, 30)  # still February in London (GMT)
    session.commit()
    acct = {name: b.account(member) for name, member in m.items()}
    org = b.organisation(riverside)
    gardening, cooking = b.category(riverside, "Gardening"), b.category(riverside, "Cooking")

    b.help(cora, acct["Alice"], acct["Bob"], 15, date(2025, 3, 31))
    b.help(cora, acct["Bob"], acct["Alice"], 15, date(2025, 4, 1))
    b.help(cora, acct["Alice"], acct["Bob"], 60, date(2026, 2, 10))

    weeding = b.request(m["Bob"], "Weeding", datetime(2026, 3, 1, 10, 0))
    lift = b.request(m["Erin"], "Lift to the clinic", datetime(2026, 3, 10, 12, 0))
    shopping = b.request(m["Carol"], "Shopping", datetime(2026, 3, 20, 9, 0))
    b.request(m["Dan"], "Painting", datetime(2026, 3, 31, 23, 30))  # April in London
    b.help(
        cora, acct["Alice"], acct["Bob"], 120, date(2026, 3, 2), listing=weeding, created=datetime(2026, 3, 2, 10, 0)
    )
    b.offer_on(m["Dan"], lift, datetime(2026, 3, 11, 0, 0))
    declined = b.offer_on(m["Alice"], shopping, datetime(2026, 3, 20, 10, 0))
    decline_exchange(session, m["Carol"], declined.id, "Sorted already")

    b.help(cora, acct["Bob"], acct["Alice"], 90, date(2026, 3, 5))
    b.help(cora, acct["Alice"], org, 60, date(2026, 3, 8))
    record_activity(
        session,
        cora,
        ActivityRequest(
            title="Cooking club",
            held_on=date(2026, 3, 12),
            minutes=120,
            direction=ActivityDirection.EARN,
            attendee_ids=(m["Carol"].id, m["Dan"].id),
            request_key=str(uuid.uuid4()),
            category_id=cooking.id,
        ),
        today=date(2026, 3, 12),
    )
    mistake = b.help(cora, acct["Carol"], acct["Bob"], 30, date(2026, 3, 15), category=gardening)
    reverse_exchange(session, cora, mistake.id, "Recorded twice", today=date(2026, 3, 20))
    donate(
        session, m["Erin"], DonationRequest(minutes=60, note="", request_key=str(uuid.uuid4())), today=date(2026, 3, 3)
    )
    grant_from_pool(
        session,
        cora,
        GrantRequest(member_id=m["Dan"].id, minutes=30, reason="Bus fares", request_key=str(uuid.uuid4())),
        today=date(2026, 3, 4),
    )
    b.help(m["Dan"], acct["Dan"], acct["Erin"], 45, date(2026, 3, 20))  # waits for approval

    # Leaving: through the service (which stamps left_at), then dated for the report.
    for name, left in (("Fred", datetime(2026, 3, 25, 12, 0)), ("Hal", datetime(2026, 3, 31, 23, 30))):
        mark_left(session, cora, m[name].id)
        m[name].left_at = left
    session.commit()

    oscar = b.member(elm_park, "Oscar Other", Role.COORDINATOR, signs_in=True)
    olive = b.member(elm_park, "Olive Outsider")
    otto = b.member(elm_park, "Otto Newcomer")
    otto.approved_at = datetime(2026, 4, 1, 3, 0)  # 23:00 on 31 March in New York
    session.commit()
    b.help(oscar, b.account(olive), b.organisation(elm_park), 60, date(2026, 3, 3))
    admin = factory.member(None, "Ada Admin", is_admin=True)
    return Ledger(riverside, elm_park, cora, oscar, admin, m)


@pytest.fixture
def world(session: Session, factory: Factory) -> Ledger:
    return build_ledger(session, factory)


@pytest.fixture
def report(session: Session, world: Ledger) -> reports.MonthlyReport:
    reports.set_hour_value(session, world.cora, 1250)
    return reports.monthly_report(session, world.cora, date(2026, 3, 17), today=TODAY)


# -- the figures -----------------------------------------------------------------------------


def test_every_figure_of_the_month_matches_the_hand_computed_ledger(session, world, report):  # type: ignore[no-untyped-def]
    f = report.figures
    assert report.month == MARCH and not report.is_partial
    assert f.minutes == 510
    assert (f.person_to_person_minutes, f.person_to_agency_minutes, f.group_activity_minutes) == (210, 60, 240)
    assert (f.exchanges, f.activities, f.active_participants) == (3, 1, 4)
    assert (f.new_members, f.leaving_members) == (1, 1)
    assert (f.requests_made, f.requests_met, f.requests_unmet) == (3, 1, 2)
    assert [(c.name, c.minutes) for c in report.categories] == [
        ("Cooking", 240),
        ("No category", 150),
        ("Gardening", 120),
    ]
    assert (report.reciprocity.active_members, report.reciprocity.both_ways, report.reciprocity.percent) == (4, 2, 50)
    assert report.requests_matched == 2 and report.median_minutes_to_match == 18 * 60
    assert report.hour_value_pence == 1250 and report.value_pence == 10625
    assert reports.format_pence(report.value_pence) == "£106.25"

    # The month before, and the 12-month trend.
    p = report.previous
    assert p.month == date(2026, 2, 1)
    assert (p.minutes, p.exchanges, p.active_participants, p.new_members, p.requests_made) == (60, 1, 2, 1, 0)
    assert [f.month for f in report.trend] == months_ending(MARCH, 12)
    assert report.trend[0].month == date(2025, 4, 1)
    assert [f.minutes for f in report.trend] == [15] + [0] * 9 + [60, 510]
    assert [f.exchanges for f in report.trend] == [1] + [0] * 9 + [1, 3]
    hours = {m.label: (m.this_month, m.previous_month, m.change) for m in report.comparison}
    assert hours["Hours exchanged"] == (510, 60, 450) and hours["New members"] == (1, 1, 0)
    chart = report.hours_trend_chart
    assert chart.labels[0] == "April 2025" and chart.values[-1] == 8.5 and chart.values[-2] == 1

    # April holds what crossed midnight in London on 31 March, and is not over yet.
    april = reports.monthly_report(session, world.cora, date(2026, 4, 1), today=TODAY)
    assert april.is_partial
    assert (april.figures.new_members, april.figures.leaving_members, april.figures.requests_made) == (1, 1, 1)
    assert april.figures.minutes == 0 and april.reciprocity.active_members == 4  # February to April


def test_the_network_report_puts_every_timebank_side_by_side_with_totals(session, world):  # type: ignore[no-untyped-def]
    reports.set_hour_value(session, world.cora, 1250)
    network = reports.network_report(session, world.admin, MARCH, today=TODAY)
    by_name = {row.name: row for row in network.rows}
    assert list(by_name) == ["Elm Park", "Riverside"]
    river, elm = by_name["Riverside"], by_name["Elm Park"]
    assert (river.figures.minutes, river.figures.exchanges, river.figures.new_members) == (510, 3, 1)
    assert river.reciprocity.percent == 50 and river.median_minutes_to_match == 18 * 60
    assert (elm.figures.minutes, elm.figures.person_to_agency_minutes, elm.figures.exchanges) == (60, 60, 1)
    assert (elm.figures.active_participants, elm.figures.new_members) == (1, 1)  # Otto, in New York time
    assert elm.reciprocity.percent == 0 and elm.value_pence is None
    t = network.totals
    assert (t.minutes, t.exchanges, t.activities, t.active_participants, t.new_members, t.leaving_members) == (
        570,
        4,
        1,
        5,
        2,
        1,
    )
    assert (t.requests_made, t.requests_met) == (3, 1)
    assert network.reciprocity.percent == 40 and network.value_pence == 10625


# -- settings and permissions ----------------------------------------------------------------


def test_leaving_stamps_left_at_and_coming_back_clears_it(session, factory):  # type: ignore[no-untyped-def]
    world = factory.world()
    mark_left(session, world.coordinator, world.bob.id)
    assert world.bob.left_at is not None
    reactivate_member(session, world.coordinator, world.bob.id)
    assert world.bob.left_at is None


def test_the_hour_value_is_whole_pence_within_range_and_audited(session, factory):  # type: ignore[no-untyped-def]
    world = factory.world()
    assert reports.hour_value_from_text("£12.50") == 1250
    assert reports.hour_value_from_text(" 12 ") == 1200
    assert reports.hour_value_from_text("") is None
    for bad in ("12.505", "-1", "abc", "NaN", "1e9", "1000.01"):
        with pytest.raises(InvalidReportRequest):
            reports.hour_value_from_text(bad)
    with pytest.raises(InvalidReportRequest):
        reports.set_hour_value(session, world.coordinator, -5)
    with pytest.raises(NotACoordinator):
        reports.set_hour_value(session, world.alice, 1000)
    reports.set_hour_value(session, world.coordinator, 1000)
    reports.set_hour_value(session, world.coordinator, 1000)  # no change: no second event
    reports.set_hour_value(session, world.coordinator, None)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "timebank.settings_changed").order_by(AuditEvent.id)
    ).all()
    assert [(e.before, e.after) for e in events] == [
        ({"hour_value_pence": None}, {"hour_value_pence": 1000}),
        ({"hour_value_pence": 1000}, {"hour_value_pence": None}),
    ]
    assert world.timebank.hour_value_pence is None and world.other_timebank.hour_value_pence is None


def test_who_may_read_which_report(session, world):  # type: ignore[no-untyped-def]
    with pytest.raises(NotACoordinator):
        reports.monthly_report(session, world.members["Alice"], MARCH, today=TODAY)
    with pytest.raises(NotACoordinator):
        reports.monthly_report(session, world.admin, MARCH, today=TODAY)
    with pytest.raises(NotAnAdmin):
        reports.network_report(session, world.cora, MARCH, today=TODAY)
    with pytest.raises(InvalidReportRequest):
        reports.monthly_report(session, world.cora, date(2026, 5, 1), today=TODAY)
    # Another timebank's coordinator gets their own timebank's month, nothing of Riverside's.
    elm = reports.monthly_report(session, world.oscar, MARCH, today=TODAY)
    assert elm.timebank_name == "Elm Park"
    assert (elm.figures.minutes, elm.figures.exchanges, elm.figures.requests_made) == (60, 1, 0)
    assert [(c.name, c.minutes) for c in elm.categories] == [("No category", 60)]


# -- cost ------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_data(session, factory, world):  # type: ignore[no-untyped-def]
    session.expire_all()
    with counting_statements(session) as before:
        reports.monthly_report(session, world.cora, MARCH, today=TODAY)
        reports.network_report(session, world.admin, MARCH, today=TODAY)
    b = Builder(session, factory)
    bob = b.account(world.members["Bob"])
    for number in range(4):
        newcomer = b.member(world.riverside, f"Extra {number}")
        b.help(world.cora, b.account(newcomer), bob, 15, date(2026, 3, 20 + number))
        b.request(newcomer, f"Request {number}", datetime(2026, 3, 21, 9, 0))
    factory.timebank("Hill Top", time_zone="Europe/Paris")
    session.expire_all()
    with counting_statements(session) as after:
        grown = reports.monthly_report(session, world.cora, MARCH, today=TODAY)
        reports.network_report(session, world.admin, MARCH, today=TODAY)
    assert grown.figures.minutes == 510 + 60 and grown.figures.requests_made == 7
    assert len(after) == len(before)
    # A handful per report, whatever the size (one each reads the closed months' summaries).
    assert len(before) <= 27


# -- the pages ---------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_coordinator_reads_the_month_as_a_page_a_csv_and_a_pdf(client, auth, session, world):  # type: ignore[no-untyped-def]
    cooking = Builder(session, Factory(session)).category(world.riverside, "Cooking")
    cooking.name = "=SUM(A1) Łódź cooking 料理"
    session.commit()
    auth.login(world.cora)
    assert 'href="/reports/monthly"' in client.get("/coordinator/").get_data(as_text=True)
    assert client.post("/reports/hour-value", data={"hour_value": "12.50", "month": "2026-03"}).status_code == 302

    page = client.get("/reports/monthly?month=2026-03")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Riverside, March 2026." in html
    assert "<dt>Hours exchanged</dt><dd>8 hours 30 minutes</dd>" in html
    assert "£106.25" in html and "estimate" in html
    assert "Take the value line off the report" in html
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert len(svgs) == 5  # kinds, categories, three trends
    assert all(ET.fromstring(svg).get("role") == "img" for svg in svgs)
    assert html.count("<caption>") >= 5  # every chart has its table
    assert "<caption>Hours exchanged each month, April 2025 to March 2026</caption>" in html
    assert "Of the 4 members who gave or received help from January 2026 to March 2026, 2 (50%)" in html

    rows = _csv(client.get("/reports/monthly.csv?month=2026-03"))
    assert rows[0] == ["Section", "Item", "Value", "Unit"]
    values = {(section, item): value for section, item, value, _ in rows[1:]}
    assert values[("Report", "Month")] == "2026-03"
    assert values[("This month (2026-03)", "Hours exchanged")] == "8:30"
    assert values[("This month (2026-03)", "Active participants")] == "4"
    assert values[("This month (2026-03)", "Requests not met")] == "2"
    assert values[("This month", "Reciprocity: share")] == "50"
    assert values[("This month", "Median time from request to match")] == "18:00"
    assert values[("Estimated value", "Hours exchanged x value of one hour")] == "106.25"
    assert values[("Previous month (2026-02)", "Exchanges")] == "1"
    assert values[("Hours exchanged by month", "2025-04")] == "0:15"
    assert values[("Hours by category", "'=SUM(A1) Łódź cooking 料理")] == "4:00"  # never run as a formula
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)

    response = client.get("/reports/monthly.pdf?month=2026-03")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "monthly-report-riverside-2026-03.pdf" in response.headers["Content-Disposition"]
    text = " ".join(sheet.extract_text() for sheet in PdfReader(io.BytesIO(response.data)).pages)
    flat = " ".join(text.split())
    assert "Monthly report: Riverside" in flat and "March 2026" in flat
    assert "8 hours 30 minutes" in flat and "£106.25" in flat
    assert "Hours exchanged 8:30" in flat  # the summary table writes hours as every table does
    assert "http://localhost/reports/monthly?month=2026-03" in flat  # the web page, with its charts
    assert "cooking" in flat and "With Riverside Day Service" in flat


def test_the_value_of_an_hour_is_refused_clearly_and_can_be_removed(client, auth, session, factory):  # type: ignore[no-untyped-def]
    world = factory.world()
    auth.login(world.coordinator)
    refused = client.post("/reports/hour-value", data={"hour_value": "12.505", "month": "2026-03"})
    assert refused.status_code == 422
    assert "Use whole pence" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Timebank, world.timebank.id).hour_value_pence is None
    assert client.post("/reports/hour-value", data={"hour_value": "£9", "month": "2026-03"}).status_code == 302
    session.expire_all()
    assert session.get(Timebank, world.timebank.id).hour_value_pence == 900
    response = client.post("/reports/hour-value", data={"hour_value": "", "month": "2026-03"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/reports/monthly?month=2026-03")
    session.expire_all()
    assert session.get(Timebank, world.timebank.id).hour_value_pence is None
    assert "<dt>Estimated value" not in client.get("/reports/monthly?month=2026-03").get_data(as_text=True)
    assert client.get("/reports/monthly?month=March").status_code == 422
    assert client.get("/reports/monthly?month=2999-01").status_code == 422


def test_only_coordinators_read_their_own_timebank_and_admins_the_network(client, auth, world):  # type: ignore[no-untyped-def]
    auth.login(world.members["Alice"])
    assert client.get("/reports/monthly").status_code == 403
    assert client.get("/reports/monthly.csv").status_code == 403
    assert client.get("/reports/network").status_code == 403
    auth.logout()
    auth.login(world.oscar)
    html = client.get("/reports/monthly?month=2026-03").get_data(as_text=True)
    assert "Elm Park, March 2026." in html and "Riverside" not in html
    assert client.get("/reports/network").status_code == 403
    auth.logout()
    auth.login(world.admin)
    assert client.get("/reports/monthly").status_code == 403
    assert 'href="/reports/network"' in client.get("/admin/").get_data(as_text=True)
    html = client.get("/reports/network?month=2026-03").get_data(as_text=True)
    assert '<th scope="row">Riverside</th>' in html and '<th scope="row">Elm Park</th>' in html
    assert '<th scope="row">All timebanks</th>' in html
    rows = _csv(client.get("/reports/network.csv?month=2026-03"))
    assert rows[0][:3] == [
        "Timebank", "Hours exchanged (hours:minutes)", "Person to person hours (hours:minutes)"
    ]
    table = {row[0]: row for row in rows[1:]}
    assert table["Riverside"][1] == "8:30" and table["Elm Park"][1] == "1:00" and table["All timebanks"][1] == "9:30"
    assert table["All timebanks"][5] == "4" and table["All timebanks"][13] == "40"


def test_an_empty_timebank_and_an_empty_installation_report_zeros_not_errors(client, auth, session, factory):  # type: ignore[no-untyped-def]
    admin = factory.member(None, "Ada Admin", is_admin=True)
    empty = reports.network_report(session, admin, MARCH, today=TODAY)
    assert empty.rows == () and empty.totals.minutes == 0 and empty.value_pence is None
    assert empty.reciprocity.percent is None and empty.median_minutes_to_match is None
    world = factory.world()
    report = reports.monthly_report(session, world.coordinator, MARCH, today=TODAY)
    assert report.figures == reports.Figures(month=MARCH) and report.categories == ()
    assert report.reciprocity.percent is None and report.median_minutes_to_match is None and report.value_pence is None
    auth.login(world.coordinator)
    page = client.get("/reports/monthly")  # the last complete month by default
    assert page.status_code == 200
    assert "No hours were exchanged this month." in page.get_data(as_text=True)
    assert client.get("/reports/monthly.pdf").status_code == 200
