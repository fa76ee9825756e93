"""Notifications (in the app) and the email outbox.

A notification is written in the same transaction as the event it tells about, so it exists
exactly when the event does. Email is never sent from a web request: the event's transaction
queues an ``OutboundEmail`` and the scheduler's mail job sends it. The unique ``dedupe_key``
columns are what make the scheduler's jobs safe to run twice (a reminder, a digest week).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("member_id", "dedupe_key"),
        Index("ix_notifications_member_read", "member_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    timebank_id: Mapped[int | None] = mapped_column(ForeignKey("timebanks.id"))
    kind: Mapped[str] = mapped_column(String(40))  # "exchange.recorded", "exchange.reminder", ...
    message: Mapped[str] = mapped_column(String(500))
    link: Mapped[str] = mapped_column(String(300), default="")  # a path inside the app
    exchange_id: Mapped[int | None] = mapped_column(ForeignKey("exchanges.id"))
    # "What needs my action" rather than "what happened".
    needs_action: Mapped[bool] = mapped_column(Boolean, default=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class OutboundEmail(Base):
    """One email waiting to be sent, or sent. Claimed by one sender before it goes out."""

    __tablename__ = "outbound_emails"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_outbound_emails_sent_at", "sent_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text, default="")
    # Extra headers as "Name: value" lines (List-Unsubscribe for digests).
    headers: Mapped[str] = mapped_column(Text, default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A sender claims a row (conditional UPDATE) before sending, so two senders never both send.
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")


class JobRun(Base):
    """A record of one scheduled job's run, for coordinators and admins to see it ran."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job", "job", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    ok: Mapped[bool | None] = mapped_column(Boolean)
    summary: Mapped[str] = mapped_column(String(1000), default="")
