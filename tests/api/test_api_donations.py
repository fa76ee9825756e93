"""POST /api/v1/donations: a member gives time credit to their own timebank's community pool,
through the same ``donate`` service as the web page. Idempotent by key; limits and steps as
typed errors, nothing changed. Both databases."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.api.conftest import ApiWorld, error_of, new_key
from timebank.models import Account, AccountKind, Transfer, TransferPurpose


def _pool(session: Session, timebank_id: int) -> Account:
    session.rollback()
    pool = session.scalar(select(Account).where(Account.timebank_id == timebank_id, Account.kind == AccountKind.POOL))
    assert pool is not None
    return pool


def _donations(session: Session) -> int:
    session.rollback()
    return session.scalar(select(func.count(Transfer.id)).where(Transfer.purpose == TransferPurpose.DONATION)) or 0


def test_a_donation_moves_credit_to_the_pool_once_whatever_the_retries(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    key = {"Idempotency-Key": new_key()}
    first = api_world.alice.post("/api/v1/donations", {"hours": 1.25, "note": "For Mrs Patel"}, headers=key)
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    pool = _pool(session, w.timebank.id)
    assert (body["hours"], body["minutes"], body["note"]) == (1.25, 75, "For Mrs Patel")
    assert body["pool_account_id"] == pool.id and pool.balance_minutes == 75
    assert body["account_id"] == w.alice.account.id and body["account"]["balance_minutes"] == -75

    again = api_world.alice.post("/api/v1/donations", {"note": "For Mrs Patel", "hours": 1.25}, headers=key)
    assert again.status_code == 201 and again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = api_world.alice.post("/api/v1/donations", {"hours": 2}, headers=key)
    assert other.status_code == 409 and error_of(other)["code"] == "idempotency_conflict"
    assert _donations(session) == 1 and _pool(session, w.timebank.id).balance_minutes == 75

    # The same key from another member is their own request; the outsider gives to their own pool.
    theirs = api_world.outsider.post("/api/v1/donations", {"hours": 1}, headers=key)
    assert theirs.status_code == 201
    assert _pool(session, w.other_timebank.id).balance_minutes == 60
    assert _pool(session, w.timebank.id).balance_minutes == 75


def test_refused_donations_say_why_and_change_nothing(api_world: ApiWorld, session: Session) -> None:
    w = api_world.world
    account = session.get(Account, w.alice.account.id)
    assert account is not None
    account.floor_minutes = -60
    session.commit()
    cases = [
        ({"hours": 2}, 409, "exceeds_floor"),
        ({"hours": 0.1}, 422, None),  # not in the timebank's 15-minute steps
        ({"hours": 0}, 422, None),
        ({"hours": "lots"}, 422, None),
        ({"hours": 1, "note": "x" * 301}, 422, None),
        ({"note": "no hours"}, 422, None),
    ]
    for payload, status, code in cases:
        response = api_world.alice.post("/api/v1/donations", payload)
        assert response.status_code == status, (payload, response.get_json())
        error = error_of(response)
        if code is not None:
            assert error["code"] == code
        else:
            assert error["fields"], payload
    no_key = api_world.alice.post("/api/v1/donations", {"hours": 1}, idempotency_key=None)
    assert no_key.status_code == 400 and error_of(no_key)["code"] == "idempotency_key_missing"
    assert _donations(session) == 0
    # A refused request releases its key: corrected, the same key goes through.
    key = {"Idempotency-Key": new_key()}
    assert api_world.alice.post("/api/v1/donations", {"hours": 2}, headers=key).status_code == 409
    assert api_world.alice.post("/api/v1/donations", {"hours": 1}, headers=key).status_code == 201
    assert _donations(session) == 1
