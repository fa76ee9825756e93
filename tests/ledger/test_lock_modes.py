"""Ledger row locks on PostgreSQL must not wait for another transaction's foreign-key check.

Inserting an exchange or a transfer takes FOR KEY SHARE on the account rows it names. If the
ledger then locked those accounts FOR UPDATE, two writers that had each inserted such a row
would wait for each other: a deadlock (a 500), which the torture test (tests/torture/) found
under load. The ledger locks FOR NO KEY UPDATE, which a key share does not block.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from tests.conftest import Factory, postgres_url
from timebank.ledger.locking import lock_accounts

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_locking_an_account_does_not_wait_for_another_transactions_reference_to_it(
    factory: Factory, session: Session
) -> None:
    world = factory.world()
    assert world.alice.account is not None
    account_id = world.alice.account.id
    other = create_engine(postgres_url())
    try:
        with other.connect() as connection, connection.begin():
            # What PostgreSQL's foreign-key check does for a row naming the account, still open.
            connection.execute(text("SELECT 1 FROM accounts WHERE id = :id FOR KEY SHARE"), {"id": account_id})
            # FOR UPDATE would wait here until the other transaction ends: fail instead of hanging.
            session.execute(text("SET LOCAL lock_timeout = '10s'"))
            locked = lock_accounts(session, [account_id])
            assert list(locked) == [account_id]
            session.rollback()
    finally:
        other.dispose()
