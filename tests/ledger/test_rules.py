"""The ledger's rules (DESIGN.md, "The ledger (rules)" 1-10), one behaviour per test.

Every test that touches the database runs on SQLite and on PostgreSQL (the ``session``
fixture below is parametrized). Every refused write is checked twice: the typed error, and
that nothing was written (the transfer count and every account's cached totals are
unchanged, and ``check_ledger`` still passes).

The ledger has no Flask in it, so these tests give it a plain SQLAlchemy session: this
module's ``session`` fixture stands in for the app-backed one in tests/conftest.py (the
``factory`` fixture there builds on whichever ``session`` is in scope). SQLite starts each
test from a copy of a schema made once; PostgreSQL is emptied before each test.
"""

from __future__ import annotations

import itertools
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tests.conftest import Factory, _reset_postgres, postgres_url, require_postgres
from timebank import ledger
from timebank.errors import status_for
from timebank.ledger import errors as ledger_errors
from timebank.ledger.check import _expected_totals
from timebank.ledger.money import validate_amount
from timebank.ledger.periods import close_period, month_start
from timebank.members.service import create_member
from timebank.models import Account, Base, MemberStatus, Timebank, Transfer, TransferPhase, TransferPurpose
from timebank.timebanks.service import create_timebank, organisation_account, pool_account

TODAY = date.today()
LAST_MONTH = month_start(TODAY) - timedelta(days=1)  # a day in the previous month
TWO_MONTHS_AGO = month_start(LAST_MONTH) - timedelta(days=1)

FLOOR = -60  # the test timebank's default floor: one hour
CAP = 120  # and its default cap: two hours

Totals = tuple[int, int, int, int]  # debits_posted, credits_posted, debits_pending, credits_pending

_keys = itertools.count(1)


def new_key() -> str:
    return f"key-{next(_keys)}"


# --------------------------------------------------------------------------- databases


@dataclass
class SqliteFiles:
    engine: Engine
    template: Path
    live: Path

    def fresh(self) -> Engine:
        """Start the live database again from the template (the schema and nothing else)."""
        self.engine.dispose()  # no connection may hold the old file open
        for leftover in (self.live.with_name(self.live.name + "-wal"), self.live.with_name(self.live.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(self.template, self.live)
        return self.engine


@pytest.fixture(scope="module")
def sqlite_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteFiles]:
    directory = tmp_path_factory.mktemp("ledger")
    template = directory / "template.sqlite"
    engine = create_engine(f"sqlite:///{template}")
    ledger.configure_engine(engine)
    Base.metadata.create_all(engine)
    engine.dispose()  # the last connection closing folds the WAL back into the file
    live = directory / "ledger.sqlite"
    engine = create_engine(f"sqlite:///{live}")
    ledger.configure_engine(engine)  # as create_app does for the app's engine
    yield SqliteFiles(engine, template, live)
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    engine = create_engine(postgres_url())
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request: pytest.FixtureRequest, sqlite_files: SqliteFiles) -> Iterator[Session]:
    """A plain SQLAlchemy session on an empty ledger, once on SQLite and once on PostgreSQL."""
    if request.param == "postgresql":
        require_postgres(request.node.nodeid)
        _reset_postgres()
        engine = request.getfixturevalue("postgres_engine")
    else:
        engine = sqlite_files.fresh()
    session = Session(engine)
    yield session
    session.close()


# --------------------------------------------------------------------------- helpers


@dataclass
class Bank:
    """A timebank with small limits (floor -1 hour, cap 2 hours), three members, the
    organisation account, the pool, and a second timebank with one member."""

    timebank: Timebank
    alice: Account
    bob: Account
    carol: Account
    organisation: Account
    pool: Account
    other_timebank: Timebank
    outsider: Account

    @property
    def id(self) -> int:
        return self.timebank.id


def member_account(
    factory: Factory, timebank: Timebank, name: str, *, floor: int | None = None, cap: int | None = None
) -> Account:
    """A member's account, with its own floor and cap when given (None: the timebank's).

    No password: hashing one costs more than the whole ledger test."""
    member = create_member(
        factory.session, timebank=timebank, display_name=name, email=None, status=MemberStatus.APPROVED
    )
    account = member.account
    assert account is not None
    account.floor_minutes = floor
    account.cap_minutes = cap
    factory.session.commit()
    return account


def make_timebank(factory: Factory, name: str, **settings: Any) -> Timebank:
    settings = {"default_floor_minutes": FLOOR, "default_cap_minutes": CAP, **settings}
    return factory.timebank(name, **settings)


@pytest.fixture
def bank(factory: Factory, session: Session) -> Bank:
    timebank = make_timebank(factory, "Riverside")
    other = make_timebank(factory, "Elm Park")
    return Bank(
        timebank=timebank,
        alice=member_account(factory, timebank, "Alice"),
        bob=member_account(factory, timebank, "Bob"),
        carol=member_account(factory, timebank, "Carol"),
        organisation=organisation_account(session, timebank.id),
        pool=pool_account(session, timebank.id),
        other_timebank=other,
        outsider=member_account(factory, other, "Olive"),
    )


def move(
    session: Session,
    bank: Bank | Timebank,
    debit: Account,
    credit: Account,
    minutes: Any,
    *,
    key: str | None = None,
    pending: bool = False,
    value_date: date = TODAY,
    memo: str = "",
    purpose: TransferPurpose = TransferPurpose.EXCHANGE,
) -> Transfer:
    with ledger.write_transaction(session):
        return ledger.create_transfer(
            session,
            timebank_id=bank.id,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount_minutes=minutes,
            value_date=value_date,
            purpose=purpose,
            idempotency_key=key or new_key(),
            pending=pending,
            memo=memo,
        )


def post(
    session: Session, bank: Bank | Timebank, pending_id: int, *, key: str | None = None, value_date: date = TODAY
) -> Transfer:
    with ledger.write_transaction(session):
        return ledger.post_pending(
            session, timebank_id=bank.id, pending_id=pending_id, value_date=value_date, idempotency_key=key or new_key()
        )


