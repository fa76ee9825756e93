"""The pages every member meets first - home, sign in, their hours, a missing page - in a real
browser: screenshots, axe-core, a 360 px phone, the keyboard, and no JavaScript."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import (
    LiveServer,
    Seeder,
    check_accessibility,
    has_no_horizontal_scroll,
    new_context,
    screenshot,
    sign_in,
    sign_out,
    snapshot,
    use_phone_width,
)

pytestmark = pytest.mark.browser

EXPECT_HEADING = {"/": "Give an hour, get an hour", "/login": "Sign in", "/me": "My hours"}
PAGE_NAME = {"/": "home", "/login": "sign-in", "/me": "my-hours"}


def _heading(page: Any) -> str:
    text: str = page.get_by_role("heading", level=1).inner_text()
    return text.strip()


def _active(page: Any, script: str) -> Any:
    return page.evaluate(f"(() => {{ const el = document.activeElement; return {script}; }})()")


def _tab_until(page: Any, script: str, most: int = 30) -> bool:
    """Press Tab until the focused element satisfies the script (a JS expression on `el`)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if _active(page, script):
            return True
    return False


def _focus_is_visible(page: Any) -> bool:
    """The focused element has a visible outline or ring (the focus style in site.css)."""
    return bool(
        _active(
            page,
            "(() => { const s = getComputedStyle(el);"
            " return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'; })()",
        )
    )


def test_home_page_invites_sign_in_and_passes_axe(page, live_server: LiveServer):
    response = page.goto("/")
    assert response.status == 200
    assert _heading(page) == "Give an hour, get an hour"
    assert page.get_by_role("link", name="Sign in").first.is_visible()
    snapshot(page, "home")


def test_sign_in_page_passes_axe_and_leads_to_my_hours(page, live_server: LiveServer, seed: Seeder):
    world = seed.world()
    page.goto("/login")
    snapshot(page, "sign-in")
    sign_in(page, world.alice)
    # Signed in: the welcome, on the member's own page (the dashboard, or My hours before it existed).
    assert not page.url.startswith(live_server("/login"))
    assert page.get_by_text(f"Welcome, {world.alice.name}.").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    # The message takes focus, so a screen reader reads it first; the next Tab goes into the page.
    assert _active(page, "el.classList.contains('messages')")
    assert _focus_is_visible(page)
    snapshot(page, "after-sign-in")
    sign_out(page)
    assert page.get_by_text("You have signed out.").is_visible()
    assert page.get_by_role("link", name="Sign in").first.is_visible()


def test_wrong_password_shows_an_error_summary_that_leads_to_the_field(page, live_server: LiveServer, seed: Seeder):
    world = seed.world()
    sign_in(page, world.alice, password="not my password")
    summary = page.get_by_role("alert")
    assert "There is a problem" in summary.inner_text()
    assert "do not match an active account" in summary.inner_text()
    # The summary takes focus, so a screen reader reads it and Tab starts from it.
    assert _active(page, "el.classList.contains('error-summary')")
    snapshot(page, "sign-in-wrong-password")
    # By keyboard only: Tab to the summary's link, Enter, and you are in the email field.
    assert _tab_until(page, "el.tagName === 'A' && !!el.closest('.error-summary')"), "no link in the summary"
    assert _focus_is_visible(page)
    page.keyboard.press("Enter")
    assert _active(page, "el.id") == "email"
    assert _focus_is_visible(page)
    # Nothing was kept from the wrong attempt.
    assert page.get_by_label("Password").input_value() == ""


def test_empty_sign_in_lists_each_missing_field_and_links_to_it(page, live_server: LiveServer):
    page.goto("/login")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").click()
    assert navigation.value.status == 422
    summary = page.locator(".error-summary")
    links = summary.get_by_role("link")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == ["#email", "#password"]
    # Each field carries its message, tied to it for screen readers.
    email = page.get_by_label("Email")
    assert email.get_attribute("aria-invalid") == "true"
    assert "Enter your email address." in page.locator(f"#{email.get_attribute('aria-describedby')}").inner_text()
    snapshot(page, "sign-in-empty")
    summary.get_by_role("link", name="Enter your password.").focus()
    page.keyboard.press("Enter")
    assert _active(page, "el.id") == "password"


def test_my_hours_shows_balance_and_history_in_plain_words(page, live_server: LiveServer, seed: Seeder):
    world = seed.world()
    seed.approved_exchange(world.coordinator, world.alice, world.bob, 90, "Helped tidy the garden")
    sign_in(page, world.bob)
    page.goto("/me")
    assert _heading(page) == "My hours"
    balance = page.locator(".balance").inner_text()
    assert "You have" in balance
    assert "minus 1 hour 30 minutes" in balance
    history = page.get_by_role("table")
    assert "You spent 1 hour 30 minutes: Alice helped you" in history.inner_text()
    assert "Helped tidy the garden" in history.inner_text()
    assert "\u22121:30" in history.inner_text()  # hours in a table: hours:minutes, a real minus sign
    assert "2:30 means 2 hours 30 minutes" in page.locator("main").inner_text()  # explained once
    snapshot(page, "my-hours-desktop")
    use_phone_width(page)
    assert has_no_horizontal_scroll(page)
    snapshot(page, "my-hours-phone")


