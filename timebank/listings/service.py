"""Listings: offers and requests. Creating, changing, pausing, closing, and finding them.

Who may do what:
- any approved member creates listings for themself; a coordinator may create one for a member
  of their timebank (audited as acting on their behalf);
- the owner, or a coordinator of the timebank, edits, pauses, reopens and closes it;
- members see OPEN listings of approved members of their own timebank; a closed listing, or
  one whose owner is not approved, is "not found" to everyone but its owner and coordinators;
  another timebank's listing is always "not found".

Search (``search_listings``) is shared by the web pages and the JSON API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, case, cast, desc, false, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session, joinedload

from ..audit.service import record as audit
from ..clock import today_in
from ..hours import hours_in_words
from ..ids import is_storable_id
from ..ledger import write_transaction
from ..members import availability as slots
from ..members.directory import area_condition
from ..members.visibility import acting_for, sees_everything, visible_area
from ..models import Category, Listing, ListingKind, ListingStatus, Member, MemberStatus, Timebank
from ..models.listing import SEARCH_DOCUMENT, search_document_in_timebank, timebank_search_word
from ..pagination import DEFAULT_PER_PAGE, Page, clamp_page
from ..text_search import contains_pattern, search_words
from .errors import InvalidListing, ListingNotAllowed, ListingNotFound, ListingStateConflict

MAX_TITLE = 120
MAX_DESCRIPTION = 5000
MAX_TAGS = 300
MAX_ESTIMATE_MINUTES = 100 * 60

KIND_WORDS = {ListingKind.OFFER: "offer", ListingKind.REQUEST: "request"}


@dataclass(frozen=True)
class ListingInput:
    kind: ListingKind
    category_id: int | None
    title: str
    description: str = ""
    tags: str = ""
    estimated_minutes: int | None = None
    ends_on: date | None = None


@dataclass(frozen=True)
class ListingFilters:
    query: str = ""
    kind: ListingKind | None = None
    category_id: int | None = None
    area: str = ""  # the owner's area, as they show it
    day: str = ""  # "sat": the owner is usually free some part of Saturday
    part: str = ""  # "evening": the owner is usually free some evening


@dataclass(frozen=True)
class ListingSummary:
    """One search result, with only what the viewer may see of its owner."""

    id: int
    kind: ListingKind
    title: str
    description: str
    tags: list[str]
    category: str | None
    estimated_minutes: int | None
    ends_on: date | None
    created_at: datetime
    owner_id: int
    owner_name: str
    owner_area: str | None


def split_tags(tags: str) -> list[str]:
    return [tag for tag in (part.strip() for part in tags.split(",")) if tag]


def normalise_tags(text: str) -> str:
    """'Garden,  weeding , garden' → 'garden, weeding': lower case, no repeats."""
    seen: list[str] = []
    for tag in split_tags(text or ""):
        tag = " ".join(tag.lower().split())
        if tag not in seen:
            seen.append(tag)
    return ", ".join(seen)


def _today(timebank: Timebank, today: date | None) -> date:
    return today if today is not None else today_in(timebank.time_zone)


def end_date_problem(ends_on: date | None, today: date) -> str | None:
    """Why a listing cannot end on ``ends_on`` (the form asks before saying the date back)."""
    if ends_on is not None and ends_on < today:
        return "The end date is in the past. Choose today or a later date, or leave it empty."
    return None


def _timebank_of(session: Session, member: Member) -> Timebank:
    timebank = session.get(Timebank, member.timebank_id) if member.timebank_id is not None else None
    if timebank is None:
        raise ListingNotFound("There is no such listing.")
    return timebank


def _checked(session: Session, timebank: Timebank, data: ListingInput, today: date) -> dict[str, object]:
    title = " ".join(data.title.split())
    if not title:
        raise InvalidListing("Enter a short title.", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidListing(f"The title must be {MAX_TITLE} characters or fewer.", field="title")
    description = data.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidListing(
            f"The description must be {MAX_DESCRIPTION} characters or fewer.", field="description"
        )
    tags = normalise_tags(data.tags)
    if len(tags) > MAX_TAGS:
        raise InvalidListing(f"The tags must be {MAX_TAGS} characters or fewer in all.", field="tags")
    if data.kind not in (ListingKind.OFFER, ListingKind.REQUEST):
        raise InvalidListing("Choose whether this is an offer or a request.", field="kind")
    if data.category_id is None:
        raise InvalidListing("Choose a category.", field="category_id")
    category = session.get(Category, data.category_id) if is_storable_id(data.category_id) else None
    if category is None or category.timebank_id != timebank.id:
        raise InvalidListing("Choose one of the categories in the list.", field="category_id")
    minutes = data.estimated_minutes
    if minutes is not None:
        if minutes <= 0 or minutes % timebank.granularity_minutes:
            raise InvalidListing(
                f"Give the time in steps of {timebank.granularity_minutes} minutes.", field="estimated_minutes"
            )
        if minutes > MAX_ESTIMATE_MINUTES:
            raise InvalidListing(
                f"The rough time must be {hours_in_words(MAX_ESTIMATE_MINUTES)} or less.", field="estimated_minutes"
            )
    if problem := end_date_problem(data.ends_on, today):
        raise InvalidListing(problem, field="ends_on")
    return {
        "kind": data.kind,
        "category_id": category.id,
        "title": title,
        "description": description,
        "tags": tags,
        "estimated_minutes": minutes,
        "ends_on": data.ends_on,
    }


def _require_active(actor: Member) -> None:
    if actor.status != MemberStatus.APPROVED or actor.timebank_id is None:
        raise ListingNotAllowed("Your membership is not active, so you cannot change listings.")


def create_listing(
    session: Session,
    actor: Member,
    data: ListingInput,
    *,
    owner_id: int | None = None,
    today: date | None = None,
) -> Listing:
    """A new open listing, for the actor or (a coordinator acting for them) a member of their
    timebank."""
    with write_transaction(session):
        _require_active(actor)
        if owner_id is None or owner_id == actor.id:
            owner: Member | None = actor
        else:
            owner = session.get(Member, owner_id) if is_storable_id(owner_id) else None
        if owner is None or owner.timebank_id != actor.timebank_id:
            raise ListingNotFound("There is no such member.")
        if not sees_everything(actor, owner):
            raise ListingNotAllowed("You can only add listings for yourself.")
        if owner.status != MemberStatus.APPROVED:
            raise ListingStateConflict("Only approved members can have listings.")
        timebank = _timebank_of(session, owner)
        values = _checked(session, timebank, data, _today(timebank, today))
        listing = Listing(
            timebank_id=timebank.id, member_id=owner.id, created_by_id=actor.id, status=ListingStatus.OPEN, **values
        )
        session.add(listing)
        session.flush()
        audit(
            session,
            action="listing.created",
            subject_type="listing",
            subject_id=listing.id,
            actor=actor,
            timebank_id=timebank.id,
            on_behalf_of=acting_for(actor, owner),
            after={"kind": str(listing.kind), "title": listing.title},
        )
    return listing


def _load(session: Session, viewer: Member, listing_id: int) -> Listing:
    listing = session.get(Listing, listing_id) if is_storable_id(listing_id) else None
    if listing is None or viewer.timebank_id is None or listing.timebank_id != viewer.timebank_id:
        raise ListingNotFound("There is no such listing.")
    return listing


def can_manage(viewer: Member, listing: Listing) -> bool:
    """The owner, or a coordinator of the listing's timebank."""
    return viewer.timebank_id == listing.timebank_id and sees_everything(viewer, listing.member)