def void(
    session: Session, bank: Bank | Timebank, pending_id: int, *, key: str | None = None, value_date: date = TODAY
) -> Transfer:
    with ledger.write_transaction(session):
        return ledger.void_pending(
            session, timebank_id=bank.id, pending_id=pending_id, value_date=value_date, idempotency_key=key or new_key()
        )


def reverse(
    session: Session, bank: Bank | Timebank, transfer_id: int, *, key: str | None = None, value_date: date = TODAY
) -> Transfer:
    with ledger.write_transaction(session):
        return ledger.reverse_transfer(
            session,
            timebank_id=bank.id,
            transfer_id=transfer_id,
            value_date=value_date,
            idempotency_key=key or new_key(),
        )


@dataclass(frozen=True)
class LedgerState:
    transfers: int
    totals: dict[int, Totals]


def ledger_state(session: Session) -> LedgerState:
    """What is in the database now (column reads, so nothing comes from the identity map)."""
    count = session.scalar(select(func.count(Transfer.id))) or 0
    rows = session.execute(
        select(
            Account.id, Account.debits_posted, Account.credits_posted, Account.debits_pending, Account.credits_pending
        ).order_by(Account.id)
    )
    return LedgerState(count, {row[0]: (row[1], row[2], row[3], row[4]) for row in rows})


def totals(session: Session, account: Account) -> Totals:
    return ledger_state(session).totals[account.id]


def balance(session: Session, account: Account) -> int:
    debits_posted, credits_posted, _, _ = totals(session, account)
    return credits_posted - debits_posted


def assert_ledger_ok(session: Session) -> None:
    result = ledger.check_ledger(session)
    assert result.ok, result.problems


def refuse(session: Session, error: type[Exception], call: Callable[[], object]) -> Exception:
    """Run ``call`` as one ledger write; it must raise exactly ``error`` and write nothing."""
    before = ledger_state(session)
    with pytest.raises(error) as raised, ledger.write_transaction(session):
        call()
    assert type(raised.value) is error
    if isinstance(raised.value, ledger.LedgerError):
        assert raised.value.message.strip(), "a typed error carries a message for the person"
    assert ledger_state(session) == before, "a refused write changed the ledger"
    assert_ledger_ok(session)
    return raised.value


def create_call(
    session: Session, bank: Bank | Timebank, debit: Any, credit: Any, minutes: Any, **kwargs: Any
) -> Callable[[], Any]:
    """A create_transfer call for ``refuse``; accounts may be Account objects or raw ids."""
    debit_id = debit.id if isinstance(debit, Account) else debit
    credit_id = credit.id if isinstance(credit, Account) else credit
    arguments: dict[str, Any] = {
        "timebank_id": bank.id,
        "value_date": TODAY,
        "purpose": TransferPurpose.EXCHANGE,
        "idempotency_key": new_key(),
        **kwargs,
    }
    return lambda: ledger.create_transfer(
        session, debit_account_id=debit_id, credit_account_id=credit_id, amount_minutes=minutes, **arguments
    )


def _reverse_call(session: Session, bank: Bank | Timebank, transfer_id: int, **kwargs: Any) -> Callable[[], Any]:
    arguments = {"value_date": TODAY, "idempotency_key": new_key(), **kwargs}
    return lambda: ledger.reverse_transfer(session, timebank_id=bank.id, transfer_id=transfer_id, **arguments)


def _resolve_call(session: Session, bank: Bank, action: str, pending_id: int, **kwargs: Any) -> Callable[[], Any]:
    function = ledger.post_pending if action == "post" else ledger.void_pending
    arguments = {"value_date": TODAY, "idempotency_key": new_key(), **kwargs}
    return lambda: function(session, timebank_id=bank.id, pending_id=pending_id, **arguments)


def close(session: Session, bank: Bank, day: date) -> None:
    with ledger.write_transaction(session):
        close_period(session, bank.id, day)


# --------------------------------------------------------------------------- rule 1: amounts


INVALID_AMOUNTS = {
    "zero": 0,
    "negative": -15,
    "not a multiple": 10,
    "another non-multiple": 20,
    "float": 15.0,
    "fraction": 7.5,
    "bool": True,
    "string": "15",
    "none": None,
}


def test_amount_that_is_not_a_positive_whole_multiple_of_the_granularity_is_refused(session, bank, subtests):
    for case, amount in INVALID_AMOUNTS.items():
        for pending in (False, True):
            with subtests.test(case, pending=pending):
                refuse(
                    session,
                    ledger.InvalidAmount,
                    create_call(session, bank, bank.bob, bank.alice, amount, pending=pending),
                )


def test_amounts_follow_the_timebanks_own_granularity(session, factory, bank):
    half_hours = make_timebank(factory, "Half Hours", granularity_minutes=30)
    pat, sam = member_account(factory, half_hours, "Pat"), member_account(factory, half_hours, "Sam")
    refuse(session, ledger.InvalidAmount, create_call(session, half_hours, pat, sam, 15))
    refuse(session, ledger.InvalidAmount, create_call(session, half_hours, pat, sam, 45))
    move(session, half_hours, pat, sam, 30)
    move(session, bank, bank.bob, bank.alice, 15)  # the other timebank still counts in quarter hours
    assert balance(session, sam) == 30
    assert balance(session, bank.alice) == 15


def test_amounts_are_stored_and_read_back_as_integer_minutes(session, bank):
    transfer_id = move(session, bank, bank.bob, bank.alice, 45).id
    session.expire_all()
    stored = session.scalar(select(Transfer.amount_minutes).where(Transfer.id == transfer_id))
    assert stored == 45 and type(stored) is int
    assert all(type(value) is int for value in totals(session, bank.alice))


def test_validate_amount_returns_a_valid_amount_and_names_the_problem_otherwise():
    assert validate_amount(90, 15) == 90
    assert validate_amount(15, 15) == 15
    with pytest.raises(ledger.InvalidAmount, match="steps of 15 minutes"):
        validate_amount(50, 15)
    with pytest.raises(ledger.InvalidAmount, match="more than zero"):
        validate_amount(0, 15)
    with pytest.raises(ledger.InvalidAmount, match="whole number"):
        validate_amount(1.5, 15)


# --------------------------------------------------------------------------- rule 2: double entry