def test_missing_page_says_so_plainly_with_a_404(page, live_server: LiveServer):
    response = page.goto("/no-such-page")
    assert response.status == 404
    assert _heading(page) == "Page not found"
    assert page.get_by_role("link", name="Go to the home page").is_visible()
    snapshot(page, "not-found")


def test_a_participant_opening_a_coordinator_page_is_told_plainly_with_a_403(
    page, live_server: LiveServer, seed: Seeder
):
    world = seed.world()
    sign_in(page, world.alice)
    response = page.goto("/coordinator/")
    assert response.status == 403
    assert _heading(page) == "You cannot see this page"
    snapshot(page, "forbidden")


def test_my_hours_needs_sign_in_and_returns_there_after(page, live_server: LiveServer, seed: Seeder):
    world = seed.world()
    page.goto("/me")
    assert page.url.startswith(live_server("/login"))
    assert page.get_by_text("Please sign in to see that page.").is_visible()
    page.get_by_label("Email").fill(world.alice.email)
    page.get_by_label("Password").fill(world.alice.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url == live_server("/me")


@pytest.mark.parametrize("path", ["/", "/login", "/me"], ids=["home", "sign-in", "my-hours"])
def test_shell_pages_fit_a_360_pixel_phone_without_sideways_scrolling(
    page, live_server: LiveServer, seed: Seeder, path: str
):
    world = seed.world()
    seed.approved_exchange(world.coordinator, world.alice, world.bob, 150, "Drove Bob to the surgery and back again")
    if path == "/me":
        sign_in(page, world.alice)
    use_phone_width(page)
    page.goto(path)
    assert _heading(page) == EXPECT_HEADING[path]
    screenshot(page, f"{PAGE_NAME[path]}-phone")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360, f"{path} is {scroll_width}px wide on a 360px screen"
    check_accessibility(page, f"{PAGE_NAME[path]}-phone")


@pytest.mark.parametrize("path", ["/", "/login", "/me"], ids=["home", "sign-in", "my-hours"])
def test_shell_pages_stay_readable_at_200_percent_zoom(page, live_server: LiveServer, seed: Seeder, path: str):
    """200% zoom on a 1280 x 900 screen leaves 640 x 450 CSS pixels: nothing may spill sideways."""
    world = seed.world()
    if path == "/me":
        sign_in(page, world.alice)
    page.set_viewport_size({"width": 640, "height": 450})
    page.goto(path)
    assert _heading(page) == EXPECT_HEADING[path]
    assert has_no_horizontal_scroll(page)
    screenshot(page, f"{PAGE_NAME[path]}-zoom-200")


def test_skip_link_is_the_first_tab_stop_is_visible_and_skips_to_the_content(page, live_server: LiveServer):
    page.goto("/")
    page.keyboard.press("Tab")
    assert _active(page, "el.textContent.trim()") == "Skip to main content"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 0
    assert page.locator(".skip-link").is_visible()
    assert _focus_is_visible(page)
    screenshot(page, "skip-link-focused")
    page.keyboard.press("Enter")
    assert _active(page, "el.id") == "main"
    # The next Tab goes into the page content, past the header's links.
    page.keyboard.press("Tab")
    assert _active(page, "!!el.closest('main')")


def test_every_control_on_the_sign_in_page_is_reachable_by_tab_with_visible_focus(page, live_server: LiveServer):
    page.goto("/login")
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        name = _active(page, "el.id || el.textContent.trim()")
        if name in seen:
            break
        seen.append(name)
        if _active(page, "el === document.body"):
            break
        assert _focus_is_visible(page), f"no visible focus on {name!r}"
    for control in ("email", "password", "Sign in"):
        assert control in seen, f"{control!r} was not reached by Tab (reached: {seen})"


def test_sign_in_and_out_work_with_javascript_turned_off(browser, live_server: LiveServer, seed: Seeder):
    world = seed.world()
    seed.approved_exchange(world.coordinator, world.alice, world.bob, 60, "Fixed a bike puncture")
    context = new_context(browser, live_server, java_script_enabled=False)
    try:
        page = context.new_page()
        assert page.evaluate("1 + 1") == 2  # Playwright's own scripts still run; the page's do not.
        sign_in(page, world.alice)
        assert page.get_by_text(f"Welcome, {world.alice.name}.").is_visible()
        page.goto("/me")
        assert "1 hour" in page.locator(".balance").inner_text()
        assert re.search(r"You earned 1 hour helping Bob", page.get_by_role("table").inner_text())
        screenshot(page, "my-hours-no-javascript")
        sign_out(page)
        assert page.get_by_text("You have signed out.").is_visible()
        assert page.goto("/me").url.startswith(live_server("/login"))
    finally:
        context.close()
