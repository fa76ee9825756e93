"""Members: people (or an organisation's representatives) in a timebank, and installation admins."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import MemberStatus, Role, str_enum
from .timebank import Timebank

if TYPE_CHECKING:
    from .account import Account


class Member(Base):
    __tablename__ = "members"
    # An email is one login, so it is unique across the installation (several may be absent:
    # a coordinator can register a member who has no email).
    __table_args__ = (UniqueConstraint("email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Installation admins may stand outside any timebank.
    timebank_id: Mapped[int | None] = mapped_column(ForeignKey("timebanks.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[Role] = mapped_column(str_enum(Role, "member_role"), default=Role.PARTICIPANT)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[MemberStatus] = mapped_column(
        str_enum(MemberStatus, "member_status"), default=MemberStatus.APPLIED
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None]

    timebank: Mapped[Timebank | None] = relationship()
    account: Mapped[Account | None] = relationship(back_populates="member", uselist=False)

    # Flask-Login's user protocol, written out so models stay free of Flask imports.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        """Only approved members (and admins) may sign in to use the service."""
        return self.is_admin or self.status == MemberStatus.APPROVED

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR and self.status == MemberStatus.APPROVED

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.display_name!r}>"
