"""``check_ledger``: the ledger checked from outside (``flask timebank check-ledger``).

Every check compares two things written independently, so a crafted or corrupted row fails at
least one of them (none recomputes a figure from the rows it is compared with):

- each account's cached totals against its transfers (rule 5), and its limits;
- each timebank's cached totals against one another: posted debits = posted credits, and the
  same for pending (the accounts' own columns, not the transfers);
- transfers against the rows they point at: a resolution matches its pending transfer, a
  reversal mirrors its original (names it, swaps its accounts, equals its amount, stays in its
  timebank), both accounts are in the transfer's timebank;
- every exchange's status against its transfers (``exchange_check``);
- every closed month: its checksum against its statements and transfers, and its statements
  against its transfers (``close``).

Set-based SQL throughout: a few aggregates and joins, so it stays fast on a large ledger. Used
by ``flask timebank check-ledger`` and by the tests after every step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from ..models import Account, Timebank, Transfer, TransferPhase, TransferPurpose
from .close import verify_closed_months, verify_statements
from .exchange_check import exchange_problems
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


def _balance_problems(session: Session, result: LedgerCheck) -> list[str]:
    """Per timebank, from the accounts' cached totals alone: every minute debited is credited."""
    problems = []
    for timebank_id, debits, credits, debits_pending, credits_pending in session.execute(
        select(
            Account.timebank_id,
            func.sum(Account.debits_posted),
            func.sum(Account.credits_posted),
            func.sum(Account.debits_pending),
            func.sum(Account.credits_pending),
        )
        .group_by(Account.timebank_id)
        .order_by(Account.timebank_id)
    ):
        debits, credits, debits_pending, credits_pending = map(int, (debits, credits, debits_pending, credits_pending))
        result.total_debits += debits
        result.total_credits += credits
        if debits != credits:
            problems.append(
                f"timebank {timebank_id}: its accounts' posted debits ({debits}) do not equal their posted "
                f"credits ({credits})"
            )
        if debits_pending != credits_pending:
            problems.append(
                f"timebank {timebank_id}: its accounts' pending debits ({debits_pending}) do not equal their "
                f"pending credits ({credits_pending})"
            )
    return problems


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
    return problems + _reversal_problems(session)


def _reversal_problems(session: Session) -> list[str]:
    """A reversal names its original, swaps its accounts, equals its amount, stays in its
    timebank, posts at once, and reverses only a posted movement that is not a reversal itself
    (the database's trigger refuses anything else: models/transfer.py)."""
    original = aliased(Transfer)
    rows = session.execute(
        select(Transfer.id, Transfer.purpose, Transfer.reverses_id, original.id)
        .outerjoin(original, original.id == Transfer.reverses_id)
        .where(
            (Transfer.purpose == TransferPurpose.REVERSAL) | Transfer.reverses_id.is_not(None),
            ~(
                original.id.is_not(None)  # (first: without an original the rest is NULL, not false)
                & (Transfer.purpose == TransferPurpose.REVERSAL)
                & (Transfer.phase == TransferPhase.SINGLE)
                & (original.timebank_id == Transfer.timebank_id)
                & (original.debit_account_id == Transfer.credit_account_id)
                & (original.credit_account_id == Transfer.debit_account_id)
                & (original.amount_minutes == Transfer.amount_minutes)
                & original.phase.in_([TransferPhase.SINGLE, TransferPhase.POST])
                & (original.purpose != TransferPurpose.REVERSAL)
            ),
        )
        .order_by(Transfer.id)
    )
    problems = []
    for transfer_id, purpose, reverses_id, original_id in rows:
        if reverses_id is None:
            problems.append(f"transfer {transfer_id}: a reversal that names no transfer it reverses")
        elif purpose != TransferPurpose.REVERSAL:
            problems.append(f"transfer {transfer_id}: names transfer {reverses_id} as reversed but is not a reversal")
        else:
            problems.append(
                f"transfer {transfer_id}: a reversal that does not mirror transfer {original_id} (a reversal swaps "
                "a posted movement's accounts, equals its amount and stays in its timebank)"
            )
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
        limits = limits_for(account, timebanks[account.timebank_id])
        if limits.floor is not None and lowest_possible_balance(account) < limits.floor:
            result.problems.append(f"account {account.id} ({account.name}) is below its floor of {limits.floor}")
        if limits.cap is not None and highest_possible_balance(account) > limits.cap:
            result.problems.append(f"account {account.id} ({account.name}) is above its cap of {limits.cap}")
    result.problems += _balance_problems(session, result)
    result.problems += _structural_problems(session)
    result.problems += exchange_problems(session)
    result.problems += verify_closed_months(session)
    result.problems += verify_statements(session)
    return result
