"""Exchanges in plain words, as one member sees them: "You gave 2 hours to Sam".

No Flask and no database writes: the routes hand these to the templates. What a member may do
next comes from ``permissions.actions_for``, so the words and the buttons agree with the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ..clock import local_datetime
from ..hours import hours_in_words
from ..models import Account, Exchange, ExchangeStatus, Member
from .permissions import actions_for, awaiting_confirmation, needs_another_coordinator, party_account, refusal
from .service import ExchangeEvent
from .states import FINAL

# The groups of "My exchanges", in the order shown.
GROUPS = (
    ("action", "Needs your action"),
    ("waiting", "Waiting for others"),
    ("done", "Done"),
)
_ACTING = ("accept", "record", "confirm", "approve", "settle")
# States whose decision_reason is worth showing: why it was declined, questioned, refused or called off.
_REASON_SHOWN = (
    ExchangeStatus.DECLINED,
    ExchangeStatus.DISPUTED,
    ExchangeStatus.REJECTED,
    ExchangeStatus.CANCELLED,
    ExchangeStatus.REVERSED,
)

STATUS_WORDS = {
    ExchangeStatus.PROPOSED: "Proposed",
    ExchangeStatus.ACCEPTED: "Agreed",
    ExchangeStatus.DECLINED: "Declined",
    ExchangeStatus.RECORDED: "Time recorded",
    ExchangeStatus.CONFIRMED: "Confirmed",
    ExchangeStatus.APPROVED: "Approved",
    ExchangeStatus.REJECTED: "Not approved",
    ExchangeStatus.CANCELLED: "Cancelled",
    ExchangeStatus.DISPUTED: "Questioned",
    ExchangeStatus.EXPIRED: "Expired",
    ExchangeStatus.REVERSED: "Reversed",
}


@dataclass(frozen=True)
class HistoryEntry:
    when: str
    text: str
    detail: str = ""


@dataclass
class ExchangeView:
    exchange: Exchange
    title: str  # "Sam helping you"
    summary: str  # "Sam gave you 2 hours" / "You asked Sam for help"
    status: str  # "Time recorded"
    situation: str  # what is happening now, and who is waiting for whom
    credits: str = ""  # what it does to the viewer's time credit
    entered: str = ""  # "Recorded by Grace Okafor for Sam" / "Proposed by Grace Okafor for Sam"
    reason: str = ""  # why it was declined, questioned, cancelled or not approved
    actions: list[str] = field(default_factory=list)
    group: str = "waiting"
    when: str = ""  # the date the help happened, or was proposed
    # For a coordinator deciding: the member who has not confirmed the recorded time yet ("" when
    # confirmed, or the other side is the organisation). Approving it then needs a reason.
    unconfirmed_by: str = ""
    # A coordinator's own exchange waiting for a decision: another coordinator decides it.
    needs_another: bool = False
    # A coordinator's own approved exchange: they may ask another coordinator to reverse it.
    can_ask_reversal: bool = False


def name_for(account: Account, viewer: Member, *, start: bool = False) -> str:
    """'you' for the viewer's own account, else the account's name (a member, or the day
    service by its organisation name)."""
    if account.member_id is not None and account.member_id == viewer.id:
        return "You" if start else "you"
    return account.name


def human_date(value: date | None) -> str:
    if value is None:
        return ""
    return f"{value:%A} {value.day} {value:%B %Y}"


def human_datetime(moment: datetime, time_zone: str) -> str:
    """'Tuesday 3 June 2025 at 2:05pm', in the timebank's time zone."""
    local = local_datetime(moment, time_zone)
    hour = local.hour % 12 or 12
    return f"{human_date(local.date())} at {hour}:{local.minute:02d}{'am' if local.hour < 12 else 'pm'}"


