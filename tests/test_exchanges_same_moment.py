"""The same exchange form sent twice at the same moment, two steps on one exchange at the same
moment (its row lock), and records that name a listing."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Factory, World
from tests.exchange_helpers import add_listing, assert_nothing_changed, ledger_ok, snapshot, today
from timebank import ledger
from timebank.exchanges import service
from timebank.extensions import db
from timebank.models import Exchange, ExchangeStatus, Listing, ListingKind, Member, Transfer, TransferPhase


def _request(provider: Member, recipient: Member, key: str, **extra: object) -> service.RecordRequest:
    assert provider.account is not None and recipient.account is not None
    return service.RecordRequest(
        provider_account_id=provider.account.id,
        recipient_account_id=recipient.account.id,
        minutes=60,
        performed_on=today() - timedelta(days=1),
        description="Put up shelves",
        request_key=key,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_record_sent_twice_at_the_same_moment_makes_one_exchange(app: Flask, factory: Factory, session: Session):
    world = factory.world()
    session.commit()
    alice_id, bob_id = world.alice.id, world.bob.id
    barrier = threading.Barrier(2)
    made: list[int] = []
    failed: list[BaseException] = []

    def send() -> None:
        with app.app_context():
            own = db.session()
            alice, bob = own.get(Member, alice_id), own.get(Member, bob_id)
            assert alice is not None and bob is not None
            request = _request(alice, bob, "same-moment-record")
            barrier.wait()
            try:
                made.append(service.record_exchange(own, alice, request).id)
            except BaseException as error:
                failed.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == [] and len(made) == 2 and made[0] == made[1]
    session.rollback()
    assert session.scalar(select(func.count(Exchange.id))) == 1
    assert session.scalar(select(func.count(Transfer.id))) == 1  # one reservation
    assert ledger_ok(session)


def test_a_record_may_name_only_a_listing_of_one_side_in_this_timebank(factory: Factory, session: Session):
    world = factory.world()
    carol = factory.member(world.timebank, "Carol")
    elsewhere = factory.member(world.other_timebank, "Eve")
    carols = add_listing(session, carol, ListingKind.OFFER, "Carol's baking")
    foreign = add_listing(session, elsewhere, ListingKind.OFFER, "Eve's lifts")
    alices = add_listing(session, world.alice, ListingKind.OFFER, "Alice's shelves")
    session.commit()

    def record(world: World, key: str, listing_id: int) -> Exchange:
        return service.record_exchange(
            session, world.alice, _request(world.alice, world.bob, key, listing_id=listing_id)
        )

    before = snapshot(session)
    with pytest.raises(service.ExchangeNotFound):
        record(world, "k1", foreign.id)
    with pytest.raises(service.InvalidExchange, match="belongs to someone else"):
        record(world, "k2", carols.id)
    with pytest.raises(service.ExchangeNotFound):
        record(world, "k3", 2**70)
    assert_nothing_changed(session, before)
    made = record(world, "k4", alices.id)
    listing = session.get(Listing, alices.id)
    assert listing is not None and made.listing_id == alices.id and made.category_id == listing.category_id


# -- a confirm racing a reject: the exchange's row lock ---------------------------------------

GATE_SECONDS = 1.0  # how long the confirm waits, holding what it read, for the reject to finish


@dataclass
class Race:
    exchange_id: int
    outcomes: dict[str, str]  # "confirm"/"reject" -> "done" or the error's class name
    reject_finished_first: bool


def _confirm_racing_a_reject(app: Flask, factory: Factory, session: Session, monkeypatch: pytest.MonkeyPatch) -> Race:
    """The other side confirms while a coordinator rejects, at the same moment. The confirm reads
    the exchange first and then holds on (up to GATE_SECONDS) until the reject has finished: with
    the exchange's row lock, the reject waits for the confirm instead (and rejects the confirmed
    exchange); without it, the reject voids the reservation and the confirm, working from what it
    read, writes "confirmed" over "rejected"."""
    world = factory.world()  # the policy asks a coordinator: a confirm posts nothing
    exchange = service.record_exchange(session, world.alice, _request(world.alice, world.bob, "race"))
    exchange_id, bob_id, coordinator_id = exchange.id, world.bob.id, world.coordinator.id
    session.commit()
    confirm_read, reject_finished = threading.Event(), threading.Event()
    original_visible = service._visible

    def visible(own: Session, viewer: Member, wanted: int, **options: bool) -> Exchange:
        found = original_visible(own, viewer, wanted, **options)
        if viewer.id == bob_id:  # the confirm has read (and, with the lock, locked) the exchange
            confirm_read.set()
            reject_finished.wait(GATE_SECONDS)
        return found

    monkeypatch.setattr(service, "_visible", visible)
    outcomes: dict[str, str] = {}

    def step(name: str) -> None:
        with app.app_context():
            own = db.session()
            try:
                if name == "confirm":
                    bob = own.get(Member, bob_id)
                    assert bob is not None
                    service.confirm_exchange(own, bob, exchange_id)
                else:
                    confirm_read.wait(GATE_SECONDS * 5)
                    coordinator = own.get(Member, coordinator_id)
                    assert coordinator is not None
                    service.reject_exchange(own, coordinator, exchange_id, "Not timebank work")
                outcomes[name] = "done"
            except Exception as error:  # reported, and asserted on by the tests
                outcomes[name] = type(error).__name__
            finally:
                if name == "reject":
                    outcomes["reject finished first"] = str("confirm" not in outcomes)
                    reject_finished.set()
                db.session.remove()

    threads = [threading.Thread(target=step, args=(name,)) for name in ("confirm", "reject")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session.rollback()
    return Race(exchange_id, outcomes, outcomes.pop("reject finished first") == "True")


def _reservation_resolutions(session: Session, exchange: Exchange) -> list[TransferPhase]:
    return list(session.scalars(select(Transfer.phase).where(Transfer.pending_id == exchange.pending_transfer_id)))


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_confirm_racing_a_reject_takes_turns_on_the_exchange_and_the_ledger_agrees(
    app: Flask, factory: Factory, session: Session, monkeypatch: pytest.MonkeyPatch
):
    race = _confirm_racing_a_reject(app, factory, session, monkeypatch)

    exchange = session.get(Exchange, race.exchange_id)
    assert exchange is not None
    assert exchange.status == ExchangeStatus.REJECTED and exchange.confirmed_by_id is not None
    assert _reservation_resolutions(session, exchange) == [TransferPhase.VOID]
    assert ledger.check_ledger(session).ok
    assert race.outcomes == {"confirm": "done", "reject": "done"}, "the reject waited, then rejected it"
    assert not race.reject_finished_first


@pytest.mark.real_commits
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_without_the_exchange_lock_the_race_leaves_a_confirmed_exchange_with_a_voided_reservation(
    app: Flask, factory: Factory, session: Session, monkeypatch: pytest.MonkeyPatch
):
    """The proof the suite keeps that the lock matters, and that check-ledger sees what it
    prevents: the same race with the ledger's row locks off (the exchange's included)."""
    ledger.set_row_locking(False)
    try:
        race = _confirm_racing_a_reject(app, factory, session, monkeypatch)
    finally:
        ledger.set_row_locking(True)

    assert race.outcomes == {"confirm": "done", "reject": "done"} and race.reject_finished_first
    exchange = session.get(Exchange, race.exchange_id)
    assert exchange is not None
    assert exchange.status == ExchangeStatus.CONFIRMED, "the confirm wrote over the rejection"
    assert _reservation_resolutions(session, exchange) == [TransferPhase.VOID]
    problems = ledger.check_ledger(session).problems
    assert [p for p in problems if p.startswith(f"exchange {exchange.id} ")] == [
        f"exchange {exchange.id} is confirmed, so its hours should be reserved and waiting, "
        f"but its reservation (transfer {exchange.pending_transfer_id}) was voided"
    ]
