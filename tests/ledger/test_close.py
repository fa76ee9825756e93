"""The month close (timebank.ledger.close): statements, order, idempotency, read-only months,
append-only statements, tamper detection and concurrent closes.

Hand-made ledgers with known answers, on SQLite and PostgreSQL, using the fast fixtures of
tests/ledger/test_rules.py (a plain session on an empty ledger and a small bank).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import Factory, World, require_postgres
from tests.ledger import test_rules as rules
from tests.ledger.test_rules import LAST_MONTH, TODAY, TWO_MONTHS_AGO, Bank, move, post, reverse
from timebank import create_app, ledger
from timebank.coordinator.activities import ActivityRequest, record_activity
from timebank.exchanges.donations import DonationRequest, donate
from timebank.exchanges.grants import GrantRequest, grant_from_pool
from timebank.exchanges.service import RecordRequest, record_exchange, reverse_exchange
from timebank.extensions import db
from timebank.ledger.close import EarlierMonthOpen, MonthNotOver, close_month, verify_closed_months
from timebank.ledger.periods import month_start
from timebank.models import (
    Account,
    Activity,
    ActivityDirection,
    AuditEvent,
    Member,
    MonthSummary,
    Period,
    Statement,
    Transfer,
    TransferPurpose,
)
from timebank.timebanks.service import create_timebank

# The fast fixtures of test_rules.py: a plain session on an empty ledger (SQLite and
# PostgreSQL) and a small bank in it.
sqlite_files = rules.sqlite_files
postgres_engine = rules.postgres_engine
session = rules.session
bank = rules.bank

FIELDS = (
    "opening_minutes",
    "earned_minutes",
    "spent_minutes",
    "donated_minutes",
    "granted_minutes",
    "reversals_in_minutes",
    "reversals_out_minutes",
    "adjustments_in_minutes",
    "adjustments_out_minutes",
    "closing_minutes",
)


def statements(session: Session, period: Period) -> dict[int, dict[str, int]]:
    rows = session.scalars(select(Statement).where(Statement.period_id == period.id))
    return {row.account_id: {name: getattr(row, name) for name in FIELDS} for row in rows}


def expect(**given: int) -> dict[str, int]:
    return {name: given.get(name.removesuffix("_minutes"), 0) for name in FIELDS}


def counts(session: Session) -> tuple[int, int]:
    session.rollback()
    return (
        session.scalar(select(func.count(Period.id))) or 0,
        session.scalar(select(func.count(Statement.id))) or 0,
    )


def close(session: Session, bank: Bank, day: date) -> Period:
    return close_month(session, bank.id, day, today=TODAY)


def test_statements_sum_each_accounts_month_by_purpose_from_the_previous_closing(session: Session, bank: Bank):
    move(session, bank, bank.alice, bank.bob, 30, value_date=TWO_MONTHS_AGO)
    close(session, bank, TWO_MONTHS_AGO)
    move(session, bank, bank.bob, bank.alice, 60, value_date=LAST_MONTH)
    move(session, bank, bank.organisation, bank.carol, 45, value_date=LAST_MONTH, purpose=TransferPurpose.ACTIVITY)
    move(session, bank, bank.alice, bank.pool, 15, value_date=LAST_MONTH, purpose=TransferPurpose.DONATION)
    move(session, bank, bank.pool, bank.carol, 15, value_date=LAST_MONTH, purpose=TransferPurpose.GRANT)
    mistake = move(session, bank, bank.bob, bank.carol, 30, value_date=LAST_MONTH)
    reverse(session, bank, mistake.id, value_date=LAST_MONTH)
    move(session, bank, bank.alice, bank.bob, 15, value_date=LAST_MONTH, pending=True)  # never posted
    posted_later = move(session, bank, bank.carol, bank.alice, 15, value_date=LAST_MONTH, pending=True)
    post(session, bank, posted_later.id, value_date=TODAY)  # counts in the month it posts

    period = close(session, bank, LAST_MONTH)

    assert period.month == month_start(LAST_MONTH)
    assert period.checksum is not None and len(period.checksum) == 64
    assert statements(session, period) == {
        bank.alice.id: expect(opening=-30, earned=60, donated=15, closing=15),
        bank.bob.id: expect(opening=30, spent=90, reversals_in=30, closing=-30),
        bank.carol.id: expect(earned=75, granted=15, reversals_out=30, closing=60),
        bank.organisation.id: expect(spent=45, closing=-45),
        bank.pool.id: expect(donated=15, granted=15, closing=0),
    }
    assert bank.outsider.id not in statements(session, period)
    assert ledger.check_ledger(session).ok


def test_opening_balances_are_summed_from_history_when_the_month_before_has_no_statements(
    session: Session, bank: Bank
):
    """Normally the opening balance is carried from the previous statement; a month marked
    closed without statements (ledger.close_period) has none, so the history is summed."""
    move(session, bank, bank.alice, bank.bob, 30, value_date=TWO_MONTHS_AGO)
    ledger.close_period(session, bank.id, TWO_MONTHS_AGO)
    session.commit()
    move(session, bank, bank.bob, bank.alice, 60, value_date=LAST_MONTH)
    found = statements(session, close(session, bank, LAST_MONTH))
    assert found[bank.alice.id] == expect(opening=-30, earned=60, closing=30)
    assert found[bank.bob.id] == expect(opening=30, spent=60, closing=-30)
    assert ledger.check_ledger(session).ok


def test_an_adjustment_is_counted_so_the_closing_balance_is_exact(session: Session, bank: Bank):
    move(session, bank, bank.organisation, bank.alice, 30, value_date=LAST_MONTH, purpose=TransferPurpose.ADJUSTMENT)
    period = close(session, bank, LAST_MONTH)
    found = statements(session, period)
    assert found[bank.alice.id] == expect(adjustments_in=30, closing=30)
    assert found[bank.organisation.id] == expect(adjustments_out=30, closing=-30)


def test_closing_a_closed_month_again_returns_it_and_writes_nothing(session: Session, bank: Bank):
    move(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH)
    first = close(session, bank, LAST_MONTH)
    before = counts(session)
    again = close(session, bank, LAST_MONTH.replace(day=1))
    assert again.id == first.id and again.checksum == first.checksum
    assert counts(session) == before == (1, 5)


def test_a_month_cannot_close_while_an_earlier_month_with_transfers_is_open(session: Session, bank: Bank):
    move(session, bank, bank.bob, bank.alice, 30, value_date=TWO_MONTHS_AGO)
    with pytest.raises(EarlierMonthOpen, match="first"):
        close(session, bank, LAST_MONTH)
    assert counts(session) == (0, 0)
    close(session, bank, TWO_MONTHS_AGO)
    close(session, bank, LAST_MONTH)
    assert counts(session) == (2, 10)


def test_an_earlier_month_without_transfers_need_not_be_closed_first(session: Session, bank: Bank):
    move(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH)
    close(session, bank, LAST_MONTH)
    assert counts(session) == (1, 5)


def test_the_current_month_cannot_be_closed_until_it_is_over(session: Session, bank: Bank):
    with pytest.raises(MonthNotOver):
        close(session, bank, TODAY)
    assert counts(session) == (0, 0)


def test_a_month_before_a_closed_month_cannot_be_closed_afterwards(session: Session, bank: Bank):
    close(session, bank, LAST_MONTH)
    with pytest.raises(EarlierMonthOpen, match="read-only"):
        close(session, bank, TWO_MONTHS_AGO)
    assert counts(session) == (1, 5)


def test_a_transfer_back_dated_into_a_closed_month_is_refused_and_the_open_month_accepts_it(
    session: Session, bank: Bank
):
    close(session, bank, LAST_MONTH)
    with pytest.raises(ledger.ClosedPeriod):
        move(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH)
    accepted = move(session, bank, bank.bob, bank.alice, 30, value_date=TODAY)
    assert accepted.id is not None
    assert ledger.check_ledger(session).ok


def test_statements_refuse_update_and_delete(session: Session, bank: Bank):
    period = close(session, bank, LAST_MONTH)
    for change in (
        update(Statement).where(Statement.period_id == period.id).values(closing_minutes=999),
        delete(Statement).where(Statement.period_id == period.id),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(change)
        session.rollback()
    assert counts(session) == (1, 5)


def test_a_changed_transfer_in_a_closed_month_is_reported_by_check_ledger(session: Session, bank: Bank):
    transfer = move(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH)
    period = close(session, bank, LAST_MONTH)
    assert verify_closed_months(session) == []
    postgres = session.get_bind().dialect.name == "postgresql"
    session.rollback()
    if postgres:
        session.execute(text("ALTER TABLE transfers DISABLE TRIGGER transfers_append_only"))
    else:
        session.execute(text("DROP TRIGGER transfers_no_update"))
    try:
        session.execute(text("UPDATE transfers SET amount_minutes = 45 WHERE id = :id"), {"id": transfer.id})
        session.commit()
    finally:
        if postgres:
            session.rollback()
            session.execute(text("ALTER TABLE transfers ENABLE TRIGGER transfers_append_only"))
            session.commit()
    result = ledger.check_ledger(session)
    assert not result.ok
    closed_month = [p for p in result.problems if p.startswith(f"closed month {LAST_MONTH:%Y-%m}")]
    assert len(closed_month) == 1 and f"period {period.id}" in closed_month[0]


def test_two_concurrent_closes_write_one_period_and_one_set_of_statements(session: Session, bank: Bank):
    if session.get_bind().dialect.name != "postgresql":
        require_postgres("concurrent month close needs PostgreSQL row locks")
        pytest.skip("the PostgreSQL run of this test proves it")
    move(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH)
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def closer() -> None:
        with Session(engine) as own:
            try:
                barrier.wait(timeout=10)
                results.append(close_month(own, bank.id, LAST_MONTH, today=TODAY).id)
            except BaseException as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=closer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == 2 and results[0] == results[1]
    accounts = session.scalar(select(func.count(Account.id)).where(Account.timebank_id == bank.id))
    assert counts(session) == (1, accounts)


def test_close_month_command_closes_the_named_timebanks_month(app: Flask, runner: FlaskCliRunner):
    app_session = db.session()
    timebank = create_timebank(app_session, name="Northgate", organisation_name="Northgate Trust")
    app_session.commit()
    month = f"{TWO_MONTHS_AGO:%Y-%m}"
    result = runner.invoke(args=["timebank", "close-month", "--timebank", timebank.slug, "--month", month])
    assert result.exit_code == 0, result.output
    assert f"{TWO_MONTHS_AGO:%B %Y} of {timebank.slug} is closed: 2 statements" in result.output
    assert ledger.is_closed(app_session, timebank.id, TWO_MONTHS_AGO)
    # The same close as the scheduler's: its audit event and the month's report summary with it.
    app_session.rollback()
    assert app_session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.timebank_id == timebank.id, AuditEvent.action == "period.closed"
        )
    ) == 1
    assert app_session.scalar(
        select(func.count(MonthSummary.id)).where(
            MonthSummary.timebank_id == timebank.id, MonthSummary.month == TWO_MONTHS_AGO.replace(day=1)
        )
    ) == 1
    refused = runner.invoke(args=["timebank", "close-month", "--timebank", timebank.slug, "--month", f"{TODAY:%Y-%m}"])
    assert refused.exit_code == 1 and "not over yet" in refused.output
    unknown = runner.invoke(args=["timebank", "close-month", "--timebank", "nowhere", "--month", month])
    assert unknown.exit_code == 1 and "no timebank 'nowhere'" in unknown.output


# -- a month built through the services: exchanges, a reversal, a donation, a pool grant and a
#    group activity, with the statements worked out by hand ------------------------------------


@dataclass(frozen=True)
class ServiceMonth:
    world: World
    day: date  # a day in the month that was built
    expected: dict[str, dict[str, int]]  # account name -> statement figures


@pytest.fixture(scope="module")
def app_context() -> Iterator[None]:
    """Services may read the app's configuration (e.g. for notification emails); the ledger
    session of these tests is still the plain one above."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        yield