def test_every_movement_debits_one_account_and_credits_another_by_the_same_amount(session, bank):
    move(session, bank, bank.bob, bank.alice, 30)
    reserved = move(session, bank, bank.alice, bank.carol, 45, pending=True)
    post(session, bank, reserved.id)
    cancelled = move(session, bank, bank.organisation, bank.bob, 60, pending=True)
    void(session, bank, cancelled.id)
    reverse(session, bank, move(session, bank, bank.carol, bank.pool, 15).id)
    move(session, bank, bank.organisation, bank.carol, 15, pending=True)

    state = ledger_state(session).totals.values()
    assert sum(t[0] for t in state) == sum(t[1] for t in state) == 30 + 45 + 15 + 15
    assert sum(t[2] for t in state) == sum(t[3] for t in state) == 15
    assert sum(t[1] - t[0] for t in state) == 0, "balances across the ledger sum to zero"
    result = ledger.check_ledger(session)
    assert result.ok, result.problems
    assert result.total_debits == result.total_credits == 105


def test_a_transfer_stores_one_amount_for_its_debit_and_its_credit(session, bank):
    transfer = move(session, bank, bank.bob, bank.alice, 30)
    assert (transfer.debit_account_id, transfer.credit_account_id, transfer.amount_minutes) == (
        bank.bob.id,
        bank.alice.id,
        30,
    )
    assert totals(session, bank.bob) == (30, 0, 0, 0)
    assert totals(session, bank.alice) == (0, 30, 0, 0)


# --------------------------------------------------------------------------- rule 3: immutability


def test_the_database_refuses_to_update_or_delete_a_transfer_row(session, bank, subtests):
    transfer_id = move(session, bank, bank.bob, bank.alice, 30).id
    before = ledger_state(session)
    for statement in (
        "UPDATE transfers SET amount_minutes = amount_minutes + 15 WHERE id = :id",
        "UPDATE transfers SET memo = 'edited' WHERE id = :id",
        "DELETE FROM transfers WHERE id = :id",
        "DELETE FROM transfers",
    ):
        with subtests.test(statement):
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(text(statement), {"id": transfer_id})
                session.commit()
            session.rollback()
            assert ledger_state(session) == before
            row = session.execute(select(Transfer.amount_minutes, Transfer.memo).where(Transfer.id == transfer_id))
            assert tuple(row.one()) == (30, "")
    assert_ledger_ok(session)


def test_the_database_refuses_an_orm_change_to_a_transfer(session, bank):
    transfer = move(session, bank, bank.bob, bank.alice, 30)
    transfer.amount_minutes = 15
    with pytest.raises(DBAPIError, match="append-only"):
        session.commit()
    session.rollback()
    session.delete(session.get(Transfer, transfer.id))
    with pytest.raises(DBAPIError, match="append-only"):
        session.commit()
    session.rollback()
    assert session.scalar(select(Transfer.amount_minutes).where(Transfer.id == transfer.id)) == 30


def test_a_reversal_moves_the_same_amount_back_the_other_way_and_points_at_the_original(session, bank):
    original = move(session, bank, bank.bob, bank.alice, 45)
    reversal = reverse(session, bank, original.id)
    assert reversal.debit_account_id == bank.alice.id
    assert reversal.credit_account_id == bank.bob.id
    assert reversal.amount_minutes == 45
    assert reversal.reverses_id == original.id
    assert reversal.purpose == TransferPurpose.REVERSAL
    assert reversal.phase == TransferPhase.SINGLE
    assert totals(session, bank.alice) == (45, 45, 0, 0)
    assert totals(session, bank.bob) == (45, 45, 0, 0)
    assert balance(session, bank.alice) == balance(session, bank.bob) == 0
    assert_ledger_ok(session)


def test_a_reversal_is_made_only_by_reversing_the_transfer_it_puts_right(session, bank):
    """A movement of purpose "reversal" on its own would mirror nothing (the database refuses
    it too): a typed error, before anything is written."""
    move(session, bank, bank.bob, bank.alice, 30)
    for pending in (False, True):
        refuse(
            session,
            ledger.ReversalWithoutOriginal,
            create_call(session, bank, bank.alice, bank.bob, 30, purpose=TransferPurpose.REVERSAL, pending=pending),
        )


def test_a_posted_pending_transfer_is_reversed_through_its_post_row(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True)
    posted = post(session, bank, pending.id)
    reverse(session, bank, posted.id)
    assert balance(session, bank.alice) == balance(session, bank.bob) == 0
    assert_ledger_ok(session)


def test_a_transfer_is_reversed_only_once(session, bank):
    original = move(session, bank, bank.bob, bank.alice, 30)
    reverse(session, bank, original.id)
    refuse(
        session,
        ledger.TransferAlreadyReversed,
        _reverse_call(session, bank, original.id),
    )


def test_a_reversal_cannot_itself_be_reversed(session, bank):
    reversal = reverse(session, bank, move(session, bank, bank.bob, bank.alice, 30).id)
    refuse(
        session,
        ledger.TransferNotReversible,
        _reverse_call(session, bank, reversal.id),
    )


def test_only_credits_that_have_moved_can_be_reversed(session, bank, subtests):
    waiting = move(session, bank, bank.organisation, bank.pool, 30, pending=True)
    posted_later = move(session, bank, bank.organisation, bank.pool, 30, pending=True)
    post(session, bank, posted_later.id)
    voided = void(session, bank, move(session, bank, bank.organisation, bank.pool, 30, pending=True).id)
    targets = {"a waiting pending": waiting, "a pending since posted": posted_later, "a void row": voided}
    for case, target in targets.items():
        with subtests.test(case):
            refuse(session, ledger.TransferNotReversible, _reverse_call(session, bank, target.id))


def test_a_reversal_that_would_take_an_account_below_its_floor_is_refused(session, bank):
    earned = move(session, bank, bank.bob, bank.alice, 60)
    move(session, bank, bank.alice, bank.carol, 60)
    move(session, bank, bank.alice, bank.carol, 60)  # Alice spent what she earned and more: -60
    refuse(
        session,
        ledger.ExceedsFloor,
        _reverse_call(session, bank, earned.id),
    )


# --------------------------------------------------------------------------- rule 4: two phases


