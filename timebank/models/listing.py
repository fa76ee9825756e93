"""Listings: offers ("I can…") and requests ("I'd like help with…")."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .enums import ListingKind, ListingStatus, str_enum
from .member import Member
from .timebank import Category

SEARCH_DOCUMENT = (
    "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, '') || ' ' || coalesce(tags, ''))"
)


def search_document_in_timebank(timebank_id: str = "timebank_id") -> str:
    """``SEARCH_DOCUMENT`` plus the word ``timebank#<id>`` (``timebank_search_word``)."""
    return f"({SEARCH_DOCUMENT} || array_to_tsvector(ARRAY['timebank#' || {timebank_id}::text]))"


def timebank_search_word(timebank_id: int) -> str:
    """The tsquery that matches only listings of this timebank in ``search_document_in_timebank``."""
    return f"'timebank#{int(timebank_id)}'"


class Listing(Base):
    __tablename__ = "listings"
    __table_args__ = (
        Index("ix_listings_timebank_status_kind", "timebank_id", "status", "kind"),
        Index("ix_listings_status_ends_on", "status", "ends_on"),
        # Dashboard suggestions read only the newest open requests, overall and per category,
        # walking these newest first (matching/service.py, ``_ceiling_query``).
        Index("ix_listings_timebank_kind_status_id", "timebank_id", "kind", "status", "id"),
        Index("ix_listings_timebank_kind_status_category_id", "timebank_id", "kind", "status", "category_id", "id"),
        # PostgreSQL full-text search over every timebank's listings (searches now use the next
        # one; this one can go in a later migration). SQLite searches with LIKE, without an index.
        Index("ix_listings_search", text(SEARCH_DOCUMENT), postgresql_using="gin").ddl_if(dialect="postgresql"),
        # The text plus the listing's timebank as one more word that no text can make
        # ("timebank#7": the parser splits at "#"), so a search reads only its own timebank's
        # matches. listings.service's query must use ``search_document_in_timebank()`` exactly.
        Index(
            "ix_listings_timebank_search", text(search_document_in_timebank()), postgresql_using="gin"
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    timebank_id: Mapped[int] = mapped_column(ForeignKey("timebanks.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[ListingKind] = mapped_column(str_enum(ListingKind, "listing_kind"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(String(300), default="")
    estimated_minutes: Mapped[int | None]
    status: Mapped[ListingStatus] = mapped_column(
        str_enum(ListingStatus, "listing_status"), default=ListingStatus.OPEN
    )
    ends_on: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    category: Mapped[Category | None] = relationship()
