"""The exchange state machine: every allowed change of status, in one table.

    proposed ──accept──▶ accepted ──record──▶ recorded ──confirm──▶ confirmed ──approve──▶ approved
        │                   │                    │                     │                      │
     decline/cancel       cancel          dispute/cancel/expire      reject                reverse
        ▼                   ▼                    ▼                     ▼                      ▼
     declined/cancelled  cancelled    disputed/cancelled/expired    rejected              reversed

A disputed exchange is settled by a coordinator: confirmed (the hours stand) or rejected.
When the timebank's policy needs no coordinator, "confirm" goes straight on to "approved".
"""

from __future__ import annotations

from ..models import ExchangeStatus as S

TRANSITIONS: dict[str, dict[S, S]] = {
    "accept": {S.PROPOSED: S.ACCEPTED},
    "decline": {S.PROPOSED: S.DECLINED},
    "record": {S.ACCEPTED: S.RECORDED},
    "confirm": {S.RECORDED: S.CONFIRMED},
    "dispute": {S.RECORDED: S.DISPUTED},
    "settle": {S.DISPUTED: S.CONFIRMED},
    # A coordinator may approve before the other side confirms: they act for members who never
    # touch a computer, and for the organisation's side of person-to-agency work.
    "approve": {S.CONFIRMED: S.APPROVED, S.RECORDED: S.APPROVED},
    "reject": {S.CONFIRMED: S.REJECTED, S.DISPUTED: S.REJECTED, S.RECORDED: S.REJECTED},
    "cancel": {S.PROPOSED: S.CANCELLED, S.ACCEPTED: S.CANCELLED, S.RECORDED: S.CANCELLED},
    "expire": {S.RECORDED: S.EXPIRED},
    "reverse": {S.APPROVED: S.REVERSED},
}

# States in which hours are reserved by a pending transfer.
RESERVING = frozenset({S.RECORDED, S.CONFIRMED, S.DISPUTED})
FINAL = frozenset({S.DECLINED, S.REJECTED, S.CANCELLED, S.EXPIRED, S.REVERSED})


class InvalidTransition(Exception):
    def __init__(self, action: str, status: S) -> None:
        done = PAST_TENSE.get(action, action)
        if status in TRANSITIONS.get(action, {}).values():
            message = f"This exchange has already been {done}."
        else:
            message = f"This exchange is {status.value}, so it cannot be {done} now."
        super().__init__(message)
        self.message = message
        self.action = action
        self.status = status


PAST_TENSE = {
    "accept": "accepted",
    "decline": "declined",
    "record": "recorded",
    "confirm": "confirmed",
    "dispute": "disputed",
    "settle": "settled",
    "approve": "approved",
    "reject": "rejected",
    "cancel": "cancelled",
    "expire": "expired",
    "reverse": "reversed",
}


def next_status(action: str, current: S) -> S:
    """The status after ``action``, or InvalidTransition if it is not allowed from ``current``."""
    target = TRANSITIONS.get(action, {}).get(current)
    if target is None:
        raise InvalidTransition(action, current)
    return target


def allowed_actions(current: S) -> list[str]:
    return [action for action, moves in TRANSITIONS.items() if current in moves]