def test_a_pending_transfer_reserves_without_moving_the_balance(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True)
    assert pending.phase == TransferPhase.PENDING
    assert totals(session, bank.bob) == (0, 0, 30, 0)
    assert totals(session, bank.alice) == (0, 0, 0, 30)
    assert balance(session, bank.alice) == balance(session, bank.bob) == 0
    assert ledger.resolution_of(session, pending.id) is None
    assert_ledger_ok(session)


def test_posting_a_pending_transfer_moves_the_reserved_minutes(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True)
    posted = post(session, bank, pending.id)
    assert (posted.phase, posted.pending_id, posted.amount_minutes) == (TransferPhase.POST, pending.id, 30)
    assert totals(session, bank.bob) == (30, 0, 0, 0)
    assert totals(session, bank.alice) == (0, 30, 0, 0)
    assert ledger.resolution_of(session, pending.id).id == posted.id
    assert_ledger_ok(session)


def test_voiding_a_pending_transfer_releases_the_reservation_and_moves_nothing(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 60, pending=True)
    voided = void(session, bank, pending.id)
    assert (voided.phase, voided.pending_id) == (TransferPhase.VOID, pending.id)
    assert totals(session, bank.bob) == totals(session, bank.alice) == (0, 0, 0, 0)
    assert ledger.resolution_of(session, pending.id).id == voided.id
    move(session, bank, bank.bob, bank.alice, 60)  # the released hour can be spent again
    assert_ledger_ok(session)


def test_posting_uses_the_reservation_already_counted_against_the_floor(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 60, pending=True)  # Bob's whole hour
    post(session, bank, pending.id)
    assert balance(session, bank.bob) == FLOOR
    assert_ledger_ok(session)


def test_a_pending_transfer_resolves_only_once(session, bank, subtests):
    cases = [
        ("post", "post", ledger.PendingTransferAlreadyPosted),
        ("post", "void", ledger.PendingTransferAlreadyPosted),
        ("void", "post", ledger.PendingTransferAlreadyVoided),
        ("void", "void", ledger.PendingTransferAlreadyVoided),
    ]
    for first, then, error in cases:
        with subtests.test(f"{then} after {first}"):
            pending = move(session, bank, bank.organisation, bank.pool, 30, pending=True)
            (post if first == "post" else void)(session, bank, pending.id)
            refuse(session, error, _resolve_call(session, bank, then, pending.id))


def test_only_a_pending_transfer_can_be_posted_or_voided(session, bank, subtests):
    org, pool = bank.organisation, bank.pool
    targets = {
        "a single transfer": move(session, bank, org, pool, 30),
        "a post row": post(session, bank, move(session, bank, org, pool, 30, pending=True).id),
        "a void row": void(session, bank, move(session, bank, org, pool, 30, pending=True).id),
        "a reversal": reverse(session, bank, move(session, bank, org, pool, 30).id),
    }
    for case, target in targets.items():
        for action in ("post", "void"):
            with subtests.test(f"{action} {case}"):
                refuse(session, ledger.TransferNotPending, _resolve_call(session, bank, action, target.id))


# --------------------------------------------------------------------------- rule 5: cached totals


def test_cached_totals_follow_every_phase(session, bank):
    move(session, bank, bank.bob, bank.alice, 15)
    assert (totals(session, bank.bob), totals(session, bank.alice)) == ((15, 0, 0, 0), (0, 15, 0, 0))
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True)
    assert (totals(session, bank.bob), totals(session, bank.alice)) == ((15, 0, 30, 0), (0, 15, 0, 30))
    post(session, bank, pending.id)
    assert (totals(session, bank.bob), totals(session, bank.alice)) == ((45, 0, 0, 0), (0, 45, 0, 0))
    pending = move(session, bank, bank.alice, bank.bob, 15, pending=True)
    assert (totals(session, bank.bob), totals(session, bank.alice)) == ((45, 0, 0, 15), (0, 45, 15, 0))
    void(session, bank, pending.id)
    assert (totals(session, bank.bob), totals(session, bank.alice)) == ((45, 0, 0, 0), (0, 45, 0, 0))
    assert_ledger_ok(session)


def test_check_ledger_recomputes_the_same_totals_as_the_cache(session, bank):
    move(session, bank, bank.bob, bank.alice, 30)
    post(session, bank, move(session, bank, bank.carol, bank.alice, 45, pending=True).id)
    move(session, bank, bank.organisation, bank.bob, 60, pending=True)
    recomputed = _expected_totals(session)
    cached = ledger_state(session).totals
    for account_id, account_totals in cached.items():
        assert recomputed.get(account_id, (0, 0, 0, 0)) == account_totals
    assert recomputed[bank.alice.id] == (0, 75, 0, 0)
    assert recomputed[bank.bob.id] == (30, 0, 0, 60)


class Boom(Exception):
    pass


def test_cached_totals_are_written_in_the_same_transaction_as_the_transfer(session, bank):
    before = ledger_state(session)
    with pytest.raises(Boom), ledger.write_transaction(session):
        move_inside = ledger.create_transfer(
            session,
            timebank_id=bank.id,
            debit_account_id=bank.bob.id,
            credit_account_id=bank.alice.id,
            amount_minutes=30,
            value_date=TODAY,
            purpose=TransferPurpose.EXCHANGE,
            idempotency_key=new_key(),
        )
        # Inside the transaction both the row and the cache are there...
        assert move_inside.id is not None
        assert totals(session, bank.alice) == (0, 30, 0, 0)
        raise Boom
    # ...and rolling it back takes both away together.
    assert ledger_state(session) == before
    assert_ledger_ok(session)


def _committed_transfers(session: Session) -> int:
    """Transfers another connection sees: what is committed."""
    with session.get_bind().connect() as other:
        return other.scalar(select(func.count(Transfer.id))) or 0


