"""Creating, posting, voiding and reversing transfers (DESIGN.md rules 1-9).

Every function here must run inside ``write_transaction`` (or the caller's own transaction
that began the same way); it locks the timebank (shared) and the touched accounts, checks every
rule, appends the transfer row and updates the accounts' cached totals, all in that one
transaction. A rule violation raises a typed ``LedgerError`` before anything is written.

"Once only" is the database's to decide: the row goes in with INSERT .. ON CONFLICT DO NOTHING,
and the unique keys (the idempotency key per timebank; ``pending_id``: a pending transfer
resolves once; ``reverses_id``: a transfer is reversed once) skip a second one. Only then, or
when a rule refuses the write, is the earlier row looked up (``_earlier``): the same key with the
same content returns the first result (rule 7), before any other answer, as it always did;
another key on an already resolved or reversed transfer is the matching typed error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..db import attach, insert_once
from ..models import Account, Base, Timebank, Transfer, TransferPhase, TransferPurpose, utcnow
from . import limits
from .errors import (
    AccountsInDifferentTimebanks,
    IdempotencyConflict,
    InvalidIdempotencyKey,
    LedgerError,
    PendingTransferAlreadyPosted,
    PendingTransferAlreadyVoided,
    ReversalWithoutOriginal,
    SameAccount,
    TransferAlreadyReversed,
    TransferNotFound,
    TransferNotPending,
    TransferNotReversible,
)
from .locking import lock_accounts_for_posting, lock_timebank
from .money import validate_amount
from .periods import check_open

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
    ``void_pending``; otherwise they post at once (phase SINGLE). Never a reversal: that is
    ``reverse_transfer``'s, which mirrors the transfer it puts right (the database refuses a
    reversal that does not).
    """
    if purpose == TransferPurpose.REVERSAL:
        raise ReversalWithoutOriginal("A reversal puts a transfer right: make it by reversing that transfer.")
    timebank = lock_timebank(session, timebank_id)
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
    accounts, latest_closed = lock_accounts_for_posting(session, timebank_id, [debit_account_id, credit_account_id])
    debit, credit = accounts[debit_account_id], accounts[credit_account_id]
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
    try:
        _ensure_in_timebank(timebank, debit, credit)
        check_open(latest_closed, value_date)
        limits.check_debit(debit, timebank, amount_minutes)
        limits.check_credit(credit, timebank, amount_minutes)
    except LedgerError as refusal:
        return _earlier(session, transfer, refusal)
    if not _insert(session, transfer):
        return _earlier(session, transfer)
    if pending:
        _add_to_totals(session, (debit, "debits_pending", amount_minutes), (credit, "credits_pending", amount_minutes))
    else:
        _add_to_totals(session, (debit, "debits_posted", amount_minutes), (credit, "credits_posted", amount_minutes))
    return transfer


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
    timebank = lock_timebank(session, timebank_id)
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
    accounts, latest_closed = lock_accounts_for_posting(
        session, timebank_id, [original.debit_account_id, original.credit_account_id]
    )
    debit = accounts[original.credit_account_id]
    credit = accounts[original.debit_account_id]
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
    try:
        if original.phase not in (TransferPhase.SINGLE, TransferPhase.POST):
            raise TransferNotReversible("Only credits that have moved can be reversed.")
        if original.purpose == TransferPurpose.REVERSAL:
            raise TransferNotReversible("A reversal cannot itself be reversed; record a new transfer.")
        check_open(latest_closed, value_date)
        limits.check_debit(debit, timebank, original.amount_minutes)
        limits.check_credit(credit, timebank, original.amount_minutes)
    except LedgerError as refusal:
        return _earlier(session, reversal, refusal)
    if not _insert(session, reversal):
        return _earlier(session, reversal)
    _add_to_totals(
        session,
        (debit, "debits_posted", original.amount_minutes),
        (credit, "credits_posted", original.amount_minutes),
    )
    return reversal


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
    lock_timebank(session, timebank_id)
    # Transfers never change, so one already in the session (the exchange loads its own) is
    # as good as a fresh read.
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
    accounts, latest_closed = lock_accounts_for_posting(
        session, timebank_id, [pending.debit_account_id, pending.credit_account_id]
    )
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
    try:
        if pending.phase != TransferPhase.PENDING:
            raise TransferNotPending("Only a pending transfer can be posted or voided.")
        # The reservation already passed the limit checks when it was made (rule 6), but the
        # POST or VOID row is a new row dated value_date, and nothing may be added to a closed
        # month (rule 9), so the period must be open either way.
        check_open(latest_closed, value_date)
    except LedgerError as refusal:
        return _earlier(session, resolution, refusal)
    if not _insert(session, resolution):
        return _earlier(session, resolution)
    debit = accounts[pending.debit_account_id]
    credit = accounts[pending.credit_account_id]
    amount = pending.amount_minutes
    moves = [(debit, "debits_pending", -amount), (credit, "credits_pending", -amount)]
    if phase == TransferPhase.POST:
        moves += [(debit, "debits_posted", amount), (credit, "credits_posted", amount)]
    _add_to_totals(session, *moves)
    return resolution


_TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")

# Every change to the cached totals (rule 5) in one shape: each total plus a delta (0 when it
# does not change), so both accounts' rows go to the database as one batch (one round trip on
# PostgreSQL). A Core UPDATE, not the ORM's unit of work: the rows are locked (the limits were
# checked under that lock), and the flush of two Account objects cost more than the statement.
# (The table, not the entity: an ORM update with a list of rows would be a "bulk update by
# primary key", which takes no expressions.)
_ACCOUNTS = Base.metadata.tables["accounts"]
_ADD_TO_TOTALS = (
    update(_ACCOUNTS)
    .where(_ACCOUNTS.c.id == bindparam("account_id"))
    .values({total: _ACCOUNTS.c[total] + bindparam(f"add_{total}") for total in _TOTALS})
)


def _add_to_totals(session: Session, *moves: tuple[Account, str, int]) -> None:
    """Add each (account, total, minutes) to the account's cached total, in the database and in
    the session's Account objects (set as loaded, so nothing is flushed for them again)."""
    added: dict[Account, dict[str, int]] = {}
    for account, total, minutes in moves:
        added.setdefault(account, dict.fromkeys(_TOTALS, 0))[total] += minutes
    session.execute(
        _ADD_TO_TOTALS,
        [
            {"account_id": account.id, **{f"add_{total}": delta for total, delta in deltas.items()}}
            for account, deltas in added.items()
        ],
        execution_options={"autoflush": False},
    )
    for account, deltas in added.items():
        for total, delta in deltas.items():
            if delta:
                set_committed_value(account, total, getattr(account, total) + delta)


def _raise_if_resolved(resolution: Transfer | None) -> None:
    if resolution is None:
        return
    if resolution.phase == TransferPhase.POST:
        raise PendingTransferAlreadyPosted("These hours have already been approved.")
    raise PendingTransferAlreadyVoided("These hours have already been cancelled.")


_COLUMNS = (
    "timebank_id",
    "debit_account_id",
    "credit_account_id",
    "amount_minutes",
    "phase",
    "purpose",
    "pending_id",
    "reverses_id",
    "value_date",
    "memo",
    "idempotency_key",
    "request_fingerprint",
    "created_by_id",
    "created_at",
)


def _insert(session: Session, transfer: Transfer) -> bool:
    """Append the row unless a unique key already holds one (see the module's docstring).
    True: it is in, and ``transfer`` is now that row in the session."""
    transfer.created_at = utcnow()
    if session.new:
        session.flush()  # the rows it refers to, if the caller has just made them
    inserted = insert_once(session, "transfers", [{column: getattr(transfer, column) for column in _COLUMNS}])
    if not inserted:
        return False
    transfer.id = inserted[0].id
    attach(session, transfer)
    return True


def _earlier(session: Session, transfer: Transfer, refusal: LedgerError | None = None) -> Transfer:
    """The write was refused (``refusal``) or a unique key skipped it: what an earlier row says.

    The same key with the same content is a replay and returns the first result; with other
    content it is a conflict. Then a pending transfer already resolved, or a transfer already
    reversed, under another key. Otherwise the refusal stands."""
    existing = session.scalar(
        select(Transfer).where(
            Transfer.timebank_id == transfer.timebank_id, Transfer.idempotency_key == transfer.idempotency_key
        )
    )
    if existing is not None:
        if existing.request_fingerprint != transfer.request_fingerprint:
            raise IdempotencyConflict(
                "This request key was already used for a different request. Start again with a new one."
            )
        return existing
    if transfer.pending_id is not None:
        _raise_if_resolved(resolution_of(session, transfer.pending_id))
    if transfer.reverses_id is not None and (refusal is None or _is_reversed(session, transfer)):
        raise TransferAlreadyReversed("This transfer has already been reversed.")
    if refusal is not None:
        raise refusal
    raise IdempotencyConflict("This request key was already used for a different request. Start again with a new one.")


def _is_reversed(session: Session, transfer: Transfer) -> bool:
    return (
        transfer.reverses_id is not None
        and session.scalar(select(Transfer.id).where(Transfer.reverses_id == transfer.reverses_id)) is not None
    )


def _validate_key(key: str) -> None:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidIdempotencyKey(f"Every write needs a request key of 1 to {MAX_KEY_LENGTH} characters.")


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
