"""The same exchange form sent twice at the same moment, and records that name a listing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import Factory, World
from tests.exchange_helpers import add_listing, assert_nothing_changed, ledger_ok, snapshot, today
from timebank.exchanges import service
from timebank.extensions import db
from timebank.models import Exchange, Listing, ListingKind, Member, Transfer


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
