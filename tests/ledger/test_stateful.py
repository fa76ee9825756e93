"""Random sequences of ledger writes against a pure-Python model of the ledger (Hypothesis).

Each step creates (single or pending, valid or invalid), posts, voids, reverses, replays a key
with the same or other content, or closes last month. The model predicts the outcome (the
new transfer, or exactly which typed error), and after every step the invariants compare the
model, the accounts' cached totals and ``check_ledger``'s recomputation from the transfers.

Each example gets a fresh database: a new SQLite file, or an emptied PostgreSQL schema.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import _reset_postgres, postgres_url, require_postgres
from timebank import ledger
from timebank.ledger.check import _expected_totals
from timebank.ledger.periods import month_start
from timebank.members.service import create_member
from timebank.models import Account, Base, MemberStatus, Transfer, TransferPhase, TransferPurpose
from timebank.timebanks.service import create_timebank, organisation_account, pool_account

# The slow tier (large Hypothesis runs): CI runs it, `-m "not slow"` leaves it out while iterating.
pytestmark = pytest.mark.slow

TODAY = date.today()
LAST_MONTH = month_start(TODAY) - timedelta(days=1)
DATES = {"today": TODAY, "last month": LAST_MONTH}

UNKNOWN_ACCOUNT_ID = 999_999
UNKNOWN_TRANSFER_ID = 999_999

# name: (floor, cap) as the model sees them; None is no limit. Ann uses the timebank defaults.
TIMEBANK_FLOOR, TIMEBANK_CAP = -120, 240
LIMITS: dict[str, tuple[int | None, int | None]] = {
    "organisation": (None, None),
    "pool": (0, None),
    "ann": (TIMEBANK_FLOOR, TIMEBANK_CAP),
    "ben": (-30, 60),
    "cat": (0, 90),
}
MEMBER_OVERRIDES = {"ann": (None, None), "ben": (-30, 60), "cat": (0, 90)}
ACCOUNTS = st.sampled_from(list(LIMITS))
STRANGERS = st.sampled_from(["outsider", "nobody"])  # outsider: another timebank; nobody: no such account

VALID_AMOUNTS = st.sampled_from([15, 30, 45, 60, 90])
INVALID_AMOUNTS = st.sampled_from([0, -15, 10, 25, 15.0, True, "30", None])
INVALID_KEYS = st.sampled_from(["", "   ", "k" * 201])
PURPOSES = st.sampled_from(
    [TransferPurpose.EXCHANGE, TransferPurpose.DONATION, TransferPurpose.GRANT, TransferPurpose.REVERSAL]
)


# --------------------------------------------------------------------------- the model


@dataclass
class ModelAccount:
    floor: int | None
    cap: int | None
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def totals(self) -> tuple[int, int, int, int]:
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)

    def can_debit(self, amount: int) -> bool:
        lowest = self.credits_posted - self.debits_posted - self.debits_pending
        return self.floor is None or lowest - amount >= self.floor

    def can_credit(self, amount: int) -> bool:
        highest = self.credits_posted + self.credits_pending - self.debits_posted
        return self.cap is None or highest + amount <= self.cap


@dataclass
class ModelTransfer:
    phase: TransferPhase
    debit: str
    credit: str
    amount: int
    purpose: TransferPurpose
    resolution: TransferPhase | None = None  # POST or VOID once a pending is resolved
    reversed: bool = False


@dataclass
class Model:
    """The ledger's rules in plain Python, with no database."""

    accounts: dict[str, ModelAccount] = field(
        default_factory=lambda: {name: ModelAccount(*limits) for name, limits in LIMITS.items()}
    )
    transfers: dict[int, ModelTransfer] = field(default_factory=dict)
    closed_through: date | None = None

    def is_closed(self, day: date) -> bool:
        return self.closed_through is not None and month_start(day) <= self.closed_through

    def limit_error(self, debit: str, credit: str, amount: int) -> type[Exception] | None:
        if not self.accounts[debit].can_debit(amount):
            return ledger.ExceedsFloor
        if not self.accounts[credit].can_credit(amount):
            return ledger.ExceedsCap
        return None

    def predict_create(
        self, debit: str, credit: str, amount: Any, key: str, day: date, purpose: Any = TransferPurpose.EXCHANGE
    ) -> type[Exception] | None:
        if purpose == TransferPurpose.REVERSAL:
            return ledger.ReversalWithoutOriginal  # only reverse_transfer makes one
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0 or amount % 15:
            return ledger.InvalidAmount
        if debit == credit:
            return ledger.SameAccount
        if not key.strip() or len(key) > 200:
            return ledger.InvalidIdempotencyKey
        if "nobody" in (debit, credit):
            return ledger.AccountNotFound
        if "outsider" in (debit, credit):
            return ledger.AccountsInDifferentTimebanks
        if self.is_closed(day):
            return ledger.ClosedPeriod
        return self.limit_error(debit, credit, amount)

    def apply_create(self, transfer_id: int, debit: str, credit: str, amount: int, pending: bool, purpose: Any) -> None:
        phase = TransferPhase.PENDING if pending else TransferPhase.SINGLE
        self.transfers[transfer_id] = ModelTransfer(phase, debit, credit, amount, purpose)
        if pending:
            self.accounts[debit].debits_pending += amount
            self.accounts[credit].credits_pending += amount
        else:
            self.accounts[debit].debits_posted += amount
            self.accounts[credit].credits_posted += amount

    def predict_resolve(self, pending_id: int, day: date) -> type[Exception] | None:
        pending = self.transfers[pending_id]
        if pending.phase != TransferPhase.PENDING:
            return ledger.TransferNotPending
        if pending.resolution == TransferPhase.POST:
            return ledger.PendingTransferAlreadyPosted
        if pending.resolution == TransferPhase.VOID:
            return ledger.PendingTransferAlreadyVoided
        if self.is_closed(day):
            return ledger.ClosedPeriod
        return None

    def apply_resolve(self, transfer_id: int, pending_id: int, phase: TransferPhase) -> None:
        pending = self.transfers[pending_id]
        pending.resolution = phase
        self.transfers[transfer_id] = replace(pending, phase=phase, resolution=None)
        debit, credit = self.accounts[pending.debit], self.accounts[pending.credit]
        debit.debits_pending -= pending.amount
        credit.credits_pending -= pending.amount
        if phase == TransferPhase.POST:
            debit.debits_posted += pending.amount
            credit.credits_posted += pending.amount

    def predict_reverse(self, original_id: int, day: date) -> type[Exception] | None:
        original = self.transfers[original_id]
        if original.phase not in (TransferPhase.SINGLE, TransferPhase.POST):
            return ledger.TransferNotReversible
        if original.purpose == TransferPurpose.REVERSAL:
            return ledger.TransferNotReversible
        if original.reversed:
            return ledger.TransferAlreadyReversed
        if self.is_closed(day):
            return ledger.ClosedPeriod
        return self.limit_error(original.credit, original.debit, original.amount)

    def apply_reverse(self, transfer_id: int, original_id: int) -> None:
        original = self.transfers[original_id]
        original.reversed = True
        purpose = TransferPurpose.REVERSAL
        self.apply_create(transfer_id, original.credit, original.debit, original.amount, False, purpose)


