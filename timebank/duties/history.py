"""What the audit trail says about self-approval in a month: for the monthly report (web, CSV,
PDF), which must say when a timebank's coordinator was allowed to approve their own items, and
list what they approved that way (``duties.rules``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Member
from .rules import SELF_APPROVAL_CHANGED, SELF_APPROVED


@dataclass(frozen=True)
class SelfApprovedItem:
    when: datetime  # UTC, naive, as stored
    coordinator: str
    what: str
    minutes: int | None


@dataclass(frozen=True)
class SelfApprovalMonth:
    """What the monthly report says about self-approval in one month."""

    on_at_start: bool
    switched_on: int  # times it was switched on during the month
    switched_off: int
    on_at_end: bool
    items: tuple[SelfApprovedItem, ...]

    @property
    def was_on(self) -> bool:
        return self.on_at_start or self.switched_on > 0

    @property
    def mention(self) -> bool:
        return self.was_on or bool(self.items)


def self_approval_during(session: Session, timebank_id: int, start: datetime, end: datetime) -> SelfApprovalMonth:
    """Whether self-approval was on at any moment in [start, end) (naive UTC, as stored) and what
    was self-approved then, from the audit trail, in one query (on the timebank-and-action index)."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.created_at, AuditEvent.after, Member.display_name)
        .outerjoin(Member, Member.id == AuditEvent.actor_id)
        .where(
            AuditEvent.timebank_id == timebank_id,
            AuditEvent.created_at < end,
            or_(
                AuditEvent.action == SELF_APPROVAL_CHANGED,
                and_(AuditEvent.action == SELF_APPROVED, AuditEvent.created_at >= start),
            ),
        )
        .order_by(AuditEvent.id)
    ).all()
    on = on_at_start = False
    switched_on = switched_off = 0
    items: list[SelfApprovedItem] = []
    for action, created_at, after, name in rows:
        details = after or {}
        if action == SELF_APPROVED:
            items.append(
                SelfApprovedItem(
                    when=created_at,
                    coordinator=name or "A coordinator",
                    what=str(details.get("what", "")),
                    minutes=details.get("minutes"),
                )
            )
            continue
        on = bool(details.get("allow_self_approval"))
        if created_at < start:
            on_at_start = on
        elif on:
            switched_on += 1
        else:
            switched_off += 1
    return SelfApprovalMonth(
        on_at_start=on_at_start,
        switched_on=switched_on,
        switched_off=switched_off,
        on_at_end=on,
        items=tuple(items),
    )
