"""Ledger periods: calendar months of a timebank's ledger. A closed period is read-only."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Period(Base):
    __tablename__ = "periods"
    __table_args__ = (UniqueConstraint("timebank_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    month: Mapped[date]  # the first day of the month
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    checksum: Mapped[str | None] = mapped_column(String(64))