# --------------------------------------------------------------------------- databases


def set_up_timebanks(session: Session, suffix: str = "") -> tuple[int, dict[str, int]]:
    """The machine's world: a timebank with the model's accounts, and another timebank."""

    def member_account(timebank: Any, name: str) -> Account:
        member = create_member(session, timebank=timebank, display_name=name, email=None, status=MemberStatus.APPROVED)
        assert member.account is not None
        return member.account

    with ledger.write_transaction(session):
        timebank = create_timebank(
            session,
            name=f"Riverside{suffix}",
            organisation_name="Riverside Trust",
            default_floor_minutes=TIMEBANK_FLOOR,
            default_cap_minutes=TIMEBANK_CAP,
            categories=(),
        )
        other = create_timebank(session, name=f"Elm Park{suffix}", organisation_name="Elm Park Trust", categories=())
        ids = {
            "organisation": organisation_account(session, timebank.id).id,
            "pool": pool_account(session, timebank.id).id,
            "nobody": UNKNOWN_ACCOUNT_ID,
        }
        for name, (floor, cap) in MEMBER_OVERRIDES.items():
            account = member_account(timebank, name)
            account.floor_minutes, account.cap_minutes = floor, cap
            ids[name] = account.id
        ids["outsider"] = member_account(other, "outsider").id
    return timebank.id, ids


