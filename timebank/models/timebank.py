"""A timebank (one organisation's time bank) and its categories."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import ApprovalPolicy, str_enum

HOUR = 60


class Timebank(Base):
    __tablename__ = "timebanks"
    __table_args__ = (
        CheckConstraint("granularity_minutes > 0 AND 60 % granularity_minutes = 0", name="granularity"),
        CheckConstraint("default_floor_minutes <= 0", name="floor_not_positive"),
        CheckConstraint("default_cap_minutes >= 0", name="cap_not_negative"),
        CheckConstraint("pending_expiry_days >= 2", name="pending_expiry_days_at_least_two"),
        CheckConstraint("hour_value_pence IS NULL OR hour_value_pence >= 0", name="hour_value_not_negative"),
        CheckConstraint("session_idle_minutes BETWEEN 5 AND 120", name="session_idle_minutes"),
        CheckConstraint("coordinator_session_idle_minutes BETWEEN 5 AND 60", name="coordinator_session_idle_minutes"),
        CheckConstraint("session_lifetime_hours BETWEEN 1 AND 24", name="session_lifetime_hours"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_name: Mapped[str] = mapped_column(String(200))
    granularity_minutes: Mapped[int] = mapped_column(Integer, default=15)
    default_floor_minutes: Mapped[int] = mapped_column(BigInteger, default=-10 * HOUR)
    default_cap_minutes: Mapped[int] = mapped_column(BigInteger, default=100 * HOUR)
    approval_policy: Mapped[ApprovalPolicy] = mapped_column(
        str_enum(ApprovalPolicy, "approval_policy"), default=ApprovalPolicy.ALWAYS
    )
    approval_threshold_minutes: Mapped[int] = mapped_column(Integer, default=3 * HOUR)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    # Recorded time nobody confirms is released after this many days (a reminder at half-way).
    pending_expiry_days: Mapped[int] = mapped_column(Integer, default=14)
    # For funders' reports only: an estimate of an hour's worth, in pence; None shows no value line.
    hour_value_pence: Mapped[int | None] = mapped_column(Integer)
    # Coordinators see private details of vulnerable people: an admin can require them to use
    # two-factor sign-in.
    coordinators_need_two_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    # Signed-in web sessions end after this long without activity (participants; coordinators
    # have the stricter second one) and after this long in all (auth/sessions.py has the bounds).
    session_idle_minutes: Mapped[int] = mapped_column(Integer, default=30)
    coordinator_session_idle_minutes: Mapped[int] = mapped_column(Integer, default=15)
    session_lifetime_hours: Mapped[int] = mapped_column(Integer, default=12)


    # Nobody decides on their own benefit (timebank/duties): a coordinator's own exchange, grant,
    # reversal or limits wait for another coordinator. A timebank with a single coordinator may
    # allow that coordinator to decide their own: an explicit, audited setting, switched off
    # when a second coordinator arrives, and named in the monthly report.
    allow_self_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    categories: Mapped[list[Category]] = relationship(back_populates="timebank", order_by="Category.name")

    def __repr__(self) -> str:
        return f"<Timebank {self.slug}>"


class Category(Base):
    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("timebank_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))

    timebank: Mapped[Timebank] = relationship(back_populates="categories")
