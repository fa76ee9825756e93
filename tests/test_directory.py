"""The member directory: approved members of my own timebank, searchable, filterable, paginated."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from timebank.members.directory import DirectoryFilters, search_directory
from timebank.members.service import create_member
from timebank.models import Category, ListingKind, MemberSkill, MemberStatus


def _category(session, timebank, name):  # type: ignore[no-untyped-def]
    return session.scalar(select(Category).where(Category.timebank_id == timebank.id, Category.name == name))


def _offer(session, member, category, label):  # type: ignore[no-untyped-def]
    member.skills.append(MemberSkill(kind=ListingKind.OFFER, category_id=category.id, label=label))
    session.commit()


def _names(page_html: str) -> list[str]:
    return re.findall(r'<h3><a href="/members/\d+">([^<]+)</a></h3>', page_html)


def test_directory_needs_sign_in(client):
    assert client.get("/members").status_code == 302


def test_directory_lists_only_approved_members_of_my_timebank(client, auth, factory):
    world = factory.world()
    for status in (MemberStatus.APPLIED, MemberStatus.SUSPENDED, MemberStatus.DECLINED, MemberStatus.LEFT):
        factory.member(world.timebank, f"Hidden {status.value}", status=status)
    auth.login(world.alice)
    response = client.get("/members")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _names(page) == ["Alice", "Bob", "Cora Coordinator"]
    assert "Hidden" not in page
    assert "Olive Outsider" not in page
    assert "Showing 1–3 of 3 members" in page


def test_coordinators_directory_also_lists_only_approved_members(client, auth, factory):
    world = factory.world()
    factory.member(world.timebank, "Pat Applicant", status=MemberStatus.APPLIED)
    auth.login(world.coordinator)
    page = client.get("/members").get_data(as_text=True)
    assert "Pat Applicant" not in page
    assert "Olive Outsider" not in page


def test_directory_shows_offer_skills_and_area_only_when_shown(client, auth, factory, session):
    world = factory.world()
    gardening = _category(session, world.timebank, "Gardening")
    _offer(session, world.alice, gardening, "Weeding")
    world.alice.area = "LS6"
    world.bob.area = "Hyde Park"
    world.bob.show_area = False
    session.commit()
    auth.login(world.alice)
    page = client.get("/members").get_data(as_text=True)
    assert "Can offer: Weeding (Gardening)" in page
    assert "Area: LS6" in page
    assert "Hyde Park" not in page


def test_search_finds_members_by_name_or_by_what_they_offer(client, auth, factory, session):
    world = factory.world()
    cooking = _category(session, world.timebank, "Cooking")
    gardening = _category(session, world.timebank, "Gardening")
    _offer(session, world.bob, cooking, "Bread baking")
    _offer(session, world.alice, gardening, "Weeding")
    auth.login(world.coordinator)
    assert _names(client.get("/members?q=bob").get_data(as_text=True)) == ["Bob"]
    assert _names(client.get("/members?q=BREAD").get_data(as_text=True)) == ["Bob"]
    assert _names(client.get("/members?q=gardening").get_data(as_text=True)) == ["Alice"]  # by category name
    assert _names(client.get("/members?q=bread+weeding").get_data(as_text=True)) == []  # every word must match
    empty = client.get("/members?q=zzz").get_data(as_text=True)
    assert "No members match that search." in empty


def test_search_words_are_not_sql_wildcards(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    # Unescaped, "_" would match any one letter and find Alice.
    assert _names(client.get("/members?q=al_ce").get_data(as_text=True)) == []
    assert _names(client.get("/members?q=alice").get_data(as_text=True)) == ["Alice"]


def test_directory_filters_by_category_and_area(client, auth, factory, session):
    world = factory.world()
    cooking = _category(session, world.timebank, "Cooking")
    _offer(session, world.bob, cooking, "Soup")
    world.bob.area = "LS6"
    world.alice.area = "Headingley"
    session.commit()
    auth.login(world.alice)
    assert _names(client.get(f"/members?category={cooking.id}").get_data(as_text=True)) == ["Bob"]
    assert _names(client.get("/members?area=ls6").get_data(as_text=True)) == ["Bob"]
    page = client.get("/members").get_data(as_text=True)
    assert '<option value="Headingley">Headingley</option>' in page
    assert '<option value="LS6">LS6</option>' in page


def test_filtering_by_area_never_reveals_a_hidden_area(client, auth, factory, session):
    world = factory.world()
    world.bob.area = "LS6"
    world.bob.show_area = False
    session.commit()
    auth.login(world.alice)
    page = client.get("/members?area=LS6").get_data(as_text=True)
    assert _names(page) == []
    assert "LS6" not in client.get("/members").get_data(as_text=True)  # not offered as a filter either
    auth.logout()
    auth.login(world.coordinator)
    assert _names(client.get("/members?area=LS6").get_data(as_text=True)) == ["Bob"]


def _many_members(session, timebank, count: int) -> None:  # type: ignore[no-untyped-def]
    # Without passwords: hashing dozens of passwords would only slow the test down.
    for number in range(count):
        create_member(
            session,
            timebank=timebank,
            display_name=f"Person {number:02d}",
            email=None,
            status=MemberStatus.APPROVED,
        )
    session.commit()


def test_directory_is_paginated_with_previous_and_next_links(client, auth, factory, session):
    world = factory.world()
    _many_members(session, world.timebank, 22)  # 25 with Alice, Bob and Cora
    auth.login(world.alice)
    first = client.get("/members").get_data(as_text=True)
    assert "Showing 1–20 of 25 members" in first
    assert len(_names(first)) == 20
    assert 'rel="next" href="/members?page=2"' in first
    assert 'rel="prev"' not in first
    second = client.get("/members?page=2").get_data(as_text=True)
    assert "Showing 21–25 of 25 members" in second
    assert len(_names(second)) == 5
    assert 'rel="prev" href="/members?page=1"' in second
    assert 'rel="next"' not in second


def test_pagination_links_keep_the_search(client, auth, factory, session):
    world = factory.world()
    _many_members(session, world.timebank, 22)
    auth.login(world.alice)
    page = client.get("/members?q=person").get_data(as_text=True)
    assert "Showing 1–20 of 22 members" in page
    assert re.search(r'rel="next" href="/members\?(page=2&amp;q=person|q=person&amp;page=2)"', page)


@pytest.mark.parametrize(
    "page, shown", [("0", "Showing 1–20"), ("-3", "Showing 1–20"), ("999", "Showing 21–25"), ("abc", "Showing 1–20")]
)
def test_page_numbers_outside_the_results_move_to_the_nearest_page(client, auth, factory, session, page, shown):
    world = factory.world()
    _many_members(session, world.timebank, 22)
    auth.login(world.alice)
    response = client.get(f"/members?page={page}")
    assert response.status_code == 200
    assert shown in response.get_data(as_text=True)


def test_page_999_of_an_empty_search_is_a_calm_empty_page(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    response = client.get("/members?q=nobody&page=999")
    assert response.status_code == 200
    assert "No members match that search." in response.get_data(as_text=True)


def test_too_long_search_is_refused_with_a_message(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    response = client.get("/members?q=" + "a" * 201)
    assert response.status_code == 422
    assert "There is a problem" in response.get_data(as_text=True)


def test_directory_service_never_crosses_timebanks(factory, session):
    world = factory.world()
    page = search_directory(session, world.outsider, DirectoryFilters(query="alice"))
    assert page.items == []
    page = search_directory(session, world.outsider, DirectoryFilters())
    assert [entry.display_name for entry in page.items] == ["Olive Outsider"]


def test_ids_too_large_for_the_database_are_simply_not_found(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    huge = 10**20
    assert client.get(f"/members/{huge}").status_code == 404
    assert client.get(f"/members/{huge}/profile").status_code == 404
    assert client.post(f"/members/{huge}/profile", data={"contact_preference": "email"}).status_code == 404
    response = client.get(f"/members?category={huge}")
    assert response.status_code == 200
    assert search_directory(session, world.alice, DirectoryFilters(category_id=huge)).items == []
