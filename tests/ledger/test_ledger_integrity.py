"""The ledger checked from outside: crafted rows that ``check_ledger`` (and ``flask timebank
check-ledger``) must report by id, and those the database refuses outright. Both databases.

- Every exchange's status against its transfers (a status with the wrong reservation shape, a
  reservation of other hours, one reservation claimed by two exchanges); every status the
  services reach passes.
- Reversals mirror their originals: the trigger refuses any other row; written with the trigger
  off, check-ledger names it.
- A closed period cannot be reopened (DELETE) or changed (UPDATE) but by the close's own first
  write of its checksum.
- A closed month's statements are checked against its transfers, independently of its
  checksum.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import Factory, World
from timebank import ledger
from timebank.exchanges import service
from timebank.ledger.close import period_checksum
from timebank.ledger.exchange_check import EXPECTED
from timebank.ledger.periods import close_period, month_start
from timebank.models import (
    Exchange,
    ExchangeStatus,
    Period,
    Statement,
    Transfer,
    TransferPhase,
    TransferPurpose,
)
from timebank.timebanks.service import pool_account

MINUTES = 30
TODAY = date.today()
LAST_MONTH = month_start(month_start(TODAY) - timedelta(days=1))


def _key() -> str:
    return str(uuid.uuid4())


def _record(session: Session, world: World, *, backwards: bool = False, on: date | None = None) -> Exchange:
    """Alice records help she gave Bob (or he gave her): the hours are reserved."""
    provider, recipient = (world.bob, world.alice) if backwards else (world.alice, world.bob)
    assert provider.account is not None and recipient.account is not None
    request = service.RecordRequest(
        provider_account_id=provider.account.id,
        recipient_account_id=recipient.account.id,
        minutes=MINUTES,
        performed_on=on or TODAY - timedelta(days=1),
        description="Dug the bed",
        request_key=_key(),
    )
    return service.record_exchange(session, world.alice, request)


def _propose(session: Session, world: World) -> Exchange:
    request = service.ProposalRequest(request_key=_key(), message="Could I help?", member_id=world.bob.id,
                                      actor_provides=True, minutes=MINUTES)
    return service.propose_exchange(session, world.alice, request)


def _approved(session: Session, world: World) -> Exchange:
    return service.approve_exchange(session, world.coordinator, _record(session, world).id, reason="Bob said so")


# Each status, reached the way members and coordinators reach it.
WAYS: dict[str, Callable[[Session, World], Exchange]] = {
    "proposed": _propose,
    "accepted": lambda s, w: service.accept_exchange(s, w.bob, _propose(s, w).id),
    "declined": lambda s, w: service.decline_exchange(s, w.bob, _propose(s, w).id, "Not free"),
    "cancelled before it was recorded": lambda s, w: service.cancel_exchange(s, w.alice, _propose(s, w).id),
    "cancelled once recorded": lambda s, w: service.cancel_exchange(s, w.alice, _record(s, w).id, "Mistake"),
    "recorded": _record,
    "confirmed": lambda s, w: service.confirm_exchange(s, w.bob, _record(s, w).id),
    "disputed": lambda s, w: service.dispute_exchange(s, w.bob, _record(s, w).id, "It was shorter"),
    "settled": lambda s, w: service.settle_dispute(
        s, w.coordinator, service.dispute_exchange(s, w.bob, _record(s, w).id, "Shorter").id, hours_stand=True
    ),
    "approved": _approved,
    "rejected": lambda s, w: service.reject_exchange(s, w.coordinator, _record(s, w).id, "Not timebank work"),
    "expired": lambda s, w: service.expire_exchange(s, _record(s, w).id, now=datetime.now(UTC) + timedelta(days=400))
    or pytest.fail("it did not expire"),
    "reversed": lambda s, w: service.reverse_exchange(s, w.coordinator, _approved(s, w).id, "Entered twice"),
}


def test_every_status_the_services_reach_passes_the_exchange_check(factory: Factory, session: Session):
    world = factory.world()
    reached = {way: make(session, world).status for way, make in WAYS.items()}
    session.commit()
    assert set(reached.values()) == set(ExchangeStatus) == set(EXPECTED)
    result = ledger.check_ledger(session)
    assert result.ok, result.problems


def _set_status(session: Session, exchange: Exchange, status: ExchangeStatus) -> int:
    exchange_id = exchange.id
    session.execute(update(Exchange).where(Exchange.id == exchange_id).values(status=status))
    session.commit()
    return exchange_id


def _reported(session: Session, runner: FlaskCliRunner, exchange_id: int) -> list[str]:
    """The check's problems about one exchange, after proving the command exits 1 naming it."""
    session.rollback()
    run = runner.invoke(args=["timebank", "check-ledger"])
    assert run.exit_code == 1
    assert f"exchange {exchange_id} " in run.output or f"exchange {exchange_id}:" in run.output
    problems = ledger.check_ledger(session).problems
    return [p for p in problems if p.startswith((f"exchange {exchange_id} ", f"exchange {exchange_id}:"))]