def build_service_month(session: Session, factory: Factory, day: date) -> ServiceMonth:
    """One month of a small timebank, through the same services as the web pages.

    Alice helps Bob for 2 hours; Bob helps Alice for 1 hour, which the coordinator reverses;
    Alice gives 30 minutes to the pool; the coordinator grants Bob 15 minutes from it; Alice
    and Bob each earn 1.5 hours at a group session the organisation pays for.
    """
    world = factory.world()
    alice, bob, cora = world.alice, world.bob, world.coordinator
    assert alice.account is not None and bob.account is not None

    def exchange(provider: Member, recipient: Member, minutes: int) -> int:
        assert provider.account is not None and recipient.account is not None
        recorded = record_exchange(
            session,
            cora,
            RecordRequest(
                provider_account_id=provider.account.id,
                recipient_account_id=recipient.account.id,
                minutes=minutes,
                performed_on=day,
                description=f"{provider.display_name} helped",
                request_key=str(uuid.uuid4()),
            ),
            today=day,
        )
        return recorded.id

    exchange(alice, bob, 120)  # a coordinator's record is approved at once
    mistake = exchange(bob, alice, 60)
    reverse_exchange(session, cora, mistake, "Recorded twice by mistake", today=day)
    donate(session, alice, DonationRequest(minutes=30, note="For anyone in need", request_key="d1"), today=day)
    grant_from_pool(
        session, cora, GrantRequest(member_id=bob.id, minutes=15, reason="Hospital visits", request_key="g1"), today=day
    )
    record_activity(
        session,
        cora,
        ActivityRequest(
            title="Garden day",
            held_on=day,
            minutes=90,
            direction=ActivityDirection.EARN,
            attendee_ids=(alice.id, bob.id),
            request_key=str(uuid.uuid4()),
        ),
        today=day,
    )
    organisation = f"{world.timebank.name} Day Service"
    expected = {
        "Alice": expect(earned=120 + 90, spent=60, donated=30, reversals_in=60, closing=180),
        "Bob": expect(earned=60 + 90, spent=120, granted=15, reversals_out=60, closing=-15),
        "Cora Coordinator": expect(),
        organisation: expect(spent=180, closing=-180),
        f"{world.timebank.name} community pool": expect(donated=15, granted=30, closing=15),
    }
    return ServiceMonth(world=world, day=day, expected=expected)