def _person(member_id: int | None, exchange: Exchange, viewer: Member) -> str:
    """The name of a party to the exchange by member id, 'you' for the viewer."""
    if member_id is not None and member_id == viewer.id:
        return "you"
    for account in (exchange.provider_account, exchange.recipient_account):
        if account.member_id is not None and account.member_id == member_id:
            return account.name
    return "a coordinator"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def describe(exchange: Exchange, viewer: Member, time_zone: str) -> ExchangeView:
    provider = name_for(exchange.provider_account, viewer)
    recipient = name_for(exchange.recipient_account, viewer)
    minutes = hours_in_words(exchange.minutes) if exchange.minutes else ""
    status = exchange.status
    mine = party_account(exchange, viewer)
    i_provide = mine is not None and mine.id == exchange.provider_account_id
    view = ExchangeView(
        exchange=exchange,
        title=f"{_cap(provider)} helping {recipient}",
        summary="",
        status=STATUS_WORDS.get(status, status.value),
        situation="",
        actions=actions_for(exchange, viewer),
    )
    view.group = _group(exchange, view.actions)
    if viewer.is_coordinator or viewer.is_admin:
        waiting_for = awaiting_confirmation(exchange)
        view.unconfirmed_by = waiting_for.name if waiting_for is not None else ""
        view.needs_another = needs_another_coordinator(exchange, viewer)
        view.can_ask_reversal = (
            status == ExchangeStatus.APPROVED
            and mine is not None
            and refusal("reverse", exchange, viewer) is not None
        )
    if status in _REASON_SHOWN:
        view.reason = exchange.decision_reason or ""
    if exchange.performed_on is not None:
        view.when = human_date(exchange.performed_on)
    else:
        view.when = human_date(local_datetime(exchange.created_at, time_zone).date())

    if exchange.performed_on is None:  # proposed, agreed, declined or cancelled before any time
        proposer = _person(exchange.proposed_by_id, exchange, viewer)
        if exchange.proposed_by_id == exchange.provider_account.member_id:
            view.summary = f"{_cap(proposer)} offered to help {recipient}"
        else:
            view.summary = f"{_cap(proposer)} asked {provider} for help"
        if minutes:
            view.summary += f", for about {minutes}"
    elif mine is None:
        view.summary = f"{_cap(provider)} gave {minutes} to {recipient}"
    elif i_provide:
        view.summary = f"You gave {minutes} to {recipient}"
    else:
        view.summary = f"{_cap(provider)} gave you {minutes}"
    if exchange.description:
        view.summary += f": {exchange.description}"

    recorder = _person(exchange.recorded_by_id, exchange, viewer)
    entered_by = exchange.entered_by.display_name if exchange.entered_by else "a coordinator"
    if exchange.entered_by_id == viewer.id:
        entered_by = "you"
    if exchange.entered_by_id and exchange.recorded_by_id and exchange.entered_by_id != exchange.recorded_by_id:
        view.entered = f"Recorded by {entered_by} for {recorder}"
    elif (
        exchange.entered_by_id
        and exchange.recorded_by_id is None
        and exchange.proposed_by_id
        and exchange.entered_by_id != exchange.proposed_by_id
    ):
        view.entered = f"Proposed by {entered_by} for {_person(exchange.proposed_by_id, exchange, viewer)}"

    other = _other_name(exchange, viewer)
    organisation = next(
        (a.name for a in (exchange.provider_account, exchange.recipient_account) if a.member_id is None), ""
    )
    if status == ExchangeStatus.PROPOSED:
        if exchange.proposed_by_id == viewer.id:
            view.situation = f"Waiting for {other} to answer."
        elif mine is not None:
            view.situation = f"{_cap(_person(exchange.proposed_by_id, exchange, viewer))} is waiting for your answer."
        else:
            view.situation = "Waiting for an answer."
    elif status == ExchangeStatus.ACCEPTED:
        view.situation = "Agreed. Once the help has happened, either of you can record the time."
    elif status == ExchangeStatus.RECORDED:
        if organisation:
            view.situation = f"Waiting for a coordinator to confirm it for {organisation}."
        elif mine is not None and viewer.id in (exchange.recorded_by_id, exchange.entered_by_id):
            view.situation = f"Waiting for {other} to confirm the time."
        elif mine is not None:
            view.situation = f"{_cap(recorder)} recorded the time. Please confirm it, or say if it is wrong."
        else:
            confirmer = (
                exchange.recipient_account.name
                if exchange.recorded_by_id == exchange.provider_account.member_id
                else exchange.provider_account.name
            )
            view.situation = f"{_cap(recorder)} recorded the time; {confirmer} has not confirmed it yet."
    elif status == ExchangeStatus.CONFIRMED:
        view.situation = "Both sides agree. Waiting for a coordinator to approve it."
    elif status == ExchangeStatus.DISPUTED:
        disputer = _cap(_person(_non_recorder(exchange), exchange, viewer))
        if mine is None and viewer.is_coordinator:
            view.situation = f"{disputer} said the record is wrong. Please decide whether the hours stand."
        else:
            view.situation = f"{disputer} said the record is wrong. A coordinator will look at it and decide."
    elif status == ExchangeStatus.APPROVED:
        view.situation = "The time credits have moved."
    elif status == ExchangeStatus.DECLINED:
        view.situation = "The proposal was declined."
    elif status == ExchangeStatus.CANCELLED:
        view.situation = "This exchange was cancelled. No time credits moved."
    elif status == ExchangeStatus.REJECTED:
        view.situation = "A coordinator did not approve this. No time credits moved."
    elif status == ExchangeStatus.EXPIRED:
        view.situation = "Nobody confirmed this in time, so it lapsed. No time credits moved."
    elif status == ExchangeStatus.REVERSED:
        view.situation = "This was approved and then reversed by a coordinator."

    if view.needs_another:
        view.situation += " It is your own exchange, so another coordinator or an administrator decides it."

    if mine is not None and minutes and status != ExchangeStatus.ACCEPTED:
        if status == ExchangeStatus.APPROVED:
            verb = "earned" if i_provide else "spent"
            view.credits = f"You {verb} {minutes} of time credit."
        elif status in (ExchangeStatus.RECORDED, ExchangeStatus.CONFIRMED, ExchangeStatus.DISPUTED):
            view.credits = (
                f"You will earn {minutes} of time credit once it is approved."
                if i_provide
                else f"{_cap(minutes)} of your time credit is set aside until it is approved."
            )
    return view


