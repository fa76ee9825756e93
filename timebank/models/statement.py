"""Statements: an account's summary of one closed month. Written once, never changed."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Statement(Base):
    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("period_id", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    opening_minutes: Mapped[int] = mapped_column(BigInteger)
    earned_minutes: Mapped[int] = mapped_column(BigInteger)  # exchange and activity credits
    spent_minutes: Mapped[int] = mapped_column(BigInteger)  # exchange and activity debits
    donated_minutes: Mapped[int] = mapped_column(BigInteger)  # given to the pool
    granted_minutes: Mapped[int] = mapped_column(BigInteger)  # received from the pool
    reversals_in_minutes: Mapped[int] = mapped_column(BigInteger)
    reversals_out_minutes: Mapped[int] = mapped_column(BigInteger)
    adjustments_in_minutes: Mapped[int] = mapped_column(BigInteger)
    adjustments_out_minutes: Mapped[int] = mapped_column(BigInteger)
    closing_minutes: Mapped[int] = mapped_column(BigInteger)

    def __repr__(self) -> str:
        return f"<Statement period={self.period_id} account={self.account_id} closing={self.closing_minutes}>"