# (how the exchange really is, the status it is given behind the ledger's back, what is reported)
WRONG_STATUSES = [
    ("recorded", ExchangeStatus.APPROVED, "is approved, so its reservation should be posted once, "
                                          "but its reservation (transfer {p}) is still waiting"),
    ("rejected", ExchangeStatus.CONFIRMED, "is confirmed, so its hours should be reserved and waiting, "
                                           "but its reservation (transfer {p}) was voided"),
    ("approved", ExchangeStatus.RECORDED, "is recorded, so its hours should be reserved and waiting, "
                                          "but its reservation (transfer {p}) was posted"),
    ("approved", ExchangeStatus.REVERSED, "is reversed, so its reservation should be posted and the posting "
                                          "reversed once, but its reservation (transfer {p}) was posted"),
    ("reversed", ExchangeStatus.APPROVED, "is approved, so its reservation should be posted once, "
                                          "but its reservation (transfer {p}) was posted and the posting reversed"),
    ("recorded", ExchangeStatus.REJECTED, "is rejected, so its reservation, if it had one, should be voided, "
                                          "but its reservation (transfer {p}) is still waiting"),
    ("approved", ExchangeStatus.CANCELLED, "is cancelled, so its reservation, if it had one, should be voided, "
                                           "but its reservation (transfer {p}) was posted"),
    ("recorded", ExchangeStatus.PROPOSED, "is proposed, so no hours should be reserved for it, "
                                          "but its reservation (transfer {p}) is still waiting"),
    ("proposed", ExchangeStatus.EXPIRED, "is expired, so its reservation should be voided, "
                                         "but it has no reservation"),
    ("accepted", ExchangeStatus.DISPUTED, "is disputed, so its hours should be reserved and waiting, "
                                          "but it has no reservation"),
]


@pytest.mark.parametrize(("really", "given", "words"), WRONG_STATUSES)
def test_check_ledger_reports_an_exchange_whose_status_its_transfers_do_not_bear_out(
    factory: Factory, session: Session, runner: FlaskCliRunner, really: str, given: ExchangeStatus, words: str
):
    world = factory.world()
    _record(session, world)  # a sound neighbour, not reported
    exchange = WAYS[really](session, world)
    reservation = exchange.pending_transfer_id
    assert ledger.check_ledger(session).ok
    exchange_id = _set_status(session, exchange, given)
    assert _reported(session, runner, exchange_id) == [f"exchange {exchange_id} " + words.format(p=reservation)]


def test_check_ledger_reports_a_reservation_that_is_not_the_exchange_s_hours(
    factory: Factory, session: Session, runner: FlaskCliRunner
):
    world = factory.world()
    other_hours = _record(session, world)
    other_way = _record(session, world)
    session.execute(update(Exchange).where(Exchange.id == other_hours.id).values(minutes=MINUTES + 15))
    provider, recipient = other_way.provider_account_id, other_way.recipient_account_id
    session.execute(
        update(Exchange)
        .where(Exchange.id == other_way.id)
        .values(provider_account_id=recipient, recipient_account_id=provider)
    )
    session.commit()
    for exchange in (other_hours, other_way):
        assert _reported(session, runner, exchange.id) == [
            f"exchange {exchange.id}: its reservation (transfer {exchange.pending_transfer_id}) is not a pending "
            "exchange transfer of its minutes from the recipient's account to the provider's in its timebank"
        ]


def test_check_ledger_reports_a_reservation_claimed_by_two_exchanges(factory: Factory, session: Session):
    world = factory.world()
    first, second = _record(session, world), _record(session, world)
    shared = first.pending_transfer_id
    session.execute(update(Exchange).where(Exchange.id == second.id).values(pending_transfer_id=shared))
    session.commit()
    assert f"transfer {shared} is the reservation of 2 exchanges" in ledger.check_ledger(session).problems


# -- reversals ----------------------------------------------------------------------------------