def get_listing(session: Session, viewer: Member, listing_id: int) -> Listing:
    """The listing, if the viewer may see it (see the module's notes)."""
    listing = _load(session, viewer, listing_id)
    if can_manage(viewer, listing):
        return listing
    if listing.status == ListingStatus.CLOSED or listing.member.status != MemberStatus.APPROVED:
        raise ListingNotFound("There is no such listing.")
    return listing


def _load_for_change(session: Session, actor: Member, listing_id: int) -> Listing:
    _require_active(actor)
    listing = get_listing(session, actor, listing_id)
    if not can_manage(actor, listing):
        raise ListingNotAllowed("Only the person who added this listing, or a coordinator, can change it.")
    return listing


def listing_for_editing(session: Session, actor: Member, listing_id: int) -> Listing:
    return _load_for_change(session, actor, listing_id)


def update_listing(
    session: Session, actor: Member, listing_id: int, data: ListingInput, *, today: date | None = None
) -> Listing:
    with write_transaction(session):
        listing = _load_for_change(session, actor, listing_id)
        timebank = _timebank_of(session, listing.member)
        values = _checked(session, timebank, data, _today(timebank, today))
        before: dict[str, object] = {}
        after: dict[str, object] = {}
        for name, value in values.items():
            old = getattr(listing, name)
            if old != value:
                before[name] = _audit_value(old)
                after[name] = _audit_value(value)
                setattr(listing, name, value)
        if after:
            audit(
                session,
                action="listing.updated",
                subject_type="listing",
                subject_id=listing.id,
                actor=actor,
                timebank_id=listing.timebank_id,
                on_behalf_of=acting_for(actor, listing.member),
                before=before,
                after=after,
            )
    return listing


