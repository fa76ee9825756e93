"""What counts as hours of help, in one place: every posted exchange or activity movement, and
every reversal of one as minus its minutes, carrying the original's accounts, purpose and ids so
it nets out exactly where the original was counted. The monthly and network reports and the
coordinator dashboard all count from this."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import Subquery

from ..models import Transfer, TransferPhase, TransferPurpose

HELP = (TransferPurpose.EXCHANGE, TransferPurpose.ACTIVITY)
POSTED = (TransferPhase.SINGLE, TransferPhase.POST)

Condition = Callable[[Any], ColumnElement[bool]]


def written_in(column: Any, values: tuple[Any, ...]) -> ColumnElement[bool]:
    """``column IN ('a', 'b')`` with the values written into the SQL, not bound: PostgreSQL then
    uses the partial indexes of posted help and of reversals (``models.transfer``) in cached
    (generic) plans too, which know no bound value. Only for the fixed enum values above."""
    return column.in_([literal_column(f"'{value.value}'") for value in values])


def posted_help(transfer: Any) -> list[ColumnElement[bool]]:
    """The conditions that make ``transfer`` (Transfer or an alias) a posted movement of help."""
    return [written_in(transfer.phase, POSTED), written_in(transfer.purpose, HELP)]


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
        *posted_help(Transfer),
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
            written_in(Transfer.purpose, (TransferPurpose.REVERSAL,)),
            *posted_help(original),
            *dated(Transfer.value_date),
        )
    )
    return posted.union_all(reversals).subquery("help_movements")
