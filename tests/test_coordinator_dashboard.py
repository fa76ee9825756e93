"""The coordinator's dashboard, on a small hand-made ledger whose answers are worked out below.

Riverside, "today" = Wednesday 18 March 2026 (Europe/London). Posted help, in minutes:

    2025-03-31  Erin -> Bob      60   (the month before the 12-month window: not counted)
    2025-04-01  Bob -> Alice     15   (first day of the window)
    2025-10-09  Erin -> Bob     120
    2026-01-20  Bob -> Fay       90   (Fay's own floor is -2 hours)
    2026-02-14  Alice -> Bob    180   on Alice's Cooking offer
    2026-02-20  Bob -> Alice     30   reversed on 2026-03-12
    2026-03-02  Alice -> Bob    120   on Bob's Gardening request
    2026-03-05  Alice -> org     90   (person to agency)
    2026-03-07  org -> Carol     60   group activity, Gardening (Carol's own cap is 1.5 hours)
    2026-03-10  Bob -> Alice     60

    months: Apr 2025 15, Oct 2025 120, Jan 2026 90, Feb 2026 210, Mar 2026 120+90+60+60-30 = 300
    categories: no category 15+120+90+(30-30)+90+60 = 375, Cooking 180, Gardening 120+60 = 180
    person to person 15+120+90+180+0+120+60 = 585; with the organisation 90+60 = 150
    balances: Alice 315, Bob -315, Carol 60, Dan 0, Erin 180, Fay -90, Gina 0, Cora 0
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, Factory
from tests.statement_counting import counting_statements
from timebank import ledger
from timebank.clock import today_in
from timebank.coordinator.dashboard import (
    BALANCE_BUCKETS,
    CoordinatorDashboard,
    MonthHours,
    Waiting,
    build_coordinator_dashboard,
    near_limits_page,
    outreach_page,
    stale_requests_page,
)
from timebank.coordinator.errors import NotACoordinator
from timebank.exchanges.service import (
    ProposalRequest,
    RecordRequest,
    confirm_exchange,
    decline_exchange,
    dispute_exchange,
    propose_exchange,
    record_exchange,
    reverse_exchange,
)
from timebank.listings.service import ListingInput, create_listing
from timebank.models import (
    Account,
    Activity,
    ActivityAttendee,
    ActivityDirection,
    Category,
    Exchange,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    MemberStatus,
    Role,
    Timebank,
    TransferPurpose,
)
from timebank.timebanks.service import organisation_account

TODAY = date(2026, 3, 18)
DASHBOARD_STATEMENTS = 18  # see test_the_number_of_queries_does_not_grow_with_members_or_exchanges
LONG_AGO = datetime(2024, 6, 1, 12, 0)


@dataclass
class Ledger:
    timebank: Timebank
    coordinator: Member
    members: dict[str, Member]
    listings: dict[str, Listing]
    exchanges: dict[str, Exchange]
    other_coordinator: Member


class Builder:
    def __init__(self, session: Session, factory: Factory) -> None:
        self.session = session
        self.factory = factory

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

    def member(self, timebank: Timebank, name: str, role: Role = Role.PARTICIPANT, **kwargs: object) -> Member:
        member = self.factory.member(timebank, name, role=role, **kwargs)
        member.approved_at = LONG_AGO if member.status == MemberStatus.APPROVED else None
        member.created_at = LONG_AGO
        self.session.commit()
        return member

    def help(
        self,
        actor: Member,
        provider: Account,
        recipient: Account,
        minutes: int,
        day: date,
        listing: Listing | None = None,
    ) -> Exchange:
        """Help recorded on ``day``: a coordinator's record is approved at once (posted that day);
        a participant's waits, recorded."""
        return record_exchange(
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
            ),
            today=day,
        )

    def listing(self, owner: Member, kind: ListingKind, title: str, listed: datetime, category: Category) -> Listing:
        listing = create_listing(self.session, owner, ListingInput(kind=kind, category_id=category.id, title=title))
        listing.created_at = listed
        self.session.commit()
        return listing

    def reverse(self, coordinator: Member, exchange: Exchange, day: date) -> None:
        """The coordinator's correction: the credits go back and the exchange says so."""
        reverse_exchange(self.session, coordinator, exchange.id, "Recorded twice", today=day)

    def activity(self, coordinator: Member, attendee: Member, minutes: int, day: date, category: Category) -> None:
        """A group session the organisation pays the attendee for, posted as ACTIVITY."""
        assert coordinator.timebank is not None
        with ledger.write_transaction(self.session):
            transfer = ledger.create_transfer(
                self.session,
                timebank_id=coordinator.timebank.id,
                debit_account_id=self.organisation(coordinator.timebank).id,
                credit_account_id=self.account(attendee).id,
                amount_minutes=minutes,
                value_date=day,
                purpose=TransferPurpose.ACTIVITY,
                idempotency_key=f"activity-{uuid.uuid4()}",
            )
            activity = Activity(
                timebank_id=coordinator.timebank.id,
                title="Friday garden session",
                held_on=day,
                minutes=minutes,
                direction=ActivityDirection.EARN,
                category_id=category.id,
                recorded_by_id=coordinator.id,
                request_key=str(uuid.uuid4()),
                request_fingerprint="x",
            )
            self.session.add(activity)
            self.session.flush()
            self.session.add(ActivityAttendee(activity_id=activity.id, member_id=attendee.id, transfer_id=transfer.id))


