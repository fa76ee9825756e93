"""One page of results, the same shape for every list (listings, the member directory, the API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

DEFAULT_PER_PAGE = 20
# No list has a millionth page; a number beyond it would overflow the database's OFFSET.
MAX_PAGE = 1_000_000


def clamp_page(requested: int | None, total: int, per_page: int) -> int:
    """A page number that exists: below 1 becomes 1, past the end becomes the last page."""
    last = max(1, -(-total // per_page))
    if requested is None or requested < 1:
        return 1
    return min(requested, last)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int  # 1-based, always an existing page (see clamp_page)
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown ("Showing 21–40 of 57"); 0 when empty."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_of(session: Session, query: Select[tuple[T]], page: int | None, per_page: int) -> Page[T]:
    """One page of an ordered ORM query: the count, the page moved into range, that page's rows.
    (Joined eager loads are fine: rows are made unique.)"""
    counted: Select[Any] = select(func.count()).select_from(query.order_by(None).subquery())
    total = session.scalar(counted) or 0
    number = clamp_page(page, total, per_page)
    rows = session.scalars(query.offset((number - 1) * per_page).limit(per_page)).unique()
    return Page(items=list(rows), page=number, per_page=per_page, total=total)