def statements_by_name(session: Session, period: Period) -> dict[str, dict[str, int]]:
    names = {row.id: row.name for row in session.execute(select(Account.id, Account.name))}
    return {names[account_id]: figures for account_id, figures in statements(session, period).items()}


def test_a_month_of_exchanges_a_reversal_the_pool_and_a_group_activity_closes_with_known_statements(
    session: Session, factory: Factory, app_context: None
):
    built = build_service_month(session, factory, LAST_MONTH)
    period = close_month(session, built.world.timebank.id, LAST_MONTH, today=TODAY)
    assert statements_by_name(session, period) == built.expected
    assert ledger.check_ledger(session).ok


def test_the_services_refuse_to_back_date_anything_into_a_closed_month_and_write_nothing(
    session: Session, factory: Factory, app_context: None
):
    built = build_service_month(session, factory, LAST_MONTH)
    world = built.world
    close_month(session, world.timebank.id, LAST_MONTH, today=TODAY)
    before = session.scalar(select(func.count(Transfer.id))), session.scalar(select(func.count(Activity.id)))
    assert world.alice.account is not None and world.bob.account is not None
    attempts = {
        "group activity": lambda: record_activity(
            session,
            world.coordinator,
            ActivityRequest(
                title="Late garden day",
                held_on=LAST_MONTH,
                minutes=60,
                direction=ActivityDirection.EARN,
                attendee_ids=(world.alice.id,),
                request_key=str(uuid.uuid4()),
            ),
            today=TODAY,
        ),
        "exchange": lambda: record_exchange(
            session,
            world.coordinator,
            RecordRequest(
                provider_account_id=world.alice.account.id,  # type: ignore[union-attr]
                recipient_account_id=world.bob.account.id,  # type: ignore[union-attr]
                minutes=60,
                performed_on=LAST_MONTH,
                description="Back-dated",
                request_key=str(uuid.uuid4()),
            ),
            today=LAST_MONTH,
        ),
        "grant": lambda: grant_from_pool(
            session,
            world.coordinator,
            GrantRequest(member_id=world.bob.id, minutes=15, reason="Late", request_key="g-late"),
            today=LAST_MONTH,
        ),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ledger.ClosedPeriod):
            attempt()
        session.rollback()
        after = session.scalar(select(func.count(Transfer.id))), session.scalar(select(func.count(Activity.id)))
        assert after == before, what
    assert ledger.check_ledger(session).ok