def build_ledger(session: Session, factory: Factory) -> Ledger:
    b = Builder(session, factory)
    timebank = factory.timebank("Riverside")
    other = factory.timebank("Elm Park")
    cora = b.member(timebank, "Cora Coordinator", Role.COORDINATOR)
    names = ("Alice", "Bob", "Carol", "Dan", "Erin", "Fay", "Gina", "Hank")
    m = {name: b.member(timebank, name) for name in names}
    m["Ian"] = b.member(timebank, "Ian Applicant", status=MemberStatus.APPLIED)
    m["Sue"] = b.member(timebank, "Sue Suspended", status=MemberStatus.SUSPENDED)
    # Gina joined this month; Hank 36 days ago (not new any more). Both have never exchanged.
    m["Gina"].approved_at = datetime(2026, 3, 1, 10, 0)
    m["Hank"].approved_at = datetime(2026, 2, 10, 10, 0)
    m["Hank"].role = Role.COORDINATOR  # a coordinator: never on the outreach list
    m["Ian"].created_at = datetime(2026, 3, 16, 9, 0)
    b.account(m["Carol"]).cap_minutes = 90
    b.account(m["Fay"]).floor_minutes = -120
    session.commit()
    acct = {name: b.account(member) for name, member in m.items()}
    org = b.organisation(timebank)
    gardening, cooking = b.category(timebank, "Gardening"), b.category(timebank, "Cooking")
    other_help = b.category(timebank, "Lifts")

    request, offer = ListingKind.REQUEST, ListingKind.OFFER
    listings = {
        "bob_garden": b.listing(m["Bob"], request, "Weeding the back garden", datetime(2026, 1, 5), gardening),
        "alice_cooking": b.listing(m["Alice"], offer, "Batch cooking", datetime(2025, 9, 1), cooking),
        "alice_forms": b.listing(m["Alice"], request, "Help with <forms>", datetime(2026, 3, 1, 12), other_help),
        "fay_lift": b.listing(m["Fay"], request, "Lift to the clinic", datetime(2026, 3, 10, 12), other_help),
        "dan_paint": b.listing(m["Dan"], request, "Painting a fence", datetime(2026, 2, 2, 12), other_help),
        "erin_closed": b.listing(m["Erin"], request, "Closed request", datetime(2025, 12, 1), other_help),
        "erin_offer": b.listing(m["Erin"], offer, "Old offer", datetime(2025, 12, 1), other_help),
    }
    listings["erin_closed"].status = ListingStatus.CLOSED
    session.commit()
    # Dan's request was answered once, but Dan declined: still no match.
    declined = propose_exchange(
        session,
        m["Alice"],
        ProposalRequest(request_key=str(uuid.uuid4()), message="I can paint", listing_id=listings["dan_paint"].id),
    )
    decline_exchange(session, m["Dan"], declined.id, "Sorted it myself")

    ex = {
        "old": b.help(cora, acct["Erin"], acct["Bob"], 60, date(2025, 3, 31)),
        "first": b.help(cora, acct["Bob"], acct["Alice"], 15, date(2025, 4, 1)),
        "october": b.help(cora, acct["Erin"], acct["Bob"], 120, date(2025, 10, 9)),
        "fay": b.help(cora, acct["Bob"], acct["Fay"], 90, date(2026, 1, 20)),
        "cooking": b.help(cora, acct["Alice"], acct["Bob"], 180, date(2026, 2, 14), listings["alice_cooking"]),
        "reversed": b.help(cora, acct["Bob"], acct["Alice"], 30, date(2026, 2, 20)),
        "garden": b.help(cora, acct["Alice"], acct["Bob"], 120, date(2026, 3, 2), listings["bob_garden"]),
        "agency": b.help(cora, acct["Alice"], org, 90, date(2026, 3, 5)),
        "march": b.help(cora, acct["Bob"], acct["Alice"], 60, date(2026, 3, 10)),
    }
    b.reverse(cora, ex["reversed"], date(2026, 3, 12))
    b.activity(cora, m["Carol"], 60, date(2026, 3, 7), gardening)

    # Waiting for a coordinator: Alice recorded time for Erin (recorded), Erin recorded time for
    # Carol and Carol confirmed (confirmed), Dan recorded time for Erin and Erin disputes it.
    ex["recorded"] = b.help(m["Alice"], acct["Alice"], acct["Erin"], 30, date(2026, 3, 16))
    ex["confirmed"] = b.help(m["Erin"], acct["Erin"], acct["Carol"], 15, date(2026, 3, 16))
    confirm_exchange(session, m["Carol"], ex["confirmed"].id, today=TODAY)
    ex["disputed"] = b.help(m["Dan"], acct["Dan"], acct["Erin"], 45, date(2026, 3, 17))
    dispute_exchange(session, m["Erin"], ex["disputed"].id, "It was half an hour")

    # Elm Park: its own coordinator, an applicant, and 1 hour with its organisation this month.
    oscar = b.member(other, "Oscar Other", Role.COORDINATOR)
    olive = b.member(other, "Olive Outsider")
    b.member(other, "Otto Applicant", status=MemberStatus.APPLIED)
    b.help(oscar, b.account(olive), b.organisation(other), 60, date(2026, 3, 3))
    session.commit()
    return Ledger(timebank, cora, m, listings, ex, oscar)


