"""Recording who did what. Called inside the same transaction as the change it describes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEvent, Member


def record(
    session: Session,
    *,
    action: str,
    subject_type: str,
    subject_id: int | None,
    actor: Member | None,
    timebank_id: int | None,
    on_behalf_of: Member | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        timebank_id=timebank_id,
        actor_id=actor.id if actor else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of and on_behalf_of is not actor else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
    )
    session.add(event)
    return event
