from datetime import date

import pytest

from timebank import ledger
from timebank.exchanges.service import RecordRequest, approve_exchange, confirm_exchange, record_exchange
from timebank.models import ExchangeStatus, TransferPurpose


def test_exchange_from_record_to_credit_moves_hours_once(factory, session):
    world = factory.world()
    request = RecordRequest(
        provider_account_id=world.alice.account.id,
        recipient_account_id=world.bob.account.id,
        minutes=90,
        performed_on=date.today(),
        description="Helped with shopping",
        request_key="k1",
    )
    exchange = record_exchange(session, world.alice, request)
    assert exchange.status == ExchangeStatus.RECORDED
    assert record_exchange(session, world.alice, request).id == exchange.id
    confirm_exchange(session, world.bob, exchange.id)
    approve_exchange(session, world.coordinator, exchange.id)
    session.expire_all()
    assert world.alice.account.balance_minutes == 90
    assert world.bob.account.balance_minutes == -90
    assert ledger.check_ledger(session).ok


def test_floor_is_enforced(factory, session):
    world = factory.world()
    with pytest.raises(ledger.ExceedsFloor), ledger.write_transaction(session):
        ledger.create_transfer(
            session, timebank_id=world.timebank.id, debit_account_id=world.bob.account.id,
            credit_account_id=world.alice.account.id, amount_minutes=615, value_date=date.today(),
            purpose=TransferPurpose.EXCHANGE, idempotency_key="x",
        )
    assert ledger.check_ledger(session).transfers == 0