@pytest.fixture
def world(session: Session, factory: Factory) -> Ledger:
    return build_ledger(session, factory)


@pytest.fixture
def board(session: Session, world: Ledger) -> CoordinatorDashboard:
    return build_coordinator_dashboard(session, world.coordinator, TODAY)


# -- hours -----------------------------------------------------------------------------------


def test_hours_this_month_and_last_are_net_of_the_reversal(board):  # type: ignore[no-untyped-def]
    assert board.this_month_minutes == 300
    assert board.last_month_minutes == 210
    assert board.month_change == "1 hour 30 minutes more than last month"


def test_the_twelve_month_series_runs_from_april_to_march_inclusive(board):  # type: ignore[no-untyped-def]
    expected = {date(2025, 4, 1): 15, date(2025, 10, 1): 120, date(2026, 1, 1): 90, date(2026, 2, 1): 210}
    assert board.months == [
        MonthHours(date(2025 + (month < 4), month, 1), expected.get(date(2025 + (month < 4), month, 1), 0))
        for month in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2)
    ] + [MonthHours(date(2026, 3, 1), 300)]
    chart = board.hours_chart
    assert chart.labels[0] == "April 2025" and chart.labels[-1] == "March 2026"
    assert chart.values[-1] == 5 and chart.values[-2] == 3.5
    # Each year once, under its own months: "2025" from April, "2026" from January.
    assert chart.short_labels is not None and chart.short_labels[9] == "Jan"
    assert chart.groups == ["2025"] * 9 + ["2026"] * 3


