"""The scheduled jobs, run with a frozen clock (``now`` is handed to every job), on SQLite and
PostgreSQL: months close from 02:00 on the 1st in each timebank's own time zone (across daylight
saving), missed months are caught up in order, unconfirmed records are reminded once half-way and
expire (their reservation voided), ended listings pause, and the weekly digest reaches the members
who asked for it, over real SMTP, with a working unsubscribe link. Last, the two-schedulers case on
PostgreSQL: every job run twice at the same moment gives one result."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.conftest import Factory, Inbox, World, require_postgres
from timebank import ledger
from timebank.exchanges.service import (
    RecordRequest,
    TimeRecord,
    dispute_exchange,
    record_exchange,
    record_with_organisation,
)
from timebank.jobs import JOBS, run_job
from timebank.jobs.scheduler import run_in_app
from timebank.listings.service import ListingInput, create_listing
from timebank.models import (
    Account,
    AuditEvent,
    Category,
    Exchange,
    ExchangeStatus,
    JobRun,
    Listing,
    ListingKind,
    ListingStatus,
    Member,
    Notification,
    OutboundEmail,
    Period,
    Statement,
    Timebank,
    Transfer,
    TransferPhase,
    TransferPurpose,
)

# The jobs run with a session of their own (run_job), on another connection: they commit for real.
pytestmark = pytest.mark.real_commits


def at(text: str) -> datetime:
    """An aware UTC moment: at("2026-04-01 01:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def move(session: Session, timebank: Timebank, debit: Member, credit: Member, minutes: int, value_date: date) -> None:
    assert debit.account is not None and credit.account is not None
    with ledger.write_transaction(session):
        ledger.create_transfer(
            session,
            timebank_id=timebank.id,
            debit_account_id=debit.account.id,
            credit_account_id=credit.account.id,
            amount_minutes=minutes,
            value_date=value_date,
            purpose=TransferPurpose.EXCHANGE,
            idempotency_key=str(uuid.uuid4()),
        )


def category_of(session: Session, timebank: Timebank) -> int:
    category = session.scalars(
        select(Category.id).where(Category.timebank_id == timebank.id).order_by(Category.id)
    ).first()
    assert category is not None
    return category


def closed_months(session: Session, timebank: Timebank) -> list[str]:
    session.rollback()
    months = session.scalars(select(Period.month).where(Period.timebank_id == timebank.id).order_by(Period.month))
    return [f"{month:%Y-%m}" for month in months]


def last_run(session: Session, job: str) -> JobRun:
    session.rollback()
    run = session.scalar(select(JobRun).where(JobRun.job == job).order_by(JobRun.id.desc()))
    assert run is not None
    return run


# -- closing months --------------------------------------------------------------------------


def test_a_month_closes_from_0200_on_the_1st_in_each_timebanks_own_time_zone_across_daylight_saving(
    app: Flask, session: Session, factory: Factory
):
    london = factory.timebank("Riverside")  # Europe/London
    auckland = factory.timebank("Harbour", time_zone="Pacific/Auckland")
    people = {bank.id: (factory.member(bank, "Ann"), factory.member(bank, "Ben")) for bank in (london, auckland)}
    for bank in (london, auckland):
        ann, ben = people[bank.id]
        move(session, bank, ann, ben, 60, date(2026, 3, 10))

    # 1 April 02:00 in Auckland (NZDT, +13) is 31 March 13:00 UTC; London is still in March.
    assert run_job("close_due_months", now=at("2026-03-31 12:59")).ok
    assert closed_months(session, auckland) == [] and closed_months(session, london) == []
    run_job("close_due_months", now=at("2026-03-31 13:00"))
    assert closed_months(session, auckland) == ["2026-03"] and closed_months(session, london) == []

    # London changed to summer time on 29 March: 02:00 BST on 1 April is 01:00 UTC.
    run_job("close_due_months", now=at("2026-04-01 00:59"))
    assert closed_months(session, london) == []
    result = run_job("close_due_months", now=at("2026-04-01 01:00"))
    assert closed_months(session, london) == ["2026-03"]
    assert result.ok and result.summary == "Closed 1 month: riverside 2026-03."
    run = last_run(session, "close_due_months")
    assert run.ok is True and run.summary == "Closed 1 month: riverside 2026-03."
    assert run.started_at == datetime(2026, 4, 1, 1, 0) and run.finished_at is not None

    # Back on GMT from 25 October: 02:00 on 1 November is 02:00 UTC. A server that never ran
    # between April and November catches up: every month, in order, October last.
    run_job("close_due_months", now=at("2026-11-01 01:59"))
    assert closed_months(session, london) == [f"2026-{m:02d}" for m in range(3, 10)]
    result = run_job("close_due_months", now=at("2026-11-01 02:00"))
    assert closed_months(session, london) == [f"2026-{m:02d}" for m in range(3, 11)]
    assert result.summary == "Closed 1 month: riverside 2026-10."
    # Every closed month has a statement per account, and the ledger agrees with them.
    session.rollback()
    accounts = session.scalar(select(func.count(Account.id)).where(Account.timebank_id == london.id))
    statements = session.scalar(select(func.count(Statement.id)).join(Period).where(Period.timebank_id == london.id))
    assert statements == accounts * 8
    assert ledger.check_ledger(session).ok
    # Each close is in the audit trail, by "the system", committed with the close itself.
    closes = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "period.closed", AuditEvent.timebank_id == london.id)
    ).all()
    assert len(closes) == 8 and all(event.actor_id is None for event in closes)
    # Nothing is due again.
    assert (
        run_job("close_due_months", now=at("2026-11-01 03:00")).summary == "No month was due to close in 2 timebanks."
    )