class SqliteDatabase:
    """A fresh SQLite database for each example: the file is overwritten with a template made
    once with the schema and the timebanks (building them for every example would cost more
    than the example). One engine serves every example so its statement cache stays warm."""

    engine: Engine | None = None
    directory: Path | None = None
    timebank_id: int
    ids: dict[str, int]

    def __init__(self) -> None:
        assert self.engine is not None and self.directory is not None, "SqliteDatabase.open() first"
        self.engine.dispose()  # no connection may hold the old file open
        path = self.directory / "ledger.sqlite"
        for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(self.directory / "template.sqlite", path)

    @classmethod
    def open(cls) -> None:
        shm = Path("/dev/shm")  # memory-backed where there is one: no fsync per commit
        cls.directory = Path(tempfile.mkdtemp(prefix="timebank-ledger-", dir=shm if shm.is_dir() else None))
        template = create_engine(f"sqlite:///{cls.directory / 'template.sqlite'}")
        ledger.configure_engine(template)
        Base.metadata.create_all(template)
        with Session(template) as session:
            cls.timebank_id, cls.ids = set_up_timebanks(session)
        template.dispose()  # the last connection closing folds the WAL back into the file
        cls.engine = create_engine(f"sqlite:///{cls.directory / 'ledger.sqlite'}")
        ledger.configure_engine(cls.engine)

    @classmethod
    def dispose(cls) -> None:
        if cls.engine is not None:
            cls.engine.dispose()
            cls.engine = None
        if cls.directory is not None:
            shutil.rmtree(cls.directory, ignore_errors=True)
            cls.directory = None

    def close(self) -> None:
        pass


class PostgresDatabase:
    """The test PostgreSQL database, emptied once per test; each example gets timebanks of its
    own (emptying every table for every example would cost more than the example)."""

    engine: Engine | None = None
    examples = 0

    def __init__(self) -> None:
        assert self.engine is not None, "PostgresDatabase.open() first"
        PostgresDatabase.examples += 1
        with Session(self.engine) as session:
            self.timebank_id, self.ids = set_up_timebanks(session, f" {self.examples}")

    @classmethod
    def open(cls) -> None:
        _reset_postgres()
        cls.engine = create_engine(postgres_url())

    @classmethod
    def dispose(cls) -> None:
        if cls.engine is not None:
            cls.engine.dispose()
            cls.engine = None

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- the machine