def _audit_value(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, ListingKind):
        return str(value)
    return value


# The status changes a listing allows: (from, to) → the audit action.
_TRANSITIONS = {
    (ListingStatus.OPEN, ListingStatus.PAUSED): "listing.paused",
    (ListingStatus.PAUSED, ListingStatus.OPEN): "listing.reopened",
    (ListingStatus.CLOSED, ListingStatus.OPEN): "listing.reopened",
    (ListingStatus.OPEN, ListingStatus.CLOSED): "listing.closed",
    (ListingStatus.PAUSED, ListingStatus.CLOSED): "listing.closed",
}

_CONFLICT_MESSAGES = {
    ListingStatus.OPEN: "This listing is already open.",
    ListingStatus.PAUSED: "Only an open listing can be paused.",
    ListingStatus.CLOSED: "This listing is already closed.",
}


def _change_status(
    session: Session, actor: Member, listing_id: int, new_status: ListingStatus, today: date | None
) -> Listing:
    with write_transaction(session):
        listing = _load_for_change(session, actor, listing_id)
        action = _TRANSITIONS.get((listing.status, new_status))
        if action is None:
            raise ListingStateConflict(_CONFLICT_MESSAGES[new_status])
        if new_status == ListingStatus.OPEN:
            if listing.member.status != MemberStatus.APPROVED:
                raise ListingStateConflict("Only an approved member's listing can be reopened.")
            timebank = _timebank_of(session, listing.member)
            if listing.ends_on is not None and listing.ends_on < _today(timebank, today):
                raise ListingStateConflict(
                    "This listing's end date has passed. Change the end date, then open it again."
                )
        before = str(listing.status)
        listing.status = new_status
        audit(
            session,
            action=action,
            subject_type="listing",
            subject_id=listing.id,
            actor=actor,
            timebank_id=listing.timebank_id,
            on_behalf_of=acting_for(actor, listing.member),
            before={"status": before},
            after={"status": str(new_status)},
        )
    return listing


def pause_listing(session: Session, actor: Member, listing_id: int, *, today: date | None = None) -> Listing:
    """Hide an open listing for a while; it can be reopened."""
    return _change_status(session, actor, listing_id, ListingStatus.PAUSED, today)


def reopen_listing(session: Session, actor: Member, listing_id: int, *, today: date | None = None) -> Listing:
    return _change_status(session, actor, listing_id, ListingStatus.OPEN, today)


def close_listing(session: Session, actor: Member, listing_id: int, *, today: date | None = None) -> Listing:
    return _change_status(session, actor, listing_id, ListingStatus.CLOSED, today)


def is_current(listing: Listing, today: date) -> bool:
    """Open and not past its end date: what others can propose an exchange on."""
    return listing.status == ListingStatus.OPEN and (listing.ends_on is None or listing.ends_on >= today)


def listing_today(session: Session, listing: Listing) -> date:
    return today_in(_timebank_of(session, listing.member).time_zone)