@contextmanager
def _trigger_off(session: Session, table: str, postgres_name: str, sqlite_names: tuple[str, ...]) -> Iterator[None]:
    """A trigger switched off, to write what only a broken database would hold (SQLite: dropped;
    each SQLite test has a database of its own. PostgreSQL: disabled, and enabled again after)."""
    session.rollback()
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {postgres_name}"))
    else:
        for name in sqlite_names:
            session.execute(text(f"DROP TRIGGER {name}"))
    session.commit()
    try:
        yield
    finally:
        session.rollback()
        if postgres:
            session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {postgres_name}"))
            session.commit()


def _row_like(original: Transfer, **changes: object) -> Transfer:
    """A reversal of ``original`` as ``ledger.reverse_transfer`` writes it, with ``changes``."""
    values: dict[str, object] = {
        "timebank_id": original.timebank_id,
        "debit_account_id": original.credit_account_id,
        "credit_account_id": original.debit_account_id,
        "amount_minutes": original.amount_minutes,
        "phase": TransferPhase.SINGLE,
        "purpose": TransferPurpose.REVERSAL,
        "reverses_id": original.id,
        "value_date": TODAY,
        "idempotency_key": _key(),
        "request_fingerprint": "x" * 64,
    }
    values.update(changes)
    return Transfer(**values)


@pytest.fixture
def moved(factory: Factory, session: Session) -> Callable[[str], Transfer]:
    """A new movement of Riverside on demand: "posted" (an approved exchange's posting),
    "reversal" (a reversal of one), "pending" (a reservation); "elsewhere": one of Elm Park's."""
    world = factory.world()

    def make(kind: str) -> Transfer:
        if kind == "elsewhere":
            assert world.outsider.account is not None
            with ledger.write_transaction(session):
                return ledger.create_transfer(
                    session,
                    timebank_id=world.other_timebank.id,
                    debit_account_id=world.outsider.account.id,
                    credit_account_id=pool_account(session, world.other_timebank.id).id,
                    amount_minutes=MINUTES,
                    value_date=TODAY,
                    purpose=TransferPurpose.DONATION,
                    idempotency_key=_key(),
                )
        if kind == "pending":
            transfer = _record(session, world).pending_transfer
        elif kind == "posted":
            transfer = service.posted_transfer(session, _approved(session, world))
        else:
            reversed_ = service.reverse_exchange(session, world.coordinator, _approved(session, world).id, "Twice")
            posted = service.posted_transfer(session, reversed_)
            assert posted is not None
            transfer = session.scalar(select(Transfer).where(Transfer.reverses_id == posted.id))
        assert transfer is not None
        session.commit()
        return transfer

    return make


def _crafted(moved: Callable[[str], Transfer], name: str) -> Transfer:
    """A reversal row that breaks one rule: each of a movement of its own."""
    if name == "of a pending transfer":
        return _row_like(moved("pending"))
    if name == "of a reversal":
        return _row_like(moved("reversal"))
    posted = moved("posted")
    changes: dict[str, object] = {
        "the same way as its original": {
            "debit_account_id": posted.debit_account_id,
            "credit_account_id": posted.credit_account_id,
        },
        "for another amount": {"amount_minutes": posted.amount_minutes + 15},
        "in another timebank": {"timebank_id": moved("elsewhere").timebank_id},
        "naming no original": {"reverses_id": None},
        "naming an original without being a reversal": {"purpose": TransferPurpose.EXCHANGE},
        "itself pending": {"phase": TransferPhase.PENDING},
    }[name]
    return _row_like(posted, **changes)


CRAFTED = [
    "the same way as its original",
    "for another amount",
    "in another timebank",
    "naming no original",
    "naming an original without being a reversal",
    "of a pending transfer",
    "of a reversal",
    "itself pending",
]


@pytest.mark.parametrize("crafted", CRAFTED)
def test_the_database_refuses_a_reversal_that_does_not_mirror_its_original(
    session: Session, moved: Callable[[str], Transfer], crafted: str
):
    row = _crafted(moved, crafted)
    before = session.scalar(select(Transfer.id).order_by(Transfer.id.desc()).limit(1))
    session.add(row)
    with pytest.raises(DBAPIError, match="a reversal must name the transfer it reverses"):
        session.commit()
    session.rollback()
    assert session.scalar(select(Transfer.id).order_by(Transfer.id.desc()).limit(1)) == before


