"""Concurrent ledger writes on PostgreSQL (DESIGN.md rule 8), and the proof that locking matters.

Ten threads, each with its own engine and connection, are released together by a barrier:

* six spend 15 minutes each from Bob, who has only 30 minutes left above his floor, so only
  two of them may succeed;
* two coordinators approve (post) the same pending transfer at once;
* two requests carry the same idempotency key: a double-click.

The same race runs twice: with row locking, every rule must hold; with row locking switched
off, the rules must demonstrably break. In both runs the ledger's closed-month check (the last
thing every write does before writing) and its limit check are slowed by the same gate, which
holds each thread after its reads until every racer has read (or a short time has passed). Without locks every thread
therefore reads the same, stale accounts before any of them writes: the race is reliable,
not lucky. With locks the gate only makes each locked section a little longer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import _reset_postgres, postgres_url, require_postgres
from timebank import ledger
from timebank.ledger import limits, transfers
from timebank.ledger.check import _expected_totals
from timebank.members.service import create_member
from timebank.models import Account, MemberStatus, Transfer, TransferPurpose
from timebank.timebanks.service import create_timebank

pytestmark = pytest.mark.postgres

TODAY = date.today()
FLOOR = -60
SPEND = 15
RESERVED = 30  # Bob's pending transfer to Alice: 30 of his 60 minutes are already reserved
SPENDERS = 6  # six times 15 minutes against the 30 left: only two fit
APPROVERS = 2
DOUBLE_CLICKS = 2
RACERS = SPENDERS + APPROVERS + DOUBLE_CLICKS
GATE_SECONDS = 0.5


@dataclass
class World:
    timebank_id: int
    bob: int
    alice: int
    carol: int
    dave: int
    pending_id: int


@dataclass
class Outcome:
    role: str
    transfer_id: int | None = None
    refused: type[Exception] | None = None
    crashed: str | None = None


def set_up_world() -> World:
    _reset_postgres()
    engine = create_engine(postgres_url())
    try:
        with Session(engine) as session, ledger.write_transaction(session):
            timebank = create_timebank(
                session,
                name="Riverside",
                organisation_name="Riverside Trust",
                default_floor_minutes=FLOOR,
                categories=(),
            )
            ids = {}
            for name in ("bob", "alice", "carol", "dave"):
                member = create_member(
                    session, timebank=timebank, display_name=name, email=None, status=MemberStatus.APPROVED
                )
                assert member.account is not None
                ids[name] = member.account.id
            pending = ledger.create_transfer(
                session,
                timebank_id=timebank.id,
                debit_account_id=ids["bob"],
                credit_account_id=ids["alice"],
                amount_minutes=RESERVED,
                value_date=TODAY,
                purpose=TransferPurpose.EXCHANGE,
                idempotency_key="reserve",
                pending=True,
            )
            return World(timebank_id=timebank.id, pending_id=pending.id, **ids)
    finally:
        engine.dispose()


class Gate:
    """Holds each thread that reaches it until every racer has, or ``timeout`` has passed."""

    def __init__(self, parties: int, timeout: float) -> None:
        self.parties = parties
        self.timeout = timeout
        self.arrived = 0
        self.condition = threading.Condition()

    def pause(self) -> None:
        with self.condition:
            self.arrived += 1
            self.condition.notify_all()
            self.condition.wait_for(lambda: self.arrived >= self.parties, timeout=self.timeout)

    def after(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function``, then the pause."""

        @wraps(function)
        def slowed(*args: Any, **kwargs: Any) -> Any:
            result = function(*args, **kwargs)
            self.pause()
            return result

        return slowed


@pytest.fixture
def slowed_ledger(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Gate]:
    """Install a fresh gate after the closed-month check and after the limit check. (Whether a
    pending transfer is already resolved is not read: the unique pending_id decides.)"""

    def install() -> Gate:
        gate = Gate(RACERS, GATE_SECONDS)
        monkeypatch.setattr(limits, "check_debit", gate.after(original_check_debit))
        monkeypatch.setattr(transfers, "check_open", gate.after(original_check_open))
        return gate

    original_check_debit = limits.check_debit
    original_check_open = transfers.check_open
    return install