def my_listings(session: Session, viewer: Member) -> list[Listing]:
    """The viewer's own listings, open first, then paused, then closed; newest first within each."""
    if viewer.timebank_id is None:
        return []
    order = {ListingStatus.OPEN: 0, ListingStatus.PAUSED: 1, ListingStatus.CLOSED: 2}
    listings = session.scalars(
        select(Listing)
        .where(Listing.member_id == viewer.id, Listing.timebank_id == viewer.timebank_id)
        .options(joinedload(Listing.category))
        .order_by(desc(Listing.created_at), desc(Listing.id))
    ).all()
    return sorted(listings, key=lambda listing: order[listing.status])


def open_listings_of(session: Session, viewer: Member, member_id: int) -> list[ListingSummary]:
    """A member's offers and requests that are open now, as their profile shows them to the viewer
    (a member of the same timebank: the caller has already checked the viewer may see them)."""
    if viewer.timebank_id is None:
        return []
    timebank = _timebank_of(session, viewer)
    today = _today(timebank, None)
    listings = session.scalars(
        select(Listing)
        .where(
            Listing.member_id == member_id,
            Listing.timebank_id == viewer.timebank_id,
            Listing.status == ListingStatus.OPEN,
        )
        .options(joinedload(Listing.category), joinedload(Listing.member))
        .order_by(Listing.kind, desc(Listing.created_at), desc(Listing.id))
    ).all()
    return [summarise(viewer, listing) for listing in listings if is_current(listing, today)]


# --- Search ---------------------------------------------------------------------------------

# The text searched on PostgreSQL (models/listing.py). Matches are found through the GIN index
# ix_listings_timebank_search, whose expression is the text plus the listing's timebank as a word,
# so the query must use exactly ``search_document_in_timebank`` for the planner to use it; ranking
# reads the text alone.
SEARCH_DOCUMENT_SQL = SEARCH_DOCUMENT
# Qualified: the search joins members, which have a timebank_id too.
SEARCH_DOCUMENT_IN_TIMEBANK_SQL = search_document_in_timebank("listings.timebank_id")


def _document() -> ColumnElement[object]:
    return literal_column(SEARCH_DOCUMENT_SQL)


def _slot_condition(viewer: Member, filters: ListingFilters) -> ColumnElement[bool] | None:
    days = [filters.day] if filters.day else [day for day, _ in slots.DAYS]
    parts = [filters.part] if filters.part else [part for part, _ in slots.PARTS]
    if not filters.day and not filters.part:
        return None
    wanted = [f"{day}-{part}" for day in days for part in parts if f"{day}-{part}" in slots.ALL_SLOTS]
    padded = literal(",") + Member.availability + literal(",")
    overlap = or_(*(padded.like(f"%,{slot},%") for slot in wanted)) if wanted else literal(False)
    if viewer.is_coordinator:
        return overlap
    return and_(overlap, or_(Member.show_availability.is_(True), Member.id == viewer.id))


def _search_statement(
    session: Session, viewer: Member, filters: ListingFilters, today: date
) -> tuple[Select[tuple[Listing]], ColumnElement[object] | None]:
    statement = (
        select(Listing)
        .join(Member, Listing.member_id == Member.id)
        .where(
            Listing.timebank_id == viewer.timebank_id,
            Listing.status == ListingStatus.OPEN,
            Member.status == MemberStatus.APPROVED,
            Member.timebank_id == viewer.timebank_id,
            or_(Listing.ends_on.is_(None), Listing.ends_on >= today),
        )
    )
    if filters.kind is not None:
        statement = statement.where(Listing.kind == filters.kind)
    if filters.category_id is not None:
        statement = statement.where(
            Listing.category_id == filters.category_id if is_storable_id(filters.category_id) else false()
        )
    if filters.area.strip():
        statement = statement.where(area_condition(viewer, filters.area))
    slot_condition = _slot_condition(viewer, filters)
    if slot_condition is not None:
        statement = statement.where(slot_condition)
    rank: ColumnElement[object] | None = None
    words = search_words(filters.query)
    if words:
        if session.get_bind().dialect.name == "postgresql":
            query = func.websearch_to_tsquery(literal_column("'english'"), " ".join(words))
            # Matched on the document with the timebank's own word, so that the index reads
            # only this timebank's matches (models/listing.py); ranked on the text alone.
            assert viewer.timebank_id is not None  # search_listings returns early without one
            in_timebank = query.op("&&")(cast(literal(timebank_search_word(viewer.timebank_id)), TSQUERY))
            statement = statement.where(literal_column(SEARCH_DOCUMENT_IN_TIMEBANK_SQL).op("@@")(in_timebank))
            rank = func.ts_rank(_document(), query)
        else:
            for word in words:
                pattern = contains_pattern(word)
                statement = statement.where(
                    or_(
                        Listing.title.ilike(pattern, escape="\\"),
                        Listing.description.ilike(pattern, escape="\\"),
                        Listing.tags.ilike(pattern, escape="\\"),
                    )
                )
    return statement, rank


