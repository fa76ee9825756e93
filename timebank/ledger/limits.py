"""Account floors and caps (DESIGN.md rule 6), counted pessimistically."""

from __future__ import annotations

from dataclasses import dataclass

from ..hours import hours_in_words
from ..models import Account, AccountKind, Timebank
from .errors import ExceedsCap, ExceedsFloor


@dataclass(frozen=True)
class Limits:
    floor: int | None  # lowest balance allowed; None: no floor
    cap: int | None  # highest balance allowed; None: no cap


def limits_for(account: Account, timebank: Timebank) -> Limits:
    """A member account without its own limits uses the timebank's defaults; the organisation
    account and the pool carry their own (None meaning unlimited)."""
    if account.kind == AccountKind.MEMBER:
        floor = account.floor_minutes
        cap = account.cap_minutes
        return Limits(
            floor=timebank.default_floor_minutes if floor is None else floor,
            cap=timebank.default_cap_minutes if cap is None else cap,
        )
    return Limits(floor=account.floor_minutes, cap=account.cap_minutes)


def lowest_possible_balance(account: Account) -> int:
    """Posted balance less every pending debit: what is left if all reservations post."""
    return account.credits_posted - account.debits_posted - account.debits_pending


def highest_possible_balance(account: Account) -> int:
    """Posted balance plus every pending credit."""
    return account.credits_posted + account.credits_pending - account.debits_posted


def check_debit(account: Account, timebank: Timebank, amount: int, *, reserved: int = 0) -> None:
    """``reserved``: debits planned before this one but not in the account yet (a timesheet
    import's earlier rows, checked in file order before anything is written)."""
    floor = limits_for(account, timebank).floor
    lowest = lowest_possible_balance(account) - reserved
    if floor is not None and lowest - amount < floor:
        available = lowest - floor
        raise ExceedsFloor(
            f"{account.name} does not have enough time credits for this: "
            f"{hours_in_words(max(available, 0))} can be spent, {hours_in_words(amount)} was asked."
        )


def check_credit(account: Account, timebank: Timebank, amount: int, *, reserved: int = 0) -> None:
    """``reserved``: credits planned before this one but not in the account yet."""
    cap = limits_for(account, timebank).cap
    highest = highest_possible_balance(account) + reserved
    if cap is not None and highest + amount > cap:
        room = cap - highest
        raise ExceedsCap(
            f"{account.name} would go over the most time credits an account may hold: "
            f"room for {hours_in_words(max(room, 0))}, {hours_in_words(amount)} was asked."
        )
