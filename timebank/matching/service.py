"""Explainable matching: one ranking, its weights in one place, a reason in words for every score.

Three questions, one scoring:

- ``match_request``: for a request, the members whose offers fit (their open offers, the skills
  on their profile and what they wrote they can offer).
- ``match_offer``: for an offer, the open requests it could meet.
- ``suggestions_for``: for a member's dashboard, open requests that fit what they offer.

A suggestion's score is a weighted sum of five parts, each between 0 and 1, divided by the sum of
the weights that apply, so it is between 0 and 1 (``WEIGHTS`` below):

- category fit: the offer (or skill) is in the request's category;
- text fit: words both texts use (``matching.text``: lowercased, common words dropped, light
  stemming), each shared word counting a third, up to three;
- availability overlap: day-part slots both people are usually free (half per slot, up to two);
- same area: the same neighbourhood or postcode district, ignoring case;
- fairness (only where the candidate is the one who would give, i.e. ``match_request``): a boost
  for members who have never given time (the most) or have given little in the last 90 days.
  "Given" means minutes credited to their account by posted exchange or activity transfers.

Only a candidate that fits by category or by text is suggested; the other parts only reorder
those who fit. Ties are broken by member id, then listing id, so the order is always the same.

Who may be suggested: approved members of the same timebank, never the person who made the
listing. Suspended, applied, declined and departed members, and other timebanks, never appear.

Privacy decision: a member can hide their area and availability from other members
(``show_area``, ``show_availability``). The *score* uses them anyway, so that someone who keeps
their area private is not matched worse for it; the *reasons* never reveal them. A reason about
area or times appears only when the viewer may see both people's values (coordinators see
everything; everyone sees their own). Every suggestion still has at least one reason, because it
is only suggested when its category or words fit, and those are always visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, Select, case, false, func, literal, or_, select, true, union
from sqlalchemy.orm import Session, joinedload, selectinload

from ..clock import today_in
from ..listings.errors import ListingNotFound
from ..listings.service import get_listing
from ..members import availability
from ..members.visibility import visible_area, visible_availability
from ..models import (
    Account,
    Category,
    ListingKind,
    ListingStatus,
    Member,
    MemberStatus,
    Timebank,
    Transfer,
    TransferPhase,
    TransferPurpose,
)
from ..models import Listing as ListingModel
from . import text


@dataclass(frozen=True)
class Weights:
    """Every number the ranking uses. Change them here and nowhere else; the tests pin the order."""

    # The offer or skill is in the same category as the request: the strongest single sign.
    category: float = 0.35
    # Shared words in titles, descriptions, tags and skill labels.
    text: float = 0.25
    # Both usually free at the same times of the week.
    availability: float = 0.15
    # Same neighbourhood or postcode district: less travel, easier to meet.
    area: float = 0.10
    # Members who have given little lately, or never, get a turn: time banks grow by
    # involving everyone, not by sending every job to the same few busy givers.
    fairness: float = 0.15

    # Shared words needed for a full text fit (each shared word counts 1/3).
    text_words_for_full_fit: int = 3
    # Shared day-part slots needed for a full availability fit (each counts 1/2).
    slots_for_full_fit: int = 2
    # "Lately", for fairness.
    fairness_days: int = 90
    # Given this much in the window or more: no fairness boost at all.
    fairness_enough_minutes: int = 600
    # The boost (as a fraction of the fairness weight) for someone who has given before but
    # nothing in the window; falls linearly to 0 at ``fairness_enough_minutes``. Never given = 1.
    fairness_gave_before: float = 0.6
    # Less than this in the window is described as "only a little".
    fairness_little_minutes: int = 180
    # At most this many shared words are quoted in a reason.
    words_in_reason: int = 3


WEIGHTS = Weights()

# What counts as time given: posted (not pending, not voided) movements for help.
GIVEN_PHASES = (TransferPhase.SINGLE, TransferPhase.POST)
GIVEN_PURPOSES = (TransferPurpose.EXCHANGE, TransferPurpose.ACTIVITY)


@dataclass(frozen=True)
class Suggestion:
    """One ranked suggestion and the words that explain it.

    ``member`` is the person suggested (for ``match_request`` the one who could help; otherwise the
    person who asked). ``listing`` is the listing concerned: their offer for ``match_request``
    (None when they fit through their profile rather than an open offer), the request otherwise.
    ``request`` is always the request an exchange would be about, for "Propose an exchange".
    """

    member: Member
    listing: ListingModel | None
    request: ListingModel
    score: float
    reasons: list[str]
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Matches:
    """A listing and its suggestions, for the matches page."""

    listing: ListingModel
    suggestions: list[Suggestion]

    @property
    def is_request(self) -> bool:
        return self.listing.kind == ListingKind.REQUEST


# --- what a person offers, as sources to compare with a request -------------------------------

SourceKind = Literal["offer", "skill", "profile"]
_SOURCE_ORDER: dict[SourceKind, int] = {"offer": 0, "skill": 1, "profile": 2}


@dataclass(frozen=True)
class _Source:
    """Something a member offers: an open offer listing, an offer skill, or their profile text."""

    kind: SourceKind
    id: int
    category_id: int | None
    words: dict[str, str]
    listing: ListingModel | None = None


@dataclass(frozen=True)
class _Fit:
    source: _Source
    category: bool
    shared: list[str]  # stems, in the order they appear in the source
    value: float  # the category and text parts of the score, weighted


def _listing_words(listing: ListingModel) -> dict[str, str]:
    return text.words(listing.title, listing.description, listing.tags)


def _offer_sources(member: Member, offers: Iterable[ListingModel]) -> list[_Source]:
    sources = [
        _Source("offer", offer.id, offer.category_id, _listing_words(offer), offer)
        for offer in offers
        if offer.member_id == member.id
    ]
    sources += [
        _Source("skill", skill.id, skill.category_id, text.words(skill.label))
        for skill in member.skills
        if skill.kind == ListingKind.OFFER
    ]
    if member.offers_text.strip():
        sources.append(_Source("profile", member.id, None, text.words(member.offers_text)))
    return sources


def _best_fit(request: ListingModel, request_words: dict[str, str], sources: Sequence[_Source]) -> _Fit | None:
    """The source that fits the request best (offers before skills before profile on a tie)."""
    fits = []
    for source in sources:
        category = request.category_id is not None and source.category_id == request.category_id
        shared = text.shared(source.words, request_words)
        value = WEIGHTS.category * category + WEIGHTS.text * min(1.0, len(shared) / WEIGHTS.text_words_for_full_fit)
        if value > 0:
            fits.append(_Fit(source, category, shared, value))
    if not fits:
        return None
    return min(fits, key=lambda fit: (-round(fit.value, 9), _SOURCE_ORDER[fit.source.kind], fit.source.id))


# --- visibility --------------------------------------------------------------------------------


def _may_see_area(viewer: Member, person: Member) -> bool:
    return visible_area(viewer, person) is not None


def _may_see_availability(viewer: Member, person: Member) -> bool:
    return visible_availability(viewer, person) is not None


# --- scoring -----------------------------------------------------------------------------------

Perspective = Literal["request", "offer", "dashboard"]


@dataclass
class _Scored:
    parts: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def score(self) -> float:
        weights = {name: getattr(WEIGHTS, name) for name in self.parts}
        total = sum(weights.values())
        return round(sum(weights[name] * value for name, value in self.parts.items()) / total, 4)


def _fit_reasons(
    fit: _Fit, request_words: dict[str, str], categories: dict[int, str], perspective: Perspective
) -> list[str]:
    reasons = []
    if fit.category and fit.source.category_id is not None:
        name = categories.get(fit.source.category_id, "").lower()
        reasons.append(
            {
                "request": f"Offers {name}, which is what this request is about",
                "offer": f"Is about {name}, like this offer",
                "dashboard": f"Is about {name}, which you offer",
            }[perspective]
        )
    if fit.shared:
        shown = fit.shared[: WEIGHTS.words_in_reason]
        if perspective == "request":
            quoted = text.quote_list(fit.source.words[stem] for stem in shown)
            reasons.append(
                {
                    "offer": f"Their offer mentions {quoted}",
                    "skill": f"Lists {quoted} among what they can offer",
                    "profile": f"Their profile mentions {quoted}",
                }[fit.source.kind]
            )
        else:
            # Quote the words as the request has them, in the order the request uses them.
            in_request = [stem for stem in request_words if stem in set(shown)]
            quoted = text.quote_list(request_words[stem] for stem in in_request)
            if perspective == "offer":
                reasons.append(f"The request mentions {quoted}")
            else:
                like = {"offer": "your offer", "skill": "your skills", "profile": "your profile"}[fit.source.kind]
                reasons.append(f"The request mentions {quoted}, like {like}")
    return reasons


def _score_pair(scored: _Scored, viewer: Member, first: Member, second: Member, perspective: Perspective) -> None:
    """Availability overlap and same area between the two people an exchange would bring together."""
    slots = availability.overlap(first.availability, second.availability)
    scored.parts["availability"] = min(1.0, len(slots) / WEIGHTS.slots_for_full_fit)
    if slots and _may_see_availability(viewer, first) and _may_see_availability(viewer, second):
        ordered = [slot for slot in availability.ALL_SLOTS if slot in slots]
        named = [availability.describe_slot(slot) for slot in ordered]
        if len(named) > 3:
            named = [*named[:3], f"{len(named) - 3} other times"]
        scored.reasons.append(f"Both free on {text.and_list(named)}")

    first_area, second_area = first.area.strip(), second.area.strip()
    same_area = bool(first_area) and first_area.casefold() == second_area.casefold()
    scored.parts["area"] = 1.0 if same_area else 0.0
    if same_area and _may_see_area(viewer, first) and _may_see_area(viewer, second):
        where = "your area" if perspective == "dashboard" else "the same area"
        scored.reasons.append(f"Lives in {where} ({second_area})")


@dataclass(frozen=True)
class _Given:
    ever: bool
    recent_minutes: int


def _fairness(given: _Given | None) -> tuple[float, str | None]:
    if given is None or not given.ever:
        return 1.0, "Has not had the chance to give time yet"
    enough = WEIGHTS.fairness_enough_minutes
    value = WEIGHTS.fairness_gave_before * max(0.0, 1 - given.recent_minutes / enough)
    if given.recent_minutes == 0:
        return value, f"Has not given time in the last {WEIGHTS.fairness_days} days"
    if given.recent_minutes < WEIGHTS.fairness_little_minutes:
        return value, "Has given only a little time lately"
    return value, None


def given_lately(session: Session, member_ids: Sequence[int], today: date) -> dict[int, _Given]:
    """Per member: have they ever given time, and how many minutes in the fairness window.

    One grouped query over the members' accounts' posted credits, however many members.
    """
    if not member_ids:
        return {}
    since = today - timedelta(days=WEIGHTS.fairness_days)
    recent = func.coalesce(func.sum(case((Transfer.value_date >= since, Transfer.amount_minutes), else_=0)), 0)
    rows = session.execute(
        select(Account.member_id, recent, func.count(Transfer.id))
        .join(Transfer, Transfer.credit_account_id == Account.id)
        .where(
            Account.member_id.in_(member_ids),
            Transfer.phase.in_(GIVEN_PHASES),
            Transfer.purpose.in_(GIVEN_PURPOSES),
        )
        .group_by(Account.member_id)
    ).all()
    return {member_id: _Given(ever=count > 0, recent_minutes=int(minutes)) for member_id, minutes, count in rows}


# --- reading what matching needs, in a bounded number of queries -------------------------------


def _visible_listing(session: Session, viewer: Member, listing_id: int) -> ListingModel:
    """The listing, if the viewer is an approved member of its timebank and may see it.

    What a member may see of a listing is the listings service's rule (one place); matching adds
    only that the viewer must be an approved member, never an applicant or a suspended member.
    """
    if viewer.status != MemberStatus.APPROVED or viewer.timebank_id is None:
        raise ListingNotFound("There is no such listing.")
    return get_listing(session, viewer, listing_id)


def _today(session: Session, timebank_id: int, today: date | None) -> date:
    if today is not None:
        return today
    timebank = session.get(Timebank, timebank_id)
    return today_in(timebank.time_zone if timebank else "Europe/London")


def _categories(session: Session, timebank_id: int) -> dict[int, str]:
    rows = session.execute(select(Category.id, Category.name).where(Category.timebank_id == timebank_id))
    return {category_id: name for category_id, name in rows}


def _open_conditions(
    timebank_id: int, kind: ListingKind, today: date, exclude_member_id: int
) -> list[ColumnElement[bool]]:
    """Open, unexpired listings of one kind by approved members (the query joins Member)."""
    return [
        ListingModel.timebank_id == timebank_id,
        ListingModel.kind == kind,
        ListingModel.status == ListingStatus.OPEN,
        or_(ListingModel.ends_on.is_(None), ListingModel.ends_on >= today),
        Member.timebank_id == timebank_id,
        Member.status == MemberStatus.APPROVED,
        ListingModel.member_id != exclude_member_id,
    ]


def _open_listings(
    session: Session, timebank_id: int, kind: ListingKind, today: date, *, exclude_member_id: int
) -> list[ListingModel]:
    """Open, unexpired listings of one kind by approved members, with their members loaded."""
    return list(
        session.scalars(
            select(ListingModel)
            .join(Member, Member.id == ListingModel.member_id)
            .where(*_open_conditions(timebank_id, kind, today, exclude_member_id))
            .options(joinedload(ListingModel.member))
            .order_by(ListingModel.id)
        ).unique()
    )


def _limited(scored: list[Suggestion], limit: int) -> list[Suggestion]:
    scored.sort(key=lambda s: (-s.score, s.member.id, s.listing.id if s.listing else 0))
    return scored[: max(limit, 0)]


# --- open requests that could fit, best first, without reading them all -------------------------
#
# A large timebank has thousands of open requests; loading and scoring each in Python was most of
# the member dashboard's time, and grew with the timebank. Two steps keep it to a fixed amount:
#
# 1. Which requests are looked at: the newest ``NEWEST`` open requests of the timebank, and per
#    category the giver offers in, the newest ``PER_CATEGORY`` open requests in it and the newest
#    ``PER_CATEGORY`` in it that also share a word. Each walks an index newest first and stops,
#    so the work does not grow with the timebank, and a request that fits by category and words
#    is not crowded out by newer ones that fit only one way. Where a timebank has fewer open
#    requests than that (most do), this is every request, and the result is exactly what scoring
#    every request gave.
# 2. In what order: SQL ranks that window by a *ceiling* on each request's score, built from the
#    same parts and weights, and Python scores exactly (``_best_fit``, ``_request_suggestion``:
#    the one scoring rule) only the best few, in batches, until no request left unscored could
#    still beat, or tie and come before, the last one kept. SQL never decides a score.
#
# The ceiling is never below the real score:
# - category: the request is in the category of one of the giver's sources (the score uses the
#   best single source, whose category is one of these);
# - text: how many of the sources' word stems occur anywhere in the request's lowercased title,
#   description and tags (every word with a stem contains it: ``text.stem`` only cuts words
#   short, except that "-ies" becomes "y", so a final "y" is left out of the pattern);
# - availability and area: as ``_score_pair`` has them (slots are whole comma-separated items;
#   areas compared trimmed and lowercased).

NEWEST = 200  # the newest open requests looked at, whatever they are about
PER_CATEGORY = 200  # and the newest per category the giver offers in (and with a shared word)
_FIRST_BATCH = 20  # requests scored exactly before checking whether more could enter


def _stem_pattern(stem: str) -> str:
    """The part of a stem that every word it came from contains."""
    return stem[:-1] if stem.endswith("y") and len(stem) > 1 else stem


def _count(conditions: Sequence[ColumnElement[bool]]) -> ColumnElement[int]:
    total: ColumnElement[int] = literal(0)
    for condition in conditions:
        total = total + case((condition, 1), else_=0)
    return total


def _capped(value: ColumnElement[int], cap: int) -> ColumnElement[int]:
    return case((value > cap, cap), else_=value)


@dataclass(frozen=True)
class _Ceiling:
    """A request's score ceiling, as the counts SQL read (words and slots not yet capped)."""

    listing_id: int
    member_id: int
    category: int
    words: int
    slots: int
    area: int

    def score(self) -> float:
        """The ceiling, with the same weights and arithmetic as the real score."""
        scored = _Scored()
        scored.parts["category"] = float(self.category)
        scored.parts["text"] = min(1.0, self.words / WEIGHTS.text_words_for_full_fit)
        scored.parts["availability"] = min(1.0, self.slots / WEIGHTS.slots_for_full_fit)
        scored.parts["area"] = float(self.area)
        return scored.score()


