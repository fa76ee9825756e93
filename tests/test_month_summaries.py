"""Month summaries: a closed month's report figures, stored at the close and read afterwards.

The ledger is the monthly report's hand-made one (tests/test_reports.py: Riverside from March
2025 to March 2026, "today" 10 April 2026). Months are closed through the real services, and
every page must say exactly what it said when it counted everything live.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.statement_counting import counting_statements
from tests.test_reports import MARCH, TODAY, Builder, Ledger, build_ledger
from timebank import ledger
from timebank.coordinator.dashboard import CoordinatorDashboard, build_coordinator_dashboard
from timebank.exchanges.service import approve_exchange, reverse_exchange
from timebank.jobs.months import close_due_months, months_to_close
from timebank.models import Exchange, ExchangeStatus, MonthSummary, Role
from timebank.reports import service as reports
from timebank.statements.service import close_and_record

APRIL = date(2026, 4, 1)


def _pages(session: Session, world: Ledger) -> tuple[object, ...]:
    session.expire_all()
    return (
        reports.monthly_report(session, world.cora, MARCH, today=TODAY),
        reports.monthly_report(session, world.cora, APRIL, today=TODAY),
        reports.monthly_report(session, world.cora, date(2026, 2, 1), today=TODAY),
        reports.network_report(session, world.admin, MARCH, today=TODAY),
        _board(session, world),
    )


def _board(session: Session, world: Ledger) -> CoordinatorDashboard:
    board = build_coordinator_dashboard(session, world.cora, TODAY)
    return replace(board, timebank=None)  # type: ignore[arg-type]  # the ORM object compares by identity


def _close(session: Session, world: Ledger, count: int | None = None) -> list[date]:
    """Close Riverside's first ``count`` open months (all that are over: None), as the job does."""
    months = months_to_close(session, world.riverside.id, TODAY)[:count]
    for month in months:
        close_and_record(session, world.riverside.id, month, today=TODAY, actor=None)
    return months


def _summaries(session: Session, timebank_id: int) -> dict[date, MonthSummary]:
    session.expire_all()
    rows = session.scalars(select(MonthSummary).where(MonthSummary.timebank_id == timebank_id))
    return {row.month: row for row in rows}


# -- (a) stored figures are the live figures -------------------------------------------------


def test_every_page_says_the_same_whether_months_are_counted_live_or_read_from_summaries(session, factory):  # type: ignore[no-untyped-def]
    world = build_ledger(session, factory)
    live = _pages(session, world)

    closed = _close(session, world, 6)  # March to August 2025: the window's start comes from summaries
    assert sorted(_summaries(session, world.riverside.id)) == closed
    assert _pages(session, world) == live

    result = close_due_months(session, now=datetime(2026, 4, 10, 12, 0, tzinfo=UTC))  # the rest, and Elm Park
    assert result.ok
    stored = _summaries(session, world.riverside.id)
    assert sorted(stored) == months_to_close_all(world)
    assert _pages(session, world) == live

    march = stored[MARCH]
    assert (march.minutes, march.person_to_person_minutes, march.person_to_agency_minutes) == (510, 210, 60)
    assert (march.group_activity_minutes, march.active_participants) == (240, 4)
    assert (march.reciprocity_active, march.reciprocity_both_ways) == (4, 2)
    assert sum(minutes for _category, minutes in march.categories) == 510


def months_to_close_all(world: Ledger) -> list[date]:
    start, months = date(2025, 3, 1), []
    while start <= MARCH:
        months.append(start)
        start = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return months


def test_each_summary_equals_the_live_count_of_its_month(session, factory):  # type: ignore[no-untyped-def]
    world = build_ledger(session, factory)
    months = months_to_close_all(world)
    live = reports.ledger_months(session, [world.riverside.id], months)
    assert all(found.reciprocity is None for found in live.values())  # nothing stored yet
    _close(session, world)
    stored = reports.ledger_months(session, [world.riverside.id], months)
    for month in months:
        assert stored[(world.riverside.id, month)].reciprocity is not None
        assert replace(stored[(world.riverside.id, month)], reciprocity=None) == live[(world.riverside.id, month)]


def test_the_pages_read_closed_months_from_their_summaries(session, factory):  # type: ignore[no-untyped-def]
    world = build_ledger(session, factory)
    _close(session, world)
    # Not something that ever happens: it shows the summary, not the transfers, is what is read.
    row = _summaries(session, world.riverside.id)[date(2026, 2, 1)]
    row.minutes += 600
    session.commit()
    report = reports.monthly_report(session, world.cora, MARCH, today=TODAY)
    assert report.previous.minutes == 660 and report.figures.minutes == 510
    assert build_coordinator_dashboard(session, world.cora, TODAY).months[-3].minutes == 660


# -- (b) what a later reversal or approval changes -------------------------------------------


