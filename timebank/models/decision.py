"""Decision requests: what a coordinator may not decide for themselves, waiting for someone else.

Nobody decides on their own benefit (``timebank/duties``). A coordinator's own exchange waits in
the approvals queue in its own states; the other things a coordinator could do for themselves (a
grant from the community pool, a change to their own limits, reversing an exchange they took
part in) have no state of their own to wait in, so they wait here: one row per request, decided
once by another coordinator of the timebank or an installation admin, who is recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import DecisionKind, DecisionStatus, str_enum
from .exchange import Exchange
from .member import Member
from .transfer import BIG_ID


class DecisionRequest(Base):
    __tablename__ = "decision_requests"
    __table_args__ = (
        CheckConstraint("minutes IS NULL OR minutes > 0", name="minutes_positive"),
        CheckConstraint("floor_minutes IS NULL OR floor_minutes <= 0", name="floor_not_positive"),
        CheckConstraint("cap_minutes IS NULL OR cap_minutes >= 0", name="cap_not_negative"),
        # The queue reads a timebank's waiting requests.
        Index("ix_decision_requests_timebank_status", "timebank_id", "status"),
        # A form sent twice (double click, retry) finds the request it already made.
        UniqueConstraint("timebank_id", "request_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    kind: Mapped[DecisionKind] = mapped_column(str_enum(DecisionKind, "decision_kind"))
    status: Mapped[DecisionStatus] = mapped_column(
        str_enum(DecisionStatus, "decision_status"), default=DecisionStatus.WAITING
    )
    # Who asked, and who would benefit (the same coordinator, for every kind today).
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    # A grant: how much. Limits: the floor and cap asked for (None: the timebank's default).
    minutes: Mapped[int | None] = mapped_column(BigInteger)
    floor_minutes: Mapped[int | None] = mapped_column(BigInteger)
    cap_minutes: Mapped[int | None] = mapped_column(BigInteger)
    # A reversal: of which exchange.
    exchange_id: Mapped[int | None] = mapped_column(ForeignKey("exchanges.id"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    request_key: Mapped[str] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(String(500), default="")
    # The transfer an approved grant or reversal made.
    transfer_id: Mapped[int | None] = mapped_column(BIG_ID, ForeignKey("transfers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    requested_by: Mapped[Member] = relationship(foreign_keys=[requested_by_id])
    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    decided_by: Mapped[Member | None] = relationship(foreign_keys=[decided_by_id])
    exchange: Mapped[Exchange | None] = relationship()

    def __repr__(self) -> str:
        return f"<DecisionRequest {self.id} {self.kind} {self.status}>"
