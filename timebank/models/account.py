"""Accounts: where credits live, with the ledger's cached totals (DESIGN.md rule 5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import AccountKind, str_enum
from .member import Member
from .timebank import Timebank


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
            name="totals_not_negative",
        ),
        CheckConstraint(
            "(kind = 'member') = (member_id IS NOT NULL)", name="member_account_has_member"
        ),
        # One organisation account and one community pool per timebank.
        Index(
            "uq_accounts_one_per_kind",
            "timebank_id",
            "kind",
            unique=True,
            sqlite_where=text("kind != 'member'"),
            postgresql_where=text("kind != 'member'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"), index=True)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, "account_kind"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Limits in minutes; None means "use the timebank default" for member accounts and
    # "no limit" for the organisation account and the pool (see ledger.limits).
    floor_minutes: Mapped[int | None] = mapped_column(BigInteger)
    cap_minutes: Mapped[int | None] = mapped_column(BigInteger)
    # Cached totals, changed only by the ledger, in the same transaction as the transfer.
    debits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    timebank: Mapped[Timebank] = relationship()
    member: Mapped[Member | None] = relationship(back_populates="account")

    @property
    def balance_minutes(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def pending_in_minutes(self) -> int:
        return self.credits_pending

    @property
    def pending_out_minutes(self) -> int:
        return self.debits_pending

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.kind} {self.name!r}>"