def test_hours_by_category_follow_the_listing_or_the_activity(board):  # type: ignore[no-untyped-def]
    assert [(c.name, c.minutes) for c in board.categories] == [
        ("No category", 375),
        ("Cooking", 180),
        ("Gardening", 180),
    ]


def test_person_to_person_and_person_to_agency_hours_are_split(board):  # type: ignore[no-untyped-def]
    assert board.person_to_person_minutes == 585
    assert board.person_to_agency_minutes == 150


# -- needs action ----------------------------------------------------------------------------


def test_what_needs_action_counts_approvals_applications_and_disputes(board, world):  # type: ignore[no-untyped-def]
    assert board.awaiting_approval.count == 2
    assert {i.exchange_id for i in board.awaiting_approval.top} == {
        world.exchanges["recorded"].id,
        world.exchanges["confirmed"].id,
    }
    assert board.disputes.count == 1
    (dispute,) = board.disputes.top
    assert (dispute.exchange_id, dispute.reason) == (world.exchanges["disputed"].id, "It was half an hour")
    assert board.applications.count == 1
    assert [p.name for p in board.applications.top] == ["Ian Applicant"]
    assert board.needs_action == 4


def test_the_waiting_lists_show_only_the_oldest_few_but_count_them_all(session, world):  # type: ignore[no-untyped-def]
    b = Builder(session, Factory(session))
    for number in range(6):
        member = b.member(world.timebank, f"Applicant {number}", status=MemberStatus.APPLIED)
        member.created_at = datetime(2026, 1, 1 + number)
    session.commit()
    board = build_coordinator_dashboard(session, world.coordinator, TODAY)
    assert board.applications.count == 7
    assert [p.name for p in board.applications.top] == [f"Applicant {n}" for n in range(5)]


# -- members ---------------------------------------------------------------------------------


def test_members_near_their_floor_or_cap_are_listed(board):  # type: ignore[no-untyped-def]
    # Fay: -1.5 hours against her own -2 hour floor. Carol: 1 hour earned against her own
    # 1.5 hour cap. Everyone else has more than an hour of room either way.
    assert board.near_limits.count == 2
    assert [(n.name, n.side, n.balance, n.limit, n.room) for n in board.near_limits.top] == [
        ("Carol", "cap", 60, 90, 30),
        ("Fay", "floor", -90, -120, 30),
    ]


def test_hours_waiting_for_approval_count_towards_the_floor(session, world):  # type: ignore[no-untyped-def]
    # Bob (-5.25 hours, floor -10 hours) records 4 hours Alice gave him: until it is approved
    # it is reserved, and he could only spend 45 minutes more.
    b = Builder(session, Factory(session))
    b.help(world.members["Bob"], b.account(world.members["Alice"]), b.account(world.members["Bob"]), 240, TODAY)
    board = build_coordinator_dashboard(session, world.coordinator, TODAY)
    bob = [n for n in board.near_limits.top if n.name == "Bob"]
    assert [(n.side, n.balance, n.limit, n.room) for n in bob] == [("floor", -315, -600, 45)]


def _near_newcomers(session: Session, world: Ledger, count: int) -> None:
    """Participants on a zero floor with a zero balance (no room at all), one past their floor
    (a floor of +1 hour) and one in a band so narrow they are near both limits."""
    b = Builder(session, Factory(session))
    for number in range(count):
        b.account(b.member(world.timebank, f"Near {number:02}")).floor_minutes = 0
    b.account(b.member(world.timebank, "Past")).floor_minutes = 60
    both = b.account(b.member(world.timebank, "Both"))
    both.floor_minutes, both.cap_minutes = -30, 30
    session.commit()


def test_the_near_limit_count_is_complete_and_the_dashboard_names_the_closest(session, world):  # type: ignore[no-untyped-def]
    _near_newcomers(session, world, 6)
    board = build_coordinator_dashboard(session, world.coordinator, TODAY)
    assert board.near_limits.count == 11  # 6 + Past + Both twice + Carol + Fay
    assert [(n.name, n.room) for n in board.near_limits.top] == [
        ("Past", -60),
        ("Near 00", 0),
        ("Near 01", 0),
        ("Near 02", 0),
        ("Near 03", 0),
    ]


