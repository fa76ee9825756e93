"""What counts as hours of help, in one place: every posted exchange or activity movement, and
every reversal of one as minus its minutes, carrying the original's accounts, purpose and ids so
it nets out exactly where the original was counted. The monthly and network reports and the
coordinator dashboard all count from this."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import Subquery

from ..models import Transfer, TransferPhase, TransferPurpose

HELP = (TransferPurpose.EXCHANGE, TransferPurpose.ACTIVITY)
POSTED = (TransferPhase.SINGLE, TransferPhase.POST)

Condition = Callable[[Any], ColumnElement[bool]]


def help_movements(timebanks: Condition, days: Callable[[Any], ColumnElement[bool]] | None = None) -> Subquery:
    """Columns: timebank_id, source_id, source_pending_id, purpose, debit_account_id,
    credit_account_id, minutes (negative for a reversal), value_date (the reversal's own date).
    ``timebanks`` and ``days`` turn a transfer's timebank id and value date into conditions."""

    def dated(column: Any) -> list[ColumnElement[bool]]:
        return [days(column)] if days is not None else []

    posted = select(
        Transfer.timebank_id.label("timebank_id"),
        Transfer.id.label("source_id"),
        Transfer.pending_id.label("source_pending_id"),
        Transfer.purpose.label("purpose"),
        Transfer.debit_account_id.label("debit_account_id"),
        Transfer.credit_account_id.label("credit_account_id"),
        Transfer.amount_minutes.label("minutes"),
        Transfer.value_date.label("value_date"),
    ).where(
        timebanks(Transfer.timebank_id),
        Transfer.phase.in_(POSTED),
        Transfer.purpose.in_(HELP),
        *dated(Transfer.value_date),
    )
    original = aliased(Transfer)
    reversals = (
        select(
            Transfer.timebank_id,
            original.id,
            original.pending_id,
            original.purpose,
            original.debit_account_id,
            original.credit_account_id,
            -Transfer.amount_minutes,
            Transfer.value_date,
        )
        .join(original, original.id == Transfer.reverses_id)
        .where(
            timebanks(Transfer.timebank_id),
            Transfer.purpose == TransferPurpose.REVERSAL,
            original.phase.in_(POSTED),
            original.purpose.in_(HELP),
            *dated(Transfer.value_date),
        )
    )
    return posted.union_all(reversals).subquery("help_movements")
