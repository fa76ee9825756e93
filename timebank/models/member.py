"""Members: people (or an organisation's representatives) in a timebank, and installation admins."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import ContactPreference, ListingKind, MemberStatus, Role, str_enum
from .timebank import Category, Timebank

if TYPE_CHECKING:
    from .account import Account


class Member(Base):
    __tablename__ = "members"
    # An email is one login, so it is unique across the installation (several may be absent:
    # a coordinator can register a member who has no email).
    __table_args__ = (
        UniqueConstraint("email"),
        # A coordinator's registration form sent twice (double-click, retry) finds the member
        # it already made.
        UniqueConstraint("timebank_id", "registration_key"),
    )

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
    # Vetting: why an application was declined or a member suspended (shown to them).
    status_reason: Mapped[str] = mapped_column(String(500), default="")
    # Vetting record: which references and checks a coordinator did, and when.
    checks_note: Mapped[str] = mapped_column(String(500), default="")
    checks_done_at: Mapped[datetime | None]
    checks_done_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    registration_key: Mapped[str | None] = mapped_column(String(64))

    # The asset-based profile: what people bring, not only what they need.
    offers_text: Mapped[str] = mapped_column(Text, default="")  # "what I can offer", in their words
    wants_text: Mapped[str] = mapped_column(Text, default="")  # "what I would like help with"
    about: Mapped[str] = mapped_column(Text, default="")
    access_needs: Mapped[str] = mapped_column(Text, default="")  # "anything others should know"
    # A neighbourhood or postcode district ("Riverside", "LS6"), never a full address.
    area: Mapped[str] = mapped_column(String(80), default="")
    contact_preference: Mapped[ContactPreference] = mapped_column(
        str_enum(ContactPreference, "contact_preference"), default=ContactPreference.EMAIL
    )
    # When usually free: comma-separated day-part slots such as "mon-morning,thu-evening"
    # (see timebank.members.availability).
    availability: Mapped[str] = mapped_column(String(400), default="")
    # What other members may see; coordinators always see everything.
    show_email: Mapped[bool] = mapped_column(Boolean, default=False)
    show_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    show_area: Mapped[bool] = mapped_column(Boolean, default=True)
    show_about: Mapped[bool] = mapped_column(Boolean, default=True)
    show_access_needs: Mapped[bool] = mapped_column(Boolean, default=False)
    show_availability: Mapped[bool] = mapped_column(Boolean, default=True)
    # Email preferences (in-app notifications are always kept). The digest is opt-in.
    email_when_action_needed: Mapped[bool] = mapped_column(Boolean, default=True)
    email_exchange_updates: Mapped[bool] = mapped_column(Boolean, default=True)
    weekly_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the member left (for the monthly report's "leaving members").
    left_at: Mapped[datetime | None]
    # Two-factor sign-in (TOTP, RFC 6238): the shared secret (base32), set once the member has
    # confirmed it with a first code; the last time step a code was accepted for, so a code
    # cannot be used twice. Recovery codes are RecoveryCode rows.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    two_factor_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    timebank: Mapped[Timebank | None] = relationship()
    checks_done_by: Mapped[Member | None] = relationship(remote_side=[id], foreign_keys=[checks_done_by_id])
    account: Mapped[Account | None] = relationship(back_populates="member", uselist=False)
    skills: Mapped[list[MemberSkill]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="MemberSkill.id"
    )

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

    @property
    def has_two_factor(self) -> bool:
        return self.two_factor_enabled_at is not None and self.totp_secret is not None

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.display_name!r}>"


class MemberSkill(Base):
    """One thing a member can offer, or would like help with, tagged with a category."""

    __tablename__ = "member_skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[ListingKind] = mapped_column(str_enum(ListingKind, "skill_kind"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    label: Mapped[str] = mapped_column(String(120))

    member: Mapped[Member] = relationship(back_populates="skills")
    category: Mapped[Category | None] = relationship()


class RecoveryCode(Base):
    """One of a member's one-time recovery codes for two-factor sign-in, stored only as its
    sha256 (each code is 50 random bits, so a fast hash is enough). Used once: ``used_at``."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("member_id", "code_hash"),)  # also the index by member

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