def test_a_timebank_with_no_transfers_has_nothing_to_close(app: Flask, session: Session, factory: Factory):
    bank = factory.timebank("Quiet")
    assert run_job("close_due_months", now=at("2026-05-01 03:00")).ok
    assert closed_months(session, bank) == []


# -- unconfirmed records: a reminder half-way, then expiry ---------------------------------------


def _recorded(session: Session, world: World, minutes: int = 90) -> Exchange:
    """Alice records time she gave Bob; it waits for Bob to confirm."""
    assert world.alice.account is not None and world.bob.account is not None
    exchange = record_exchange(
        session,
        world.alice,
        RecordRequest(
            provider_account_id=world.alice.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=minutes,
            performed_on=date.today() - timedelta(days=1),
            description="Dug the vegetable bed",
            request_key=str(uuid.uuid4()),
        ),
    )
    session.commit()
    return exchange


def _recorded_at(session: Session, exchange_id: int) -> datetime:
    session.rollback()
    exchange = session.get(Exchange, exchange_id)
    assert exchange is not None and exchange.recorded_at is not None
    return exchange.recorded_at.replace(tzinfo=UTC)


def _notifications(session: Session, kind: str) -> list[tuple[int, bool, str]]:
    session.rollback()
    rows = session.execute(
        select(Notification.member_id, Notification.needs_action, Notification.message)
        .where(Notification.kind == kind)
        .order_by(Notification.member_id)
    )
    return [(member_id, needs_action, message) for member_id, needs_action, message in rows]


