"""The audit trail: who did what, when, on what, on whose behalf. Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_timebank_created", "timebank_id", "id"),
        # One kind of event in a timebank (the monthly report's self-approvals, the trail's filter).
        Index("ix_audit_events_timebank_action", "timebank_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int | None] = mapped_column(ForeignKey("timebanks.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(80))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