def _non_recorder(exchange: Exchange) -> int | None:
    """The party member who did not record the time (who confirms, or disputes, it)."""
    for account in (exchange.provider_account, exchange.recipient_account):
        if account.member_id is not None and account.member_id != exchange.recorded_by_id:
            return account.member_id
    return None


def _other_name(exchange: Exchange, viewer: Member) -> str:
    mine = party_account(exchange, viewer)
    if mine is None:
        return "the other side"
    other = exchange.recipient_account if mine.id == exchange.provider_account_id else exchange.provider_account
    return other.name


def _group(exchange: Exchange, actions: list[str]) -> str:
    if exchange.status in FINAL or exchange.status == ExchangeStatus.APPROVED:
        return "done"
    if any(action in _ACTING for action in actions):
        return "action"
    return "waiting"


def grouped(views: list[ExchangeView]) -> list[tuple[str, str, list[ExchangeView]]]:
    """(key, heading, views) for each group of "My exchanges", empty groups included."""
    return [(key, heading, [v for v in views if v.group == key]) for key, heading in GROUPS]


_EVENT_WORDS = {
    "exchange.proposed": "{actor} proposed it",
    "exchange.accepted": "{actor} accepted",
    "exchange.declined": "{actor} declined",
    "exchange.cancelled": "{actor} cancelled it",
    "exchange.recorded": "{actor} recorded {minutes} on {performed_on}",
    "exchange.confirmed": "{actor} confirmed the time",
    "exchange.disputed": "{actor} said the record is wrong",
    "exchange.settled": "{actor} looked at it and decided the hours stand",
    "exchange.approved": "{actor} approved it and the time credits moved",
    "exchange.rejected": "{actor} did not approve it",
    "exchange.reversed": "{actor} reversed it",
    "exchange.expired": "The time was not confirmed soon enough, so the record expired and the hours were released",
}


def history(events: list[ExchangeEvent], viewer: Member, time_zone: str) -> list[HistoryEntry]:
    """The exchange's story, oldest first, in plain words."""
    entries = []
    for item in events:
        event = item.event
        after = event.after or {}
        actor = "You" if item.actor is not None and item.actor.id == viewer.id else (
            item.actor.display_name if item.actor is not None else "Someone"
        )
        template = _EVENT_WORDS.get(event.action, "{actor}: " + event.action)
        if event.action == "exchange.approved" and after.get("automatic"):
            template = "Approved: both sides agreed, and the time credits moved"
        elif event.action == "exchange.approved" and after.get("unconfirmed"):
            template = "{actor} approved it before {unconfirmed} confirmed it, and the time credits moved"
        minutes = after.get("minutes")
        performed_on = after.get("performed_on")
        text = template.format(
            actor=actor,
            minutes=hours_in_words(minutes) if isinstance(minutes, int) else "the time",
            performed_on=human_date(date.fromisoformat(performed_on)) if isinstance(performed_on, str) else "",
            unconfirmed=after.get("not_confirmed_by") or "the other side",
        )
        if item.on_behalf_of is not None:
            behalf = "you" if item.on_behalf_of.id == viewer.id else item.on_behalf_of.display_name
            text += f" for {behalf}"
        detail = ""
        for key in ("reason", "message", "note"):
            value = after.get(key)
            if isinstance(value, str) and value:
                detail = value
                break
        entries.append(HistoryEntry(when=human_datetime(event.created_at, time_zone), text=text + ".", detail=detail))
    return entries