def test_held_writes_commit_together_when_their_owner_commits_and_are_dropped_otherwise(session, bank):
    """``held_commit``: the writes of several write_transaction blocks, and what the owner adds
    after them, are one transaction (the API stores its answer to an Idempotency-Key so)."""
    with ledger.held_commit(session):
        first = move(session, bank, bank.bob, bank.alice, 15)
        second = move(session, bank, bank.alice, bank.carol, 15)
        assert _committed_transfers(session) == 0
        assert totals(session, bank.alice) == (15, 15, 0, 0)  # read back in the held transaction
        session.commit()
    assert _committed_transfers(session) == 2 and {first.id, second.id} == set(session.scalars(select(Transfer.id)))
    with ledger.held_commit(session):
        kept = move(session, bank, bank.bob, bank.alice, 15)
        with pytest.raises(ledger.ExceedsFloor):  # refused on its own; the caller goes on
            move(session, bank, bank.bob, bank.carol, 60)
        session.commit()
    assert _committed_transfers(session) == 3 and session.get(Transfer, kept.id) is not None
    before = ledger_state(session)
    with ledger.held_commit(session):
        move(session, bank, bank.bob, bank.alice, 15)
    assert ledger_state(session) == before, "a held write its owner never committed is rolled back"
    with pytest.raises(Boom), ledger.held_commit(session):
        move(session, bank, bank.bob, bank.alice, 15)
        raise Boom
    assert ledger_state(session) == before
    assert_ledger_ok(session)


def test_a_refused_second_movement_undoes_the_first_in_the_same_transaction(session, bank):
    before = ledger_state(session)
    with pytest.raises(ledger.ExceedsFloor), ledger.write_transaction(session):
        create_call(session, bank, bank.bob, bank.alice, 45)()
        create_call(session, bank, bank.bob, bank.carol, 45)()  # Bob's floor is one hour
    assert ledger_state(session) == before
    assert_ledger_ok(session)


def test_check_ledger_detects_a_corrupted_cache(session, bank):
    move(session, bank, bank.bob, bank.alice, 30)
    assert_ledger_ok(session)
    session.execute(
        text("UPDATE accounts SET credits_posted = credits_posted + 15 WHERE id = :id"), {"id": bank.alice.id}
    )
    session.commit()
    result = ledger.check_ledger(session)
    assert not result.ok
    assert len(result.problems) == 2
    assert f"account {bank.alice.id} " in result.problems[0]
    assert "(0, 45, 0, 0)" in result.problems[0] and "(0, 30, 0, 0)" in result.problems[0]
    # The cached totals alone no longer balance either (a check that does not read the transfers).
    assert result.problems[1] == (
        f"timebank {bank.id}: its accounts' posted debits (30) do not equal their posted credits (45)"
    )
    assert "does NOT balance" in result.summary()


def test_check_ledger_detects_an_account_below_its_floor(session, bank):
    move(session, bank, bank.bob, bank.alice, 45)
    session.execute(text("UPDATE accounts SET floor_minutes = -30 WHERE id = :id"), {"id": bank.bob.id})
    session.commit()
    result = ledger.check_ledger(session)
    assert result.problems == [f"account {bank.bob.id} (Bob) is below its floor of -30"]


def test_check_ledger_detects_an_account_above_its_cap(session, bank):
    move(session, bank, bank.organisation, bank.alice, 90, pending=True)
    session.execute(text("UPDATE accounts SET cap_minutes = 60 WHERE id = :id"), {"id": bank.alice.id})
    session.commit()
    result = ledger.check_ledger(session)
    assert result.problems == [f"account {bank.alice.id} (Alice) is above its cap of 60"]


def test_check_ledger_detects_rows_written_behind_the_ledgers_back(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True)
    stray = dict(value_date=TODAY, purpose=TransferPurpose.EXCHANGE, request_fingerprint="x" * 64)
    cross = Transfer(
        timebank_id=bank.id, debit_account_id=bank.bob.id, credit_account_id=bank.outsider.id,
        amount_minutes=15, phase=TransferPhase.SINGLE, idempotency_key="stray-1", **stray,
    )
    mismatched = Transfer(
        timebank_id=bank.id, debit_account_id=bank.bob.id, credit_account_id=bank.alice.id,
        amount_minutes=45, phase=TransferPhase.POST, pending_id=pending.id, idempotency_key="stray-2", **stray,
    )
    session.add_all([cross, mismatched])
    session.commit()
    problems = ledger.check_ledger(session).problems
    assert f"transfer {cross.id}: an account is in another timebank" in problems
    assert f"transfer {mismatched.id}: does not match the pending transfer it resolves" in problems


def test_check_ledger_summary_reports_a_balanced_ledger(session, bank):
    move(session, bank, bank.bob, bank.alice, 30)
    result = ledger.check_ledger(session)
    assert result.ok
    assert (result.timebanks, result.transfers, result.total_debits) == (2, 1, 30)
    assert result.accounts == len(ledger_state(session).totals)
    assert "debits = credits = 30 minutes" in result.summary()


# --------------------------------------------------------------------------- rule 6: limits


def test_a_member_can_spend_down_to_the_timebank_floor_and_no_further(session, bank):
    move(session, bank, bank.bob, bank.alice, 60)
    assert balance(session, bank.bob) == FLOOR
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.bob, bank.alice, 15))


def test_pending_debits_count_against_the_floor(session, bank):
    move(session, bank, bank.bob, bank.alice, 45, pending=True)
    assert balance(session, bank.bob) == 0
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.bob, bank.carol, 30))
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.bob, bank.carol, 30, pending=True))
    move(session, bank, bank.bob, bank.carol, 15)


def test_pending_credits_do_not_raise_what_a_member_may_spend(session, bank):
    move(session, bank, bank.carol, bank.bob, 60, pending=True)  # an hour on its way to Bob
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.bob, bank.alice, 75))


def test_voiding_a_reservation_frees_the_floor_again(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 60, pending=True)
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.bob, bank.carol, 15))
    void(session, bank, pending.id)
    move(session, bank, bank.bob, bank.carol, 60)


def test_a_member_can_receive_up_to_the_timebank_cap_and_no_further(session, bank):
    move(session, bank, bank.organisation, bank.alice, CAP)
    refuse(session, ledger.ExceedsCap, create_call(session, bank, bank.bob, bank.alice, 15))


def test_pending_credits_count_against_the_cap(session, bank):
    move(session, bank, bank.organisation, bank.alice, 90, pending=True)
    refuse(session, ledger.ExceedsCap, create_call(session, bank, bank.bob, bank.alice, 45))
    refuse(session, ledger.ExceedsCap, create_call(session, bank, bank.bob, bank.alice, 45, pending=True))
    move(session, bank, bank.bob, bank.alice, 30)


