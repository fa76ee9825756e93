"""Who may take which step of an exchange, in one place.

The state machine (``states.py``) says which steps an exchange's status allows; this module
says which of those steps a given member may take. The service refuses with ``NotAllowed``
(403) when ``refusal`` gives a reason; the pages show only the buttons ``actions_for`` lists,
so what a member sees and what the service accepts never drift apart. A coordinator's decisions
on an exchange they take part in are refused by the duties rule (``duties/rules.py``).
"""

from __future__ import annotations

from ..duties.rules import decision_refusal, exchange_beneficiaries
from ..models import Account, Exchange, ExchangeStatus, Member
from .states import allowed_actions

_AWAITING_DECISION = (ExchangeStatus.RECORDED, ExchangeStatus.CONFIRMED, ExchangeStatus.DISPUTED)

# Steps a party to the exchange takes from its page.
MEMBER_ACTIONS = ("accept", "decline", "record", "confirm", "dispute", "cancel")
# Steps only a coordinator takes (from the approvals queue or the exchange's page).
COORDINATOR_ACTIONS = ("approve", "reject", "settle", "reverse")


def party_account(exchange: Exchange, member: Member) -> Account | None:
    """The member's own side of the exchange, if they are a party to it."""
    for account in (exchange.provider_account, exchange.recipient_account):
        if account.member_id is not None and account.member_id == member.id:
            return account
    return None


def other_account(exchange: Exchange, member: Member) -> Account:
    """The side that is not the member's (for a coordinator looking on: the recipient)."""
    if exchange.provider_account.member_id == member.id:
        return exchange.recipient_account
    if exchange.recipient_account.member_id == member.id:
        return exchange.provider_account
    return exchange.recipient_account


def is_recorder(exchange: Exchange, member: Member) -> bool:
    return member.id in (exchange.recorded_by_id, exchange.entered_by_id)


def refusal(action: str, exchange: Exchange, member: Member) -> str | None:
    """Why ``member`` may not take ``action`` on ``exchange``; None when they may.

    Only who-may questions are answered here. Whether the exchange's status allows the step
    is the state machine's question (a 409, not a 403), so a step the status no longer allows
    is not refused here: accepting twice is "already accepted", not "not yours".
    """
    if action in COORDINATOR_ACTIONS:
        # An installation admin decides too: what a coordinator may not decide for themselves
        # waits for another coordinator or the admin. (Which timebank: the service's question.)
        if not (member.is_coordinator or member.is_admin):
            return "Only a coordinator can do this."
        # Nobody decides on their own benefit: the one rule, in duties/rules.py.
        timebank = member.timebank
        if timebank is None:
            return None
        return decision_refusal(member, exchange_beneficiaries(exchange), timebank, "your own exchange")
    mine = party_account(exchange, member)
    other = other_account(exchange, member).name
    if action in ("accept", "decline"):
        if mine is None:
            return "Only the person this was proposed to can answer it."
        if exchange.proposed_by_id == member.id:
            return f"You made this proposal, so {other} needs to answer it."
        return None
    if action == "record":
        if mine is None and not member.is_coordinator:
            return "Only the people in this exchange can record its time."
        return None
    if action in ("confirm", "dispute"):
        if mine is None:
            if member.is_coordinator:
                return None if action == "confirm" else "A coordinator settles disputes rather than raising them."
            return "Only the people in this exchange can confirm its time."
        if is_recorder(exchange, member):
            word = "confirms" if action == "confirm" else "can question"
            return f"You recorded this time, so {_confirmer(exchange, member)} {word} it, not you."
        return None
    if action == "cancel":
        if mine is None:
            return "Only the people in this exchange can cancel it."
        if exchange.status == ExchangeStatus.PROPOSED and exchange.proposed_by_id != member.id:
            return "You can decline this proposal instead of cancelling it."
        if exchange.status == ExchangeStatus.RECORDED and not is_recorder(exchange, member):
            return "Only the person who recorded the time can cancel it. If it is wrong, say so instead."
        return None
    return "This cannot be done from here."


def awaiting_confirmation(exchange: Exchange) -> Account | None:
    """The member's side that has not confirmed recorded time yet, or None: confirmed, not
    recorded, or the other side is the organisation (a coordinator approving confirms for it)."""
    if exchange.status != ExchangeStatus.RECORDED:
        return None
    for account in (exchange.provider_account, exchange.recipient_account):
        if account.member_id is not None and account.member_id != exchange.recorded_by_id:
            return account
    return None


def needs_another_coordinator(exchange: Exchange, member: Member) -> bool:
    """A coordinator looking at their own exchange, waiting for a decision they may not take."""
    if not member.is_coordinator or member.timebank is None or exchange.status not in _AWAITING_DECISION:
        return False
    return decision_refusal(member, exchange_beneficiaries(exchange), member.timebank, "your own exchange") is not None


def actions_for(exchange: Exchange, member: Member) -> list[str]:
    """The steps ``member`` may take on ``exchange`` now: the state machine's allowed steps less
    those ``refusal`` rules out. A party sees the members' steps; a coordinator sees theirs."""
    offered: tuple[str, ...] = COORDINATOR_ACTIONS if member.is_coordinator else ()
    if party_account(exchange, member) is not None:
        offered = MEMBER_ACTIONS + offered
    return [
        action
        for action in allowed_actions(exchange.status)
        if action in offered and refusal(action, exchange, member) is None
    ]


def _confirmer(exchange: Exchange, member: Member) -> str:
    other = other_account(exchange, member)
    if other.member_id is None:
        return "a coordinator"
    return other.name