def test_a_reversal_or_an_approval_after_the_close_changes_only_the_live_figures(session, factory):  # type: ignore[no-untyped-def]
    world = build_ledger(session, factory)
    _close(session, world)
    before = reports.monthly_report(session, world.cora, MARCH, today=TODAY)
    weeding = session.scalar(select(Exchange).where(Exchange.minutes == 120, Exchange.listing_id.is_not(None)))
    waiting = session.scalar(select(Exchange).where(Exchange.minutes == 45))
    assert weeding is not None and waiting is not None and waiting.status != ExchangeStatus.APPROVED

    reverse_exchange(session, world.cora, weeding.id, "Wrong person", today=TODAY)
    # Performed on 20 March; Erin never confirmed it, so approving it needs a reason.
    approve_exchange(session, world.cora, waiting.id, reason="Erin confirmed it by phone", today=TODAY)

    after = reports.monthly_report(session, world.cora, MARCH, today=TODAY)
    # March's hours are what the ledger holds for March: the reversal and the approval post in April.
    assert after.figures.minutes == before.figures.minutes == 510
    assert after.categories == before.categories and after.reciprocity == before.reciprocity
    # The exchanges of March approved and not reversed: Weeding went, Dan's help for Erin came.
    assert (before.figures.exchanges, after.figures.exchanges) == (3, 3)
    assert after.figures.requests_met == before.figures.requests_met == 1  # Weeding was met all the same
    april = reports.monthly_report(session, world.cora, APRIL, today=TODAY)
    assert april.figures.minutes == 45 - 120
    assert ledger.check_ledger(session).ok


def test_a_reversal_after_the_close_takes_the_exchange_out_of_the_months_count(session, factory):  # type: ignore[no-untyped-def]
    world = build_ledger(session, factory)
    _close(session, world)
    weeding = session.scalar(select(Exchange).where(Exchange.minutes == 120, Exchange.listing_id.is_not(None)))
    assert weeding is not None
    reverse_exchange(session, world.cora, weeding.id, "Wrong person", today=TODAY)
    after = reports.monthly_report(session, world.cora, MARCH, today=TODAY)
    assert (after.figures.minutes, after.figures.exchanges) == (510, 2)


# -- (c) the cost does not depend on how many months are closed ------------------------------


def test_the_number_of_statements_does_not_depend_on_how_many_months_are_closed(session, factory):  # type: ignore[no-untyped-def]
    world = build_ledger(session, factory)
    counts = []
    for closing in (0, 3, 6, None):  # none closed, then more and more, then all that are over
        if closing is None:
            _close(session, world)
        elif closing:
            _close(session, world, 3)
        session.expire_all()
        with counting_statements(session) as statements:
            reports.monthly_report(session, world.cora, APRIL, today=TODAY)
            build_coordinator_dashboard(session, world.cora, TODAY)
        counts.append(len(statements))
    assert len(set(counts)) == 1, counts


# -- months closed without a summary ---------------------------------------------------------


def test_months_closed_before_summaries_are_counted_live_until_backfilled(session, factory):  # type: ignore[no-untyped-def]
    world = build_ledger(session, factory)
    live = _pages(session, world)
    for month in months_to_close(session, world.riverside.id, TODAY):
        ledger.close_month(session, world.riverside.id, month, today=TODAY)  # no hook: as before 0007
    assert _summaries(session, world.riverside.id) == {}
    assert _pages(session, world) == live
    assert _summaries(session, world.riverside.id) == {}  # reading wrote nothing

    assert reports.backfill_month_summaries(session) == 13
    assert reports.backfill_month_summaries(session) == 0
    assert sorted(_summaries(session, world.riverside.id)) == months_to_close_all(world)
    assert _pages(session, world) == live


def test_the_backfill_command_writes_the_missing_summaries(session, factory, runner: FlaskCliRunner):  # type: ignore[no-untyped-def]
    builder = Builder(session, factory)
    bank = factory.timebank("Northgate")
    coordinator = builder.member(bank, "Nora", Role.COORDINATOR)
    giver, taker = builder.member(bank, "Gus"), builder.member(bank, "Tia")
    builder.help(coordinator, builder.account(giver), builder.account(taker), 30, date(2026, 1, 15))
    ledger.close_month(session, bank.id, date(2026, 1, 1), today=TODAY)
    result = runner.invoke(args=["timebank", "backfill-month-summaries"])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 month summary" in result.output
    again = runner.invoke(args=["timebank", "backfill-month-summaries"])
    assert "Wrote 0 month summaries" in again.output
    stored = _summaries(session, bank.id)
    assert list(stored) == [date(2026, 1, 1)] and stored[date(2026, 1, 1)].minutes == 30


def test_a_young_timebank_counts_only_its_open_month_once_its_first_months_are_closed(session, factory, monkeypatch):  # type: ignore[no-untyped-def]
    builder = Builder(session, factory)
    bank = factory.timebank("Northgate")
    coordinator = builder.member(bank, "Nora", Role.COORDINATOR)
    giver, taker = builder.member(bank, "Gus"), builder.member(bank, "Tia")
    builder.help(coordinator, builder.account(giver), builder.account(taker), 30, date(2026, 2, 15))
    builder.help(coordinator, builder.account(taker), builder.account(giver), 45, date(2026, 4, 2))
    before = reports.monthly_report(session, coordinator, APRIL, today=TODAY)
    for month in months_to_close(session, bank.id, TODAY):  # February and March
        close_and_record(session, bank.id, month, today=TODAY, actor=None)

    counted: list[tuple[date, ...]] = []
    live = reports._live_ledger_months

    def spy(session, scope, window):  # type: ignore[no-untyped-def]
        counted.append(window.months)
        return live(session, scope, window)

    monkeypatch.setattr(reports, "_live_ledger_months", spy)
    session.expire_all()
    after = reports.monthly_report(session, coordinator, APRIL, today=TODAY)
    assert counted == [(APRIL,)]  # not the ten empty months before February
    assert after == before
    assert [f.minutes for f in after.trend] == [0] * 9 + [30, 0, 45]
