"""The bulk data generator (issue 7): realistic, deterministic, and the ledger still balances."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from timebank.generate import GeneratedDataExists, GenerateSpec, generate
from timebank.ledger import check_ledger
from timebank.models import (
    Account,
    Activity,
    Base,
    Exchange,
    ExchangeStatus,
    Listing,
    Member,
    MemberStatus,
    Timebank,
    Transfer,
    TransferPhase,
    TransferPurpose,
)

TODAY = date(2026, 11, 20)
SPEC = GenerateSpec(timebanks=3, members=300, months=6, seed=7, today=TODAY)


def _fingerprint(session: Session) -> tuple[object, ...]:
    """What the generated data adds up to, independent of row ids."""
    by_phase = session.execute(
        select(Transfer.phase, Transfer.purpose, func.count(), func.sum(Transfer.amount_minutes))
        .group_by(Transfer.phase, Transfer.purpose)
        .order_by(Transfer.phase, Transfer.purpose)
    ).all()
    statuses = session.execute(
        select(Exchange.status, func.count()).group_by(Exchange.status).order_by(Exchange.status)
    ).all()
    return tuple(map(tuple, by_phase)), tuple(map(tuple, statuses)), session.scalar(select(func.count(Member.id)))


def test_generated_data_keeps_the_ledger_true_and_looks_like_a_real_network(session: Session) -> None:
    summary = generate(session, SPEC)
    assert summary.timebanks == 3 and summary.members == 300
    result = check_ledger(session)
    assert result.ok, result.problems[:5]
    assert result.total_debits == result.total_credits > 0
    assert session.scalar(select(func.count(Transfer.id))) == summary.transfers
    # Every kind of movement the real services make is there.
    purposes = set(session.scalars(select(Transfer.purpose).distinct()))
    assert {TransferPurpose.EXCHANGE, TransferPurpose.ACTIVITY, TransferPurpose.REVERSAL} <= purposes
    phases = set(session.scalars(select(Transfer.phase).distinct()))
    assert phases == {TransferPhase.PENDING, TransferPhase.POST, TransferPhase.VOID, TransferPhase.SINGLE}
    statuses = set(session.scalars(select(Exchange.status).distinct()))
    expected = {ExchangeStatus.APPROVED, ExchangeStatus.RECORDED, ExchangeStatus.REVERSED, ExchangeStatus.REJECTED}
    assert expected <= statuses
    assert session.scalar(select(func.count(Activity.id))) == summary.activities > 0
    assert session.scalar(select(func.count(Listing.id))) == summary.listings > 0
    assert session.scalar(select(func.count(Member.id)).where(Member.status == MemberStatus.LEFT)) > 0
    # Skewed activity: the busiest tenth of members provide much more than a tenth of the help.
    provided = session.execute(
        select(func.count(Exchange.id))
        .join(Account, Account.id == Exchange.provider_account_id)
        .where(Account.member_id.is_not(None))
        .group_by(Account.id)
        .order_by(func.count(Exchange.id).desc())
    ).scalars().all()
    top = provided[: max(1, len(provided) // 10)]
    assert sum(top) > 0.3 * sum(provided)
    # Skewed sizes: timebanks are not all the same.
    sizes = session.execute(select(func.count(Member.id)).group_by(Member.timebank_id)).scalars().all()
    assert max(sizes) > min(sizes)
    # Nothing is dated after "today", and every pending transfer resolves at most once.
    assert session.scalar(select(func.max(Transfer.value_date))) <= TODAY
    with pytest.raises(GeneratedDataExists):
        generate(session, SPEC)


def test_the_same_seed_gives_the_same_data(session: Session, tmp_path: Path) -> None:
    generate(session, SPEC)
    url = f"sqlite:///{tmp_path / 'second.sqlite'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as second:
        generate(second, SPEC)
        assert _fingerprint(second) == _fingerprint(session)
        other_seed = GenerateSpec(timebanks=3, members=300, months=6, seed=8, today=TODAY)
        generate(second, other_seed)
        slugs = second.scalars(select(Timebank.slug).order_by(Timebank.slug)).all()
        assert slugs[0].startswith("gen7-") and slugs[-1].startswith("gen8-")
    engine.dispose()


def test_the_generate_command_reports_what_it_made(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["timebank", "generate", "--timebanks", "2", "--members", "40", "--months", "3", "--today", "2026-11-20"]
    )
    assert result.exit_code == 0, result.output
    assert "Generated 2 timebanks, 40 members" in result.output
    again = runner.invoke(
        args=["timebank", "generate", "--timebanks", "2", "--members", "40", "--months", "3", "--today", "2026-11-20"]
    )
    assert again.exit_code != 0 and "already exist" in again.output
    refused = runner.invoke(args=["timebank", "generate", "--timebanks", "5", "--members", "6", "--seed", "3"])
    assert refused.exit_code != 0 and "three members per timebank" in refused.output