def test_the_near_limits_page_lists_everyone_a_page_at_a_time(session, world):  # type: ignore[no-untyped-def]
    _near_newcomers(session, world, 25)
    first = near_limits_page(session, world.coordinator, None)
    assert (first.total, first.page, first.pages, len(first.items)) == (30, 1, 2, 20)
    assert first.items[0].name == "Past" and first.items[1].name == "Near 00"
    last = near_limits_page(session, world.coordinator, 99)  # past the end: the last page
    assert last.page == 2
    # The least room first, then by name; a member near both limits is a row for each.
    assert [(n.name, n.side, n.limit, n.room) for n in last.items][-4:] == [
        ("Both", "cap", 30, 30),
        ("Both", "floor", -30, 30),
        ("Carol", "cap", 90, 30),
        ("Fay", "floor", -120, 30),
    ]
    with pytest.raises(NotACoordinator):
        near_limits_page(session, world.members["Alice"], 1)


def test_requests_open_over_two_weeks_without_a_match_are_listed(board, world):  # type: ignore[no-untyped-def]
    titles = [r.title for r in board.stale_requests.top]
    # Alice's (17 days, no exchange) and Dan's (answered only by a proposal he declined). Not
    # Bob's (an exchange used it), Fay's (8 days), Erin's closed request or her offer.
    assert board.stale_requests.count == 2
    assert titles == ["Painting a fence", "Help with <forms>"]


def _old_requests(session: Session, world: Ledger, count: int) -> None:
    """Requests nobody answered, listed an hour apart from 1 January, before Dan's and Alice's."""
    b = Builder(session, Factory(session))
    lifts = b.category(world.timebank, "Lifts")
    for number in range(count):
        b.listing(
            world.members["Gina"],
            ListingKind.REQUEST,
            f"Old {number:02}",
            datetime(2026, 1, 1) + timedelta(hours=number),
            lifts,
        )
    session.commit()


def test_the_stale_request_count_is_complete_and_the_dashboard_names_the_oldest(session, world):  # type: ignore[no-untyped-def]
    _old_requests(session, world, 6)
    board = build_coordinator_dashboard(session, world.coordinator, TODAY)
    assert board.stale_requests.count == 8
    assert [r.title for r in board.stale_requests.top] == ["Old 00", "Old 01", "Old 02", "Old 03", "Old 04"]


def test_the_stale_requests_page_lists_them_all_a_page_at_a_time(session, world):  # type: ignore[no-untyped-def]
    _old_requests(session, world, 25)
    first = stale_requests_page(session, world.coordinator, TODAY, None)
    assert (first.total, first.page, first.pages, len(first.items)) == (27, 1, 2, 20)
    assert first.items[0].title == "Old 00" and first.items[0].member_name == "Gina"
    last = stale_requests_page(session, world.coordinator, TODAY, 99)  # past the end: the last page
    assert last.page == 2
    assert [r.title for r in last.items][-3:] == ["Old 24", "Painting a fence", "Help with <forms>"]
    with pytest.raises(NotACoordinator):
        stale_requests_page(session, world.members["Alice"], TODAY, 1)


def test_a_page_of_a_list_is_two_statements(session, world):  # type: ignore[no-untyped-def]
    _old_requests(session, world, 25)
    _near_newcomers(session, world, 25)
    for read in (
        lambda: stale_requests_page(session, world.coordinator, TODAY, 2),
        lambda: near_limits_page(session, world.coordinator, 2),
        lambda: outreach_page(session, world.coordinator, TODAY, 2),
    ):
        session.expire_all()
        assert world.coordinator.timebank is not None  # the signed-in coordinator comes with their timebank
        with counting_statements(session) as statements:
            read()
        assert len([s for s in statements if not s.startswith("BEGIN")]) == 2  # the count, the page


def test_the_outreach_list_has_quiet_and_never_active_participants(board):  # type: ignore[no-untyped-def]
    # Dan and Gina never exchanged (Dan's only record is still disputed); Erin's last posted
    # exchange was 9 October. Fay's was 57 days ago. Hank is a coordinator.
    assert board.outreach.count == 3
    assert [(q.name, q.last_exchange) for q in board.outreach.top] == [
        ("Dan", None),
        ("Gina", None),
        ("Erin", date(2025, 10, 9)),
    ]


