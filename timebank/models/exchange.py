"""Exchanges: one piece of help between a provider and a recipient, from proposal to credit.

The allowed state changes live in ``timebank.exchanges.states``; the ledger movement is the
pending transfer created when the time is recorded.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .account import Account
from .base import Base, utcnow
from .enums import ExchangeStatus, str_enum
from .listing import Listing
from .member import Member
from .transfer import BIG_ID, Transfer


class Exchange(Base):
    __tablename__ = "exchanges"
    __table_args__ = (
        CheckConstraint("provider_account_id <> recipient_account_id", name="distinct_parties"),
        CheckConstraint("minutes IS NULL OR minutes > 0", name="minutes_positive"),
        Index("ix_exchanges_timebank_status", "timebank_id", "status"),
        Index("ix_exchanges_status_recorded_at", "status", "recorded_at"),
        # Reports (requests met) and the coordinator dashboard (hours by category) look up
        # exchanges by listing and by reservation; without these they scan every exchange.
        Index("ix_exchanges_listing_id", "listing_id"),
        Index("ix_exchanges_pending_transfer_id", "pending_transfer_id"),
        # The member dashboard's exchanges still under way, on either side: only those, however
        # long the member's history or large the timebank (dashboard/service.py).
        Index("ix_exchanges_provider_account_status", "provider_account_id", "status"),
        Index("ix_exchanges_recipient_account_status", "recipient_account_id", "status"),
        # A resubmitted form (double-click, retry) finds the exchange it already made.
        UniqueConstraint("timebank_id", "request_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    # Provider gives the help and earns; recipient receives it and spends. Either side may be
    # the organisation's account (person-to-agency work).
    provider_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    recipient_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    # The listing's category when there is one, or the one chosen when recording; reports and
    # the approvals queue group by it.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    status: Mapped[ExchangeStatus] = mapped_column(str_enum(ExchangeStatus, "exchange_status"))
    description: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[int | None]
    performed_on: Mapped[date | None]
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # Who typed it in when a coordinator acts for a member.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # Why it was declined, disputed, rejected or reversed: shown to the members.
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    # The proposal's message ("Could you help on Saturday morning?").
    message: Mapped[str] = mapped_column(Text, default="")
    request_key: Mapped[str | None] = mapped_column(String(200))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    pending_transfer_id: Mapped[int | None] = mapped_column(BIG_ID, ForeignKey("transfers.id"))
    # When the time was recorded (hours reserved): unconfirmed records expire from here.
    recorded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    provider_account: Mapped[Account] = relationship(foreign_keys=[provider_account_id])
    recipient_account: Mapped[Account] = relationship(foreign_keys=[recipient_account_id])
    listing: Mapped[Listing | None] = relationship()
    pending_transfer: Mapped[Transfer | None] = relationship()
    recorded_by: Mapped[Member | None] = relationship(foreign_keys=[recorded_by_id])
    entered_by: Mapped[Member | None] = relationship(foreign_keys=[entered_by_id])