def _ceiling_query(
    giver: Member, sources: Sequence[_Source], timebank_id: int, today: date
) -> Select[tuple[int, int, int, int, int, int]]:
    """The window of open requests that could fit the sources (see the notes above), by score
    ceiling, highest first, then in the order ties are shown (member, then listing)."""
    haystack = func.lower(ListingModel.title + " " + ListingModel.description + " " + ListingModel.tags)
    stems = sorted({stem for source in sources for stem in source.words})
    # Stems are [a-z0-9] only (``text.words``): nothing to escape in LIKE.
    word_hits = [haystack.like(f"%{_stem_pattern(stem)}%") for stem in stems]
    any_word = or_(*word_hits) if word_hits else false()
    category_ids = sorted({source.category_id for source in sources if source.category_id is not None})
    in_category = ListingModel.category_id.in_(category_ids) if category_ids else false()

    def newest(limit: int, *conditions: ColumnElement[bool]) -> Select[tuple[int]]:
        # Only listing columns, so it walks ix_listings_timebank_kind_status_(category_)id.
        window = (
            select(ListingModel.id)
            .where(
                ListingModel.timebank_id == timebank_id,
                ListingModel.kind == ListingKind.REQUEST,
                ListingModel.status == ListingStatus.OPEN,
                *conditions,
            )
            .order_by(ListingModel.id.desc())
            .limit(limit)
            .subquery()
        )
        return select(window.c.id)

    windows = [newest(NEWEST)]
    for category_id in category_ids:
        windows.append(newest(PER_CATEGORY, ListingModel.category_id == category_id))
        if word_hits:
            windows.append(newest(PER_CATEGORY, ListingModel.category_id == category_id, any_word))
    looked_at = union(*windows)

    padded = literal(",") + Member.availability + literal(",")
    slots = _count([padded.like(f"%,{slot},%") for slot in sorted(availability.parse(giver.availability))])
    area = giver.area.strip()
    # An area SQL may lower differently from Python counts as perhaps the same for everyone,
    # which costs only time.
    same_area: ColumnElement[bool]
    if not area:
        same_area = false()
    elif area.isascii():
        same_area = func.lower(func.trim(Member.area)) == area.casefold()
    else:
        same_area = true()
    parts = (
        select(
            ListingModel.id.label("listing_id"),
            ListingModel.member_id.label("member_id"),
            case((in_category, 1), else_=0).label("category"),
            _count(word_hits).label("words"),
            slots.label("slots"),
            case((same_area, 1), else_=0).label("area"),
        )
        .join(Member, Member.id == ListingModel.member_id)
        .where(
            ListingModel.id.in_(looked_at),
            # The rest of ``_open_conditions``: the windows have the listing's own.
            or_(ListingModel.ends_on.is_(None), ListingModel.ends_on >= today),
            Member.timebank_id == timebank_id,
            Member.status == MemberStatus.APPROVED,
            ListingModel.member_id != giver.id,
        )
        # Worked out once per request, not again for the ordering below.
        .cte("ceilings")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    # Whole numbers, so equal ceilings are equal in SQL too (the weights are in hundredths).
    scale = 100 * WEIGHTS.text_words_for_full_fit * WEIGHTS.slots_for_full_fit
    ceiling = (
        parts.c.category * round(WEIGHTS.category * scale)
        + _capped(parts.c.words, WEIGHTS.text_words_for_full_fit)
        * round(WEIGHTS.text * scale / WEIGHTS.text_words_for_full_fit)
        + _capped(parts.c.slots, WEIGHTS.slots_for_full_fit)
        * round(WEIGHTS.availability * scale / WEIGHTS.slots_for_full_fit)
        + parts.c.area * round(WEIGHTS.area * scale)
    )
    return (
        select(parts.c.listing_id, parts.c.member_id, parts.c.category, parts.c.words, parts.c.slots, parts.c.area)
        .where(or_(parts.c.category > 0, parts.c.words > 0))  # fits by category or words
        .order_by(ceiling.desc(), parts.c.member_id, parts.c.listing_id)
    )


def _best_requests(
    session: Session,
    viewer: Member,
    giver: Member,
    sources: Sequence[_Source],
    categories: dict[int, str],
    today: date,
    limit: int,
    perspective: Perspective,
) -> list[Suggestion]:
    """The ``limit`` open requests that fit the giver's sources best, scored as ``_request_suggestion``
    scores them; see the notes above for why only a few are read."""
    if limit <= 0 or giver.timebank_id is None:
        return []
    query = _ceiling_query(giver, sources, giver.timebank_id, today)
    scored: list[Suggestion] = []
    offset, batch = 0, max(_FIRST_BATCH, limit)
    while True:
        rows = [_Ceiling(*row) for row in session.execute(query.offset(offset).limit(batch + 1))]
        page, following = rows[:batch], rows[batch] if len(rows) > batch else None
        requests = session.scalars(
            select(ListingModel)
            .where(ListingModel.id.in_([row.listing_id for row in page]))
            .options(joinedload(ListingModel.member))
        ).unique()
        for request in requests:
            request_words = _listing_words(request)
            fit = _best_fit(request, request_words, sources)
            if fit is not None:
                scored.append(_request_suggestion(viewer, giver, request, request_words, fit, categories, perspective))
        best = _limited(scored, limit)
        if following is None or _settled(best, limit, following):
            return best
        scored = best
        offset, batch = offset + batch, batch * 4


def _settled(best: list[Suggestion], limit: int, following: _Ceiling) -> bool:
    """Whether no request from ``following`` on can enter ``best``: their ceilings are at most
    ``following``'s, and one equal to it comes after it in the tie order."""
    if len(best) < limit:
        return False
    last = best[-1]
    ceiling = following.score()
    assert last.listing is not None
    return last.score > ceiling or (
        last.score == ceiling and (last.member.id, last.listing.id) < (following.member_id, following.listing_id)
    )


# --- the three questions -----------------------------------------------------------------------


def match_request(
    session: Session, viewer: Member, listing_id: int, limit: int = 10, *, today: date | None = None
) -> list[Suggestion]:
    """Members whose offers fit this request, best first, each with the reasons in words."""
    request = _visible_listing(session, viewer, listing_id)
    if request.kind != ListingKind.REQUEST:
        raise ListingNotFound("There is no such request.")
    requester = request.member
    today = _today(session, request.timebank_id, today)
    categories = _categories(session, request.timebank_id)
    candidates = session.scalars(
        select(Member)
        .where(
            Member.timebank_id == request.timebank_id,
            Member.status == MemberStatus.APPROVED,
            Member.id != requester.id,
        )
        .options(selectinload(Member.skills))
        .order_by(Member.id)
    ).all()
    offers = _open_listings(session, request.timebank_id, ListingKind.OFFER, today, exclude_member_id=requester.id)
    offers_by_member: dict[int, list[ListingModel]] = {}
    for offer in offers:
        offers_by_member.setdefault(offer.member_id, []).append(offer)

    request_words = _listing_words(request)
    fitting: list[tuple[Member, _Fit]] = []
    for candidate in candidates:
        fit = _best_fit(request, request_words, _offer_sources(candidate, offers_by_member.get(candidate.id, [])))
        if fit is not None:
            fitting.append((candidate, fit))

    given = given_lately(session, [candidate.id for candidate, _ in fitting], today)
    suggestions = []
    for candidate, fit in fitting:
        scored = _Scored()
        scored.parts["category"] = 1.0 if fit.category else 0.0
        scored.parts["text"] = min(1.0, len(fit.shared) / WEIGHTS.text_words_for_full_fit)
        scored.reasons += _fit_reasons(fit, request_words, categories, "request")
        _score_pair(scored, viewer, requester, candidate, "request")
        scored.parts["fairness"], fairness_reason = _fairness(given.get(candidate.id))
        if fairness_reason:
            scored.reasons.append(fairness_reason)
        suggestions.append(
            Suggestion(candidate, fit.source.listing, request, scored.score(), scored.reasons, dict(scored.parts))
        )
    return _limited(suggestions, limit)


def match_offer(
    session: Session, viewer: Member, listing_id: int, limit: int = 10, *, today: date | None = None
) -> list[Suggestion]:
    """Open requests this offer could meet, best first, each with the reasons in words.

    The offerer is the giver for every one of them, so fairness would not change the order and
    is left out of this score.
    """
    offer = _visible_listing(session, viewer, listing_id)
    if offer.kind != ListingKind.OFFER:
        raise ListingNotFound("There is no such offer.")
    offerer = offer.member
    today = _today(session, offer.timebank_id, today)
    categories = _categories(session, offer.timebank_id)
    source = _Source("offer", offer.id, offer.category_id, _listing_words(offer), offer)
    return _best_requests(session, viewer, offerer, [source], categories, today, limit, "offer")


def suggestions_for(session: Session, member: Member, limit: int = 5, *, today: date | None = None) -> list[Suggestion]:
    """Open requests in the member's timebank that fit what they offer (open offers, offer skills,
    what they wrote they can offer), best first. Empty for anyone not an approved member."""
    if member.status != MemberStatus.APPROVED or member.timebank_id is None:
        return []
    today = _today(session, member.timebank_id, today)
    categories = _categories(session, member.timebank_id)
    own_offers = session.scalars(
        select(ListingModel)
        .where(
            ListingModel.member_id == member.id,
            ListingModel.timebank_id == member.timebank_id,
            ListingModel.kind == ListingKind.OFFER,
            ListingModel.status == ListingStatus.OPEN,
            or_(ListingModel.ends_on.is_(None), ListingModel.ends_on >= today),
        )
        .order_by(ListingModel.id)
    ).all()
    sources = _offer_sources(member, own_offers)
    if not sources:
        return []
    return _best_requests(session, member, member, sources, categories, today, limit, "dashboard")


def _request_suggestion(
    viewer: Member,
    giver: Member,
    request: ListingModel,
    request_words: dict[str, str],
    fit: _Fit,
    categories: dict[int, str],
    perspective: Perspective,
) -> Suggestion:
    scored = _Scored()
    scored.parts["category"] = 1.0 if fit.category else 0.0
    scored.parts["text"] = min(1.0, len(fit.shared) / WEIGHTS.text_words_for_full_fit)
    scored.reasons += _fit_reasons(fit, request_words, categories, perspective)
    _score_pair(scored, viewer, giver, request.member, perspective)
    return Suggestion(request.member, request, request, scored.score(), scored.reasons, dict(scored.parts))


def matches_for_listing(
    session: Session, viewer: Member, listing_id: int, limit: int = 10, *, today: date | None = None
) -> Matches:
    """The matches page: members who could help with a request, or requests an offer could meet."""
    listing = _visible_listing(session, viewer, listing_id)
    if listing.kind == ListingKind.REQUEST:
        return Matches(listing, match_request(session, viewer, listing_id, limit, today=today))
    return Matches(listing, match_offer(session, viewer, listing_id, limit, today=today))


__all__ = [
    "WEIGHTS",
    "Matches",
    "Suggestion",
    "Weights",
    "given_lately",
    "match_offer",
    "match_request",
    "matches_for_listing",
    "suggestions_for",
]
