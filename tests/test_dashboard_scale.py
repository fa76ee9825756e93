"""The member dashboard reads the same number of statements however long a member's history is
and however many people they deal with (bench/FINDINGS.md: it used to load every exchange the
member ever had, then one member per exchange for "recorded by")."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from tests.statement_counting import counting_statements
from timebank.dashboard.service import build_dashboard
from timebank.exchanges.service import RecordRequest, approve_exchange, record_exchange
from timebank.models import Exchange, Member

PERFORMED = date.today() - timedelta(days=2)


def _record(session: Session, actor: Member, provider: Member, recipient: Member, key: str) -> Exchange:
    assert provider.account is not None and recipient.account is not None
    request = RecordRequest(
        provider_account_id=provider.account.id,
        recipient_account_id=recipient.account.id,
        minutes=60,
        performed_on=PERFORMED,
        description=f"Help {key}",
        request_key=key,
    )
    return record_exchange(session, actor, request)


def _dashboard_statements(session: Session, member: Member) -> tuple[int, int, int]:
    session.expire_all()
    with counting_statements(session) as statements:
        timebank = member.timebank
        board = build_dashboard(session, member, timebank)
    return len(statements), len(board.needs_action), len(board.waiting)


def test_the_dashboard_reads_a_fixed_number_of_statements_as_history_grows(session, factory):  # type: ignore[no-untyped-def]
    world = factory.world()
    _record(session, world.alice, world.alice, world.bob, "first")  # Alice waits for Bob
    # Some history already (the day each line's help happened is read with it).
    done = _record(session, world.alice, world.alice, world.bob, "done-first")
    approve_exchange(session, world.coordinator, done.id, reason="Confirmed on paper")
    before, needs_me, waiting = _dashboard_statements(session, world.alice)
    assert (needs_me, waiting) == (0, 1)

    # Three new people record help they gave Alice (each needs her to confirm), and two of
    # Alice's records are approved at once by the coordinator (finished: not on the dashboard).
    for name in ("Carol", "Dan", "Eve"):
        helper = factory.member(world.timebank, name)
        _record(session, helper, helper, world.alice, f"from-{name}")
    for number in range(2):
        done = _record(session, world.alice, world.alice, world.bob, f"done-{number}")
        approve_exchange(session, world.coordinator, done.id, reason="Confirmed on paper")

    after, needs_me, waiting = _dashboard_statements(session, world.alice)
    assert (needs_me, waiting) == (3, 1)
    assert after == before