def test_check_ledger_names_every_reversal_that_does_not_mirror_its_original(
    session: Session, moved: Callable[[str], Transfer], runner: FlaskCliRunner
):
    rows = {name: _crafted(moved, name) for name in CRAFTED}
    assert ledger.check_ledger(session).ok
    with _trigger_off(session, "transfers", "transfers_reversal_mirrors_original",
                      ("transfers_reversal_mirrors_original",)):
        for row in rows.values():
            session.add(row)
            session.commit()
    problems = ledger.check_ledger(session).problems
    for name, row in rows.items():
        mine = [p for p in problems if p.startswith(f"transfer {row.id}: ")]
        if name == "naming no original":
            assert mine == [f"transfer {row.id}: a reversal that names no transfer it reverses"]
        elif name == "naming an original without being a reversal":
            assert mine == [f"transfer {row.id}: names transfer {row.reverses_id} as reversed but is not a reversal"]
        else:
            assert any(p.startswith(f"transfer {row.id}: a reversal that does not mirror transfer ") for p in mine), (
                name,
                problems,
            )
    run = runner.invoke(args=["timebank", "check-ledger"])
    assert run.exit_code == 1 and f"transfer {rows['for another amount'].id}: a reversal" in run.output


# -- closed periods -----------------------------------------------------------------------------


def _closed(session: Session, factory: Factory) -> Period:
    world = factory.world()
    _record(session, world, on=LAST_MONTH)  # still reserved when the month closes
    backwards = _record(session, world, backwards=True, on=LAST_MONTH)
    service.approve_exchange(
        session, world.coordinator, backwards.id, reason="Bob said so", today=LAST_MONTH + timedelta(days=3)
    )
    return ledger.close_month(session, world.timebank.id, LAST_MONTH, today=TODAY)


@pytest.mark.parametrize(
    "change",
    [
        {"checksum": "0" * 64},
        {"checksum": None},
        {"month": date(2000, 1, 1)},
        {"closed_at": datetime(2000, 1, 1)},
        {"closed_by_id": 1},
        {"timebank_id": 2},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_closed_month_cannot_be_changed(session: Session, factory: Factory, change: dict[str, object]):
    period = _closed(session, factory)
    period_id, checksum = period.id, period.checksum
    assert checksum is not None
    with pytest.raises(DBAPIError, match="closed periods cannot be reopened or changed"):
        session.execute(update(Period).where(Period.id == period_id).values(**change))
    session.rollback()
    assert session.get(Period, period_id, populate_existing=True).checksum == checksum  # type: ignore[union-attr]
    assert ledger.check_ledger(session).ok


def test_a_closed_month_cannot_be_reopened(session: Session, factory: Factory):
    period = _closed(session, factory)
    with pytest.raises(DBAPIError, match="closed periods cannot be reopened or changed"):
        session.execute(delete(Period).where(Period.id == period.id))
    session.rollback()
    assert ledger.is_closed(session, period.timebank_id, LAST_MONTH)


def test_a_month_marked_closed_without_statements_cannot_be_given_a_checksum(session: Session, factory: Factory):
    """Only a close, with its statements, writes a checksum (once): a forged one on a month
    closed without statements would make the next close carry its balances from nothing."""
    timebank = factory.timebank("Quiet")
    period = close_period(session, timebank.id, LAST_MONTH)
    session.commit()
    period.checksum = "0" * 64
    with pytest.raises(DBAPIError, match="closed periods cannot be reopened or changed"):
        session.commit()
    session.rollback()


# -- statements against transfers ---------------------------------------------------------------


def test_check_ledger_checks_a_closed_month_s_statements_against_its_transfers_not_only_its_checksum(
    session: Session, factory: Factory, runner: FlaskCliRunner
):
    """A statement wrong from the start carries a checksum that matches it: the statements are
    compared with the transfers too. Played by changing one (triggers off) and giving the
    period the checksum of what it now holds."""
    period = _closed(session, factory)
    statement = session.scalar(
        select(Statement).where(Statement.period_id == period.id, Statement.closing_minutes != 0).limit(1)
    )
    assert statement is not None and ledger.check_ledger(session).ok
    account_id, closing = statement.account_id, statement.closing_minutes
    with _trigger_off(session, "statements", "statements_append_only", ("statements_no_update",)), \
            _trigger_off(session, "periods", "periods_stay_closed", ("periods_no_update",)):
        session.execute(
            update(Statement).where(Statement.id == statement.id).values(closing_minutes=closing + 60)
        )
        period = session.get(Period, period.id, populate_existing=True)  # type: ignore[assignment]
        period.checksum = period_checksum(session, period)
        session.commit()
    problems = ledger.check_ledger(session).problems
    assert problems == [
        f"the statement of account {account_id} for {LAST_MONTH:%Y-%m} (period {period.id}) says closing_minutes "
        f"{closing + 60} (transfers give {closing})"
    ]
    run = runner.invoke(args=["timebank", "check-ledger"])
    assert run.exit_code == 1 and f"the statement of account {account_id}" in run.output