def test_pending_debits_do_not_make_room_under_the_cap(session, bank):
    move(session, bank, bank.organisation, bank.alice, CAP)
    move(session, bank, bank.alice, bank.bob, 60, pending=True)  # an hour on its way out
    refuse(session, ledger.ExceedsCap, create_call(session, bank, bank.carol, bank.alice, 15))


def test_the_floor_is_checked_before_the_cap(session, bank):
    move(session, bank, bank.organisation, bank.alice, CAP)
    move(session, bank, bank.bob, bank.carol, 60)
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.bob, bank.alice, 15))


def test_a_members_own_limits_override_the_timebank_defaults(session, factory, bank):
    dora = member_account(factory, bank.timebank, "Dora", floor=-15, cap=30)
    eddie = member_account(factory, bank.timebank, "Eddie", floor=-120, cap=240)
    assert ledger.limits_for(dora, bank.timebank) == ledger.Limits(floor=-15, cap=30)
    assert ledger.limits_for(bank.bob, bank.timebank) == ledger.Limits(floor=FLOOR, cap=CAP)
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, dora, bank.alice, 30))
    move(session, bank, dora, bank.alice, 15)
    move(session, bank, eddie, bank.bob, 60)
    move(session, bank, eddie, bank.carol, 60)  # past the timebank's floor, within Eddie's own
    assert balance(session, eddie) == -120
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, eddie, bank.alice, 15))
    refuse(session, ledger.ExceedsCap, create_call(session, bank, bank.organisation, dora, 60))
    move(session, bank, bank.organisation, eddie, 240 + 120)
    assert balance(session, eddie) == 240


def test_a_member_floor_of_zero_means_only_earned_credits_can_be_spent(session, factory, bank):
    frank = member_account(factory, bank.timebank, "Frank", floor=0)
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, frank, bank.alice, 15))
    move(session, bank, bank.alice, frank, 30)
    move(session, bank, frank, bank.bob, 30)
    assert balance(session, frank) == 0


def test_the_pool_cannot_give_more_than_was_donated(session, bank):
    assert ledger.limits_for(bank.pool, bank.timebank) == ledger.Limits(floor=0, cap=None)
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.pool, bank.alice, 15))
    move(session, bank, bank.bob, bank.pool, 45, purpose=TransferPurpose.DONATION)
    move(session, bank, bank.pool, bank.alice, 30, purpose=TransferPurpose.GRANT)
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.pool, bank.carol, 30))
    move(session, bank, bank.pool, bank.carol, 15)
    assert balance(session, bank.pool) == 0


def test_the_organisation_account_is_unlimited_by_default(session, factory, bank):
    assert ledger.limits_for(bank.organisation, bank.timebank) == ledger.Limits(floor=None, cap=None)
    for name in ("Gus", "Hana", "Ian"):
        move(session, bank, bank.organisation, member_account(factory, bank.timebank, name), CAP)
    assert balance(session, bank.organisation) == -3 * CAP  # far below any member's floor
    move(session, bank, bank.alice, bank.organisation, 60)
    move(session, bank, bank.bob, bank.organisation, 60)
    move(session, bank, bank.carol, bank.organisation, 60)
    move(session, bank, bank.organisation, bank.alice, 60)
    move(session, bank, bank.organisation, bank.bob, 60)
    move(session, bank, bank.organisation, bank.carol, 60)
    assert totals(session, bank.organisation) == (3 * CAP + 180, 180, 0, 0)
    assert_ledger_ok(session)


def test_the_organisation_account_can_be_given_its_own_limits(session, bank):
    bank.organisation.floor_minutes = -30
    session.commit()
    refuse(session, ledger.ExceedsFloor, create_call(session, bank, bank.organisation, bank.alice, 45))
    move(session, bank, bank.organisation, bank.alice, 30)


def test_the_organisation_account_receives_past_the_member_cap(session, factory):
    timebank = make_timebank(factory, "Small Caps", default_cap_minutes=30)
    org = organisation_account(session, timebank.id)
    for name in ("Jo", "Kim", "Lee"):
        move(session, timebank, member_account(factory, timebank, name), org, 60)
    assert balance(session, org) == 180


# --------------------------------------------------------------------------- rule 7: idempotency


def test_replaying_a_key_with_the_same_content_returns_the_first_transfer_and_moves_nothing(session, bank):
    first = move(session, bank, bank.bob, bank.alice, 30, key="double-click")
    before = ledger_state(session)
    again = move(session, bank, bank.bob, bank.alice, 30, key="double-click")
    assert again.id == first.id
    assert ledger_state(session) == before
    assert_ledger_ok(session)


def test_a_replay_returns_the_original_even_when_it_would_now_be_refused(session, bank):
    first = move(session, bank, bank.bob, bank.alice, 60, key="spend-it-all")
    assert move(session, bank, bank.bob, bank.alice, 60, key="spend-it-all").id == first.id
    assert balance(session, bank.bob) == FLOOR


def test_replaying_a_post_void_or_reversal_returns_the_first_result(session, bank):
    to_post = move(session, bank, bank.bob, bank.alice, 30, pending=True)
    to_void = move(session, bank, bank.bob, bank.alice, 15, pending=True)
    posted = post(session, bank, to_post.id, key="approve")
    voided = void(session, bank, to_void.id, key="reject")
    reversed_ = reverse(session, bank, posted.id, key="undo")
    before = ledger_state(session)
    assert post(session, bank, to_post.id, key="approve").id == posted.id
    assert void(session, bank, to_void.id, key="reject").id == voided.id
    assert reverse(session, bank, posted.id, key="undo").id == reversed_.id
    assert ledger_state(session) == before
    assert_ledger_ok(session)


