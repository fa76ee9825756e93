"""My profile, the member directory and offers and requests in a real browser (CSRF on): filled in
by a person, checked with axe-core, on a 360 px phone, and without JavaScript."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import (
    LiveServer,
    Seeder,
    click_and_wait,
    has_no_horizontal_scroll,
    new_context,
    open_disclosure,
    screenshot,
    sign_in,
    snapshot,
    use_phone_width,
)

pytestmark = pytest.mark.browser


def _check_phone(page: Any, name: str) -> None:
    use_phone_width(page)
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways at 360 px"
    snapshot(page, f"{name}-phone")


def test_member_fills_in_their_profile_and_another_member_sees_only_what_is_shown(
    page, open_page, live_server: LiveServer, seed: Seeder
):
    world = seed.world()
    sign_in(page, world.alice)
    page.goto("/profile")
    snapshot(page, "profile-form")

    # A full postcode is refused with a summary that links to the field.
    page.get_by_label("Your area").fill("LS6 2AB")
    response = click_and_wait(page, page.get_by_role("button", name="Save my profile"))
    assert response.status == 422
    assert page.get_by_role("link", name="That looks like a full postcode").count() == 1
    snapshot(page, "profile-area-refused")

    page.get_by_label("Your area").fill("LS6")
    open_disclosure(page, "Anything else you can offer")
    page.get_by_label("What you can offer, in your own words").fill("Gardening and a chat")
    page.get_by_label("Category 1").first.select_option(label="Gardening")
    page.get_by_label("Something you can offer, in a few words (1)").fill("Weeding")
    page.get_by_label("Saturday mornings").check()
    page.get_by_label("Anything others should know").first.fill("I have a friendly dog")
    page.get_by_label("Phone number (optional)").fill("07700 900123")
    response = click_and_wait(page, page.get_by_role("button", name="Save my profile"))
    assert response.status == 200
    assert page.get_by_text("Your profile has been saved.").count() == 1
    _check_phone(page, "profile-saved")

    bob = open_page()
    sign_in(bob, world.bob)
    bob.goto("/members")
    snapshot(bob, "directory")
    click_and_wait(bob, bob.get_by_role("link", name="Alice"))
    text = bob.inner_text("main")
    assert "Weeding" in text and "LS6" in text and "Saturday mornings" in text
    assert "07700 900123" not in text and "friendly dog" not in text and world.alice.email not in text
    snapshot(bob, "alice-seen-by-bob")
    _check_phone(bob, "alice-seen-by-bob")


def test_member_adds_an_offer_finds_it_and_manages_it_without_javascript(
    browser, open_page, live_server: LiveServer, seed: Seeder
):
    world = seed.world()
    request_id = seed.listing(world.bob, "request", "Lifts", "Lift to the hospital", description="Tuesday mornings")
    context = new_context(browser, live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, world.alice)
        page.goto("/listings")
        click_and_wait(page, page.get_by_role("link", name="Offer something"))

        # A date in the past is refused; nothing is listed.
        page.get_by_label("Category").select_option(label="Gardening")
        page.get_by_label("Title").fill("Help in the garden")
        page.get_by_label("Tags (optional)").fill("weeding, mowing")
        page.get_by_label("Roughly how long (optional)").fill("1h30")
        end = page.get_by_role("group", name="End date (optional)")
        for box, value in (("Day", "1"), ("Month", "1"), ("Year", "2001")):
            end.get_by_label(box).fill(value)
        response = click_and_wait(page, page.get_by_role("button", name="Add it"))
        assert response.status == 422
        screenshot(page, "new-offer-refused-no-js")
        end = page.get_by_role("group", name="End date (optional)")
        for box in ("Day", "Month", "Year"):
            end.get_by_label(box).fill("")
        response = click_and_wait(page, page.get_by_role("button", name="Add it"))
        assert response.status == 200
        assert page.get_by_role("heading", level=1).inner_text() == "Help in the garden"
        assert "1 hour 30 minutes" in page.inner_text("main")
        offer_path = page.url.removeprefix(live_server.url)

        page.goto("/listings?q=mowing")
        assert page.get_by_role("link", name="Help in the garden").count() == 1
        page.goto("/listings?q=hospital")
        click_and_wait(page, page.get_by_role("link", name="Lift to the hospital"))
        assert page.get_by_role("link", name="Propose an exchange").count() == 1

        page.goto("/listings/mine")
        click_and_wait(page, page.get_by_role("link", name="Help in the garden"))
        click_and_wait(page, page.get_by_role("button", name="Pause it for now"))
        assert "is paused" in page.inner_text("main")
        page.goto("/listings?q=mowing")
        assert page.get_by_role("link", name="Help in the garden").count() == 0
    finally:
        context.close()

    # The same pages, with JavaScript, through axe-core on a desktop and a 360 px phone.
    checked = open_page()
    sign_in(checked, world.alice)
    for path, name in (
        ("/listings", "browse"),
        ("/listings?q=hospital&kind=request", "search"),
        ("/listings/new?kind=offer", "new-offer"),
        (offer_path, "own-paused-offer"),
        (f"/listings/{request_id}", "someone-elses-request"),
        ("/listings/mine", "my-listings"),
        (f"{offer_path}/edit", "edit-offer"),
    ):
        checked.set_viewport_size({"width": 1280, "height": 900})
        checked.goto(path)
        snapshot(checked, name)
        _check_phone(checked, name)