def race(world: World) -> list[Outcome]:
    """Run every racer in its own thread with its own engine, released together."""

    def spend(session: Session, number: int) -> Transfer:
        return ledger.create_transfer(
            session,
            timebank_id=world.timebank_id,
            debit_account_id=world.bob,
            credit_account_id=world.carol,
            amount_minutes=SPEND,
            value_date=TODAY,
            purpose=TransferPurpose.EXCHANGE,
            idempotency_key=f"spend-{number}",
        )

    def approve(session: Session, number: int) -> Transfer:
        return ledger.post_pending(
            session,
            timebank_id=world.timebank_id,
            pending_id=world.pending_id,
            value_date=TODAY,
            idempotency_key=f"approve-{number}",
        )

    def double_click(session: Session, number: int) -> Transfer:
        return ledger.create_transfer(
            session,
            timebank_id=world.timebank_id,
            debit_account_id=world.alice,
            credit_account_id=world.dave,
            amount_minutes=SPEND,
            value_date=TODAY,
            purpose=TransferPurpose.EXCHANGE,
            idempotency_key="double-click",
        )

    jobs: list[tuple[str, Callable[[Session, int], Transfer]]] = [
        *[("spend", spend)] * SPENDERS,
        *[("approve", approve)] * APPROVERS,
        *[("double-click", double_click)] * DOUBLE_CLICKS,
    ]
    assert len(jobs) == RACERS
    barrier = threading.Barrier(len(jobs))
    outcomes = [Outcome(role) for role, _ in jobs]

    def run(number: int, job: Callable[[Session, int], Transfer]) -> None:
        outcome = outcomes[number]
        engine = create_engine(postgres_url(), pool_size=1, max_overflow=0)
        try:
            with engine.connect():
                pass  # connect before the barrier, so connecting is not part of the race
            with Session(engine) as session:
                barrier.wait(timeout=60)
                try:
                    with ledger.write_transaction(session):
                        transfer_id = job(session, number).id
                    outcome.transfer_id = transfer_id
                except ledger.LedgerError as error:
                    outcome.refused = type(error)
        except Exception as error:  # anything else is a defect the assertions report
            outcome.crashed = repr(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run, args=(number, job)) for number, (_, job) in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer never finished"
    return outcomes


@dataclass
class After:
    check: ledger.LedgerCheck
    bob_recomputed: tuple[int, int, int, int]
    bob_cached: tuple[int, int, int, int]
    resolutions_of_pending: int
    double_click_rows: int


def look_after(world: World) -> After:
    engine = create_engine(postgres_url())
    try:
        with Session(engine) as session:
            bob = session.get(Account, world.bob)
            assert bob is not None
            return After(
                check=ledger.check_ledger(session),
                bob_recomputed=_expected_totals(session)[world.bob],
                bob_cached=(bob.debits_posted, bob.credits_posted, bob.debits_pending, bob.credits_pending),
                resolutions_of_pending=session.scalar(
                    select(func.count(Transfer.id)).where(Transfer.pending_id == world.pending_id)
                )
                or 0,
                double_click_rows=session.scalar(
                    select(func.count(Transfer.id)).where(Transfer.idempotency_key == "double-click")
                )
                or 0,
            )
    finally:
        engine.dispose()


def lowest_possible(totals: tuple[int, int, int, int]) -> int:
    debits_posted, credits_posted, debits_pending, _ = totals
    return credits_posted - debits_posted - debits_pending


def by_role(outcomes: list[Outcome], role: str) -> list[Outcome]:
    return [outcome for outcome in outcomes if outcome.role == role]


def test_racing_writers_with_row_locks_keep_every_rule(slowed_ledger):
    require_postgres("concurrency test: row locks under racing writers")
    world = set_up_world()
    slowed_ledger()

    outcomes = race(world)

    assert [o for o in outcomes if o.crashed] == [], "no racer may fail with anything but a typed error"
    spent = [o for o in by_role(outcomes, "spend") if o.transfer_id is not None]
    assert len(spent) == 2, "only two 15-minute spends fit above Bob's floor"
    assert all(o.refused is ledger.ExceedsFloor for o in by_role(outcomes, "spend") if o.transfer_id is None)

    approvals = by_role(outcomes, "approve")
    assert sorted(o.refused is None for o in approvals) == [False, True], "exactly one approval posts"
    assert [o.refused for o in approvals if o.refused] == [ledger.PendingTransferAlreadyPosted]

    clicks = by_role(outcomes, "double-click")
    assert all(o.refused is None for o in clicks), "a replayed key returns the first result"
    assert clicks[0].transfer_id == clicks[1].transfer_id

    after = look_after(world)
    assert after.check.ok, after.check.problems
    assert after.check.total_debits == after.check.total_credits
    assert lowest_possible(after.bob_recomputed) >= FLOOR, "Bob crossed his floor"
    assert lowest_possible(after.bob_recomputed) == FLOOR
    assert after.bob_cached == after.bob_recomputed
    assert after.resolutions_of_pending == 1, "the pending transfer was posted exactly once"
    assert after.double_click_rows == 1, "a double-click moved credits once"


def test_the_same_race_without_row_locks_breaks_the_ledger(slowed_ledger):
    """The proof the suite keeps that locking matters: the same race, locks off, must fail."""
    require_postgres("concurrency test: the same race without row locks")
    world = set_up_world()
    gate = slowed_ledger()
    ledger.set_row_locking(False)
    try:
        outcomes = race(world)
    finally:
        ledger.set_row_locking(True)

    assert gate.arrived >= RACERS, "every racer read the accounts before any of them wrote"
    spent = [o for o in by_role(outcomes, "spend") if o.transfer_id is not None]
    assert len(spent) > 2, "without locks more spends pass the floor check than fit"

    after = look_after(world)
    assert lowest_possible(after.bob_recomputed) < FLOOR, "without locks Bob's transfers cross his floor"
    assert not after.check.ok
    assert any(f"account {world.bob} (bob)" in problem and "floor" in problem for problem in after.check.problems)
    # The cached totals are added to in the database (total = total + minutes), so even without
    # locks no update of them is lost; the unique indexes still stop a double post and a
    # double-click. What depends on the row locks is the limits.
    assert after.bob_cached == after.bob_recomputed
    assert after.resolutions_of_pending == 1
    assert after.double_click_rows == 1
