"""Offers and requests: add, change, pause, reopen, close; browse, search and filter; and every
wrong turn answered with a clear message, a 4xx and nothing changed."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from timebank.forms_common import HoursInputError, parse_hours_to_minutes
from timebank.hours import hours_for_editing
from timebank.listings.errors import ListingNotAllowed, ListingNotFound, ListingStateConflict
from timebank.listings.service import (
    ListingFilters,
    ListingInput,
    close_listing,
    create_listing,
    get_listing,
    pause_listing,
    search_listings,
)
from timebank.members.service import create_member
from timebank.models import AuditEvent, Category, Listing, ListingKind, ListingStatus, MemberStatus, Role

TODAY = date.today()


def _category(session, timebank, name="Gardening") -> Category:  # type: ignore[no-untyped-def]
    return session.scalar(select(Category).where(Category.timebank_id == timebank.id, Category.name == name))


def _listing(session, member, title="Help in the garden", kind=ListingKind.OFFER, category="Gardening", **fields):  # type: ignore[no-untyped-def]
    category_row = _category(session, member.timebank, category)
    return create_listing(session, member, ListingInput(kind=kind, category_id=category_row.id, title=title, **fields))


def _form(session, timebank, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "kind": "offer",
        "category_id": str(_category(session, timebank).id),
        "title": "Help in the garden",
        "description": "Weeding, mowing and a cup of tea.",
        "tags": "garden, Weeding, garden",
        "hours": "1h30",
        "ends_on": "",
    }
    data.update(overrides)
    return data


def _titles(page_html: str) -> list[str]:
    return [html.unescape(title) for title in re.findall(r'<h3><a href="/listings/\d+">([^<]+)</a></h3>', page_html)]


def _count(session) -> int:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Listing)) or 0


# --- Hours typed the way people type them ------------------------------------------------------


@pytest.mark.parametrize(
    "typed, minutes",
    [
        ("1.5", 90),
        ("1:30", 90),
        ("1h30", 90),
        ("90 mins", 90),
        ("2 hours", 120),
        ("1 hour 30 minutes", 90),
        ("1 hour and 15 minutes", 75),
        ("45m", 45),
        ("0:45", 45),
        (" 3 ", 180),
        ("1,25", 75),
        (".5", 30),
    ],
)
def test_hours_are_understood_in_the_ways_people_write_them(typed, minutes):
    assert parse_hours_to_minutes(typed, 15) == minutes


@pytest.mark.parametrize(
    "typed, message",
    [
        ("", "Enter how long"),
        ("soon", "Enter the time in hours"),
        ("0", "more than zero"),
        ("-1", "Enter the time in hours"),
        ("1:10", "steps of 15 minutes"),
        ("1.33", "whole number of minutes"),
        ("1h75", "less than 60"),
        ("25", "24 hours or less"),
    ],
)
def test_hours_that_cannot_be_used_get_a_plain_message(typed, message):
    with pytest.raises(HoursInputError) as caught:
        parse_hours_to_minutes(typed, 15, maximum_minutes=24 * 60)
    assert message in caught.value.message


def test_hours_are_shown_back_for_editing_in_a_form_the_parser_reads():
    for minutes in (15, 60, 90, 135):
        assert parse_hours_to_minutes(hours_for_editing(minutes), 15) == minutes
    assert hours_for_editing(None) == ""


# --- Adding a listing --------------------------------------------------------------------------


def test_listing_pages_need_sign_in(client):
    for url in ("/listings", "/listings/new", "/listings/mine", "/listings/1"):
        assert client.get(url).status_code == 302


def test_member_adds_an_offer_with_category_tags_rough_hours_and_end_date(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    form = client.get("/listings/new?kind=request").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="request">', form)  # "Ask for help" starts as a request
    ends = TODAY + timedelta(days=30)
    typed = _form(
        session, world.timebank, **{"ends_on-day": str(ends.day), "ends_on-month": str(ends.month),
                                    "ends_on-year": str(ends.year)}
    )
    del typed["ends_on"]
    # The end date is said back in words first; nothing is listed until it was seen.
    check = client.post("/listings/new", data=typed)
    assert check.status_code == 200 and _count(session) == 0
    words = f"{ends:%A} {ends.day} {ends:%B %Y}"
    assert f"Check the date: {words}." in check.get_data(as_text=True)
    assert f'name="ends_on-shown" value="{ends.isoformat()}"' in check.get_data(as_text=True)
    response = client.post("/listings/new", data={**typed, "ends_on-shown": ends.isoformat()})
    assert response.status_code == 302
    listing = session.scalars(select(Listing)).one()
    assert response.headers["Location"].endswith(f"/listings/{listing.id}")
    assert (listing.kind, listing.title, listing.tags) == (ListingKind.OFFER, "Help in the garden", "garden, weeding")
    assert (listing.estimated_minutes, listing.ends_on, listing.status) == (
        90,
        TODAY + timedelta(days=30),
        ListingStatus.OPEN,
    )
    assert (listing.member_id, listing.created_by_id, listing.timebank_id) == (
        world.alice.id,
        world.alice.id,
        world.timebank.id,
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your offer “Help in the garden” is now listed." in page
    assert "1 hour 30 minutes" in page
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "listing.created")).one()
    assert (event.actor_id, event.on_behalf_of_id, event.subject_id) == (world.alice.id, None, listing.id)


def test_end_date_in_the_past_is_refused_and_nothing_is_listed(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    yesterday = (TODAY - timedelta(days=2)).isoformat()
    response = client.post("/listings/new", data=_form(session, world.timebank, ends_on=yesterday))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<a href="#ends_on">The end date is in the past.' in page
    assert _count(session) == 0


def test_end_date_today_is_fine(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    confirmed = {"ends_on-shown": TODAY.isoformat()}
    response = client.post("/listings/new", data=_form(session, world.timebank, ends_on=TODAY.isoformat(), **confirmed))
    assert response.status_code == 302


def test_end_date_in_british_order_is_understood_and_nonsense_is_refused(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    later = TODAY + timedelta(days=10)
    typed = _form(session, world.timebank, ends_on=later.strftime("%d/%m/%Y"))
    assert f"Check the date: {later:%A} {later.day} {later:%B %Y}." in client.post("/listings/new", data=typed).text
    response = client.post("/listings/new", data={**typed, "ends_on-shown": later.isoformat()})
    assert response.status_code == 302
    assert session.scalars(select(Listing)).one().ends_on == later
    response = client.post("/listings/new", data=_form(session, world.timebank, ends_on="next tuesday"))
    assert response.status_code == 422
    assert "Enter the date as day, month and year" in response.get_data(as_text=True)
    assert _count(session) == 1


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"title": ""}, "title", "Enter a short title."),
        ({"kind": ""}, "kind", "Choose whether this is an offer or a request."),
        ({"category_id": ""}, "category_id", "Choose a category."),
        ({"hours": "a while"}, "hours", "Enter the time in hours"),
        ({"hours": "1:10"}, "hours", "Give the time in steps of 15 minutes"),
        ({"title": "x" * 121}, "title", "Keep the title to 120 characters or fewer."),
    ],
)
def test_incomplete_listing_is_refused_with_a_message_linked_to_the_field(
    client, auth, factory, session, overrides, field, message
):
    world = factory.world()
    auth.login(world.alice)
    response = client.post("/listings/new", data=_form(session, world.timebank, **overrides))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert re.search(rf'<a href="#{field}(-0)?">{re.escape(message)}', page)
    assert _count(session) == 0


def test_another_timebanks_category_is_refused(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    foreign = _category(session, world.other_timebank)
    response = client.post("/listings/new", data=_form(session, world.timebank, category_id=str(foreign.id)))
    assert response.status_code == 422
    assert "Choose one of the categories in the list." in response.get_data(as_text=True)
    assert _count(session) == 0


def test_coordinator_adds_a_listing_for_a_member_and_the_audit_says_so(factory, session):
    world = factory.world()
    gardening = _category(session, world.timebank)
    listing = create_listing(
        session,
        world.coordinator,
        ListingInput(kind=ListingKind.REQUEST, category_id=gardening.id, title="Hedge trimming"),
        owner_id=world.alice.id,
    )
    assert (listing.member_id, listing.created_by_id) == (world.alice.id, world.coordinator.id)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "listing.created")).one()
    assert (event.actor_id, event.on_behalf_of_id) == (world.coordinator.id, world.alice.id)
    with pytest.raises(ListingNotAllowed):
        create_listing(
            session,
            world.bob,
            ListingInput(kind=ListingKind.OFFER, category_id=gardening.id, title="For Alice"),
            owner_id=world.alice.id,
        )
    with pytest.raises(ListingNotFound):
        create_listing(
            session,
            world.coordinator,
            ListingInput(kind=ListingKind.OFFER, category_id=gardening.id, title="Outsider"),
            owner_id=world.outsider.id,
        )
    assert _count(session) == 1


# --- Changing a listing ------------------------------------------------------------------------


def test_owner_changes_their_listing(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice, estimated_minutes=90)
    auth.login(world.alice)
    form = client.get(f"/listings/{listing.id}/edit").get_data(as_text=True)
    assert 'value="1:30"' in form
    response = client.post(
        f"/listings/{listing.id}/edit", data=_form(session, world.timebank, title="Garden help on Saturdays", hours="2")
    )
    assert response.status_code == 302
    session.expire_all()
    changed = session.get(Listing, listing.id)
    assert (changed.title, changed.estimated_minutes) == ("Garden help on Saturdays", 120)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "listing.updated")).one()
    assert event.before is not None and event.before["title"] == "Help in the garden"


def test_editing_another_members_listing_is_forbidden_and_changes_nothing(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    auth.login(world.bob)
    assert client.get(f"/listings/{listing.id}/edit").status_code == 403
    response = client.post(f"/listings/{listing.id}/edit", data=_form(session, world.timebank, title="Bob's now"))
    assert response.status_code == 403
    assert "Only the person who added this listing, or a coordinator, can change it." in response.get_data(as_text=True)
    for change in ("pause", "close"):
        assert client.post(f"/listings/{listing.id}/{change}").status_code == 403
    session.expire_all()
    unchanged = session.get(Listing, listing.id)
    assert (unchanged.title, unchanged.status) == ("Help in the garden", ListingStatus.OPEN)
    detail = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "Change it" not in detail
    assert "Pause it for now" not in detail


def test_coordinator_changes_a_members_listing_for_them(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    auth.login(world.coordinator)
    page = client.get(f"/listings/{listing.id}/edit").get_data(as_text=True)
    assert "You are changing this for Alice, as their coordinator." in page
    response = client.post(f"/listings/{listing.id}/edit", data=_form(session, world.timebank, title="Tidied title"))
    assert response.status_code == 302
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "listing.updated")).one()
    assert (event.actor_id, event.on_behalf_of_id) == (world.coordinator.id, world.alice.id)


def test_another_timebanks_listing_by_id_is_not_found_whatever_you_try(client, auth, factory, session):
    world = factory.world()
    foreign = _listing(session, world.outsider, title="Elm Park allotment")
    for member in (world.alice, world.coordinator):
        auth.login(member)
        assert client.get(f"/listings/{foreign.id}").status_code == 404
        assert client.get(f"/listings/{foreign.id}/edit").status_code == 404
        assert client.post(f"/listings/{foreign.id}/edit", data=_form(session, world.timebank)).status_code == 404
        for change in ("pause", "reopen", "close"):
            assert client.post(f"/listings/{foreign.id}/{change}").status_code == 404
        auth.logout()
    session.expire_all()
    unchanged = session.get(Listing, foreign.id)
    assert (unchanged.title, unchanged.status) == ("Elm Park allotment", ListingStatus.OPEN)


def test_unknown_listing_is_not_found(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    assert client.get("/listings/99999").status_code == 404
    assert client.post("/listings/99999/close").status_code == 404


def test_editing_with_a_past_end_date_is_refused_and_changes_nothing(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    auth.login(world.alice)
    past = (TODAY - timedelta(days=5)).isoformat()
    response = client.post(
        f"/listings/{listing.id}/edit", data=_form(session, world.timebank, title="New", ends_on=past)
    )
    assert response.status_code == 422
    session.expire_all()
    assert session.get(Listing, listing.id).title == "Help in the garden"


# --- Pause, reopen, close ----------------------------------------------------------------------


def test_owner_pauses_reopens_and_closes_a_listing(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    auth.login(world.alice)
    response = client.post(f"/listings/{listing.id}/pause")
    assert response.status_code == 302
    assert "is paused" in client.get(response.headers["Location"]).get_data(as_text=True)
    session.expire_all()
    assert session.get(Listing, listing.id).status == ListingStatus.PAUSED
    assert client.post(f"/listings/{listing.id}/reopen").status_code == 302
    session.expire_all()
    assert session.get(Listing, listing.id).status == ListingStatus.OPEN
    assert client.post(f"/listings/{listing.id}/close").status_code == 302
    session.expire_all()
    assert session.get(Listing, listing.id).status == ListingStatus.CLOSED
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_type == "listing").order_by(AuditEvent.id)
    )
    assert list(actions) == ["listing.created", "listing.paused", "listing.reopened", "listing.closed"]


def test_changing_to_the_state_it_is_already_in_is_a_conflict(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    auth.login(world.alice)
    response = client.post(f"/listings/{listing.id}/reopen")
    assert response.status_code == 409
    assert "This listing is already open." in response.get_data(as_text=True)
    client.post(f"/listings/{listing.id}/close")
    response = client.post(f"/listings/{listing.id}/close")
    assert response.status_code == 409
    assert "already closed" in response.get_data(as_text=True)
    response = client.post(f"/listings/{listing.id}/pause")
    assert response.status_code == 409
    session.expire_all()
    assert session.get(Listing, listing.id).status == ListingStatus.CLOSED


def test_a_listing_past_its_end_date_cannot_be_reopened_until_the_date_changes(factory, session):
    world = factory.world()
    listing = _listing(session, world.alice, ends_on=TODAY + timedelta(days=1))
    close_listing(session, world.alice, listing.id)
    later = TODAY + timedelta(days=3)
    from timebank.listings.service import reopen_listing

    with pytest.raises(ListingStateConflict):
        reopen_listing(session, world.alice, listing.id, today=later)
    session.expire_all()
    assert session.get(Listing, listing.id).status == ListingStatus.CLOSED


def test_status_changes_need_a_post(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    auth.login(world.alice)
    assert client.get(f"/listings/{listing.id}/close").status_code == 405
    session.expire_all()
    assert session.get(Listing, listing.id).status == ListingStatus.OPEN


def test_closed_listing_is_not_found_for_others_but_seen_by_owner_and_coordinators(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    close_listing(session, world.alice, listing.id)
    auth.login(world.bob)
    assert client.get(f"/listings/{listing.id}").status_code == 404
    auth.logout()
    auth.login(world.alice)
    page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "This offer is closed." in page
    assert "Open it again" in page
    auth.logout()
    auth.login(world.coordinator)
    assert client.get(f"/listings/{listing.id}").status_code == 200


def test_listing_of_a_suspended_member_is_not_found_by_others(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.bob)
    world.bob.status = MemberStatus.SUSPENDED
    session.commit()
    auth.login(world.alice)
    assert client.get(f"/listings/{listing.id}").status_code == 404
    assert _titles(client.get("/listings").get_data(as_text=True)) == []


# --- The detail page ---------------------------------------------------------------------------


def test_someone_elses_open_listing_offers_to_propose_an_exchange(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice, description="Weeding and mowing.", tags="garden, weeding")
    auth.login(world.bob)
    page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert f'href="/exchanges/new?listing_id={listing.id}"' in page
    assert f'href="/members/{world.alice.id}">Alice</a>' in page
    assert "Tags</dt><dd>garden, weeding" in page
    assert "Weeding and mowing." in page


def test_own_listing_has_no_propose_button_but_can_be_managed(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    auth.login(world.alice)
    page = client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "/exchanges/new" not in page
    assert f'action="/listings/{listing.id}/pause"' in page
    assert f'action="/listings/{listing.id}/close"' in page
    assert 'name="csrf_token"' in page


def test_paused_listing_can_be_read_by_link_but_not_proposed_on(client, auth, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    pause_listing(session, world.alice, listing.id)
    auth.login(world.bob)
    response = client.get(f"/listings/{listing.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This offer is paused" in page
    assert "/exchanges/new" not in page


def test_owners_hidden_area_is_not_shown_on_their_listing(client, auth, factory, session):
    world = factory.world()
    world.alice.area = "LS6"
    world.alice.show_area = False
    session.commit()
    listing = _listing(session, world.alice)
    auth.login(world.bob)
    assert "LS6" not in client.get(f"/listings/{listing.id}").get_data(as_text=True)
    assert "LS6" not in client.get("/listings").get_data(as_text=True)
    auth.logout()
    auth.login(world.coordinator)
    assert "LS6" in client.get(f"/listings/{listing.id}").get_data(as_text=True)


def test_my_listings_shows_every_state(client, auth, factory, session):
    world = factory.world()
    _listing(session, world.alice, title="Still open")
    paused = _listing(session, world.alice, title="Taking a break")
    closed = _listing(session, world.alice, title="All done")
    _listing(session, world.bob, title="Bob's offer")
    pause_listing(session, world.alice, paused.id)
    close_listing(session, world.alice, closed.id)
    auth.login(world.alice)
    page = client.get("/listings/mine").get_data(as_text=True)
    assert page.index("Still open") < page.index("Taking a break") < page.index("All done")
    assert "Paused" in page and "Closed" in page
    assert "Bob's offer" not in page


# --- Browse and search -------------------------------------------------------------------------


def test_browse_shows_only_open_current_listings_of_approved_members_of_my_timebank_newest_first(
    client, auth, factory, session
):
    world = factory.world()
    _listing(session, world.alice, title="First open")
    _listing(session, world.bob, title="Second open")
    paused = _listing(session, world.alice, title="Paused one")
    closed = _listing(session, world.alice, title="Closed one")
    _listing(session, world.outsider, title="Another timebank")
    leaver = factory.member(world.timebank, "Lee Leaver")
    _listing(session, leaver, title="Leaver's offer")
    leaver.status = MemberStatus.LEFT
    ended = _listing(session, world.bob, title="Ended", ends_on=TODAY)
    pause_listing(session, world.alice, paused.id)
    close_listing(session, world.alice, closed.id)
    auth.login(world.alice)
    assert _titles(client.get("/listings").get_data(as_text=True)) == ["Ended", "Second open", "First open"]
    # The day after its end date, a listing drops out of the search.
    page = search_listings(session, world.alice, ListingFilters(), today=TODAY + timedelta(days=1))
    assert [item.title for item in page.items] == ["Second open", "First open"]
    assert ended.id not in [item.id for item in page.items]


def _search_fixture(session, world):  # type: ignore[no-untyped-def]
    _listing(session, world.alice, title="Gardening help", description="Mowing lawns and pruning roses.")
    _listing(
        session,
        world.bob,
        title="Lift to hospital",
        description="I need a ladder held too.",
        kind=ListingKind.REQUEST,
        category="Lifts",
    )
    _listing(session, world.bob, title="Odd jobs", description="Small repairs.", tags="shelves, painting")
    _listing(session, world.outsider, title="Gardening in Elm Park", description="painting ladder")


@pytest.mark.parametrize(
    "query, titles",
    [
        ("gardening", ["Gardening help"]),  # title
        ("ladder", ["Lift to hospital"]),  # description
        ("painting", ["Odd jobs"]),  # tag
        ("ROSES", ["Gardening help"]),  # any case
        ("mowing roses", ["Gardening help"]),  # every word must match
        ("mowing ladder", []),
        ("submarine", []),
    ],
)
def test_search_finds_listings_by_title_description_and_tag(client, auth, factory, session, query, titles):
    world = factory.world()
    _search_fixture(session, world)
    auth.login(world.alice)
    response = client.get("/listings", query_string={"q": query})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _titles(page) == titles
    if not titles:
        assert "Nothing matches that search." in page


def test_search_never_finds_another_timebanks_listings(factory, session):
    world = factory.world()
    _search_fixture(session, world)
    page = search_listings(session, world.outsider, ListingFilters(query="gardening"))
    assert [item.title for item in page.items] == ["Gardening in Elm Park"]


def test_search_ranks_better_matches_first_on_postgresql_and_newest_first_on_sqlite(factory, session):
    world = factory.world()
    _listing(session, world.alice, title="Garden", description="garden garden: a big garden", tags="garden")
    _listing(session, world.bob, title="Odd jobs", description="Some help in the garden too.")
    page = search_listings(session, world.alice, ListingFilters(query="garden"))
    titles = [item.title for item in page.items]
    if session.get_bind().dialect.name == "postgresql":
        assert titles == ["Garden", "Odd jobs"]
    else:
        assert titles == ["Odd jobs", "Garden"]


def test_a_search_with_very_many_matches_shows_the_newest_first_and_asks_for_another_word(
    client, auth, factory, session, monkeypatch
):
    """Ranking reads every match again, so past ``RANKED_UP_TO`` matches the order is newest first
    on PostgreSQL too, and the page says so."""
    from timebank.listings import service

    world = factory.world()
    _listing(session, world.alice, title="Garden", description="garden garden: a big garden", tags="garden")
    _listing(session, world.bob, title="Odd jobs", description="Some help in the garden too.")
    auth.login(world.alice)
    assert "Add another word" not in client.get("/listings?q=garden").get_data(as_text=True)
    monkeypatch.setattr(service, "RANKED_UP_TO", 1)
    page = search_listings(session, world.alice, ListingFilters(query="garden"))
    assert [item.title for item in page.items] == ["Odd jobs", "Garden"]
    assert page.total == 2
    monkeypatch.setattr("timebank.listings.routes.RANKED_UP_TO", 1)
    text = client.get("/listings?q=garden").get_data(as_text=True)
    assert "Many offers and requests use this word, so the newest come first." in text
    assert _titles(text) == ["Odd jobs", "Garden"]


def test_filters_by_kind_and_category(client, auth, factory, session):
    world = factory.world()
    _search_fixture(session, world)
    lifts = _category(session, world.timebank, "Lifts")
    auth.login(world.alice)
    assert _titles(client.get("/listings?kind=request").get_data(as_text=True)) == ["Lift to hospital"]
    assert _titles(client.get("/listings?kind=offer").get_data(as_text=True)) == ["Odd jobs", "Gardening help"]
    assert _titles(client.get(f"/listings?category={lifts.id}").get_data(as_text=True)) == ["Lift to hospital"]
    # Unknown filter values are ignored rather than turned into errors.
    assert len(_titles(client.get("/listings?kind=banana&day=caturday").get_data(as_text=True))) == 3


def test_filter_by_area_uses_the_owners_area_only_where_they_show_it(client, auth, factory, session):
    world = factory.world()
    world.alice.area = "LS6"
    world.bob.area = "LS6"
    world.bob.show_area = False
    session.commit()
    _listing(session, world.alice, title="Alice's offer")
    _listing(session, world.bob, title="Bob's offer")
    auth.login(world.alice)
    assert _titles(client.get("/listings?area=ls6").get_data(as_text=True)) == ["Alice's offer"]
    auth.logout()
    auth.login(world.coordinator)
    assert _titles(client.get("/listings?area=LS6").get_data(as_text=True)) == ["Bob's offer", "Alice's offer"]


def test_filter_by_availability_finds_owners_free_then(client, auth, factory, session):
    world = factory.world()
    world.alice.availability = "sat-morning,sun-afternoon"
    world.bob.availability = "mon-evening"
    session.commit()
    _listing(session, world.alice, title="Alice's offer")
    _listing(session, world.bob, title="Bob's offer")
    auth.login(world.coordinator)
    assert _titles(client.get("/listings?day=sat").get_data(as_text=True)) == ["Alice's offer"]
    assert _titles(client.get("/listings?part=evening").get_data(as_text=True)) == ["Bob's offer"]
    assert _titles(client.get("/listings?day=sat&part=evening").get_data(as_text=True)) == []
    assert _titles(client.get("/listings?day=sun&part=afternoon").get_data(as_text=True)) == ["Alice's offer"]


def test_filter_by_availability_never_reveals_hidden_availability(client, auth, factory, session):
    world = factory.world()
    world.bob.availability = "mon-evening"
    world.bob.show_availability = False
    session.commit()
    _listing(session, world.bob, title="Bob's offer")
    auth.login(world.alice)
    assert _titles(client.get("/listings?day=mon").get_data(as_text=True)) == []


def _many_listings(session, world, count: int) -> None:  # type: ignore[no-untyped-def]
    gardening = _category(session, world.timebank)
    for number in range(count):
        session.add(
            Listing(
                timebank_id=world.timebank.id,
                member_id=world.bob.id,
                kind=ListingKind.OFFER,
                category_id=gardening.id,
                title=f"Listing {number:02d}",
                status=ListingStatus.OPEN,
            )
        )
    session.commit()


def test_browse_is_paginated_with_accessible_links_and_a_count(client, auth, factory, session):
    world = factory.world()
    _many_listings(session, world, 57)
    auth.login(world.alice)
    second = client.get("/listings?page=2").get_data(as_text=True)
    assert "Showing 21–40 of 57 offers and requests" in second
    assert len(_titles(second)) == 20
    assert 'rel="prev" href="/listings?page=1"' in second
    assert 'rel="next" href="/listings?page=3"' in second
    assert '<nav class="pagination" aria-label="Pages of offers and requests">' in second
    assert "Page 2 of 3" in second
    last = client.get("/listings?page=3").get_data(as_text=True)
    assert "Showing 41–57 of 57" in last
    assert 'rel="next"' not in last
    first = client.get("/listings").get_data(as_text=True)
    assert _titles(first)[0] == "Listing 56"  # newest first


@pytest.mark.parametrize(
    "page, shown", [("0", "Showing 1–20"), ("-1", "Showing 1–20"), ("999", "Showing 41–57"), ("x", "Showing 1–20")]
)
def test_page_numbers_outside_the_results_move_to_the_nearest_page(client, auth, factory, session, page, shown):
    world = factory.world()
    _many_listings(session, world, 57)
    auth.login(world.alice)
    response = client.get(f"/listings?page={page}")
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)


def test_pagination_keeps_the_search_and_filters(client, auth, factory, session):
    world = factory.world()
    _many_listings(session, world, 25)
    auth.login(world.alice)
    page = client.get("/listings?q=listing&kind=offer").get_data(as_text=True)
    assert "Showing 1–20 of 25" in page
    next_link = re.search(r'rel="next" href="([^"]+)"', page)
    assert next_link is not None
    assert "q=listing" in next_link.group(1) and "kind=offer" in next_link.group(1) and "page=2" in next_link.group(1)


def test_empty_search_on_a_high_page_is_calm(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    response = client.get("/listings?q=nothing&page=999")
    assert response.status_code == 200
    assert "Nothing matches that search." in response.get_data(as_text=True)


def test_search_service_returns_a_page_for_the_api(factory, session):
    world = factory.world()
    _many_listings(session, world, 3)
    page = search_listings(session, world.alice, ListingFilters(), page=1, per_page=2)
    assert (page.total, page.pages, page.page, page.has_next, page.first_index, page.last_index) == (
        3,
        2,
        1,
        True,
        1,
        2,
    )
    assert [item.owner_name for item in page.items] == ["Bob", "Bob"]


def test_too_long_search_is_refused_with_a_message(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    response = client.get("/listings", query_string={"q": "word " * 50})
    assert response.status_code == 422
    assert "Use 200 characters or fewer." in response.get_data(as_text=True)


def test_admin_outside_any_timebank_has_no_listings_pages(client, auth, factory, session):
    factory.world()
    admin = create_member(
        session,
        timebank=None,
        display_name="Ada Admin",
        email="ada@example.org",
        is_admin=True,
        status=MemberStatus.APPROVED,
        role=Role.PARTICIPANT,
        password="correct horse battery staple",
    )
    session.commit()
    auth.login(admin)
    assert client.get("/listings").status_code == 404
    assert client.get("/members").status_code == 404
    assert client.get("/profile").status_code == 404


def test_listing_forms_are_csrf_protected_outside_tests(app, factory, session):
    world = factory.world()
    listing = _listing(session, world.alice)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    with client.session_transaction() as browser_session:
        browser_session["_user_id"] = str(world.alice.id)
        browser_session["_fresh"] = True
    assert client.post(f"/listings/{listing.id}/close").status_code == 400
    assert client.post("/listings/new", data=_form(session, world.timebank)).status_code == 400
    assert _count(session) == 1
    assert session.get(Listing, listing.id).status == ListingStatus.OPEN


def test_ids_too_large_for_the_database_are_simply_not_found(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    huge = 10**20
    assert client.get(f"/listings/{huge}").status_code == 404
    assert client.get(f"/listings/{huge}/edit").status_code == 404
    assert client.post(f"/listings/{huge}/close").status_code == 404
    assert client.get(f"/listings?category={huge}").status_code == 200
    response = client.post("/listings/new", data=_form(session, world.timebank, category_id=str(huge)))
    assert response.status_code == 422
    assert _count(session) == 0
    # The services answer the same, for the JSON API.
    with pytest.raises(ListingNotFound):
        get_listing(session, world.alice, huge)
    page = search_listings(session, world.alice, ListingFilters(category_id=huge))
    assert page.items == []
