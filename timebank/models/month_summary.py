"""Month summaries: the monthly report's ledger figures of one closed month of one timebank.

A closed month's transfers never change (append-only, and nothing can be dated into a closed
month), so the figures that derive only from them are counted once, when the month closes,
and read from here afterwards. They are written by the same queries that count an open month
(``reports.service``); figures that can still change after a close (exchanges approved,
requests met, new members...) are never stored here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class MonthSummary(Base):
    __tablename__ = "month_summaries"
    __table_args__ = (UniqueConstraint("timebank_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    month: Mapped[date]  # the first day of the (closed) month
    # Hours of help in the month (reports.movements.help_movements), net of reversals dated in it.
    minutes: Mapped[int] = mapped_column(BigInteger)
    person_to_person_minutes: Mapped[int] = mapped_column(BigInteger)
    person_to_agency_minutes: Mapped[int] = mapped_column(BigInteger)
    group_activity_minutes: Mapped[int] = mapped_column(BigInteger)
    active_participants: Mapped[int]
    # Reciprocity over the three months ending with this one (all closed by then).
    reciprocity_active: Mapped[int]
    reciprocity_both_ways: Mapped[int]
    # [[category id or null, net minutes], ...]: names are looked up when read (a rename shows).
    categories: Mapped[list[list[int | None]]] = mapped_column(JSON)
    written_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<MonthSummary timebank={self.timebank_id} month={self.month:%Y-%m} minutes={self.minutes}>"