def test_replaying_a_key_with_other_content_is_a_conflict(session, bank, subtests):
    move(session, bank, bank.bob, bank.alice, 30, key="shared", value_date=TODAY)
    another_day = TODAY - timedelta(days=1) if TODAY.day > 1 else TODAY + timedelta(days=1)
    changes: dict[str, dict[str, Any]] = {
        "amount": {"minutes": 45},
        "debit account": {"debit": bank.carol},
        "credit account": {"credit": bank.carol},
        "pending instead of single": {"pending": True},
        "memo": {"memo": "something else"},
        "value date": {"value_date": another_day},
        "purpose": {"purpose": TransferPurpose.DONATION},
    }
    for case, change in changes.items():
        with subtests.test(case):
            arguments: dict[str, Any] = {"debit": bank.bob, "credit": bank.alice, "minutes": 30, **change}
            debit, credit, minutes = arguments.pop("debit"), arguments.pop("credit"), arguments.pop("minutes")
            refuse(
                session,
                ledger.IdempotencyConflict,
                create_call(session, bank, debit, credit, minutes, idempotency_key="shared", **arguments),
            )


def test_a_key_used_for_one_operation_conflicts_with_another(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True, key="k")
    refuse(session, ledger.IdempotencyConflict, _resolve_call(session, bank, "post", pending.id, idempotency_key="k"))
    post(session, bank, pending.id, key="approve")
    refuse(
        session, ledger.IdempotencyConflict, _resolve_call(session, bank, "void", pending.id, idempotency_key="approve")
    )


def test_the_same_key_in_another_timebank_is_a_different_request(session, factory, bank):
    member = member_account(factory, bank.other_timebank, "Pia")
    here = move(session, bank, bank.bob, bank.alice, 30, key="same")
    there = move(session, bank.other_timebank, bank.outsider, member, 30, key="same")
    assert here.id != there.id
    assert ledger_state(session).transfers == 2


def test_a_write_without_a_usable_key_is_refused(session, bank, subtests):
    pending = move(session, bank, bank.bob, bank.alice, 15, pending=True)
    posted = move(session, bank, bank.carol, bank.alice, 15)
    for case, key in {"empty": "", "blank": "   ", "too long": "k" * 201, "none": None}.items():
        calls = {
            "create": create_call(session, bank, bank.bob, bank.alice, 30, idempotency_key=key),
            "post": _resolve_call(session, bank, "post", pending.id, idempotency_key=key),
            "void": _resolve_call(session, bank, "void", pending.id, idempotency_key=key),
            "reverse": _reverse_call(session, bank, posted.id, idempotency_key=key),
        }
        for operation, call in calls.items():
            with subtests.test(f"{operation} with {case} key"):
                refuse(session, ledger.InvalidIdempotencyKey, call)


def test_a_key_of_the_longest_allowed_length_is_accepted(session, bank):
    transfer = move(session, bank, bank.bob, bank.alice, 30, key="k" * 200)
    assert move(session, bank, bank.bob, bank.alice, 30, key="k" * 200).id == transfer.id


# --------------------------------------------------------------------------- unknown and foreign things


def test_an_unknown_account_is_refused(session, bank):
    refuse(session, ledger.AccountNotFound, create_call(session, bank, 999_999, bank.alice, 30))
    refuse(session, ledger.AccountNotFound, create_call(session, bank, bank.bob, 999_999, 30))


def test_an_unknown_timebank_is_refused(session, bank):
    refuse(session, ledger.TimebankNotFound, create_call(session, bank, bank.bob, bank.alice, 30, timebank_id=999_999))
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True)
    refuse(
        session,
        ledger.TimebankNotFound,
        lambda: ledger.post_pending(
            session, timebank_id=999_999, pending_id=pending.id, value_date=TODAY, idempotency_key=new_key()
        ),
    )


def test_an_unknown_transfer_is_refused(session, bank, subtests):
    for action in ("post", "void"):
        with subtests.test(action):
            refuse(session, ledger.TransferNotFound, _resolve_call(session, bank, action, 999_999))
    with subtests.test("reverse"):
        refuse(session, ledger.TransferNotFound, _reverse_call(session, bank, 999_999))


def test_a_transfer_of_another_timebank_is_not_found(session, bank, subtests):
    their_pool = pool_account(session, bank.other_timebank.id)
    waiting = move(session, bank.other_timebank, bank.outsider, their_pool, 15, pending=True)
    moved = move(session, bank.other_timebank, bank.outsider, their_pool, 15)
    for action in ("post", "void"):
        with subtests.test(action):
            refuse(session, ledger.TransferNotFound, _resolve_call(session, bank, action, waiting.id))
    with subtests.test("reverse"):
        refuse(session, ledger.TransferNotFound, _reverse_call(session, bank, moved.id))


def test_a_transfer_between_timebanks_is_refused(session, bank):
    refuse(session, ledger.AccountsInDifferentTimebanks, create_call(session, bank, bank.bob, bank.outsider, 30))
    refuse(session, ledger.AccountsInDifferentTimebanks, create_call(session, bank, bank.outsider, bank.bob, 30))
    other_pool = pool_account(session, bank.other_timebank.id)
    refuse(
        session,
        ledger.AccountsInDifferentTimebanks,
        create_call(session, bank, bank.outsider, other_pool, 30),  # both accounts foreign to this timebank
    )


def test_a_transfer_to_the_same_account_is_refused(session, bank):
    refuse(session, ledger.SameAccount, create_call(session, bank, bank.bob, bank.bob, 30))
    refuse(session, ledger.SameAccount, create_call(session, bank, bank.bob, bank.bob, 30, pending=True))


# --------------------------------------------------------------------------- rule 9: closed periods


def test_nothing_can_be_created_in_a_closed_month(session, bank):
    close(session, bank, TODAY)
    refuse(session, ledger.ClosedPeriod, create_call(session, bank, bank.bob, bank.alice, 30))
    refuse(session, ledger.ClosedPeriod, create_call(session, bank, bank.bob, bank.alice, 30, pending=True))


def test_back_dating_into_a_closed_month_is_refused(session, bank):
    close(session, bank, LAST_MONTH)
    refuse(session, ledger.ClosedPeriod, create_call(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH))
    move(session, bank, bank.bob, bank.alice, 30, value_date=TODAY)  # this month is still open


def test_a_month_before_the_latest_closed_month_is_closed_too(session, bank):
    close(session, bank, LAST_MONTH)
    assert ledger.is_closed(session, bank.id, TWO_MONTHS_AGO)
    assert not ledger.is_closed(session, bank.id, TODAY)
    refuse(
        session, ledger.ClosedPeriod, create_call(session, bank, bank.bob, bank.alice, 30, value_date=TWO_MONTHS_AGO)
    )