def _quiet_newcomers(session: Session, world: Ledger, count: int) -> None:
    """Participants who never exchanged, named to sort between Dan and Gina."""
    b = Builder(session, Factory(session))
    for number in range(count):
        b.member(world.timebank, f"Extra {number}")
    session.commit()


def test_the_outreach_count_is_complete_and_the_dashboard_names_the_longest_quiet(session, world):  # type: ignore[no-untyped-def]
    _quiet_newcomers(session, world, 6)
    board = build_coordinator_dashboard(session, world.coordinator, TODAY)
    assert board.outreach.count == 9
    assert [q.name for q in board.outreach.top] == ["Dan", "Extra 0", "Extra 1", "Extra 2", "Extra 3"]


def test_the_outreach_page_lists_everyone_a_page_at_a_time(session, world):  # type: ignore[no-untyped-def]
    _quiet_newcomers(session, world, 25)
    first = outreach_page(session, world.coordinator, TODAY, None)
    assert (first.total, first.page, first.pages, len(first.items)) == (28, 1, 2, 20)
    assert first.items[0].name == "Dan" and first.items[1].name == "Extra 0"
    last = outreach_page(session, world.coordinator, TODAY, 99)  # past the end: the last page
    assert last.page == 2
    assert [q.name for q in last.items][-3:] == ["Extra 9", "Gina", "Erin"]
    assert [q.last_exchange for q in last.items][-1] == date(2025, 10, 9)
    with pytest.raises(NotACoordinator):
        outreach_page(session, world.members["Alice"], TODAY, 1)


def test_new_members_are_those_approved_in_the_last_30_days(board):  # type: ignore[no-untyped-def]
    assert [p.name for p in board.new_members] == ["Gina"]


def test_balances_fall_into_buckets(board):  # type: ignore[no-untyped-def]
    # Bob -5.25 h; Fay -1.5 h; Cora, Carol, Dan, Erin, Gina, Hank 0 to 3 h; Alice 5.25 h.
    assert board.balance_counts == [1, 1, 6, 1, 0, 0]
    chart = board.balance_chart
    assert list(chart.labels) == [bucket.label for bucket in BALANCE_BUCKETS]
    assert sum(chart.values) == 9


def test_the_buckets_cover_every_balance_once():
    edges = [(bucket.low, bucket.high) for bucket in BALANCE_BUCKETS]
    assert edges[0][0] is None and edges[-1][1] is None
    assert all(edges[i][1] == edges[i + 1][0] for i in range(len(edges) - 1))


def test_the_ledger_still_balances(session, world):  # type: ignore[no-untyped-def]
    session.rollback()
    assert ledger.check_ledger(session).ok


# -- scope and cost --------------------------------------------------------------------------


def test_another_timebanks_coordinator_sees_only_their_own_numbers(session, world):  # type: ignore[no-untyped-def]
    board = build_coordinator_dashboard(session, world.other_coordinator, TODAY)
    assert board.this_month_minutes == 60 and board.last_month_minutes == 0
    assert (board.person_to_person_minutes, board.person_to_agency_minutes) == (0, 60)
    assert [(c.name, c.minutes) for c in board.categories] == [("No category", 60)]
    assert board.applications.count == 1 and board.awaiting_approval.count == 0 and board.disputes.count == 0
    assert board.stale_requests == Waiting(0, []) and board.near_limits == Waiting(0, [])
    assert sum(board.balance_counts) == 2  # Oscar and Olive


def test_a_participant_cannot_build_the_dashboard(session, world):  # type: ignore[no-untyped-def]
    with pytest.raises(NotACoordinator):
        build_coordinator_dashboard(session, world.members["Alice"], TODAY)