def test_unconfirmed_time_is_reminded_once_half_way_then_expires_and_its_hours_are_released(
    app: Flask, session: Session, factory: Factory
):
    world = factory.world()
    exchange = _recorded(session, world)
    disputed = _recorded(session, world, minutes=60)
    dispute_exchange(session, world.bob, disputed.id, "It was only half an hour")
    recorded_at = _recorded_at(session, exchange.id)
    assert world.timebank.pending_expiry_days == 14

    run_job("expire_pending_exchanges", now=recorded_at + timedelta(days=7) - timedelta(minutes=1))
    assert _notifications(session, "exchange.reminder") == []

    result = run_job("expire_pending_exchanges", now=recorded_at + timedelta(days=7))
    assert result.summary == "Expired 0 unconfirmed exchanges; sent 2 reminders."
    reminders = _notifications(session, "exchange.reminder")
    # Bob must act (confirm or dispute); Alice, who recorded it, is told it waits on Bob.
    assert [(member_id, needs) for member_id, needs, _ in reminders] == [(world.alice.id, False), (world.bob.id, True)]
    assert "Alice recorded 1 hour 30 minutes with you" in reminders[1][2] and "confirm" in reminders[1][2]
    assert reminders[0][2].startswith("Bob has not confirmed the 1 hour 30 minutes you recorded")

    # Later runs remind nobody again.
    result = run_job("expire_pending_exchanges", now=recorded_at + timedelta(days=10))
    assert result.summary == "Expired 0 unconfirmed exchanges; sent 0 reminders."
    assert len(_notifications(session, "exchange.reminder")) == 2

    run_job("expire_pending_exchanges", now=recorded_at + timedelta(days=14) - timedelta(seconds=1))
    assert session.get(Exchange, exchange.id).status == ExchangeStatus.RECORDED  # type: ignore[union-attr]
    result = run_job("expire_pending_exchanges", now=recorded_at + timedelta(days=14))
    assert result.summary == "Expired 1 unconfirmed exchange; sent 0 reminders."
    session.rollback()
    expired = session.get(Exchange, exchange.id)
    assert expired is not None and expired.status == ExchangeStatus.EXPIRED
    voids = session.scalars(select(Transfer).where(Transfer.pending_id == expired.pending_transfer_id)).all()
    assert [t.phase for t in voids] == [TransferPhase.VOID]
    # The disputed exchange keeps its reservation: a coordinator settles it. Alice's account
    # holds only that one's pending credit; the expired one is released on both sides.
    for member, pending in ((world.alice, (60, 0)), (world.bob, (0, 60))):
        account = session.scalar(select(Account).where(Account.member_id == member.id))
        assert account is not None and (account.credits_pending, account.debits_pending) == pending
    assert session.get(Exchange, disputed.id).status == ExchangeStatus.DISPUTED  # type: ignore[union-attr]
    assert ledger.check_ledger(session).ok
    told = _notifications(session, "exchange.expired")
    assert [member_id for member_id, _, _ in told] == [world.alice.id, world.bob.id]
    assert told[0][2].startswith("The 1 hour 30 minutes you gave Bob was not confirmed within 14 days")
    assert told[1][2].startswith("The 1 hour 30 minutes Alice gave you was not confirmed within 14 days")
    # The reminders asked for something that is now overtaken: no longer "needs your action".
    assert all(not needs for _, needs, _ in _notifications(session, "exchange.reminder"))
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "exchange.expired"))
    assert event is not None and event.actor_id is None and event.subject_id == exchange.id
    # Run again: nothing more happens.
    result = run_job("expire_pending_exchanges", now=recorded_at + timedelta(days=20))
    assert result.summary == "Expired 0 unconfirmed exchanges; sent 0 reminders."


def test_time_given_to_the_organisation_waits_on_a_coordinator_who_is_reminded_instead(
    app: Flask, session: Session, factory: Factory
):
    world = factory.world()
    exchange = record_with_organisation(
        session,
        world.alice,
        member_earns=True,
        record=TimeRecord(minutes=120, performed_on=date.today() - timedelta(days=1), description="Served lunch"),
        request_key=str(uuid.uuid4()),
    )
    session.commit()
    run_job("expire_pending_exchanges", now=_recorded_at(session, exchange.id) + timedelta(days=7))
    reminders = _notifications(session, "exchange.reminder")
    assert [(member_id, needs) for member_id, needs, _ in reminders] == [
        (world.coordinator.id, True),
        (world.alice.id, False),
    ]
    assert "waiting for a coordinator to approve it" in reminders[0][2]
    assert reminders[1][2].startswith("A coordinator has not approved the 2 hours you recorded")