def test_closing_a_month_in_one_timebank_leaves_the_others_open(session, factory, bank):
    close(session, bank, TODAY)
    move(session, bank.other_timebank, bank.outsider, member_account(factory, bank.other_timebank, "Quinn"), 30)


def test_posting_a_pending_transfer_into_a_closed_month_is_refused(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True, value_date=LAST_MONTH)
    close(session, bank, LAST_MONTH)
    refuse(session, ledger.ClosedPeriod, _resolve_call(session, bank, "post", pending.id, value_date=LAST_MONTH))
    post(session, bank, pending.id, value_date=TODAY)
    assert balance(session, bank.alice) == 30


def test_voiding_a_pending_transfer_cannot_be_back_dated_into_a_closed_month(session, bank):
    pending = move(session, bank, bank.bob, bank.alice, 30, pending=True, value_date=LAST_MONTH)
    close(session, bank, LAST_MONTH)
    refuse(session, ledger.ClosedPeriod, _resolve_call(session, bank, "void", pending.id, value_date=LAST_MONTH))
    void(session, bank, pending.id, value_date=TODAY)
    assert totals(session, bank.bob) == (0, 0, 0, 0)


def test_a_reversal_cannot_be_back_dated_into_a_closed_month(session, bank):
    original = move(session, bank, bank.bob, bank.alice, 30, value_date=LAST_MONTH)
    close(session, bank, LAST_MONTH)
    refuse(
        session,
        ledger.ClosedPeriod,
        _reverse_call(session, bank, original.id, value_date=LAST_MONTH),
    )
    reverse(session, bank, original.id, value_date=TODAY)  # corrected in the open month instead


# --------------------------------------------------------------------------- rule 8 (SQLite side)


@pytest.fixture
def sqlite_session(sqlite_files: SqliteFiles) -> Iterator[Session]:
    """A session on an empty SQLite ledger only: these rules are SQLite's own."""
    session = Session(sqlite_files.fresh())
    yield session
    session.close()


def _sqlite_accounts(session: Session) -> tuple[Timebank, Account, Account]:
    with ledger.write_transaction(session):
        timebank = create_timebank(session, name="Lakeside", organisation_name="Lakeside Trust")
    return timebank, organisation_account(session, timebank.id), pool_account(session, timebank.id)


def test_a_sqlite_write_outside_write_transaction_is_a_usage_error(sqlite_session):
    session = sqlite_session
    timebank, organisation, pool = _sqlite_accounts(session)
    before = ledger_state(session)
    with pytest.raises(ledger.LedgerUsageError):
        ledger.create_transfer(
            session,
            timebank_id=timebank.id,
            debit_account_id=organisation.id,
            credit_account_id=pool.id,
            amount_minutes=30,
            value_date=TODAY,
            purpose=TransferPurpose.DONATION,
            idempotency_key=new_key(),
        )
    session.rollback()
    assert ledger_state(session) == before
    assert_ledger_ok(session)


def test_a_sqlite_write_transaction_holds_the_write_lock_from_its_start(sqlite_session, sqlite_files):
    session = sqlite_session
    _sqlite_accounts(session)
    other = sqlite3.connect(sqlite_files.live, timeout=0, isolation_level=None)
    try:
        with ledger.write_transaction(session), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the write transaction has committed
        other.execute("ROLLBACK")
    finally:
        other.close()


# --------------------------------------------------------------------------- rule 10: typed errors


# Each typed error, and a test above that proves it is raised with nothing written.
PROVEN_BY = {
    ledger.InvalidAmount: test_amount_that_is_not_a_positive_whole_multiple_of_the_granularity_is_refused,
    ledger.InvalidIdempotencyKey: test_a_write_without_a_usable_key_is_refused,
    ledger.TimebankNotFound: test_an_unknown_timebank_is_refused,
    ledger.AccountNotFound: test_an_unknown_account_is_refused,
    ledger.TransferNotFound: test_an_unknown_transfer_is_refused,
    ledger.AccountsInDifferentTimebanks: test_a_transfer_between_timebanks_is_refused,
    ledger.SameAccount: test_a_transfer_to_the_same_account_is_refused,
    ledger.ExceedsFloor: test_a_member_can_spend_down_to_the_timebank_floor_and_no_further,
    ledger.ExceedsCap: test_a_member_can_receive_up_to_the_timebank_cap_and_no_further,
    ledger.IdempotencyConflict: test_replaying_a_key_with_other_content_is_a_conflict,
    ledger.TransferNotPending: test_only_a_pending_transfer_can_be_posted_or_voided,
    ledger.PendingTransferAlreadyPosted: test_a_pending_transfer_resolves_only_once,
    ledger.PendingTransferAlreadyVoided: test_a_pending_transfer_resolves_only_once,
    ledger.TransferNotReversible: test_a_reversal_cannot_itself_be_reversed,
    ledger.TransferAlreadyReversed: test_a_transfer_is_reversed_only_once,
    ledger.ReversalWithoutOriginal: test_a_reversal_is_made_only_by_reversing_the_transfer_it_puts_right,
    ledger.ClosedPeriod: test_back_dating_into_a_closed_month_is_refused,
}


def test_every_typed_ledger_error_has_a_test_that_proves_it():
    defined = {
        value
        for value in vars(ledger_errors).values()
        if isinstance(value, type) and issubclass(value, ledger.LedgerError) and value is not ledger.LedgerError
    }
    assert defined == set(PROVEN_BY), "add a test for each new typed error and list it in PROVEN_BY"


@pytest.mark.parametrize("error", sorted(PROVEN_BY, key=lambda cls: cls.__name__), ids=lambda cls: cls.__name__)
def test_each_typed_error_has_its_own_code_named_after_it_and_a_4xx_status(error):
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", error.__name__).lower()
    assert error.code == snake
    assert 400 <= status_for(error("message")) < 500


def test_a_usage_error_is_a_programming_mistake_not_a_ledger_error():
    assert not issubclass(ledger.LedgerUsageError, ledger.LedgerError)