@pytest.mark.real_commits
def test_the_number_of_queries_does_not_grow_with_members_or_exchanges(session, world):  # type: ignore[no-untyped-def]
    session.expire_all()
    with counting_statements(session) as before:
        build_coordinator_dashboard(session, world.coordinator, TODAY)
    b = Builder(session, Factory(session))
    for number in range(5):
        newcomer = b.member(world.timebank, f"Extra {number}")
        b.help(world.coordinator, b.account(newcomer), b.account(world.members["Alice"]), 15, date(2026, 3, 1))
        b.help(world.members["Alice"], b.account(world.members["Alice"]), b.account(newcomer), 15, TODAY)
    session.expire_all()
    with counting_statements(session) as after:
        build_coordinator_dashboard(session, world.coordinator, TODAY)
    assert len(after) == len(before)
    # The round-trip budget: two per waiting list (count, oldest), one per section otherwise.
    queries = [statement for statement in before if not statement.startswith("BEGIN")]  # SQLite's own
    assert len(queries) == DASHBOARD_STATEMENTS, "\n\n".join(queries)


# -- the page --------------------------------------------------------------------------------


def _sign_in(client, member: Member) -> None:  # type: ignore[no-untyped-def]
    client.post("/logout")
    response = client.post("/login", data={"email": member.email, "password": PASSWORD})
    assert response.status_code == 302


def test_signed_out_visitors_are_sent_to_sign_in(client, factory):  # type: ignore[no-untyped-def]
    factory.world()
    response = client.get("/coordinator/dashboard")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_participant_gets_403(client, factory):  # type: ignore[no-untyped-def]
    _sign_in(client, factory.world().alice)
    assert client.get("/coordinator/dashboard").status_code == 403


def _live_ledger(session: Session, factory: Factory) -> tuple[Member, Member, Member]:
    """A world dated by the real clock: the page shows the timebank's real today."""
    b = Builder(session, factory)
    timebank = factory.timebank("Riverside")
    other = factory.timebank("Elm Park")
    cora = b.member(timebank, "Cora Coordinator", Role.COORDINATOR)
    alice = b.member(timebank, "Alice")
    bea = b.member(timebank, "Bea")
    quiet = b.member(timebank, "<b>Quiet</b> & Co")
    oscar = b.member(other, "Oscar Other", Role.COORDINATOR)
    today = today_in(timebank.time_zone)
    b.help(cora, b.account(alice), b.account(bea), 90, today)
    b.help(alice, b.account(alice), b.account(quiet), 30, today)  # waits for Quiet and a coordinator
    return cora, quiet, oscar