def test_an_expired_exchange_shows_why_on_its_page(app: Flask, session: Session, factory: Factory, auth, client):  # type: ignore[no-untyped-def]
    world = factory.world()
    exchange = _recorded(session, world)
    assert run_job("expire_pending_exchanges", now=_recorded_at(session, exchange.id) + timedelta(days=15)).ok
    session.rollback()  # the requests share this session: let them see what the job committed
    auth.login(world.bob)
    page = client.get(f"/exchanges/{exchange.id}").get_data(as_text=True)
    assert "the record expired and the hours were released" in page


# -- listings past their end date -------------------------------------------------------------


def test_listings_past_their_end_date_pause_and_their_owners_are_told_once(
    app: Flask, session: Session, factory: Factory
):
    world = factory.world()

    def listing(title: str, ends_on: date | None) -> Listing:
        made = create_listing(
            session,
            world.alice,
            ListingInput(
                kind=ListingKind.OFFER, category_id=category_of(session, world.timebank), title=title, ends_on=ends_on
            ),
            today=date(2026, 3, 1),
        )
        session.commit()
        return made

    ended = listing("Shelves put up", date(2026, 3, 10))
    ends_today = listing("Dog walking", date(2026, 3, 11))
    no_end = listing("Lifts to the shops", None)

    # 23:30 UTC on 10 March is still 10 March in London (GMT): nothing has ended yet.
    assert (
        run_job("pause_ended_listings", now=at("2026-03-10 23:30")).summary == "Paused 0 listings past their end date."
    )
    result = run_job("pause_ended_listings", now=at("2026-03-11 00:30"))
    assert result.summary == "Paused 1 listing past their end date."
    run_job("pause_ended_listings", now=at("2026-03-11 01:30"))
    session.rollback()
    statuses = {item.title: session.get(Listing, item.id).status for item in (ended, ends_today, no_end)}  # type: ignore[union-attr]
    assert statuses == {
        "Shelves put up": ListingStatus.PAUSED,
        "Dog walking": ListingStatus.OPEN,
        "Lifts to the shops": ListingStatus.OPEN,
    }
    told = _notifications(session, "listing.paused")
    assert len(told) == 1 and told[0][0] == world.alice.id
    assert "Your offer “Shelves put up” ended on Tuesday 10 March 2026, so it is paused" in told[0][2]
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "listing.paused")).all()
    assert [(e.subject_id, e.actor_id) for e in events] == [(ended.id, None)]


# -- the weekly digest ------------------------------------------------------------------------


def _digest_world(session: Session, factory: Factory) -> tuple[World, Member]:
    """Alice and Bob asked for the digest, the coordinator did not; Olive (the other timebank,
    with nothing new) asked too. Alice has a new offer, Bob a new request, in the week before
    Monday 9 March 2026; an older offer and a paused one are not news."""
    world = factory.world()
    carol = factory.member(world.timebank, "Carol")  # no email preference set: no digest
    session.execute(
        update(Member)
        .where(Member.id.in_([world.alice.id, world.bob.id, world.outsider.id]))
        .values(weekly_digest=True)
    )
    session.commit()

    def listing(owner: Member, kind: ListingKind, title: str, created: str, status: ListingStatus) -> None:
        category = category_of(session, world.timebank)
        made = create_listing(session, owner, ListingInput(kind=kind, category_id=category, title=title))
        session.commit()
        session.execute(
            update(Listing)
            .where(Listing.id == made.id)
            .values(created_at=datetime.fromisoformat(created), status=status)
        )
        session.commit()

    listing(world.alice, ListingKind.OFFER, "Shelves put up", "2026-03-04 12:00", ListingStatus.OPEN)
    listing(world.bob, ListingKind.REQUEST, "Help with my garden", "2026-03-08 18:00", ListingStatus.OPEN)
    listing(carol, ListingKind.OFFER, "Old offer", "2026-02-20 12:00", ListingStatus.OPEN)
    listing(carol, ListingKind.OFFER, "Paused offer", "2026-03-05 12:00", ListingStatus.PAUSED)
    return world, carol


MONDAY_0800 = at("2026-03-09 08:00")  # Monday, London on GMT


