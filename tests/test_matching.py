"""Explainable matching: the ranking's order and its reasons, pinned on hand-made cases.

Scores here follow from ``timebank.matching.service.WEIGHTS``; if the weights change on purpose,
these orders are what to re-check.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from timebank import ledger
from timebank.listings.errors import ListingNotFound
from timebank.matching.service import (
    WEIGHTS,
    match_offer,
    match_request,
    suggestions_for,
)
from timebank.matching.text import stem, words
from timebank.models import (
    Category,
    Listing,
    ListingKind,
    ListingStatus,
    MemberSkill,
    MemberStatus,
    TransferPurpose,
)
from timebank.timebanks.service import organisation_account

TODAY = date.today()


# --- building hand-made cases ---------------------------------------------------------------


def category(session, timebank, name: str) -> Category:  # type: ignore[no-untyped-def]
    return session.scalars(select(Category).where(Category.timebank_id == timebank.id, Category.name == name)).one()


def person(factory, session, timebank, name, status=MemberStatus.APPROVED, **profile):  # type: ignore[no-untyped-def]
    member = factory.member(timebank, name, status=status)
    for key, value in profile.items():
        setattr(member, key, value)
    session.commit()
    return member


def listing(  # type: ignore[no-untyped-def]
    session,
    member,
    kind,
    title,
    cat=None,
    description="",
    tags="",
    status=ListingStatus.OPEN,
    ends_on=None,
):
    item = Listing(
        timebank_id=member.timebank_id,
        member_id=member.id,
        kind=kind,
        title=title,
        category_id=cat.id if cat else None,
        description=description,
        tags=tags,
        status=status,
        ends_on=ends_on,
    )
    session.add(item)
    session.commit()
    return item


def offer(session, member, title, cat=None, **kwargs):  # type: ignore[no-untyped-def]
    return listing(session, member, ListingKind.OFFER, title, cat, **kwargs)


def request(session, member, title, cat=None, **kwargs):  # type: ignore[no-untyped-def]
    return listing(session, member, ListingKind.REQUEST, title, cat, **kwargs)


def skill(session, member, label, cat=None, kind=ListingKind.OFFER):  # type: ignore[no-untyped-def]
    session.add(MemberSkill(member_id=member.id, kind=kind, label=label, category_id=cat.id if cat else None))
    session.commit()


_given_count = 0


def gave(session, member, minutes, days_ago, purpose=TransferPurpose.EXCHANGE):  # type: ignore[no-untyped-def]
    """The member earned ``minutes`` as a provider ``days_ago`` days ago (paid by the organisation)."""
    global _given_count
    _given_count += 1
    org = organisation_account(session, member.timebank_id)
    with ledger.write_transaction(session):
        ledger.create_transfer(
            session,
            timebank_id=member.timebank_id,
            debit_account_id=org.id,
            credit_account_id=member.account.id,
            amount_minutes=minutes,
            value_date=TODAY - timedelta(days=days_ago),
            purpose=purpose,
            idempotency_key=f"given-{_given_count}",
        )


def names(suggestions) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.member.display_name for s in suggestions]


# --- the gardening request: the whole ranking, pinned -------------------------------------------


@pytest.fixture
def garden(factory, session):  # type: ignore[no-untyped-def]
    """A gardening request by Alice and the people who might (or must never) be suggested."""
    world = factory.world()
    tb = world.timebank
    gardening, cooking = category(session, tb, "Gardening"), category(session, tb, "Cooking")
    alice = world.alice
    alice.area, alice.availability = "Riverside", "sat-morning,mon-evening"
    session.commit()
    need = request(session, alice, "Help with my garden", gardening, description="Weeding and tidying the borders")
    offer(session, alice, "Gardening tips", gardening)  # the requester's own offer: never suggested

    ann = person(factory, session, tb, "Ann", area=" riverside", availability="sat-morning,sun-afternoon")
    ann_offer = offer(session, ann, "Gardening and weeding", gardening)
    gave(session, ann, 600, days_ago=10)

    ben = person(factory, session, tb, "Ben")
    skill(session, ben, "Gardening", gardening)

    cal = person(factory, session, tb, "Cal", area="Riverside", availability="sat-morning")
    offer(session, cal, "Home cooking", cooking)

    dot = person(factory, session, tb, "Dot", status=MemberStatus.SUSPENDED, area="Riverside")
    offer(session, dot, "Gardening and weeding", gardening)
    skill(session, dot, "Gardening", gardening)

    eve = person(factory, session, world.other_timebank, "Eve", area="Riverside")
    offer(session, eve, "Gardening and weeding", category(session, world.other_timebank, "Gardening"))

    fay = person(factory, session, tb, "Fay", status=MemberStatus.APPLIED)
    skill(session, fay, "Gardening", gardening)
    fay.offers_text = "Gardening, weeding"
    session.commit()

    gil = person(factory, session, tb, "Gil", area="RIVERSIDE")
    gil_offer = offer(session, gil, "Weeding")
    gave(session, gil, 120, days_ago=200)

    hal = person(factory, session, tb, "Hal")
    skill(session, hal, "Gardening", gardening)
    skill(session, hal, "Gardening help wanted", gardening, kind=ListingKind.REQUEST)
    gave(session, hal, 60, days_ago=5)

    # Declined and departed members with a perfect fit are never suggested either.
    for status in (MemberStatus.DECLINED, MemberStatus.LEFT):
        gone = person(factory, session, tb, f"Gone {status}", status=status, area="Riverside")
        offer(session, gone, "Gardening", gardening)
    return world, need, {"ann_offer": ann_offer, "gil_offer": gil_offer}


def test_gardening_request_ranks_fit_then_time_and_place_then_fairness(session, garden):
    world, need, offers = garden
    suggestions = match_request(session, world.alice, need.id)

    assert names(suggestions) == ["Ann", "Ben", "Hal", "Gil"]
    assert [s.score for s in suggestions] == [0.6917, 0.5833, 0.5143, 0.2733]
    ann, ben, hal, gil = suggestions
    assert ann.reasons == [
        "Offers gardening, which is what this request is about",
        "Their offer mentions 'gardening' and 'weeding'",
        "Both free on Saturday mornings",
        "Lives in the same area (riverside)",
    ]
    assert ben.reasons == [
        "Offers gardening, which is what this request is about",
        "Lists 'gardening' among what they can offer",
        "Has not had the chance to give time yet",
    ]
    assert hal.reasons == [
        "Offers gardening, which is what this request is about",
        "Lists 'gardening' among what they can offer",
        "Has given only a little time lately",
    ]
    assert gil.reasons == [
        "Their offer mentions 'weeding'",
        "Lives in the same area (RIVERSIDE)",
        f"Has not given time in the last {WEIGHTS.fairness_days} days",
    ]
    # The listing concerned: their matching offer, or none when they fit through their profile.
    assert ann.listing is not None and ann.listing.id == offers["ann_offer"].id
    assert ben.listing is None and hal.listing is None
    assert gil.listing is not None and gil.listing.id == offers["gil_offer"].id
    assert all(s.request.id == need.id for s in suggestions)


def test_cooking_offer_does_not_fit_a_gardening_request(session, garden):
    world, need, _ = garden
    assert "Cal" not in names(match_request(session, world.alice, need.id))


def test_suspended_applied_declined_departed_and_other_timebank_members_are_never_suggested(session, garden):
    world, need, _ = garden
    # Even a coordinator, who sees everyone, is never offered them.
    suggested = set(names(match_request(session, world.coordinator, need.id, limit=100)))
    assert suggested == {"Ann", "Ben", "Hal", "Gil"}
    assert not suggested & {"Dot", "Eve", "Fay", "Gone declined", "Gone left", "Alice"}


def test_the_requester_is_never_suggested_for_their_own_request(session, factory):
    world = factory.world()
    gardening = category(session, world.timebank, "Gardening")
    need = request(session, world.alice, "Garden tidy", gardening)
    offer(session, world.alice, "Garden tidy", gardening)
    skill(session, world.alice, "Gardening", gardening)
    world.alice.offers_text = "Garden tidying"
    session.commit()
    assert match_request(session, world.alice, need.id) == []
    assert match_request(session, world.coordinator, need.id) == []


def test_limit_keeps_the_best(session, garden):
    world, need, _ = garden
    assert names(match_request(session, world.alice, need.id, limit=2)) == ["Ann", "Ben"]


def test_every_suggestion_says_why(session, garden):
    world, need, _ = garden
    for suggestion in match_request(session, world.bob, need.id):
        assert suggestion.reasons


# --- single components -----------------------------------------------------------------------


def test_fairness_alone_decides_between_two_otherwise_equal_members(session, factory):
    world = factory.world()
    cooking = category(session, world.timebank, "Cooking")
    need = request(session, world.alice, "A hot meal on Fridays", cooking)
    busy = person(factory, session, world.timebank, "Busy")  # the lower id: would win a plain tie
    fresh = person(factory, session, world.timebank, "Fresh")
    for member in (busy, fresh):
        skill(session, member, "Cooking", cooking)
    gave(session, busy, 300, days_ago=20)

    suggestions = match_request(session, world.alice, need.id)
    assert names(suggestions) == ["Fresh", "Busy"]
    assert suggestions[0].parts["fairness"] == 1.0
    assert suggestions[1].parts["fairness"] == pytest.approx(WEIGHTS.fairness_gave_before * 0.5)
    assert suggestions[0].reasons[-1] == "Has not had the chance to give time yet"
    assert suggestions[1].reasons == ["Offers cooking, which is what this request is about"]


def test_only_posted_exchange_and_activity_credits_count_as_given(session, factory):
    world = factory.world()
    cooking = category(session, world.timebank, "Cooking")
    need = request(session, world.alice, "Batch cooking", cooking)
    donor = person(factory, session, world.timebank, "Granted")  # got a grant: has not given time
    worker = person(factory, session, world.timebank, "Worked")  # ran an activity: has given
    for member in (donor, worker):
        skill(session, member, "Cooking", cooking)
    gave(session, donor, 600, days_ago=3, purpose=TransferPurpose.GRANT)
    gave(session, worker, 600, days_ago=3, purpose=TransferPurpose.ACTIVITY)

    suggestions = match_request(session, world.alice, need.id)
    assert names(suggestions) == ["Granted", "Worked"]
    assert suggestions[0].reasons[-1] == "Has not had the chance to give time yet"
    assert suggestions[1].parts["fairness"] == 0.0


def test_members_tied_on_every_part_come_in_member_order(session, factory):
    world = factory.world()
    cooking = category(session, world.timebank, "Cooking")
    need = request(session, world.alice, "Soup", cooking)
    members = [person(factory, session, world.timebank, name) for name in ("Zed", "Amy", "Mo")]
    for member in reversed(members):
        skill(session, member, "Cooking", cooking)
    assert names(match_request(session, world.alice, need.id)) == ["Zed", "Amy", "Mo"]


def test_text_fit_without_any_category(session, factory):
    world = factory.world()
    need = request(session, world.alice, "Lifts to the shops", description="Tuesday mornings, big shop")
    driver = person(factory, session, world.timebank, "Driver")
    offer(session, driver, "Lifts in my car", tags="driving, car")
    person(factory, session, world.timebank, "Helper", offers_text="Happy to do shopping and give lifts")
    person(factory, session, world.timebank, "Knitter", offers_text="Knitting and sewing")

    suggestions = match_request(session, world.alice, need.id)
    assert names(suggestions) == ["Helper", "Driver"]
    assert suggestions[0].reasons == [
        "Their profile mentions 'shopping' and 'lifts'",
        "Has not had the chance to give time yet",
    ]
    assert suggestions[1].reasons == [
        "Their offer mentions 'lifts'",
        "Has not had the chance to give time yet",
    ]
    assert [s.parts["category"] for s in suggestions] == [0.0, 0.0]


def test_availability_overlap_orders_otherwise_equal_members(session, factory):
    world = factory.world()
    world.alice.availability = "mon-morning,thu-evening,sat-afternoon"
    session.commit()
    befriending = category(session, world.timebank, "Befriending")
    need = request(session, world.alice, "A weekly chat", befriending)
    never = person(factory, session, world.timebank, "Never", availability="sun-morning")
    once = person(factory, session, world.timebank, "Once", availability="mon-morning")
    twice = person(factory, session, world.timebank, "Twice", availability="thu-evening,mon-morning,tue-morning")
    for member in (never, once, twice):
        skill(session, member, "Befriending", befriending)

    suggestions = match_request(session, world.alice, need.id)
    assert names(suggestions) == ["Twice", "Once", "Never"]
    assert [s.parts["availability"] for s in suggestions] == [1.0, 0.5, 0.0]
    assert "Both free on Monday mornings and Thursday evenings" in suggestions[0].reasons
    assert "Both free on Monday mornings" in suggestions[1].reasons
    assert not any(reason.startswith("Both free") for reason in suggestions[2].reasons)


def test_hidden_area_and_times_count_but_are_never_put_into_words(session, factory):
    world = factory.world()
    world.alice.area, world.alice.availability = "LS6", "wed-morning"
    session.commit()
    cooking = category(session, world.timebank, "Cooking")
    need = request(session, world.alice, "Soup", cooking)
    private = person(
        factory,
        session,
        world.timebank,
        "Private",
        area="LS6",
        availability="wed-morning",
        show_area=False,
        show_availability=False,
    )
    skill(session, private, "Cooking", cooking)

    seen_by_alice = match_request(session, world.alice, need.id)[0]
    assert seen_by_alice.parts["area"] == 1.0 and seen_by_alice.parts["availability"] == 0.5
    assert not any("LS6" in reason or "Wednesday" in reason for reason in seen_by_alice.reasons)
    # A coordinator sees everything, so is told.
    seen_by_coordinator = match_request(session, world.coordinator, need.id)[0]
    assert "Lives in the same area (LS6)" in seen_by_coordinator.reasons
    assert "Both free on Wednesday mornings" in seen_by_coordinator.reasons
    assert seen_by_coordinator.score == seen_by_alice.score


def test_the_requesters_hidden_area_is_not_revealed_to_another_member(session, factory):
    world = factory.world()
    world.alice.area, world.alice.show_area = "LS6", False
    session.commit()
    cooking = category(session, world.timebank, "Cooking")
    need = request(session, world.alice, "Soup", cooking)
    near = person(factory, session, world.timebank, "Near", area="LS6")
    skill(session, near, "Cooking", cooking)
    # Bob looks at Alice's request: "same area (LS6)" would tell him where Alice lives.
    reasons = match_request(session, world.bob, need.id)[0].reasons
    assert not any("LS6" in reason for reason in reasons)
    assert "Lives in the same area (LS6)" in match_request(session, world.alice, need.id)[0].reasons


# --- offers and the dashboard ------------------------------------------------------------------


def test_match_offer_lists_the_open_requests_it_could_meet_best_first(session, factory):
    world = factory.world()
    tb = world.timebank
    gardening = category(session, tb, "Gardening")
    bob = world.bob
    bob.area, bob.availability = "Riverside", "sat-morning"
    session.commit()
    mine = offer(session, bob, "Gardening and hedge trimming", gardening)

    world.alice.area, world.alice.availability = "Riverside", "sat-morning"
    session.commit()
    best = request(session, world.alice, "Hedge trimming", gardening)
    middle = request(session, world.coordinator, "Allotment weeding", gardening)
    sam = person(factory, session, tb, "Sam")
    text_only = request(session, sam, "Trim the hedge please")
    request(session, sam, "Help with my computer")  # no fit
    request(session, bob, "Gardening gloves to borrow", gardening)  # bob's own
    request(session, world.alice, "Paused garden job", gardening, status=ListingStatus.PAUSED)
    request(session, world.alice, "Closed garden job", gardening, status=ListingStatus.CLOSED)
    request(session, world.alice, "Old garden job", gardening, ends_on=TODAY - timedelta(days=2))
    offer(session, world.alice, "Gardening", gardening)  # an offer, not a request
    gone = person(factory, session, tb, "Gone", status=MemberStatus.SUSPENDED)
    request(session, gone, "Hedge trimming", gardening)
    other = category(session, world.other_timebank, "Gardening")
    request(session, world.outsider, "Hedge trimming", other)

    suggestions = match_offer(session, bob, mine.id)
    assert [s.listing.id for s in suggestions] == [best.id, middle.id, text_only.id]
    assert names(suggestions) == ["Alice", "Cora Coordinator", "Sam"]
    assert suggestions[0].reasons == [
        "Is about gardening, like this offer",
        "The request mentions 'hedge' and 'trimming'",
        "Both free on Saturday mornings",
        "Lives in the same area (Riverside)",
    ]
    assert suggestions[1].reasons == ["Is about gardening, like this offer"]
    assert suggestions[2].reasons == ["The request mentions 'trim' and 'hedge'"]
    assert "fairness" not in suggestions[0].parts
    assert all(s.request is s.listing for s in suggestions)


def test_match_request_refuses_an_offer_and_match_offer_a_request(session, factory):
    world = factory.world()
    need = request(session, world.alice, "Soup")
    have = offer(session, world.alice, "Soup")
    with pytest.raises(ListingNotFound):
        match_request(session, world.alice, have.id)
    with pytest.raises(ListingNotFound):
        match_offer(session, world.alice, need.id)


def test_dashboard_suggests_requests_that_fit_what_the_member_offers(session, factory):
    world = factory.world()
    tb = world.timebank
    cooking, lifts = category(session, tb, "Cooking"), category(session, tb, "Lifts")
    bob = world.bob
    bob.area = "Riverside"
    skill(session, bob, "Cooking", cooking)
    offer(session, bob, "Lifts to appointments", lifts, tags="car")
    world.alice.area = "riverside"
    session.commit()
    meal = request(session, world.alice, "Cooking a meal", cooking)
    ride = request(session, world.coordinator, "A lift to the hospital", lifts)
    car = request(session, world.coordinator, "Car boot sale stall")
    request(session, world.alice, "Ironing")  # no fit
    request(session, bob, "Cooking lesson", cooking)  # his own

    suggestions = suggestions_for(session, bob)
    assert [s.listing.id for s in suggestions] == [meal.id, ride.id, car.id]
    assert suggestions[0].reasons == [
        "Is about cooking, which you offer",
        "The request mentions 'cooking', like your skills",
        "Lives in your area (riverside)",
    ]
    assert suggestions[1].reasons == [
        "Is about lifts, which you offer",
        "The request mentions 'lift', like your offer",
    ]
    assert suggestions[2].reasons == ["The request mentions 'car', like your offer"]
    assert names(suggestions_for(session, bob, limit=1)) == ["Alice"]


def test_dashboard_has_nothing_for_someone_who_offers_nothing_or_is_not_approved(session, factory):
    world = factory.world()
    cooking = category(session, world.timebank, "Cooking")
    request(session, world.alice, "Cooking a meal", cooking)
    assert suggestions_for(session, world.bob) == []
    applicant = person(factory, session, world.timebank, "Applicant", status=MemberStatus.APPLIED)
    skill(session, applicant, "Cooking", cooking)
    assert suggestions_for(session, applicant) == []


# --- who may ask -------------------------------------------------------------------------------


def test_another_timebanks_participant_gets_not_found(session, factory):
    world = factory.world()
    need = request(session, world.alice, "Soup")
    have = offer(session, world.alice, "Soup")
    with pytest.raises(ListingNotFound):
        match_request(session, world.outsider, need.id)
    with pytest.raises(ListingNotFound):
        match_offer(session, world.outsider, have.id)
    with pytest.raises(ListingNotFound):
        match_request(session, world.alice, need.id + 1000)


def test_a_member_not_yet_approved_gets_not_found(session, factory):
    world = factory.world()
    need = request(session, world.alice, "Soup")
    applicant = person(factory, session, world.timebank, "Applicant", status=MemberStatus.APPLIED)
    with pytest.raises(ListingNotFound):
        match_request(session, applicant, need.id)


def test_a_closed_request_is_matched_for_its_owner_and_coordinators_only(session, factory):
    world = factory.world()
    cooking = category(session, world.timebank, "Cooking")
    need = request(session, world.alice, "Soup", cooking, status=ListingStatus.CLOSED)
    skill(session, world.bob, "Cooking", cooking)
    assert names(match_request(session, world.alice, need.id)) == ["Bob"]
    assert names(match_request(session, world.coordinator, need.id)) == ["Bob"]
    cook = person(factory, session, world.timebank, "Cook")
    with pytest.raises(ListingNotFound):
        match_request(session, cook, need.id)


def test_a_suspended_members_request_is_not_found_for_other_members(session, factory):
    world = factory.world()
    need = request(session, world.bob, "Soup")
    world.bob.status = MemberStatus.SUSPENDED
    session.commit()
    with pytest.raises(ListingNotFound):
        match_request(session, world.alice, need.id)


# --- bounded queries ---------------------------------------------------------------------------


def _statements_for(session, engine, call) -> int:  # type: ignore[no-untyped-def]
    count = 0

    def _count(*_args: object) -> None:
        nonlocal count
        count += 1

    session.expire_all()
    event.listen(engine, "before_cursor_execute", _count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    return count


def test_match_request_uses_the_same_number_of_queries_however_many_candidates(session, engine, factory):
    world = factory.world()
    cooking = category(session, world.timebank, "Cooking")
    need = request(session, world.alice, "Cooking", cooking)

    def add_candidates(n: int) -> None:
        for _ in range(n):
            cook = person(factory, session, world.timebank, None)
            skill(session, cook, "Cooking", cooking)
            offer(session, cook, "Cooking", cooking)
            gave(session, cook, 60, days_ago=3)

    def run() -> None:
        match_request(session, world.alice, need.id, limit=100)

    add_candidates(2)
    few = _statements_for(session, engine, run)
    add_candidates(6)
    many = _statements_for(session, engine, run)
    assert len(match_request(session, world.alice, need.id, limit=100)) == 8
    assert many == few


def _every_request_scored(session, member, limit):  # type: ignore[no-untyped-def]
    """What the dashboard suggested before it chose candidates in SQL: every open request of the
    timebank scored in Python. The tests below compare the real thing with it."""
    from timebank.matching import service

    today = TODAY
    own = [
        item
        for item in service._open_listings(session, member.timebank_id, ListingKind.OFFER, today, exclude_member_id=0)
        if item.member_id == member.id
    ]
    sources = service._offer_sources(member, own)
    categories = service._categories(session, member.timebank_id)
    scored = []
    for need in service._open_listings(
        session, member.timebank_id, ListingKind.REQUEST, today, exclude_member_id=member.id
    ):
        need_words = service._listing_words(need)
        fit = service._best_fit(need, need_words, sources)
        if fit is not None:
            scored.append(service._request_suggestion(member, member, need, need_words, fit, categories, "dashboard"))
    return service._limited(scored, limit)


def _shown(suggestions):  # type: ignore[no-untyped-def]
    return [(s.listing.id, s.score, s.reasons) for s in suggestions]


def test_dashboard_suggestions_read_the_same_statements_however_many_requests_are_open(session, engine, factory):
    world = factory.world()
    cooking = category(session, world.timebank, "Cooking")
    skill(session, world.bob, "Cooking", cooking)
    offer(session, world.bob, "Home cooking", cooking, tags="soup")

    def add_requests(n: int) -> None:
        for _ in range(n):
            asker = person(factory, session, world.timebank, None)
            request(session, asker, "Cooking a meal", cooking)
            request(session, asker, "Soup for a neighbour")

    def run() -> None:
        suggestions_for(session, world.bob, limit=5)

    add_requests(3)
    few = _statements_for(session, engine, run)
    add_requests(30)
    many = _statements_for(session, engine, run)
    assert many == few
    assert _shown(suggestions_for(session, world.bob)) == _shown(_every_request_scored(session, world.bob, 5))


def test_a_strong_match_is_suggested_however_many_newer_weak_ones_there_are(session, factory, monkeypatch):
    """Only the newest requests are looked at (per way of fitting), so a large timebank's dashboard
    reads a fixed amount; a request that fits by category and words is never crowded out."""
    from timebank.matching import service

    monkeypatch.setattr(service, "NEWEST", 3)
    monkeypatch.setattr(service, "PER_CATEGORY", 3)
    world = factory.world()
    tb = world.timebank
    cooking, lifts = category(session, tb, "Cooking"), category(session, tb, "Lifts")
    offer(session, world.bob, "Cooking for neighbours", cooking, tags="soup")
    strong = request(session, world.alice, "Soup and cooking", cooking)  # the oldest
    for n in range(6):  # newer, and each fits only one way
        asker = person(factory, session, tb, f"Asker {n}")
        request(session, asker, "Soup kitchen run", lifts)  # words, not category
        request(session, asker, "Baking bread", cooking)  # category, not words

    suggestions = suggestions_for(session, world.bob, limit=1)
    assert [s.listing.id for s in suggestions] == [strong.id]
    assert suggestions[0].reasons[:2] == [
        "Is about cooking, which you offer",
        "The request mentions 'soup' and 'cooking', like your offer",
    ]


def test_requests_that_only_look_like_a_fit_in_sql_do_not_hide_the_real_ones(session, engine, factory):
    """SQL's ceiling counts a stem found inside any word ("shop" in "workshop"); Python's scoring
    then drops those, and more are read until the real ones are found."""
    world = factory.world()
    skill(session, world.bob, "Shopping")
    for _ in range(45):
        request(session, person(factory, session, world.timebank, None), "Workshop bench")
    # Asked by the newest member, so it comes after every look-alike in the tie order.
    real = request(session, person(factory, session, world.timebank, "Last"), "Shopping on Fridays")

    suggestions = suggestions_for(session, world.bob, limit=1)
    assert [s.listing.id for s in suggestions] == [real.id]
    assert _shown(suggestions) == _shown(_every_request_scored(session, world.bob, 1))


# --- the page ------------------------------------------------------------------------------------


def test_matches_page_lists_suggestions_with_reasons_and_a_way_to_propose(client, auth, session, factory):
    world = factory.world()
    gardening = category(session, world.timebank, "Gardening")
    need = request(session, world.alice, "Help with my garden", gardening)
    skill(session, world.bob, "Gardening", gardening)
    auth.login(world.alice)

    response = client.get(f"/listings/{need.id}/matches")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Who could help with “Help with my garden”" in page
    assert f'href="/members/{world.bob.id}"' in page
    assert "Offers gardening, which is what this request is about" in page
    assert "Has not had the chance to give time yet" in page
    assert f'href="/exchanges/new?listing_id={need.id}&amp;member_id={world.bob.id}"' in page


def test_matches_page_for_an_offer_lists_requests(client, auth, session, factory):
    world = factory.world()
    gardening = category(session, world.timebank, "Gardening")
    request(session, world.alice, "Hedge trimming", gardening)
    mine = offer(session, world.bob, "Gardening", gardening)
    auth.login(world.bob)
    page = client.get(f"/listings/{mine.id}/matches").get_data(as_text=True)
    assert "Requests “Gardening” could meet" in page
    assert "Hedge trimming" in page
    assert "Is about gardening, like this offer" in page


def test_matches_page_shows_no_propose_button_to_someone_elses_request(client, auth, session, factory):
    world = factory.world()
    gardening = category(session, world.timebank, "Gardening")
    need = request(session, world.alice, "Help with my garden", gardening)
    helper = person(factory, session, world.timebank, "Helper")
    skill(session, helper, "Gardening", gardening)
    auth.login(world.bob)
    page = client.get(f"/listings/{need.id}/matches").get_data(as_text=True)
    assert "Helper" in page
    assert "Propose an exchange" not in page


def test_matches_page_for_another_timebanks_listing_is_not_found(client, auth, session, factory):
    world = factory.world()
    need = request(session, world.alice, "Help with my garden")
    auth.login(world.outsider)
    response = client.get(f"/listings/{need.id}/matches")
    assert response.status_code == 404
    assert "Help with my garden" not in response.get_data(as_text=True)
    assert client.get("/listings/999999/matches").status_code == 404


def test_matches_page_needs_sign_in(client, session, factory):
    world = factory.world()
    need = request(session, world.alice, "Help with my garden")
    response = client.get(f"/listings/{need.id}/matches")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- words ---------------------------------------------------------------------------------------


def test_light_stemming_joins_the_forms_people_write():
    assert {stem(w) for w in ("gardening", "gardener", "gardeners", "gardens", "garden")} == {"garden"}
    assert stem("shopping") == stem("shops") == "shop"
    assert stem("classes") == "class"
    assert stem("driving") == stem("drive") == stem("drivers")
    assert words("Help with my garden, please!") == {"garden": "garden"}


def test_listing_page_links_to_its_matches(client, auth, session, factory):
    world = factory.world()
    need = request(session, world.alice, "Help with my garden")
    auth.login(world.bob)
    page = client.get(f"/listings/{need.id}").get_data(as_text=True)
    assert f'href="/listings/{need.id}/matches"' in page
    assert "See who could help with this request, and why" in page
