"""Signed-in web sessions, kept on the server so they can be ended there.

The browser's cookie carries a random session id; only its sha256 is stored here. A row lives
from sign-in until it ends: signing out, too long without activity, too long in all, a new
password, "sign out everywhere", or a coordinator signing the member out. An ended row stays
(when and why) until the housekeeping job forgets it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .enums import str_enum


class SessionEnd(enum.StrEnum):
    """Why a web session ended."""

    SIGNED_OUT = "signed_out"
    IDLE = "idle"  # no activity for longer than the idle limit
    LIFETIME = "lifetime"  # signed in for longer than the absolute limit
    PASSWORD_CHANGED = "password_changed"  # changed in another session
    PASSWORD_RESET = "password_reset"
    SIGNED_OUT_EVERYWHERE = "everywhere"  # the member's own "sign out everywhere"
    BY_COORDINATOR = "by_coordinator"  # a coordinator signed the member out of every device


class WebSession(Base):
    __tablename__ = "web_sessions"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        # A member's sessions that have not ended: what "sign out everywhere" ends.
        Index("ix_web_sessions_member_id_ended_at", "member_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the id in the cookie
    # "Keep me signed in on this device": the longer limits and a cookie that outlives the
    # browser. False is a shared computer: the timebank's limits, and nothing remembered.
    kept: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # Written at most once a minute (the cookie carries the exact moment in between).
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[SessionEnd | None] = mapped_column(str_enum(SessionEnd, "session_end_reason"))
    # A form sent after the session ended (JSON: where it was going and its fields, never
    # passwords or files), handed to the same member's next session in this browser.
    draft: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<WebSession {self.id} member={self.member_id}>"