def test_the_weekly_digest_reaches_members_who_asked_for_it_with_a_working_unsubscribe_link(
    app: Flask, session: Session, factory: Factory, smtp_inbox: Inbox, client: FlaskClient
):
    world, _ = _digest_world(session, factory)

    assert (
        "not due yet in 2 timebanks" in run_job("queue_weekly_digests", now=MONDAY_0800 - timedelta(minutes=1)).summary
    )
    result = run_job("queue_weekly_digests", now=MONDAY_0800)
    assert (
        result.summary
        == "Queued 2 weekly digests for 2026-W11; 1 member had nothing new, so got none; 0 already queued."
    )
    # A second run (or a second scheduler) later that week queues nothing more.
    again = run_job("queue_weekly_digests", now=MONDAY_0800 + timedelta(days=2))
    assert again.summary.startswith("Queued 0 weekly digests for 2026-W11;") and "2 already queued" in again.summary
    session.rollback()
    keys = sorted(session.scalars(select(OutboundEmail.dedupe_key)))
    assert keys == sorted(f"digest:2026-W11:{m.id}" for m in (world.alice, world.bob))

    assert run_job("send_emails", now=MONDAY_0800 + timedelta(minutes=1)).ok
    received = {message.envelope_to[0]: message for message in smtp_inbox.messages}
    assert sorted(received) == sorted([world.alice.email, world.bob.email])
    to_alice = received[world.alice.email]  # type: ignore[index]
    assert to_alice.message["Subject"] == "1 new offer or request at Riverside this week"
    assert "Help with my garden" in to_alice.text and "Shelves put up" not in to_alice.text  # not her own
    assert "Old offer" not in to_alice.text and "Paused offer" not in to_alice.text
    assert "Help with my garden" in to_alice.html
    link = re.search(r"http://127\.0\.0\.1:5000/unsubscribe/\S+", to_alice.text)
    assert link is not None
    assert str(to_alice.message["List-Unsubscribe"]).strip() == f"<{link.group(0)}>"  # may be folded
    assert to_alice.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.group(0) in to_alice.html
    assert "Shelves put up" in received[world.bob.email].text  # type: ignore[index]

    # The link opens a page with a button (no sign-in); pressing it turns the digest off.
    path = urlsplit(link.group(0)).path
    page = client.get(path)
    assert page.status_code == 200 and "Stop the weekly email" in page.get_data(as_text=True)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert client.post(path).status_code == 200
    session.rollback()
    assert session.get(Member, world.alice.id).weekly_digest is False  # type: ignore[union-attr]
    assert session.get(Member, world.bob.id).weekly_digest is True  # type: ignore[union-attr]
    assert "There is nothing to do" in client.get(path).get_data(as_text=True)  # the link again, later
    # A mail client's one-click unsubscribe (RFC 8058) works on Bob's link the same way.
    bob_link = re.search(r"/unsubscribe/\S+", received[world.bob.email].text)  # type: ignore[index]
    assert bob_link is not None
    assert client.post(bob_link.group(0), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    session.rollback()
    assert session.get(Member, world.bob.id).weekly_digest is False  # type: ignore[union-attr]
    # Next week, nobody in Riverside asked for it any more.
    next_week = run_job("queue_weekly_digests", now=MONDAY_0800 + timedelta(days=7))
    assert next_week.summary.startswith("Queued 0 weekly digests for 2026-W12")


def test_a_changed_unsubscribe_link_is_refused_and_changes_nothing(
    app: Flask, session: Session, factory: Factory, client: FlaskClient
):
    from timebank.digest.service import make_unsubscribe_token

    world = factory.world()
    world.alice.weekly_digest = True
    session.commit()
    forged = make_unsubscribe_token("another installation's key", world.alice.id)
    for response in (
        client.get(f"/unsubscribe/{forged}"),
        client.post(f"/unsubscribe/{forged}"),
        client.post("/unsubscribe/x"),
    ):
        assert response.status_code == 400
        assert "This unsubscribe link does not work" in response.get_data(as_text=True)
    session.rollback()
    assert session.get(Member, world.alice.id).weekly_digest is True  # type: ignore[union-attr]


# -- two schedulers at once (PostgreSQL) -------------------------------------------------------


def _twice_at_once(app: Flask, name: str, now: datetime) -> None:
    """Run the job from two threads released together, as two scheduler processes would."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            barrier.wait(timeout=10)
            run_in_app(app, name, now)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def test_two_schedulers_running_every_job_at_once_give_one_result(
    app: Flask, session: Session, factory: Factory, smtp_inbox: Inbox
):
    if session.get_bind().dialect.name != "postgresql":
        require_postgres("two schedulers at once need PostgreSQL's concurrency")
        pytest.skip("the PostgreSQL run of this test proves it")
    world, _ = _digest_world(session, factory)
    exchange = _recorded(session, world)
    recorded_at = _recorded_at(session, exchange.id)
    ended = create_listing(
        session,
        world.bob,
        ListingInput(
            kind=ListingKind.OFFER,
            category_id=category_of(session, world.timebank),
            title="Ended",
            ends_on=date(2026, 3, 5),
        ),
        today=date(2026, 3, 1),
    )
    session.commit()
    for month in (1, 2):
        move(session, world.timebank, world.alice, world.bob, 30, date(2026, month, 15))

    def runs_ok(name: str) -> None:
        session.rollback()
        runs = session.scalars(select(JobRun).where(JobRun.job == name)).all()
        assert len(runs) == 2 and all(run.ok for run in runs), [run.summary for run in runs]

    _twice_at_once(app, "close_due_months", at("2026-04-01 01:00"))
    runs_ok("close_due_months")
    assert closed_months(session, world.timebank) == ["2026-01", "2026-02", "2026-03"]
    accounts = session.scalar(select(func.count(Account.id)).where(Account.timebank_id == world.timebank.id))
    assert session.scalar(select(func.count(Statement.id))) == 3 * accounts
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "period.closed")) == 3

    _twice_at_once(app, "expire_pending_exchanges", recorded_at + timedelta(days=7))
    runs_ok("expire_pending_exchanges")
    assert [m for m, _, _ in _notifications(session, "exchange.reminder")] == [world.alice.id, world.bob.id]
    _twice_at_once(app, "expire_pending_exchanges", recorded_at + timedelta(days=14))
    session.rollback()
    assert session.scalar(select(func.count(Transfer.id)).where(Transfer.phase == TransferPhase.VOID)) == 1
    assert [m for m, _, _ in _notifications(session, "exchange.expired")] == [world.alice.id, world.bob.id]
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "exchange.expired")) == 1

    _twice_at_once(app, "pause_ended_listings", at("2026-03-09 12:00"))
    runs_ok("pause_ended_listings")
    assert [m for m, _, _ in _notifications(session, "listing.paused")] == [world.bob.id]
    events = session.scalars(select(AuditEvent.subject_id).where(AuditEvent.action == "listing.paused")).all()
    assert events == [ended.id]

    _twice_at_once(app, "queue_weekly_digests", MONDAY_0800)
    runs_ok("queue_weekly_digests")
    digests = session.scalars(select(OutboundEmail.to_address).where(OutboundEmail.kind == "digest.weekly")).all()
    assert sorted(digests) == sorted([world.alice.email, world.bob.email])

    session.rollback()
    queued = session.scalar(select(func.count(OutboundEmail.id))) or 0
    assert queued >= 2
    _twice_at_once(app, "send_emails", MONDAY_0800 + timedelta(minutes=1))
    runs_ok("send_emails")
    assert len(smtp_inbox.messages) == queued  # every email once, none twice
    assert ledger.check_ledger(session).ok


def test_every_job_is_registered_and_runs_on_an_empty_installation(app: Flask, session: Session):
    for name in JOBS:
        assert run_job(name, now=at("2026-06-01 12:00")).ok, name
    session.rollback()
    assert sorted(session.scalars(select(JobRun.job))) == sorted(JOBS)
