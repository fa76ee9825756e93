"""Segregation of duties (issue 12, points 5 and 6): nobody decides on their own benefit, and
approving what the other side never confirmed is a separate, deliberate step.

A coordinator's own record is not approved at once; their own exchange, grant, reversal or
limits wait for another coordinator of the timebank or an installation admin, show in the queue
as "Needs another coordinator", and the audit trail says who decided. A timebank with a single
coordinator may allow self-approval only through an explicit, audited setting, which the
monthly report mentions. Bulk approval skips unconfirmed time and says how many and why."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.coordinator_exchange_helpers import (
    account_of,
    audit_events,
    confirmed,
    donated,
    pool_balance,
    recorded,
    status_of,
)
from tests.exchange_helpers import Browser, assert_nothing_changed, balance, ledger_ok, pending, snapshot, today
from timebank.coordinator import members_service
from timebank.coordinator.activities import ActivityRequest, record_activity
from timebank.exchanges import grants, service
from timebank.exchanges.errors import NeedsAnotherCoordinator
from timebank.models import (
    Account,
    ActivityDirection,
    DecisionKind,
    DecisionRequest,
    DecisionStatus,
    ExchangeStatus,
    Role,
    Timebank,
)


@pytest.fixture
def browser(client):  # type: ignore[no-untyped-def]
    return Browser(client)


@pytest.fixture
def world(factory):  # type: ignore[no-untyped-def]
    """Riverside with two coordinators (Cora and Cole), Alice and Bob; an admin outside it."""
    world = factory.world()
    world.cole = factory.member(world.timebank, "Cole Coordinator", role=Role.COORDINATOR)
    world.admin = factory.member(None, "Ada Admin", is_admin=True)
    return world


def _own_record(session, coordinator, other, minutes: int = 60) -> int:  # type: ignore[no-untyped-def]
    """The coordinator records time they gave ``other``: their own exchange."""
    exchange = service.record_exchange(
        session,
        coordinator,
        service.RecordRequest(
            provider_account_id=account_of(session, coordinator).id,
            recipient_account_id=account_of(session, other).id,
            minutes=minutes,
            performed_on=today() - timedelta(days=1),
            description="Helped at the tea bar",
            request_key=uuid.uuid4().hex,
        ),
    )
    return exchange.id


def _waiting_requests(session) -> list[DecisionRequest]:  # type: ignore[no-untyped-def]
    session.rollback()
    return list(
        session.scalars(
            select(DecisionRequest).where(DecisionRequest.status == DecisionStatus.WAITING).order_by(DecisionRequest.id)
        )
    )


def _ask_own_limits(session, world, floor: int):  # type: ignore[no-untyped-def]
    coordinator = world.coordinator
    return members_service.set_limits(session, coordinator, coordinator.id, floor_minutes=floor, cap_minutes=None)


def _bulk(browser: Browser, ids: list[int], action: str = "approve", reason: str = "") -> Any:
    data: dict[str, Any] = {"exchange_ids": [str(i) for i in ids], "action": action}
    if reason:
        data["reason"] = reason
    return browser.client.post("/coordinator/exchanges/bulk", data=data)


# -- point 5: recording one's own hours -----------------------------------------------------------


def test_a_coordinators_own_record_is_not_approved_at_once_and_waits_for_another_coordinator(
    browser, world, session
):
    exchange_id = _own_record(session, world.coordinator, world.alice, 60)
    assert status_of(session, exchange_id) == ExchangeStatus.RECORDED  # was approved at once
    assert balance(session, world.coordinator) == 0
    assert pending(session, world.alice) == (0, 60)  # reserved, not moved

    browser.sign_in(world.coordinator)
    queue = browser.page("/coordinator/exchanges")
    assert f'href="/exchanges/{exchange_id}"' in queue
    assert "Needs another coordinator" in queue
    assert f'name="exchange_ids" value="{exchange_id}"' not in queue  # nothing to tick: not hers to decide
    assert f'id="approve-{exchange_id}"' not in queue
    detail = browser.page(f"/exchanges/{exchange_id}")
    assert "Needs another coordinator" in detail and "Approve 1 hour" not in detail

    service.confirm_exchange(session, world.alice, exchange_id)  # Alice agrees; still waits
    assert status_of(session, exchange_id) == ExchangeStatus.CONFIRMED
    browser.sign_in(world.cole)
    queue = browser.page("/coordinator/exchanges")
    assert "Needs another coordinator" not in queue and f'id="approve-{exchange_id}"' in queue
    assert browser.post(f"/coordinator/exchanges/{exchange_id}/approve").status_code == 302
    assert status_of(session, exchange_id) == ExchangeStatus.APPROVED
    assert balance(session, world.coordinator) == 60
    [approval] = audit_events(session, "exchange.approved")
    assert approval.actor_id == world.cole.id  # the audit trail says who decided
    assert ledger_ok(session)


def test_a_coordinator_recording_for_members_is_still_approved_at_once(world, session):
    """Paper timesheets: a coordinator's record of other people's time is approved at once."""
    exchange = service.record_exchange(
        session,
        world.coordinator,
        service.RecordRequest(
            provider_account_id=account_of(session, world.alice).id,
            recipient_account_id=account_of(session, world.bob).id,
            minutes=60,
            performed_on=today(),
            description="From the paper timesheet",
            request_key=uuid.uuid4().hex,
        ),
    )
    assert status_of(session, exchange.id) == ExchangeStatus.APPROVED
    assert balance(session, world.alice) == 60


def test_a_coordinator_cannot_earn_in_their_own_group_activity(world, session):
    before = snapshot(session)
    request = ActivityRequest(
        title="Garden day",
        held_on=today(),
        minutes=120,
        direction=ActivityDirection.EARN,
        attendee_ids=(world.alice.id, world.coordinator.id),
        request_key=uuid.uuid4().hex,
    )
    with pytest.raises(Exception, match="another coordinator of Riverside or an administrator must decide it"):
        record_activity(session, world.coordinator, request)
    session.rollback()
    assert_nothing_changed(session, before)


# -- point 5: approving (or refusing, settling) one's own exchange ------------------------------


def test_a_coordinator_cannot_approve_refuse_or_settle_an_exchange_they_take_part_in(browser, world, session):
    own = confirmed(session, world.alice, world.coordinator, 90)  # Alice helped Cora; Cora confirmed
    questioned = recorded(session, world.bob, world.coordinator, 30)
    service.dispute_exchange(session, world.coordinator, questioned, "It was shorter")
    browser.sign_in(world.coordinator)
    before = snapshot(session)

    response = browser.post(f"/coordinator/exchanges/{own}/approve")
    assert response.status_code == 403
    assert "This is your own exchange, so another coordinator of Riverside or an administrator must decide it." in (
        response.get_data(as_text=True)
    )
    assert browser.post(f"/coordinator/exchanges/{own}/reject", {"reject-reason": "No"}).status_code == 403
    settle = {"settle-outcome": "reject", "settle-reason": "It did not happen"}
    assert browser.post(f"/coordinator/exchanges/{questioned}/settle", settle).status_code == 403
    page = _bulk(browser, [own]).get_data(as_text=True)
    assert "0 of 1 approved." in page
    assert "1 was skipped because it is your own exchange: another coordinator or an administrator decides it." in page
    assert_nothing_changed(session, before)
    with pytest.raises(NeedsAnotherCoordinator):
        service.approve_exchange(session, world.coordinator, own)
    session.rollback()
    assert status_of(session, own) == ExchangeStatus.CONFIRMED
    assert balance(session, world.alice) == 0


def test_the_installation_admin_decides_a_coordinators_own_exchange_and_is_recorded(browser, world, session):
    own = confirmed(session, world.alice, world.coordinator, 90)
    browser.sign_in(world.admin)
    page = browser.page(f"/admin/timebanks/{world.timebank.id}")
    assert "Waiting for someone other than their coordinator" in page and "Alice gave 1 hour 30 minutes" in page
    response = browser.post(f"/admin/exchanges/{own}/decide", {"decision": "approve"})
    assert response.status_code == 302
    assert status_of(session, own) == ExchangeStatus.APPROVED
    assert balance(session, world.alice) == 90
    [approval] = audit_events(session, "exchange.approved")
    assert approval.actor_id == world.admin.id


# -- point 5: grants from the pool, limits, reversals -------------------------------------------


def test_a_grant_to_oneself_waits_for_another_coordinator_who_decides_it(browser, world, session):
    donated(session, world.alice, 120)
    browser.sign_in(world.coordinator)
    form = browser.page("/coordinator/grants/new")
    key = form.split('name="request_key" type="hidden" value="')[1].split('"')[0]
    data = {"member_id": str(world.coordinator.id), "amount": "1", "reason": "Bus fares", "request_key": key}
    response = browser.post("/coordinator/grants/new", data)
    assert response.status_code == 302
    assert balance(session, world.coordinator) == 0  # nothing moved: it waits
    assert pool_balance(session, world.timebank.id) == 120
    [request] = _waiting_requests(session)
    assert (request.kind, request.member_id, request.minutes) == (DecisionKind.GRANT, world.coordinator.id, 60)
    assert browser.post("/coordinator/grants/new", data).status_code == 302  # sent twice: one request
    assert len(_waiting_requests(session)) == 1

    queue = browser.page("/coordinator/exchanges")
    assert "You ask for 1 hour from the community pool for you." in queue and "Needs another coordinator" in queue
    refused = browser.post(f"/coordinator/requests/{request.id}/decide", {"decision": "approve"})
    assert refused.status_code == 403  # not hers to decide
    assert balance(session, world.coordinator) == 0

    browser.sign_in(world.cole)
    assert "Cora Coordinator asks for 1 hour from the community pool" in browser.page("/coordinator/exchanges")
    assert browser.post(f"/coordinator/requests/{request.id}/decide", {"decision": "approve"}).status_code == 302
    assert balance(session, world.coordinator) == 60
    assert pool_balance(session, world.timebank.id) == 60
    [granted] = audit_events(session, "pool.granted")
    assert granted.actor_id == world.cole.id and granted.after["requested_by_id"] == world.coordinator.id
    [decided] = audit_events(session, "decision.approved")
    assert decided.actor_id == world.cole.id
    assert ledger_ok(session)


def test_a_grant_service_call_for_oneself_returns_a_waiting_request_not_a_transfer(world, session):
    donated(session, world.alice, 120)
    outcome = grants.grant_from_pool(
        session, world.coordinator, grants.GrantRequest(world.coordinator.id, 60, "For me", "key-self")
    )
    assert isinstance(outcome, DecisionRequest) and outcome.status == DecisionStatus.WAITING
    assert balance(session, world.coordinator) == 0


def test_changing_ones_own_limits_waits_and_the_admin_can_approve_it(browser, world, session):
    browser.sign_in(world.coordinator)
    response = browser.post(f"/coordinator/members/{world.coordinator.id}/limits", {"floor": "-20", "cap": ""})
    assert response.status_code == 302
    session.rollback()
    mine = session.scalar(select(Account).where(Account.member_id == world.coordinator.id))
    assert mine is not None and mine.floor_minutes is None  # unchanged: it waits
    [request] = _waiting_requests(session)
    assert (request.kind, request.floor_minutes) == (DecisionKind.LIMITS, -1200)

    browser.sign_in(world.admin)
    page = browser.page(f"/admin/timebanks/{world.timebank.id}")
    assert "Cora Coordinator asks for new limits for themselves" in page
    assert browser.post(f"/admin/requests/{request.id}/decide", {"decision": "approve"}).status_code == 302
    session.rollback()
    mine = session.scalar(select(Account).where(Account.member_id == world.coordinator.id))
    assert mine is not None and mine.floor_minutes == -1200
    [changed] = audit_events(session, "account.limits_changed")
    assert changed.actor_id == world.admin.id


def test_a_coordinator_still_sets_other_members_limits_at_once(world, session):
    account = members_service.set_limits(
        session, world.coordinator, world.alice.id, floor_minutes=-300, cap_minutes=None
    )
    assert isinstance(account, Account) and account.floor_minutes == -300


def test_reversing_ones_own_exchange_is_refused_and_can_be_asked_of_another_coordinator(browser, world, session):
    own = confirmed(session, world.alice, world.coordinator, 60)
    service.approve_exchange(session, world.cole, own)
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = browser.post(f"/coordinator/exchanges/{own}/reverse", {"reverse-reason": "Entered twice"})
    assert response.status_code == 403
    assert_nothing_changed(session, before)
    page = browser.page(f"/exchanges/{own}")
    assert "Ask another coordinator to reverse this" in page and "Reverse this exchange" not in page
    asked = browser.post(f"/coordinator/exchanges/{own}/ask-reversal", {"ask_reversal-reason": "Entered twice"})
    assert asked.status_code == 302
    [request] = _waiting_requests(session)
    assert request.kind == DecisionKind.REVERSAL and request.exchange_id == own
    assert status_of(session, own) == ExchangeStatus.APPROVED

    browser.sign_in(world.cole)
    refuse = browser.post(f"/coordinator/requests/{request.id}/decide", {"decision": "refuse"})
    assert refuse.status_code == 302  # a refusal needs a note: nothing decided
    assert len(_waiting_requests(session)) == 1
    assert browser.post(f"/coordinator/requests/{request.id}/decide", {"decision": "approve"}).status_code == 302
    assert status_of(session, own) == ExchangeStatus.REVERSED
    assert balance(session, world.alice) == 0
    [reversal] = audit_events(session, "exchange.reversed")
    assert reversal.actor_id == world.cole.id
    assert ledger_ok(session)


def test_a_refused_or_withdrawn_request_changes_nothing(browser, world, session):
    outcome = _ask_own_limits(session, world, -1200)
    assert isinstance(outcome, DecisionRequest)
    browser.sign_in(world.cole)
    note = {"decision": "refuse", "note": "Ten hours is enough for now"}
    assert browser.post(f"/coordinator/requests/{outcome.id}/decide", note).status_code == 302
    session.rollback()
    refused = session.get(DecisionRequest, outcome.id)
    assert refused is not None and refused.status == DecisionStatus.REFUSED and refused.decided_by_id == world.cole.id
    again = browser.post(f"/coordinator/requests/{outcome.id}/decide", {"decision": "approve"})
    assert again.status_code == 409
    second = _ask_own_limits(session, world, -900)
    assert isinstance(second, DecisionRequest)
    assert browser.post(f"/coordinator/requests/{second.id}/withdraw").status_code == 403  # only Cora may
    browser.sign_in(world.coordinator)
    assert browser.post(f"/coordinator/requests/{second.id}/withdraw").status_code == 302
    session.rollback()
    mine = session.scalar(select(Account).where(Account.member_id == world.coordinator.id))
    assert mine is not None and mine.floor_minutes is None


def test_another_timebanks_coordinator_cannot_see_or_decide_a_request(browser, world, factory, session):
    oscar = factory.member(world.other_timebank, "Oscar", role=Role.COORDINATOR)
    outcome = _ask_own_limits(session, world, -1200)
    assert isinstance(outcome, DecisionRequest)
    browser.sign_in(oscar)
    before = snapshot(session)
    assert browser.post(f"/coordinator/requests/{outcome.id}/decide", {"decision": "approve"}).status_code == 404
    assert "asks for new limits" not in browser.page("/coordinator/exchanges")
    assert_nothing_changed(session, before)


# -- point 5: a single coordinator's explicit, audited self-approval ----------------------------


def _single_coordinator(factory):  # type: ignore[no-untyped-def]
    world = factory.world()
    world.admin = factory.member(None, "Ada Admin", is_admin=True)
    return world


def test_self_approval_is_an_explicit_audited_setting_for_a_single_coordinator(browser, factory, session):
    world = _single_coordinator(factory)
    browser.sign_in(world.coordinator)
    page = browser.page("/coordinator/self-approval")
    assert "Approving your own items" in page
    missing = browser.post("/coordinator/self-approval", {"allowed": "yes", "reason": " "})
    assert missing.status_code == 422  # a reason is needed to switch it on
    switched = browser.post("/coordinator/self-approval", {"allowed": "yes", "reason": "Only coordinator"})
    assert switched.status_code == 302
    session.rollback()
    assert session.get(Timebank, world.timebank.id).allow_self_approval is True
    [changed] = audit_events(session, "timebank.self_approval_changed")
    assert changed.actor_id == world.coordinator.id and changed.after["reason"] == "Only coordinator"

    # Now her own record is approved at once, and recorded as a self-approval.
    exchange_id = _own_record(session, world.coordinator, world.alice, 60)
    assert status_of(session, exchange_id) == ExchangeStatus.APPROVED
    [self_approved] = audit_events(session, "duty.self_approved")
    assert self_approved.actor_id == world.coordinator.id
    assert "Approved their own exchange" in self_approved.after["what"]

    # The monthly report (web, CSV, PDF) says so, and lists it.
    month = today().strftime("%Y-%m")
    report = browser.page(f"/reports/monthly?month={month}")
    assert "Self-approval was on" in report and "Approved their own exchange" in report
    rows = list(csv.reader(io.StringIO(browser.get(f"/reports/monthly.csv?month={month}").get_data(as_text=True)[1:])))
    assert ["Self-approval", "The coordinator could approve their own items during the month", "yes", ""] in rows
    assert ["Self-approval", "Items they approved for themselves", "1", "items"] in rows
    pdf = browser.get(f"/reports/monthly.pdf?month={month}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_self_approval_cannot_be_switched_on_with_two_coordinators_and_goes_off_when_a_second_arrives(
    browser, factory, session
):
    world = _single_coordinator(factory)
    browser.sign_in(world.admin)
    on = {"allowed": "yes", "reason": "Only one coordinator for now"}
    assert browser.post(f"/admin/timebanks/{world.timebank.id}/self-approval", on).status_code == 302
    session.rollback()
    assert session.get(Timebank, world.timebank.id).allow_self_approval is True
    appointed = browser.post(f"/admin/timebanks/{world.timebank.id}/coordinators", {"member_id": str(world.alice.id)})
    assert appointed.status_code == 302
    session.rollback()
    assert session.get(Timebank, world.timebank.id).allow_self_approval is False
    changes = audit_events(session, "timebank.self_approval_changed")
    assert [c.after["allow_self_approval"] for c in changes] == [True, False]
    refused = browser.post(f"/admin/timebanks/{world.timebank.id}/self-approval", on)
    assert refused.status_code == 409
    assert "each decides for the others" in refused.get_data(as_text=True)


def test_a_month_without_self_approval_says_nothing_about_it(browser, factory, session):
    world = _single_coordinator(factory)
    browser.sign_in(world.coordinator)
    report = browser.page(f"/reports/monthly?month={today():%Y-%m}")
    assert "Self-approval" not in report


# -- point 6: approving what the other side never confirmed -------------------------------------


def test_the_queue_shows_unconfirmed_time_and_bulk_approval_skips_it_saying_how_many_and_why(
    browser, world, session
):
    unconfirmed = [recorded(session, world.alice, world.bob, 45), recorded(session, world.bob, world.alice, 30)]
    agreed = confirmed(session, world.alice, world.bob, 60)
    browser.sign_in(world.coordinator)
    queue = browser.page("/coordinator/exchanges")
    assert "Not yet confirmed by Bob" in queue and "Not yet confirmed by Alice" in queue
    assert f'id="approve-{unconfirmed[0]}"' not in queue  # no one-click approval for unconfirmed time

    response = _bulk(browser, [*unconfirmed, agreed])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 of 3 approved." in page
    assert "2 were skipped because the other person has not confirmed them yet." in page
    assert status_of(session, agreed) == ExchangeStatus.APPROVED
    assert [status_of(session, i) for i in unconfirmed] == [ExchangeStatus.RECORDED, ExchangeStatus.RECORDED]
    assert pending(session, world.bob) == (30, 45)


def test_person_to_agency_time_needs_no_other_member_to_confirm(browser, world, session):
    """The organisation's side is confirmed by the coordinator who approves it."""
    agency = service.record_with_organisation(
        session,
        world.alice,
        member_earns=True,
        record=service.TimeRecord(minutes=30, performed_on=today(), description="Ran the tea bar"),
        request_key=uuid.uuid4().hex,
    )
    browser.sign_in(world.coordinator)
    assert "1 of 1 approved." in _bulk(browser, [agency.id]).get_data(as_text=True)
    assert balance(session, world.alice) == 30
