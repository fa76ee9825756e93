"""The double-entry time ledger. No Flask here: functions take a SQLAlchemy ``Session``.

Public API::

    with write_transaction(session):
        transfer = create_transfer(session, ..., idempotency_key=key, pending=True)
        post_pending(session, timebank_id=..., pending_id=transfer.id, ...)
"""

from .busy import is_database_busy, run_again_when_busy
from .check import LedgerCheck, check_ledger
from .close import EarlierMonthOpen, MonthNotOver, close_month, verify_closed_months
from .errors import (
    AccountNotFound,
    AccountsInDifferentTimebanks,
    ClosedPeriod,
    ExceedsCap,
    ExceedsFloor,
    IdempotencyConflict,
    InvalidAmount,
    InvalidIdempotencyKey,
    LedgerError,
    LedgerUsageError,
    PendingTransferAlreadyPosted,
    PendingTransferAlreadyVoided,
    ReversalWithoutOriginal,
    SameAccount,
    TimebankNotFound,
    TransferAlreadyReversed,
    TransferNotFound,
    TransferNotPending,
    TransferNotReversible,
)
from .limits import Limits, limits_for
from .locking import (
    UndeclaredWrite,
    configure_engine,
    current_unit,
    held_commit,
    lock_accounts,
    lock_timebank,
    set_row_locking,
    unit_of_work,
    write_transaction,
)
from .money import validate_amount
from .periods import close_period, ensure_open, is_closed, month_start
from .transfers import create_transfer, post_pending, resolution_of, reverse_transfer, void_pending

__all__ = [
    "AccountNotFound",
    "AccountsInDifferentTimebanks",
    "ClosedPeriod",
    "EarlierMonthOpen",
    "ExceedsCap",
    "ExceedsFloor",
    "IdempotencyConflict",
    "InvalidAmount",
    "InvalidIdempotencyKey",
    "LedgerCheck",
    "LedgerError",
    "LedgerUsageError",
    "Limits",
    "MonthNotOver",
    "PendingTransferAlreadyPosted",
    "PendingTransferAlreadyVoided",
    "ReversalWithoutOriginal",
    "SameAccount",
    "TimebankNotFound",
    "TransferAlreadyReversed",
    "TransferNotFound",
    "TransferNotPending",
    "TransferNotReversible",
    "UndeclaredWrite",
    "check_ledger",
    "close_month",
    "close_period",
    "configure_engine",
    "create_transfer",
    "current_unit",
    "ensure_open",
    "held_commit",
    "is_closed",
    "is_database_busy",
    "limits_for",
    "lock_accounts",
    "lock_timebank",
    "month_start",
    "post_pending",
    "resolution_of",
    "reverse_transfer",
    "run_again_when_busy",
    "set_row_locking",
    "unit_of_work",
    "validate_amount",
    "verify_closed_months",
    "void_pending",
    "write_transaction",
]
