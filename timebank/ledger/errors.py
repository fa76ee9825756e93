"""Typed ledger errors (DESIGN.md rule 10).

Each names exactly what failed, TigerBeetle-style, with a ``code`` the API returns and a plain
``message`` the web UI shows. The web and API layers map them to 4xx statuses in one place.
"""

from __future__ import annotations


class LedgerError(Exception):
    code = "ledger_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidAmount(LedgerError):
    code = "invalid_amount"


class InvalidIdempotencyKey(LedgerError):
    code = "invalid_idempotency_key"


class TimebankNotFound(LedgerError):
    code = "timebank_not_found"


class AccountNotFound(LedgerError):
    code = "account_not_found"


class TransferNotFound(LedgerError):
    code = "transfer_not_found"


class AccountsInDifferentTimebanks(LedgerError):
    code = "accounts_in_different_timebanks"


class SameAccount(LedgerError):
    code = "same_account"


class ExceedsFloor(LedgerError):
    """Insufficient balance: the debit would take the account below its floor."""

    code = "exceeds_floor"


class ExceedsCap(LedgerError):
    """Limit exceeded: the credit would take the account above its cap."""

    code = "exceeds_cap"


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"


class TransferNotPending(LedgerError):
    code = "transfer_not_pending"


class PendingTransferAlreadyPosted(LedgerError):
    code = "pending_transfer_already_posted"


class PendingTransferAlreadyVoided(LedgerError):
    code = "pending_transfer_already_voided"


class TransferNotReversible(LedgerError):
    code = "transfer_not_reversible"


class TransferAlreadyReversed(LedgerError):
    code = "transfer_already_reversed"


class ReversalWithoutOriginal(LedgerError):
    """A reversal is made only by reversing the transfer it puts right (``reverse_transfer``),
    which it then mirrors; never as a movement of its own."""

    code = "reversal_without_original"


class ClosedPeriod(LedgerError):
    code = "closed_period"


class LedgerUsageError(RuntimeError):
    """A programming mistake (e.g. a write outside ``write_transaction``), not a user error."""


ALREADY_RESOLVED = (PendingTransferAlreadyPosted, PendingTransferAlreadyVoided)
