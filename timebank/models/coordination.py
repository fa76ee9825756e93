"""What coordinators record: private notes on members, group activities, timesheet imports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import ActivityDirection, str_enum
from .member import Member
from .timebank import Category


class CoordinatorNote(Base):
    """A private note about a member, seen only by the timebank's coordinators."""

    __tablename__ = "coordinator_notes"
    __table_args__ = (Index("ix_coordinator_notes_member", "member_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[Member] = relationship(foreign_keys=[author_id])


class Activity(Base):
    """A group session ("Friday garden session, 2 hours") where every attendee earns, or spends,
    the same hours with the organisation's account, posted all together."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("minutes > 0", name="minutes_positive"),
        # A resubmitted form finds the activity it already recorded.
        UniqueConstraint("timebank_id", "request_key"),
        Index("ix_activities_timebank_held_on", "timebank_id", "held_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    title: Mapped[str] = mapped_column(String(120))
    held_on: Mapped[date]
    minutes: Mapped[int] = mapped_column(Integer)
    direction: Mapped[ActivityDirection] = mapped_column(str_enum(ActivityDirection, "activity_direction"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    request_key: Mapped[str] = mapped_column(String(200))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    category: Mapped[Category | None] = relationship()
    attendees: Mapped[list[ActivityAttendee]] = relationship(
        back_populates="activity", cascade="all, delete-orphan", order_by="ActivityAttendee.id"
    )


class ActivityAttendee(Base):
    __tablename__ = "activity_attendees"
    __table_args__ = (UniqueConstraint("activity_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    transfer_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("transfers.id"), index=True
    )

    activity: Mapped[Activity] = relationship(back_populates="attendees")
    member: Mapped[Member] = relationship()


class TimesheetImport(Base):
    """One committed upload of a paper-timesheet CSV. The file's hash is unique per timebank, and
    each row becomes an exchange keyed by its own content, so importing twice creates nothing."""

    __tablename__ = "timesheet_imports"
    __table_args__ = (UniqueConstraint("timebank_id", "file_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    imported_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
