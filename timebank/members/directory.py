"""The member directory: approved members of the viewer's own timebank, and what they offer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from ..ids import is_storable_id
from ..models import Category, ListingKind, Member, MemberSkill, MemberStatus
from ..pagination import DEFAULT_PER_PAGE, Page, clamp_page
from ..text_search import contains_pattern, search_words
from .profile import SkillView
from .visibility import visible_area


@dataclass(frozen=True)
class DirectoryFilters:
    query: str = ""
    category_id: int | None = None
    area: str = ""


@dataclass(frozen=True)
class DirectoryEntry:
    member_id: int
    display_name: str
    area: str | None  # None when the member hides it from this viewer
    offer_skills: list[SkillView]
    offers_text: str


def _offer_skill_matches(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(
        MemberSkill.member_id == Member.id, MemberSkill.kind == ListingKind.OFFER, *conditions
    )


def area_condition(viewer: Member, area: str) -> ColumnElement[bool]:
    """Members whose area is ``area`` and who let the viewer see it: filtering by a hidden area
    would reveal it."""
    matches = func.lower(Member.area) == area.strip().lower()
    if viewer.is_coordinator:
        return matches
    return and_(matches, or_(Member.show_area.is_(True), Member.id == viewer.id))


def _conditions(viewer: Member, filters: DirectoryFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Member.timebank_id == viewer.timebank_id,
        Member.status == MemberStatus.APPROVED,
    ]
    for word in search_words(filters.query):
        pattern = contains_pattern(word)
        conditions.append(
            or_(
                Member.display_name.ilike(pattern, escape="\\"),
                Member.offers_text.ilike(pattern, escape="\\"),
                _offer_skill_matches(MemberSkill.label.ilike(pattern, escape="\\")),
                _offer_skill_matches(
                    MemberSkill.category_id.in_(
                        select(Category.id).where(
                            Category.timebank_id == viewer.timebank_id,
                            Category.name.ilike(pattern, escape="\\"),
                        )
                    )
                ),
            )
        )
    if filters.category_id is not None:
        conditions.append(
            _offer_skill_matches(MemberSkill.category_id == filters.category_id)
            if is_storable_id(filters.category_id)
            else false()
        )
    if filters.area.strip():
        conditions.append(area_condition(viewer, filters.area))
    return conditions


def search_directory(
    session: Session,
    viewer: Member,
    filters: DirectoryFilters,
    page: int | None = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[DirectoryEntry]:
    """Approved members of the viewer's timebank matching every word of the search (name, what
    they offer, or its category), in name order. Never another timebank's members, never
    applicants, suspended or departed members."""
    if viewer.timebank_id is None:
        return Page(items=[], page=1, per_page=per_page, total=0)
    conditions = _conditions(viewer, filters)
    total = session.scalar(select(func.count()).select_from(Member).where(*conditions)) or 0
    number = clamp_page(page, total, per_page)
    members = session.scalars(
        select(Member)
        .where(*conditions)
        .options(selectinload(Member.skills).selectinload(MemberSkill.category))
        .order_by(func.lower(Member.display_name), Member.id)
        .offset((number - 1) * per_page)
        .limit(per_page)
    ).all()
    items = [
        DirectoryEntry(
            member_id=member.id,
            display_name=member.display_name,
            area=visible_area(viewer, member),
            offer_skills=[
                SkillView(label=skill.label, category=skill.category.name if skill.category else None)
                for skill in member.skills
                if skill.kind == ListingKind.OFFER
            ],
            offers_text=member.offers_text,
        )
        for member in members
    ]
    return Page(items=items, page=number, per_page=per_page, total=total)


def known_areas(session: Session, viewer: Member) -> list[str]:
    """The areas approved members of the viewer's timebank show to the viewer, for a filter list."""
    if viewer.timebank_id is None:
        return []
    conditions: list[ColumnElement[bool]] = [
        Member.timebank_id == viewer.timebank_id,
        Member.status == MemberStatus.APPROVED,
        Member.area != "",
    ]
    if not viewer.is_coordinator:
        conditions.append(or_(Member.show_area.is_(True), Member.id == viewer.id))
    areas = session.scalars(select(Member.area).where(*conditions).distinct()).all()
    unique: dict[str, str] = {}
    for area in areas:
        unique.setdefault(area.lower(), area)
    return sorted(unique.values(), key=str.lower)


def timebank_categories(session: Session, viewer: Member) -> list[Category]:
    if viewer.timebank_id is None:
        return []
    return list(
        session.scalars(select(Category).where(Category.timebank_id == viewer.timebank_id).order_by(Category.name))
    )