class LedgerMachine(RuleBasedStateMachine):
    transfers = Bundle("transfers")

    def __init__(self, database_class: type[SqliteDatabase] | type[PostgresDatabase]) -> None:
        super().__init__()
        self.database = database_class()
        assert self.database.engine is not None
        self.session = Session(self.database.engine)
        self.timebank_id, self.ids = self.database.timebank_id, dict(self.database.ids)
        self.model = Model()
        self.calls: dict[str, tuple[str, dict[str, Any], int]] = {}  # key: (operation, arguments, transfer id)
        self.key_count = 0
        self._snapshot: Snapshot | None = None

    def teardown(self) -> None:
        try:
            # The full check (limits, structure, sums) once per example; the invariants below
            # compare its recomputation with the model and the cache after every step.
            result = ledger.check_ledger(self.session)
            assert result.ok, result.problems
        finally:
            self.session.close()
            self.database.close()

    # ------------------------------------------------------------------ calling the ledger

    def _new_key(self) -> str:
        self.key_count += 1
        return f"key-{self.key_count}"

    def _call(self, operation: str, arguments: dict[str, Any]) -> tuple[int | None, type[Exception] | None]:
        """Run one ledger write; return the transfer id, or the typed error it raised."""
        function = {
            "create": ledger.create_transfer,
            "post": ledger.post_pending,
            "void": ledger.void_pending,
            "reverse": ledger.reverse_transfer,
        }[operation]
        self._snapshot = None
        try:
            with ledger.write_transaction(self.session):
                transfer = function(self.session, timebank_id=self.timebank_id, **arguments)
                transfer_id = transfer.id
        except ledger.LedgerError as error:
            return None, type(error)
        return transfer_id, None

    def _expect(self, operation: str, arguments: dict[str, Any], expected: type[Exception] | None) -> int | None:
        transfer_id, error = self._call(operation, arguments)
        assert error == expected, f"{operation} {arguments}: expected {expected}, got {error}"
        if transfer_id is not None:
            assert transfer_id not in self.model.transfers, "a new write returned an old transfer"
            self.calls[arguments["idempotency_key"]] = (operation, arguments, transfer_id)
        return transfer_id

    # ------------------------------------------------------------------ rules

    def _create(self, debit: str, credit: str, amount: Any, pending: bool, on: str, purpose: Any, key: str) -> Any:
        arguments = {
            "debit_account_id": self.ids[debit],
            "credit_account_id": self.ids[credit],
            "amount_minutes": amount,
            "value_date": DATES[on],
            "purpose": purpose,
            "idempotency_key": key,
            "pending": pending,
        }
        expected = self.model.predict_create(debit, credit, amount, key, DATES[on], purpose)
        transfer_id = self._expect("create", arguments, expected)
        if transfer_id is None:
            return multiple()
        self.model.apply_create(transfer_id, debit, credit, amount, pending, purpose)
        return transfer_id

    @rule(
        target=transfers,
        debit=ACCOUNTS,
        credit=ACCOUNTS,
        amount=VALID_AMOUNTS,
        on=st.sampled_from(list(DATES)),
        purpose=PURPOSES,
    )
    def create_single(self, debit: str, credit: str, amount: int, on: str, purpose: Any) -> Any:
        return self._create(debit, credit, amount, False, on, purpose, self._new_key())

    @rule(
        target=transfers,
        debit=ACCOUNTS,
        credit=ACCOUNTS,
        amount=VALID_AMOUNTS,
        on=st.sampled_from(list(DATES)),
        purpose=PURPOSES,
    )
    def create_pending(self, debit: str, credit: str, amount: int, on: str, purpose: Any) -> Any:
        return self._create(debit, credit, amount, True, on, purpose, self._new_key())

    @rule(
        target=transfers,
        stranger=STRANGERS,
        account=ACCOUNTS,
        stranger_pays=st.booleans(),
        amount=VALID_AMOUNTS,
        pending=st.booleans(),
    )
    def create_with_a_foreign_or_unknown_account(
        self, stranger: str, account: str, stranger_pays: bool, amount: int, pending: bool
    ) -> Any:
        debit, credit = (stranger, account) if stranger_pays else (account, stranger)
        return self._create(debit, credit, amount, pending, "today", TransferPurpose.EXCHANGE, self._new_key())

    @rule(target=transfers, debit=ACCOUNTS, credit=ACCOUNTS, amount=INVALID_AMOUNTS, pending=st.booleans())
    def create_with_an_invalid_amount(self, debit: str, credit: str, amount: Any, pending: bool) -> Any:
        return self._create(debit, credit, amount, pending, "today", TransferPurpose.EXCHANGE, self._new_key())

    @rule(target=transfers, amount=VALID_AMOUNTS, key=INVALID_KEYS)
    def create_with_an_invalid_key(self, amount: int, key: str) -> Any:
        return self._create("ann", "ben", amount, False, "today", TransferPurpose.EXCHANGE, key)

    def _resolve(self, phase: TransferPhase, pending_id: int, on: str) -> Any:
        arguments = {"pending_id": pending_id, "value_date": DATES[on], "idempotency_key": self._new_key()}
        expected = self.model.predict_resolve(pending_id, DATES[on])
        transfer_id = self._expect(str(phase), arguments, expected)
        if transfer_id is None:
            return multiple()
        self.model.apply_resolve(transfer_id, pending_id, phase)
        return transfer_id

    @rule(target=transfers, pending_id=transfers, on=st.sampled_from(list(DATES)))
    def post(self, pending_id: int, on: str) -> Any:
        return self._resolve(TransferPhase.POST, pending_id, on)

    @rule(target=transfers, pending_id=transfers, on=st.sampled_from(list(DATES)))
    def void(self, pending_id: int, on: str) -> Any:
        return self._resolve(TransferPhase.VOID, pending_id, on)

    @rule(target=transfers, original_id=transfers, on=st.sampled_from(list(DATES)))
    def reverse(self, original_id: int, on: str) -> Any:
        arguments = {"transfer_id": original_id, "value_date": DATES[on], "idempotency_key": self._new_key()}
        expected = self.model.predict_reverse(original_id, DATES[on])
        transfer_id = self._expect("reverse", arguments, expected)
        if transfer_id is None:
            return multiple()
        self.model.apply_reverse(transfer_id, original_id)
        return transfer_id

    @rule(operation=st.sampled_from(["post", "void", "reverse"]))
    def resolve_or_reverse_an_unknown_transfer(self, operation: str) -> None:
        target = "transfer_id" if operation == "reverse" else "pending_id"
        arguments = {target: UNKNOWN_TRANSFER_ID, "value_date": TODAY, "idempotency_key": self._new_key()}
        self._expect(operation, arguments, ledger.TransferNotFound)

    @precondition(lambda self: self.calls)
    @rule(data=st.data())
    def replay_a_key_with_the_same_content(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.calls)), label="key")
        operation, arguments, first_id = self.calls[key]
        transfer_id, error = self._call(operation, arguments)
        assert error is None, f"replaying {key} raised {error}"
        assert transfer_id == first_id, "a replay must return the first result"

    @precondition(lambda self: self.calls)
    @rule(data=st.data())
    def replay_a_key_with_other_content(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.calls)), label="key")
        arguments = {
            "debit_account_id": self.ids["ann"],
            "credit_account_id": self.ids["ben"],
            "amount_minutes": 15,
            "value_date": TODAY,
            "purpose": TransferPurpose.EXCHANGE,
            "idempotency_key": key,
            "memo": f"not what {key} was first used for",
        }
        _, error = self._call("create", arguments)
        assert error is ledger.IdempotencyConflict, f"reusing {key} for other content gave {error}"

    @precondition(lambda self: self.model.closed_through is None)
    @rule()
    def close_last_month(self) -> None:
        self._snapshot = None
        with ledger.write_transaction(self.session):
            ledger.close_period(self.session, self.timebank_id, LAST_MONTH)
        self.model.closed_through = month_start(LAST_MONTH)

    # ------------------------------------------------------------------ invariants

    def snapshot(self) -> Snapshot:
        """What the database holds now, read once per step and shared by the invariants."""
        if self._snapshot is None:
            session = self.session
            mine = Transfer.timebank_id == self.timebank_id
            rows = session.execute(
                select(
                    Account.id,
                    Account.debits_posted,
                    Account.credits_posted,
                    Account.debits_pending,
                    Account.credits_pending,
                )
            )
            self._snapshot = Snapshot(
                cached={row[0]: (row[1], row[2], row[3], row[4]) for row in rows},
                recomputed=_expected_totals(session),
                transfers=session.scalar(select(func.count(Transfer.id)).where(mine)) or 0,
                resolutions=[
                    (row[0], row[1])
                    for row in session.execute(
                        select(Transfer.pending_id, Transfer.phase).where(mine, Transfer.pending_id.is_not(None))
                    )
                ],
                reversed_ids=list(
                    session.scalars(select(Transfer.reverses_id).where(mine, Transfer.reverses_id.is_not(None)))
                ),
            )
            session.commit()  # end the read transaction
        return self._snapshot

    @invariant()
    def model_cache_and_recomputation_agree(self) -> None:
        snapshot = self.snapshot()
        for name, account in self.model.accounts.items():
            account_id = self.ids[name]
            cached = snapshot.cached[account_id]
            recomputed = snapshot.recomputed.get(account_id, (0, 0, 0, 0))
            assert cached == account.totals, f"{name}: cached {cached}, model {account.totals}"
            assert recomputed == account.totals, f"{name}: recomputed {recomputed}, model {account.totals}"
        assert snapshot.cached[self.ids["outsider"]] == (0, 0, 0, 0), "nothing may reach another timebank"
        assert snapshot.transfers == len(self.model.transfers)

    @invariant()
    def debits_equal_credits(self) -> None:
        # The cached totals only: summed from the transfers, each row adds one amount to both
        # sides, so that sum could not fail (the recomputation is held to the model above).
        totals = self.snapshot().cached.values()
        assert sum(t[0] for t in totals) == sum(t[1] for t in totals), "posted debits != posted credits"
        assert sum(t[2] for t in totals) == sum(t[3] for t in totals), "pending debits != pending credits"

    @invariant()
    def no_account_is_past_its_limits(self) -> None:
        cached = self.snapshot().cached
        for name, (floor, cap) in LIMITS.items():
            debits_posted, credits_posted, debits_pending, credits_pending = cached[self.ids[name]]
            if floor is not None:
                assert credits_posted - debits_posted - debits_pending >= floor, f"{name} is below its floor"
            if cap is not None:
                assert credits_posted + credits_pending - debits_posted <= cap, f"{name} is above its cap"

    @invariant()
    def each_pending_is_resolved_at_most_once(self) -> None:
        resolutions = self.snapshot().resolutions
        pending_ids = [pending_id for pending_id, _ in resolutions]
        assert len(pending_ids) == len(set(pending_ids)), "a pending transfer was resolved twice"
        modelled = {tid: t.resolution for tid, t in self.model.transfers.items() if t.resolution is not None}
        assert dict(resolutions) == modelled

    @invariant()
    def each_transfer_is_reversed_at_most_once(self) -> None:
        reversed_ids = self.snapshot().reversed_ids
        assert len(reversed_ids) == len(set(reversed_ids)), "a transfer was reversed twice"
        assert set(reversed_ids) == {tid for tid, t in self.model.transfers.items() if t.reversed}


@dataclass
class Snapshot:
    cached: dict[int, tuple[int, int, int, int]]
    recomputed: dict[int, tuple[int, int, int, int]]
    transfers: int
    resolutions: list[tuple[int, TransferPhase]]
    reversed_ids: list[int]


# --------------------------------------------------------------------------- the tests


def test_random_ledger_histories_keep_every_invariant_on_sqlite():
    SqliteDatabase.open()
    try:
        run_state_machine_as_test(
            lambda: LedgerMachine(SqliteDatabase),
            settings=settings(
                max_examples=60,
                stateful_step_count=30,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        SqliteDatabase.dispose()


def test_random_ledger_histories_keep_every_invariant_on_postgresql():
    require_postgres("stateful ledger test on PostgreSQL")
    PostgresDatabase.open()
    try:
        run_state_machine_as_test(
            lambda: LedgerMachine(PostgresDatabase),
            settings=settings(
                max_examples=10,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        PostgresDatabase.dispose()
