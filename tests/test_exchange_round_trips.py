"""What one approval costs the database, pinned, so it cannot silently grow back.

An approval (bench/posting.py's "service" path) was 29 statements on PostgreSQL; the hand-written
floor does the same writes in 11. These tests count every statement the app sends while a
coordinator approves (and rejects) one exchange, after the coordinator was loaded the way a
request loads them, and list them, so a change that adds a round trip fails here with the list.

PostgreSQL: the request's read transaction carries on into the write (nothing written yet).
SQLite: it ends, and the write begins with BEGIN IMMEDIATE (the write lock, DESIGN.md rule 8).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from tests.conftest import Factory, World
from timebank.exchanges.service import (
    RecordRequest,
    approve_exchange,
    confirm_exchange,
    record_exchange,
    reject_exchange,
)
from timebank.models import Member, Notification, OutboundEmail, Transfer

# The statements of one approval: the timebank (shared lock), the exchange (locked, with the
# reservation), the accounts (locked, with their members and the latest closed month), the POST
# row, both accounts' totals (one batch), the exchange, the audit row, the exchange's
# needs-action notifications resolved, both notifications, both emails.
APPROVAL = [
    "SELECT timebanks",
    "SELECT exchanges",
    "SELECT accounts",
    "INSERT transfers",
    "UPDATE accounts",
    "UPDATE exchanges",
    "INSERT audit_events",
    "UPDATE notifications",
    "INSERT notifications",
    "INSERT outbound_emails",
]
# Rejecting writes a VOID row instead of a POST, and the same rest.
REJECTION = APPROVAL
# How the write transaction begins and ends on each database, around those statements.
OPENING = {"postgresql": [], "sqlite": ["COMMIT", "BEGIN"]}
CLOSING = ["COMMIT"]


@contextmanager
def sent(session: Session) -> Iterator[list[str]]:
    """Every statement sent, as its verb and table (``SELECT accounts``), plus each COMMIT."""
    engine = session.get_bind()
    seen: list[str] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        words = sql.split()
        verb = words[0].upper()
        if verb == "BEGIN":
            seen.append("BEGIN")
        elif verb == "SELECT":
            seen.append("SELECT " + _main_table(words))
        elif verb == "INSERT":
            seen.append("INSERT " + words[2])
        elif verb == "UPDATE":
            seen.append("UPDATE " + words[1])
        else:
            seen.append(" ".join(words[:2]))

    def commit(_conn: Any) -> None:
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def _main_table(words: list[str]) -> str:
    """The table after the statement's own FROM (not a subquery's)."""
    depth = 0
    for n, word in enumerate(words):
        if word == "FROM" and depth == 0:
            return words[n + 1]
        depth += word.count("(") - word.count(")")
    return "?"


def _confirmed(session: Session, world: World) -> int:
    """Alice helped Bob for an hour, Bob agreed: waiting for a coordinator."""
    assert world.alice.account is not None and world.bob.account is not None
    exchange = record_exchange(
        session,
        world.alice,
        RecordRequest(
            provider_account_id=world.alice.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=60,
            performed_on=date.today(),
            description="Fixed a bike",
            request_key="bike",
        ),
    )
    confirm_exchange(session, world.bob, exchange.id)
    return exchange.id


def _coordinator_as_a_request_loads_them(session: Session, world: World) -> Member:
    session.commit()
    session.expire_all()
    coordinator = session.get(Member, world.coordinator.id)
    assert coordinator is not None
    return coordinator


@pytest.mark.real_commits
def test_one_approval_is_a_fixed_handful_of_statements(session: Session, factory: Factory) -> None:
    world = factory.world()
    exchange_id = _confirmed(session, world)
    coordinator = _coordinator_as_a_request_loads_them(session, world)
    dialect = session.get_bind().dialect.name

    with sent(session) as statements:
        approve_exchange(session, coordinator, exchange_id)

    assert statements == [*OPENING[dialect], *APPROVAL, *CLOSING]
    # ... and those statements did the whole approval: the credits, both members told and emailed.
    posted = session.scalar(
        select(func.count(Transfer.id)).where(Transfer.idempotency_key == f"exchange-{exchange_id}-post")
    )
    told = session.scalar(
        select(func.count(Notification.id)).where(
            Notification.exchange_id == exchange_id, Notification.kind == "exchange.approved"
        )
    )
    emailed = session.scalar(
        select(func.count(OutboundEmail.id))
        .join(Notification, OutboundEmail.notification_id == Notification.id)
        .where(Notification.exchange_id == exchange_id, Notification.kind == "exchange.approved")
    )
    assert (posted, told, emailed) == (1, 2, 2)


@pytest.mark.real_commits
def test_one_rejection_takes_as_many_statements_as_an_approval(session: Session, factory: Factory) -> None:
    world = factory.world()
    exchange_id = _confirmed(session, world)
    coordinator = _coordinator_as_a_request_loads_them(session, world)
    dialect = session.get_bind().dialect.name

    with sent(session) as statements:
        reject_exchange(session, coordinator, exchange_id, "It did not happen")

    assert statements == [*OPENING[dialect], *REJECTION, *CLOSING]
