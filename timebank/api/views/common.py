"""Small helpers the API views share: the viewer's timebank, hours in, account figures out."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ...forms_common import HoursInputError, parse_hours_to_minutes
from ...ledger import limits_for
from ...models import Account, Member, Timebank
from ..errors import ApiError


def viewer_timebank(session: Session, viewer: Member) -> Timebank:
    """The viewer's timebank; an installation admin outside every timebank has none (404)."""
    timebank = session.get(Timebank, viewer.timebank_id) if viewer.timebank_id is not None else None
    if timebank is None:
        raise ApiError(404, "not_found", "You are not a member of a timebank, so there is nothing here for you.")
    return timebank


# No amount of help anyone records is anywhere near this; it keeps every amount far inside the
# database's integer columns.
MAX_HOURS_MINUTES = 10_000 * 60


def minutes_from_hours(text: str, timebank: Timebank, field: str) -> int:
    """Hours as sent (a number or text) -> minutes, parsed like the web forms, in the timebank's
    steps; 422 naming the field otherwise."""
    try:
        return parse_hours_to_minutes(text, timebank.granularity_minutes, maximum_minutes=MAX_HOURS_MINUTES)
    except HoursInputError as error:
        raise ApiError(422, "invalid_hours", error.message, {field: [error.message]}) from error


def balance_figures(account: Account, timebank: Timebank) -> dict[str, Any]:
    """An account's balance, reservations and effective limits (ledger.limits), in minutes; the
    schemas add the exact hours."""
    limits = limits_for(account, timebank)
    pending = account.credits_pending - account.debits_pending
    return {
        "balance_hours": account.balance_minutes,
        "balance_minutes": account.balance_minutes,
        "pending_hours": pending,
        "pending_minutes": pending,
        "pending_in_hours": account.credits_pending,
        "pending_out_hours": account.debits_pending,
        "floor_hours": limits.floor,
        "floor_minutes": limits.floor,
        "cap_hours": limits.cap,
        "cap_minutes": limits.cap,
    }


def role_of(member: Member) -> str:
    return "admin" if member.is_admin and member.timebank_id is None else str(member.role)
