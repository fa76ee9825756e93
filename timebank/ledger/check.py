"""Recompute every account's totals from the transfers and compare (DESIGN.md rule 5).

Set-based SQL: one aggregate over the transfers, joined to the accounts, so it stays fast on a
large ledger. Used by ``flask timebank check-ledger`` and by the tests after every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from ..models import Account, Timebank, Transfer, TransferPhase
from .close import verify_closed_months
from .limits import highest_possible_balance, limits_for, lowest_possible_balance


@dataclass
class LedgerCheck:
    timebanks: int = 0
    accounts: int = 0
    transfers: int = 0
    total_debits: int = 0
    total_credits: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"Ledger balances: {self.timebanks} timebanks, {self.accounts} accounts, "
                f"{self.transfers} transfers; debits = credits = {self.total_debits} minutes posted."
            )
        return f"Ledger does NOT balance: {len(self.problems)} problem(s) found."


def _expected_totals(session: Session) -> dict[int, tuple[int, int, int, int]]:
    """Per account: (debits_posted, credits_posted, debits_pending, credits_pending)."""
    posted = case((Transfer.phase.in_([TransferPhase.SINGLE, TransferPhase.POST]), Transfer.amount_minutes), else_=0)
    # A pending row reserves; its POST or VOID row releases the reservation.
    pending = case(
        (Transfer.phase == TransferPhase.PENDING, Transfer.amount_minutes),
        (Transfer.phase.in_([TransferPhase.POST, TransferPhase.VOID]), -Transfer.amount_minutes),
        else_=0,
    )
    debit_side = select(
        Transfer.debit_account_id.label("account_id"),
        posted.label("debits_posted"),
        literal(0).label("credits_posted"),
        pending.label("debits_pending"),
        literal(0).label("credits_pending"),
    )
    credit_side = select(
        Transfer.credit_account_id.label("account_id"),
        literal(0).label("debits_posted"),
        posted.label("credits_posted"),
        literal(0).label("debits_pending"),
        pending.label("credits_pending"),
    )
    sides = union_all(debit_side, credit_side).subquery()
    rows = session.execute(
        select(
            sides.c.account_id,
            func.sum(sides.c.debits_posted),
            func.sum(sides.c.credits_posted),
            func.sum(sides.c.debits_pending),
            func.sum(sides.c.credits_pending),
        ).group_by(sides.c.account_id)
    )
    return {row[0]: (int(row[1]), int(row[2]), int(row[3]), int(row[4])) for row in rows}


def _structural_problems(session: Session) -> list[str]:
    """Rows that no correct ledger write produces."""
    problems = []
    debit = aliased(Account)
    credit = aliased(Account)
    wrong_bank = session.scalars(
        select(Transfer.id)
        .join(debit, debit.id == Transfer.debit_account_id)
        .join(credit, credit.id == Transfer.credit_account_id)
        .where((debit.timebank_id != Transfer.timebank_id) | (credit.timebank_id != Transfer.timebank_id))
        .limit(20)
    ).all()
    problems += [f"transfer {tid}: an account is in another timebank" for tid in wrong_bank]
    pending = aliased(Transfer)
    mismatched = session.scalars(
        select(Transfer.id)
        .join(pending, pending.id == Transfer.pending_id)
        .where(
            (pending.phase != TransferPhase.PENDING)
            | (pending.amount_minutes != Transfer.amount_minutes)
            | (pending.debit_account_id != Transfer.debit_account_id)
            | (pending.credit_account_id != Transfer.credit_account_id)
        )
        .limit(20)
    ).all()
    problems += [f"transfer {tid}: does not match the pending transfer it resolves" for tid in mismatched]
    return problems


def check_ledger(session: Session) -> LedgerCheck:
    result = LedgerCheck()
    result.timebanks = session.scalar(select(func.count(Timebank.id))) or 0
    result.transfers = session.scalar(select(func.count(Transfer.id))) or 0
    expected = _expected_totals(session)
    timebanks = {tb.id: tb for tb in session.scalars(select(Timebank))}
    for account in session.scalars(select(Account).order_by(Account.id)):
        result.accounts += 1
        cached = (account.debits_posted, account.credits_posted, account.debits_pending, account.credits_pending)
        computed = expected.get(account.id, (0, 0, 0, 0))
        if cached != computed:
            result.problems.append(
                f"account {account.id} ({account.name}): cached totals {cached} "
                f"but transfers give {computed} (debits/credits posted, debits/credits pending)"
            )
        result.total_debits += computed[0]
        result.total_credits += computed[1]
        limits = limits_for(account, timebanks[account.timebank_id])
        if limits.floor is not None and lowest_possible_balance(account) < limits.floor:
            result.problems.append(f"account {account.id} ({account.name}) is below its floor of {limits.floor}")
        if limits.cap is not None and highest_possible_balance(account) > limits.cap:
            result.problems.append(f"account {account.id} ({account.name}) is above its cap of {limits.cap}")
    if result.total_debits != result.total_credits:
        result.problems.append(
            f"posted debits ({result.total_debits}) do not equal posted credits ({result.total_credits})"
        )
    result.problems += _structural_problems(session)
    result.problems += verify_closed_months(session)
    return result
