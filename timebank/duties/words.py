"""Decision requests in plain words, for the queues, the notifications and the audit trail."""

from __future__ import annotations

from ..hours import hours_in_words
from ..models import DecisionKind, DecisionRequest, DecisionStatus, Member

STATUS_WORDS = {
    DecisionStatus.WAITING: "Waiting",
    DecisionStatus.APPROVED: "Approved",
    DecisionStatus.REFUSED: "Refused",
    DecisionStatus.WITHDRAWN: "Withdrawn",
}


def limit_words(minutes: int | None) -> str:
    return "the timebank’s default" if minutes is None else hours_in_words(minutes)


def what_is_asked(request: DecisionRequest, viewer: Member | None = None) -> str:
    """'2 hours from the community pool for themselves', 'new limits for you: ...'."""
    if viewer is not None and viewer.id == request.member_id:
        who = "you"
    elif request.member_id == request.requested_by_id:
        who = "themselves"
    else:
        who = request.member.display_name
    if request.kind == DecisionKind.GRANT:
        return f"{hours_in_words(request.minutes or 0)} from the community pool for {who}"
    if request.kind == DecisionKind.LIMITS:
        return (
            f"new limits for {who}: lowest balance {limit_words(request.floor_minutes)}, "
            f"most they may hold {limit_words(request.cap_minutes)}"
        )
    exchange = request.exchange
    if exchange is None:
        return "reversing an exchange"
    hours = hours_in_words(exchange.minutes) if exchange.minutes else "time"
    return (
        f"reversing the exchange in which {exchange.provider_account.name} gave "
        f"{exchange.recipient_account.name} {hours}"
    )


def request_summary(request: DecisionRequest, viewer: Member | None = None) -> str:
    """'Cora Jones asks for 2 hours from the community pool for themselves.' from one viewer's side."""
    asker = "You" if viewer is not None and viewer.id == request.requested_by_id else request.requested_by.display_name
    verb = "ask" if asker == "You" else "asks"
    return f"{asker} {verb} for {what_is_asked(request, viewer)}."