# Ranking reads every match's text again (ts_rank has no index), so a search that matches a large
# part of a big timebank would cost as much as the timebank is large. Beyond this many matches the
# words are common ones, and ranks tell little apart (one mention of "gardening" ranks the same in
# each): they are shown newest first, as on SQLite, and the page asks for fewer, better words.
RANKED_UP_TO = 200


def search_listings(
    session: Session,
    viewer: Member,
    filters: ListingFilters,
    page: int | None = 1,
    *,
    per_page: int = DEFAULT_PER_PAGE,
    today: date | None = None,
) -> Page[ListingSummary]:
    """Open, current listings of approved members of the viewer's timebank that match the
    filters; newest first, or best match first when there are search words.

    Search words: on PostgreSQL full text (English stemming, every word must match, ranked by
    ts_rank, up to ``RANKED_UP_TO`` results); on SQLite every word must appear, in any case, in the
    title, description or tags. A page number outside the results is moved to the nearest page
    that exists."""
    if viewer.timebank_id is None:
        return Page(items=[], page=1, per_page=per_page, total=0)
    timebank = _timebank_of(session, viewer)
    statement, rank = _search_statement(session, viewer, filters, _today(timebank, today))
    # One pass over the matches gives both the page and the count: the page's ids are chosen
    # with the total beside each (a window count), then only their rows are read with owner and
    # category. Ranked only when there are few enough matches (``RANKED_UP_TO``).
    total_of_all = func.count().over()
    rank_key = case((total_of_all <= RANKED_UP_TO, rank), else_=0) if rank is not None else literal(0)
    order = (desc(Listing.created_at), desc(Listing.id))

    def page_of_ids(number: int) -> tuple[list[Listing], int]:
        chosen = (
            statement.with_only_columns(Listing.id, total_of_all.label("total"), rank_key.label("rank"))
            .order_by(desc("rank"), *order)
            .offset((number - 1) * per_page)
            .limit(per_page)
            .subquery()
        )
        rows = session.execute(
            select(Listing, chosen.c.total)
            .join(chosen, chosen.c.id == Listing.id)
            .options(joinedload(Listing.member), joinedload(Listing.category))
            .order_by(desc(chosen.c.rank), *order)
        ).all()
        return [row[0] for row in rows], int(rows[0][1]) if rows else 0

    number = page if page is not None and page > 1 else 1
    listings, total = page_of_ids(number)
    if not listings and number > 1:  # past the last page: count, and show the last one
        counted = statement.with_only_columns(Listing.id).subquery()
        number = clamp_page(number, session.scalar(select(func.count()).select_from(counted)) or 0, per_page)
        listings, total = page_of_ids(number)
    return Page(
        items=[summarise(viewer, listing) for listing in listings], page=number, per_page=per_page, total=total
    )


def summarise(viewer: Member, listing: Listing) -> ListingSummary:
    return ListingSummary(
        id=listing.id,
        kind=listing.kind,
        title=listing.title,
        description=listing.description,
        tags=split_tags(listing.tags),
        category=listing.category.name if listing.category else None,
        estimated_minutes=listing.estimated_minutes,
        ends_on=listing.ends_on,
        created_at=listing.created_at,
        owner_id=listing.member_id,
        owner_name=listing.member.display_name,
        owner_area=visible_area(viewer, listing.member),
    )


def excerpt(text: str, length: int = 200) -> str:
    """The start of a description, cut at a word boundary."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + "…"
