"""A shared computer at the day centre: a sign-in that ends on its own (issue: sessions that end
on their own). The server's clock is the ``clock`` fixture, moved by the test; the page's own
timers are Playwright's fake clock.

- Cora, a coordinator, signs in on a shared computer, starts a private note about Bob, and is
  called away. Sixteen minutes later she presses "Save the note": the next page says she was
  signed out after 15 minutes without activity, and that what she typed is kept. She signs in
  again, is back on Bob's page, and sends the kept note.
- Without JavaScript, the same message; the next person at the desk gets nothing of hers.
- With JavaScript, a quiet warning a minute before the end, and "Stay signed in".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import (
    PHONE,
    LiveServer,
    Person,
    Seeder,
    click_and_wait,
    has_no_horizontal_scroll,
    new_context,
    open_disclosure,
    open_menu,
    screenshot,
    snapshot,
)
from tests.clock_control import ControllableClock

pytestmark = pytest.mark.browser

NOTE = "Bob would like a lift to the garden session on Fridays."


def sign_in_on_a_shared_computer(page: Any, person: Person, path: str = "/login") -> None:
    page.goto(path)
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    shared = page.get_by_label("This is a shared computer")
    assert shared.is_checked()  # the default
    assert not page.get_by_label("Keep me signed in on this device").is_checked()
    shared.check()
    click_and_wait(page, page.get_by_role("button", name="Sign in"))


def messages(page: Any) -> str:
    text: str = page.locator(".messages").inner_text()
    return text


def test_a_coordinator_signed_out_by_the_idle_limit_is_told_why_and_loses_nothing(
    live_server: LiveServer, seed: Seeder, page: Any, clock: ControllableClock
):
    world = seed.world()
    sign_in_on_a_shared_computer(page, world.coordinator)
    page.goto(f"/coordinator/members/{world.bob.id}")
    snapshot(page, "bobs-page")
    open_disclosure(page, "Add a private note")
    page.get_by_label("Add a private note").fill(NOTE)

    clock.advance(minutes=16)  # called away from the desk
    click_and_wait(page, page.get_by_role("button", name="Save the note"))
    assert "/login" in page.url
    said = messages(page)
    assert "You were signed out after 15 minutes without activity, to keep your account safe." in said
    assert "What you were sending has been kept." in said
    snapshot(page, "signed-out-with-the-note-kept")

    page.get_by_label("Email").fill(world.coordinator.email)
    page.get_by_label("Password").fill(world.coordinator.password)
    click_and_wait(page, page.get_by_role("button", name="Sign in"))
    assert page.url.endswith(f"/coordinator/members/{world.bob.id}")  # back where she was
    kept = page.get_by_role("region", name="You were signed out before this was sent")
    assert NOTE in kept.inner_text()
    snapshot(page, "back-on-bobs-page-with-the-kept-note")

    click_and_wait(page, kept.get_by_role("button", name="Send it now"))
    assert "Your note is saved" in messages(page)
    assert NOTE in page.locator(".timeline").inner_text()
    assert page.get_by_role("region", name="You were signed out before this was sent").count() == 0


def test_without_javascript_the_next_person_at_the_desk_sees_the_message_and_nothing_else(
    browser: Any, live_server: LiveServer, seed: Seeder, clock: ControllableClock
):
    world = seed.world()
    context = new_context(browser, live_server, java_script_enabled=False, viewport=PHONE)
    try:
        page = context.new_page()
        sign_in_on_a_shared_computer(page, world.alice)
        page.goto("/me")
        assert page.get_by_role("heading", level=1).count() == 1
        clock.advance(minutes=31)  # Alice walked away; someone else sits down
        open_menu(page)
        click_and_wait(page, page.get_by_role("link", name="My exchanges"))
        assert "/login" in page.url
        assert "You were signed out after 30 minutes without activity, to keep your account safe." in messages(page)
        assert page.get_by_label("Email").input_value() == ""  # nothing of Alice's is remembered
        assert has_no_horizontal_scroll(page)
        screenshot(page, "signed-out-message-on-a-phone")  # axe-core needs JavaScript: a picture only
        page.go_back()  # the browser's back button shows no stored copy of her page
        assert "/login" in page.url or "Alice" not in page.content()
    finally:
        context.close()


def test_a_quiet_warning_a_minute_before_the_end_and_stay_signed_in(
    live_server: LiveServer, seed: Seeder, page: Any, clock: ControllableClock
):
    world = seed.world()
    page.clock.install()
    sign_in_on_a_shared_computer(page, world.alice)
    page.goto("/dashboard")
    warning = page.locator("#session-warning [role=status]")
    assert warning.inner_text().strip() == ""

    clock.advance(minutes=29, seconds=5)
    page.clock.run_for("29:05")
    page.get_by_text("You will be signed out in about a minute").wait_for()
    snapshot(page, "warning-a-minute-before")

    page.get_by_role("button", name="Stay signed in").click()
    page.get_by_text("You will be signed out in about a minute").wait_for(state="detached")
    clock.advance(minutes=20)  # still signed in: "Stay signed in" was activity
    page.goto("/dashboard")
    assert page.get_by_role("button", name="Sign out").count() == 1


def test_on_her_own_phone_alice_stays_signed_in_sees_where_and_signs_out_everywhere(
    live_server: LiveServer, seed: Seeder, open_page: Any, clock: ControllableClock
):
    world = seed.world()
    phone = open_page(viewport=PHONE)
    phone.goto("/login")
    phone.get_by_label("Email").fill(world.alice.email)
    phone.get_by_label("Password").fill(world.alice.password)
    phone.get_by_label("Keep me signed in on this device").check()
    click_and_wait(phone, phone.get_by_role("button", name="Sign in"))
    day_centre = open_page()
    sign_in_on_a_shared_computer(day_centre, world.alice)

    clock.advance(hours=3)  # longer than a shared computer allows; her own phone is still in
    phone.goto("/account/password")
    click_and_wait(phone, phone.get_by_role("link", name="See where you are signed in, or sign out everywhere"))
    assert "You are signed in on 1 device" in phone.locator(".lead").inner_text()  # the day centre's has ended
    assert has_no_horizontal_scroll(phone)
    snapshot(phone, "where-you-are-signed-in")

    click_and_wait(phone, phone.get_by_role("button", name="Sign out everywhere"))
    assert "You have signed out on every device, this one included." in messages(phone)
    phone.goto("/dashboard")
    assert "/login" in phone.url
    assert phone.get_by_label("Email").input_value() == world.alice.email  # her own phone offers it