def test_the_page_shows_both_charts_with_their_tables_and_links(client, session, factory):  # type: ignore[no-untyped-def]
    cora, quiet, _ = _live_ledger(session, factory)
    _sign_in(client, cora)
    response = client.get("/coordinator/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.get("role") == "img"
    assert "<caption>Hours exchanged each month" in page
    assert "<caption>Members by balance</caption>" in page
    assert re.search(r'<th scope="row">[A-Z][a-z]+ \d{4}</th><td class="num">1:30</td>', page)
    assert "Exchanges to approve: 1" in page
    assert 'href="/coordinator/exchanges"' in page
    assert f'href="/members/{quiet.id}"' in page  # outreach: never exchanged
    assert "&lt;b&gt;Quiet&lt;/b&gt; &amp; Co" in page and "<b>Quiet</b>" not in page


def test_the_coordinator_start_page_links_to_the_dashboard(client, session, factory):  # type: ignore[no-untyped-def]
    cora, _, _ = _live_ledger(session, factory)
    _sign_in(client, cora)
    assert 'href="/coordinator/dashboard"' in client.get("/coordinator/").get_data(as_text=True)


def test_another_timebanks_coordinator_sees_an_empty_dashboard_of_their_own(client, session, factory):  # type: ignore[no-untyped-def]
    _, _, oscar = _live_ledger(session, factory)
    _sign_in(client, oscar)
    response = client.get("/coordinator/dashboard")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Elm Park" in page
    assert "Alice" not in page and "Quiet" not in page and "Cora" not in page
    assert "Exchanges to approve: 0" in page
    assert "No data yet" in page  # no hours at all: the month chart is not drawn


def test_the_dashboard_links_to_the_whole_outreach_list_when_it_shows_only_part(client, session, factory):  # type: ignore[no-untyped-def]
    cora, quiet, oscar = _live_ledger(session, factory)
    _sign_in(client, cora)
    page = client.get("/coordinator/dashboard").get_data(as_text=True)
    assert "No exchange for 60 days: 1" in page
    assert 'href="/coordinator/dashboard/outreach"' not in page  # the one quiet member is shown
    b = Builder(session, factory)
    for number in range(6):
        b.member(cora.timebank, f"Extra {number}")
    session.commit()
    page = client.get("/coordinator/dashboard").get_data(as_text=True)
    assert "No exchange for 60 days: 7" in page
    assert 'href="/coordinator/dashboard/outreach"' in page
    response = client.get("/coordinator/dashboard/outreach?page=1")
    assert response.status_code == 200
    listing = response.get_data(as_text=True)
    assert f'href="/members/{quiet.id}"' in listing and "Extra 5" in listing
    assert "&lt;b&gt;Quiet&lt;/b&gt; &amp; Co" in listing and "<b>Quiet</b>" not in listing
    assert "Showing 1–7 of 7 people" in listing
    _sign_in(client, oscar)  # another timebank's coordinator sees only their own (nobody)
    other = client.get("/coordinator/dashboard/outreach").get_data(as_text=True)
    assert "Quiet" not in other and "Extra" not in other
    assert "Everyone has exchanged time" in other


def test_the_dashboard_links_to_the_whole_stale_and_near_limit_lists_when_it_shows_only_part(client, session, factory):  # type: ignore[no-untyped-def]
    cora, quiet, oscar = _live_ledger(session, factory)
    _sign_in(client, cora)
    page = client.get("/coordinator/dashboard").get_data(as_text=True)
    assert "Requests waiting more than 14 days: 0" in page and "Members near their floor or cap: 0" in page
    b = Builder(session, factory)
    listed = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    category = b.category(cora.timebank, "Lifts")
    b.listing(quiet, ListingKind.REQUEST, "<i>Lift</i> & more", listed, category)
    b.account(quiet).floor_minutes = 0
    session.commit()
    page = client.get("/coordinator/dashboard").get_data(as_text=True)
    assert "Requests waiting more than 14 days: 1" in page and "Members near their floor or cap: 1" in page
    assert "&lt;i&gt;Lift&lt;/i&gt; &amp; more" in page and "<i>Lift</i>" not in page
    assert 'href="/coordinator/dashboard/stale-requests"' not in page  # all shown already
    assert 'href="/coordinator/dashboard/near-limits"' not in page
    for number in range(6):
        b.listing(quiet, ListingKind.REQUEST, f"Extra {number}", listed, category)
        b.account(b.member(cora.timebank, f"Extra {number}")).floor_minutes = 0
    session.commit()
    page = client.get("/coordinator/dashboard").get_data(as_text=True)
    assert "Requests waiting more than 14 days: 7" in page and "Members near their floor or cap: 7" in page
    assert 'href="/coordinator/dashboard/stale-requests"' in page and "See all 7 waiting requests" in page
    assert 'href="/coordinator/dashboard/near-limits"' in page and "See all 7 members near a limit" in page
    stale = client.get("/coordinator/dashboard/stale-requests?page=1")
    assert stale.status_code == 200
    listing = stale.get_data(as_text=True)
    assert "&lt;i&gt;Lift&lt;/i&gt; &amp; more" in listing and "Extra 5" in listing
    assert "Showing 1–7 of 7 requests" in listing
    near = client.get("/coordinator/dashboard/near-limits?page=1")
    assert near.status_code == 200
    table = near.get_data(as_text=True)
    assert f'href="/members/{quiet.id}"' in table and "&lt;b&gt;Quiet&lt;/b&gt; &amp; Co" in table
    assert '<th scope="col">Room left</th>' in table and "<caption" in table
    assert "Showing 1–7 of 7 members near a limit" in table
    _sign_in(client, oscar)  # another timebank's coordinator sees only their own (nothing)
    other = client.get("/coordinator/dashboard/stale-requests").get_data(as_text=True)
    assert "Lift" not in other and "Extra" not in other and "Every open request has had an answer" in other
    other = client.get("/coordinator/dashboard/near-limits").get_data(as_text=True)
    assert "Quiet" not in other and "Extra" not in other and "Nobody is near their floor or cap" in other
