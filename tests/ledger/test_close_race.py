"""A month close and a ledger write dated in that month, at the same moment (PostgreSQL).

The write takes a shared lock on the timebank row before it reads the latest closed month, and
the close holds the exclusive lock on it while it reads the month's transfers (DESIGN.md rule 9;
ledger/locking.py). So they take turns either way round, and the closed month's statements
always agree with its transfers:

- the close first: the write waits for it, then sees the month closed (``ClosedPeriod``);
- the write first: the close waits for it, and its statements count the new transfer.

Each test holds the first one inside its locks for a moment, so the second really arrives while
the first is in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tests.conftest import require_postgres
from tests.ledger import test_rules as rules
from tests.ledger.test_rules import LAST_MONTH, TODAY, Bank, move, new_key
from timebank import ledger
from timebank.ledger import close, transfers
from timebank.ledger.close import close_month
from timebank.models import Period, Statement, TransferPurpose

sqlite_files = rules.sqlite_files
postgres_engine = rules.postgres_engine
session = rules.session
bank = rules.bank

HOLD = 1.0  # seconds the first one keeps its locks, for the second to arrive


def _postgres_only(session: Session) -> Engine:
    if session.get_bind().dialect.name != "postgresql":
        require_postgres("a close racing a write needs PostgreSQL row locks")
        pytest.skip("the PostgreSQL run of this test proves it (SQLite: one writer at a time)")
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    return engine


def _holding(function: Callable[..., Any], inside: threading.Event) -> Callable[..., Any]:
    """``function``, then say so and keep the transaction's locks a moment."""

    def held(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        inside.set()
        time.sleep(HOLD)
        return result

    return held


def _spend_last_month(engine: Engine, bank: Bank, outcome: list[object]) -> None:
    with Session(engine) as own:
        try:
            with ledger.write_transaction(own):
                transfer = ledger.create_transfer(
                    own,
                    timebank_id=bank.id,
                    debit_account_id=bank.bob.id,
                    credit_account_id=bank.alice.id,
                    amount_minutes=15,
                    value_date=LAST_MONTH,
                    purpose=TransferPurpose.EXCHANGE,
                    idempotency_key=new_key(),
                )
                outcome.append(transfer.id)
        except ledger.LedgerError as error:
            outcome.append(error)


def _close_last_month(engine: Engine, bank: Bank, outcome: list[object]) -> None:
    with Session(engine) as own:
        outcome.append(close_month(own, bank.id, LAST_MONTH, today=TODAY).id)


def _earned_last_month(session: Session, bank: Bank) -> int:
    session.rollback()
    statement = session.scalar(
        select(Statement)
        .join(Period, Statement.period_id == Period.id)
        .where(Period.timebank_id == bank.id, Statement.account_id == bank.alice.id)
    )
    assert statement is not None
    return statement.earned_minutes


def test_a_write_arriving_during_a_close_waits_and_finds_the_month_closed(
    session: Session, bank: Bank, monkeypatch: pytest.MonkeyPatch
):
    engine = _postgres_only(session)
    move(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH)
    closing = threading.Event()
    # The close holds the timebank row (FOR UPDATE) from its first statement; hold it there.
    monkeypatch.setattr(close, "_period", _holding(close._period, closing))
    closed: list[object] = []
    spent: list[object] = []
    closer = threading.Thread(target=_close_last_month, args=(engine, bank, closed))
    closer.start()
    assert closing.wait(timeout=10)
    _spend_last_month(engine, bank, spent)
    closer.join(timeout=30)

    assert len(closed) == 1 and isinstance(closed[0], int)
    assert len(spent) == 1 and isinstance(spent[0], ledger.ClosedPeriod)
    assert _earned_last_month(session, bank) == 30
    assert ledger.check_ledger(session).ok


def test_a_close_arriving_during_a_write_waits_and_counts_it(
    session: Session, bank: Bank, monkeypatch: pytest.MonkeyPatch
):
    engine = _postgres_only(session)
    move(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH)
    writing = threading.Event()
    # The write holds its locks once it has read the latest closed month; hold it there.
    monkeypatch.setattr(transfers, "check_open", _holding(transfers.check_open, writing))
    closed: list[object] = []
    spent: list[object] = []
    writer = threading.Thread(target=_spend_last_month, args=(engine, bank, spent))
    writer.start()
    assert writing.wait(timeout=10)
    _close_last_month(engine, bank, closed)
    writer.join(timeout=30)

    assert len(spent) == 1 and isinstance(spent[0], int)
    assert len(closed) == 1 and isinstance(closed[0], int)
    assert _earned_last_month(session, bank) == 45
    assert ledger.check_ledger(session).ok
