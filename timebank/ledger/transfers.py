"""Creating, posting, voiding and reversing transfers (DESIGN.md rules 1-9).

Every function here must run inside ``write_transaction`` (or the caller's own transaction
that began the same way); it locks the touched accounts, checks every rule, appends the
transfer rows and updates the accounts' cached totals, all in that one transaction. A rule
violation raises a typed ``LedgerError`` before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Account, Timebank, Transfer, TransferPhase, TransferPurpose
from . import limits
from .errors import (
    AccountsInDifferentTimebanks,
    IdempotencyConflict,
    InvalidIdempotencyKey,
    LedgerError,
    PendingTransferAlreadyPosted,
    PendingTransferAlreadyVoided,
    SameAccount,
    TimebankNotFound,
    TransferAlreadyReversed,
    TransferNotFound,
    TransferNotPending,
    TransferNotReversible,
)
from .locking import lock_accounts
from .money import validate_amount
from .periods import ensure_open

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class _Request:
    """The content of a write, hashed so a replayed idempotency key can be compared."""

    operation: str
    timebank_id: int
    debit_account_id: int
    credit_account_id: int
    amount_minutes: int
    value_date: str
    purpose: str
    memo: str
    target_id: int | None

    def fingerprint(self) -> str:
        payload = json.dumps(self.__dict__, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()


def create_transfer(
    session: Session,
    *,
    timebank_id: int,
    debit_account_id: int,
    credit_account_id: int,
    amount_minutes: int,
    value_date: date,
    purpose: TransferPurpose,
    idempotency_key: str,
    pending: bool = False,
    memo: str = "",
    created_by_id: int | None = None,
) -> Transfer:
    """Move credits from the debit account to the credit account.

    ``pending=True`` only reserves them (phase PENDING) until ``post_pending`` or
    ``void_pending``; otherwise they post at once (phase SINGLE).
    """
    timebank = _timebank(session, timebank_id)
    validate_amount(amount_minutes, timebank.granularity_minutes)
    if debit_account_id == credit_account_id:
        raise SameAccount("A transfer needs two different accounts.")
    request = _Request(
        operation="pending" if pending else "single",
        timebank_id=timebank_id,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount_minutes=amount_minutes,
        value_date=value_date.isoformat(),
        purpose=str(purpose),
        memo=memo,
        target_id=None,
    )
    _validate_key(idempotency_key)
    accounts = lock_accounts(session, [debit_account_id, credit_account_id])
    replay = _replayed(session, timebank_id, idempotency_key, request)
    if replay is not None:
        return replay
    debit, credit = accounts[debit_account_id], accounts[credit_account_id]
    _ensure_in_timebank(timebank, debit, credit)
    ensure_open(session, timebank_id, value_date)
    limits.check_debit(debit, timebank, amount_minutes)
    limits.check_credit(credit, timebank, amount_minutes)
    transfer = Transfer(
        timebank_id=timebank_id,
        debit_account_id=debit_account_id,
        credit_account_id=credit_account_id,
        amount_minutes=amount_minutes,
        phase=TransferPhase.PENDING if pending else TransferPhase.SINGLE,
        purpose=purpose,
        value_date=value_date,
        memo=memo,
        idempotency_key=idempotency_key,
        request_fingerprint=request.fingerprint(),
        created_by_id=created_by_id,
    )
    if pending:
        debit.debits_pending += amount_minutes
        credit.credits_pending += amount_minutes
    else:
        debit.debits_posted += amount_minutes
        credit.credits_posted += amount_minutes
    return _append(session, transfer, request)


def post_pending(
    session: Session,
    *,
    timebank_id: int,
    pending_id: int,
    value_date: date,
    idempotency_key: str,
    created_by_id: int | None = None,
) -> Transfer:
    """Post a pending transfer: the reserved credits move for good."""
    return _resolve(session, timebank_id, pending_id, TransferPhase.POST, value_date, idempotency_key, created_by_id)


def void_pending(
    session: Session,
    *,
    timebank_id: int,
    pending_id: int,
    value_date: date,
    idempotency_key: str,
    created_by_id: int | None = None,
) -> Transfer:
    """Void a pending transfer: the reservation is released and nothing moves."""
    return _resolve(session, timebank_id, pending_id, TransferPhase.VOID, value_date, idempotency_key, created_by_id)


def reverse_transfer(
    session: Session,
    *,
    timebank_id: int,
    transfer_id: int,
    value_date: date,
    idempotency_key: str,
    memo: str = "",
    created_by_id: int | None = None,
) -> Transfer:
    """Correct a posted movement with a new one the other way (rule 3). Once per transfer."""
    timebank = _timebank(session, timebank_id)
    original = _transfer(session, timebank_id, transfer_id)
    request = _Request(
        operation="reverse",
        timebank_id=timebank_id,
        debit_account_id=original.credit_account_id,
        credit_account_id=original.debit_account_id,
        amount_minutes=original.amount_minutes,
        value_date=value_date.isoformat(),
        purpose=str(TransferPurpose.REVERSAL),
        memo=memo,
        target_id=original.id,
    )
    _validate_key(idempotency_key)
    accounts = lock_accounts(session, [original.debit_account_id, original.credit_account_id])
    replay = _replayed(session, timebank_id, idempotency_key, request)
    if replay is not None:
        return replay
    if original.phase not in (TransferPhase.SINGLE, TransferPhase.POST):
        raise TransferNotReversible("Only credits that have moved can be reversed.")
    if original.purpose == TransferPurpose.REVERSAL:
        raise TransferNotReversible("A reversal cannot itself be reversed; record a new transfer.")
    if session.scalar(select(Transfer.id).where(Transfer.reverses_id == original.id)) is not None:
        raise TransferAlreadyReversed("This transfer has already been reversed.")
    ensure_open(session, timebank_id, value_date)
    debit = accounts[original.credit_account_id]
    credit = accounts[original.debit_account_id]
    limits.check_debit(debit, timebank, original.amount_minutes)
    limits.check_credit(credit, timebank, original.amount_minutes)
    debit.debits_posted += original.amount_minutes
    credit.credits_posted += original.amount_minutes
    reversal = Transfer(
        timebank_id=timebank_id,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount_minutes=original.amount_minutes,
        phase=TransferPhase.SINGLE,
        purpose=TransferPurpose.REVERSAL,
        reverses_id=original.id,
        value_date=value_date,
        memo=memo,
        idempotency_key=idempotency_key,
        request_fingerprint=request.fingerprint(),
        created_by_id=created_by_id,
    )
    return _append(session, reversal, request)


def resolution_of(session: Session, pending_id: int) -> Transfer | None:
    """The POST or VOID row that resolved a pending transfer, if any."""
    return session.scalar(select(Transfer).where(Transfer.pending_id == pending_id))


def _resolve(
    session: Session,
    timebank_id: int,
    pending_id: int,
    phase: TransferPhase,
    value_date: date,
    idempotency_key: str,
    created_by_id: int | None,
) -> Transfer:
    _timebank(session, timebank_id)
    pending = _transfer(session, timebank_id, pending_id)
    request = _Request(
        operation=str(phase),
        timebank_id=timebank_id,
        debit_account_id=pending.debit_account_id,
        credit_account_id=pending.credit_account_id,
        amount_minutes=pending.amount_minutes,
        value_date=value_date.isoformat(),
        purpose=str(pending.purpose),
        memo="",
        target_id=pending.id,
    )
    _validate_key(idempotency_key)
    accounts = lock_accounts(session, [pending.debit_account_id, pending.credit_account_id])
    replay = _replayed(session, timebank_id, idempotency_key, request)
    if replay is not None:
        return replay
    if pending.phase != TransferPhase.PENDING:
        raise TransferNotPending("Only a pending transfer can be posted or voided.")
    _raise_if_resolved(resolution_of(session, pending.id))
    # The reservation already passed the limit checks when it was made (rule 6), but the
    # POST or VOID row is a new row dated value_date, and nothing may be added to a closed
    # month (rule 9), so the period must be open either way.
    ensure_open(session, timebank_id, value_date)
    debit = accounts[pending.debit_account_id]
    credit = accounts[pending.credit_account_id]
    debit.debits_pending -= pending.amount_minutes
    credit.credits_pending -= pending.amount_minutes
    if phase == TransferPhase.POST:
        debit.debits_posted += pending.amount_minutes
        credit.credits_posted += pending.amount_minutes
    resolution = Transfer(
        timebank_id=timebank_id,
        debit_account_id=pending.debit_account_id,
        credit_account_id=pending.credit_account_id,
        amount_minutes=pending.amount_minutes,
        phase=phase,
        purpose=pending.purpose,
        pending_id=pending.id,
        value_date=value_date,
        memo=pending.memo,
        idempotency_key=idempotency_key,
        request_fingerprint=request.fingerprint(),
        created_by_id=created_by_id,
    )
    return _append(session, resolution, request)


def _raise_if_resolved(resolution: Transfer | None) -> None:
    if resolution is None:
        return
    if resolution.phase == TransferPhase.POST:
        raise PendingTransferAlreadyPosted("These hours have already been approved.")
    raise PendingTransferAlreadyVoided("These hours have already been cancelled.")


def _append(session: Session, transfer: Transfer, request: _Request) -> Transfer:
    """Insert the row. A unique index that catches a race becomes the matching typed error."""
    try:
        with session.begin_nested():
            session.add(transfer)
            session.flush()
    except IntegrityError as exc:
        raise _integrity_to_ledger_error(session, transfer, request) from exc
    return transfer


def _integrity_to_ledger_error(session: Session, transfer: Transfer, request: _Request) -> LedgerError:
    """Only reachable when another transaction won a race the locks do not cover (the same
    key used for different accounts), or when row locking is switched off in tests."""
    if transfer.pending_id is not None:
        resolution = resolution_of(session, transfer.pending_id)
        if resolution is not None:
            try:
                _raise_if_resolved(resolution)
            except LedgerError as error:
                return error
    if transfer.reverses_id is not None:
        return TransferAlreadyReversed("This transfer has already been reversed.")
    return IdempotencyConflict(
        "This request key was already used for a different request. Start again with a new one."
    )


def _replayed(session: Session, timebank_id: int, key: str, request: _Request) -> Transfer | None:
    """Rule 7: the same key with the same content returns the first result; other content is a
    conflict. Looked up after the accounts are locked, so a concurrent twin has committed."""
    existing = session.scalar(
        select(Transfer).where(Transfer.timebank_id == timebank_id, Transfer.idempotency_key == key)
    )
    if existing is None:
        return None
    if existing.request_fingerprint != request.fingerprint():
        raise IdempotencyConflict(
            "This request key was already used for a different request. Start again with a new one."
        )
    return existing


def _validate_key(key: str) -> None:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"Every write needs a request key of 1 to {MAX_KEY_LENGTH} characters.")


def _timebank(session: Session, timebank_id: int) -> Timebank:
    timebank = session.get(Timebank, timebank_id)
    if timebank is None:
        raise TimebankNotFound(f"There is no timebank {timebank_id}.")
    return timebank


def _transfer(session: Session, timebank_id: int, transfer_id: int) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None or transfer.timebank_id != timebank_id:
        raise TransferNotFound(f"There is no transfer {transfer_id} in this timebank.")
    return transfer


def _ensure_in_timebank(timebank: Timebank, *accounts: Account) -> None:
    for account in accounts:
        if account.timebank_id != timebank.id:
            raise AccountsInDifferentTimebanks(
                "Both accounts must belong to the same timebank."
            )
