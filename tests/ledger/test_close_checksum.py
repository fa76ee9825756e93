"""The closed month's checksum (timebank.ledger.close.period_checksum) keeps its exact bytes.

Stored checksums were computed by a Python loop over the month's rows; the database now writes
the lines. ``reference_checksum`` below is that loop, verbatim, so a checksum stored before the
change still verifies (check-ledger) and one stored after it equals what the loop would give.
On SQLite and PostgreSQL, over several months with every phase and every purpose.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import Factory
from tests.ledger import test_rules as rules
from tests.ledger.test_rules import LAST_MONTH, TODAY, make_timebank, member_account, move, post, reverse, void
from timebank import ledger
from timebank.clock import next_month
from timebank.ledger import close
from timebank.ledger.close import STATEMENT_FIELDS, close_month, period_checksum, verify_closed_months
from timebank.ledger.periods import month_start
from timebank.models import Period, Statement, Transfer, TransferPhase, TransferPurpose
from timebank.timebanks.service import organisation_account, pool_account

sqlite_files = rules.sqlite_files
postgres_engine = rules.postgres_engine
session = rules.session


def reference_checksum(session: Session, period: Period) -> str:
    """The checksum as it was first written: every row read and formatted in Python."""
    digest = hashlib.sha256(f"period {period.timebank_id} {period.month.isoformat()}\n".encode())
    statements = session.execute(
        select(*(getattr(Statement, name) for name in STATEMENT_FIELDS))
        .where(Statement.period_id == period.id)
        .order_by(Statement.account_id)
    )
    for row in statements:
        digest.update(("statement " + " ".join(str(int(value)) for value in row) + "\n").encode())
    transfers = session.execute(
        select(
            Transfer.id,
            Transfer.debit_account_id,
            Transfer.credit_account_id,
            Transfer.amount_minutes,
            Transfer.phase,
            Transfer.purpose,
            Transfer.value_date,
        )
        .where(
            Transfer.timebank_id == period.timebank_id,
            Transfer.value_date >= period.month,
            Transfer.value_date < next_month(period.month),
        )
        .order_by(Transfer.id)
    )
    for t in transfers:
        line = f"transfer {t[0]} {t[1]} {t[2]} {t[3]} {t[4]} {t[5]} {t[6].isoformat()}\n"
        digest.update(line.encode())
    return digest.hexdigest()


def test_the_checksum_equals_the_python_loop_over_months_with_every_phase_and_purpose(
    session: Session, factory: Factory
):
    timebank = make_timebank(factory, "Riverside", default_floor_minutes=-100_000, default_cap_minutes=100_000)
    other = make_timebank(factory, "Elm Park", default_floor_minutes=-100_000, default_cap_minutes=100_000)
    alice, bob, carol = (member_account(factory, timebank, name) for name in ("Alice", "Bob", "Carol"))
    outsider, olive = member_account(factory, other, "Olga"), member_account(factory, other, "Olive")
    organisation, pool = organisation_account(session, timebank.id), pool_account(session, timebank.id)
    months = [month_start(LAST_MONTH)]
    for _ in range(2):
        months.insert(0, month_start(months[0] - timedelta(days=1)))
    for index, first in enumerate(months):
        last = next_month(first) - timedelta(days=1)
        for day in (first, first + timedelta(days=14), last):  # both edges of the month
            move(session, timebank, alice, bob, 60 + 15 * index, value_date=day)
            move(session, timebank, organisation, carol, 90, value_date=day, purpose=TransferPurpose.ACTIVITY)
            move(session, timebank, alice, pool, 15, value_date=day, purpose=TransferPurpose.DONATION)
            move(session, timebank, pool, bob, 15, value_date=day, purpose=TransferPurpose.GRANT)
            move(session, timebank, organisation, alice, 15, value_date=day, purpose=TransferPurpose.ADJUSTMENT)
            mistake = move(session, timebank, bob, carol, 12_300, value_date=day)
            reverse(session, timebank, mistake.id, value_date=day)
            posted = move(session, timebank, carol, alice, 30, value_date=day, pending=True)
            post(session, timebank, posted.id, value_date=day)
            voided = move(session, timebank, carol, bob, 45, value_date=day, pending=True)
            void(session, timebank, voided.id, value_date=day)
            move(session, timebank, bob, alice, 30, value_date=day, pending=True)  # left pending
            move(session, other, outsider, olive, 30, value_date=day)  # another timebank's month
        # pending in this month, posted in the next: each month sees its own row
        later = move(session, timebank, alice, carol, 45, value_date=last, pending=True)
        post(session, timebank, later.id, value_date=next_month(first))
    move(session, timebank, alice, bob, 60, value_date=TODAY)  # the open month

    periods = [close_month(session, timebank.id, month, today=TODAY) for month in months]
    periods += [close_month(session, other.id, month, today=TODAY) for month in months]

    phases = set(session.scalars(select(Transfer.phase).distinct()))
    purposes = set(session.scalars(select(Transfer.purpose).distinct()))
    assert phases == set(TransferPhase) and purposes == set(TransferPurpose)
    negative = session.scalar(select(Statement.id).where(Statement.opening_minutes < 0).limit(1))
    assert negative is not None  # a minus sign is rendered too
    for period in periods:
        assert period.checksum == reference_checksum(session, period) == period_checksum(session, period)
    assert len({period.checksum for period in periods}) == len(periods)
    assert verify_closed_months(session) == []
    assert ledger.check_ledger(session).ok


def test_an_empty_month_has_the_loops_checksum(session: Session, factory: Factory):
    timebank = make_timebank(factory, "Quiet")
    period = close_month(session, timebank.id, LAST_MONTH, today=TODAY)
    assert period.checksum == reference_checksum(session, period)


def test_a_month_closed_with_the_loops_checksum_still_verifies(
    session: Session, factory: Factory, monkeypatch: pytest.MonkeyPatch
):
    """A period closed before the change carries the loop's checksum; check-ledger accepts it."""
    timebank = make_timebank(factory, "Riverside", default_floor_minutes=-1000, default_cap_minutes=1000)
    alice, bob = member_account(factory, timebank, "Alice"), member_account(factory, timebank, "Bob")
    move(session, timebank, alice, bob, 30, value_date=LAST_MONTH)
    move(session, timebank, bob, alice, 45, value_date=LAST_MONTH, pending=True)
    with monkeypatch.context() as patched:
        patched.setattr(close, "period_checksum", reference_checksum)  # the close as it was
        close.close_month(session, timebank.id, LAST_MONTH, today=TODAY)
    assert close.period_checksum is not reference_checksum
    assert verify_closed_months(session) == []
    assert ledger.check_ledger(session).ok
