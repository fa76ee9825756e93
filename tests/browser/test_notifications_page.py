"""Notifications in a real browser: the count in the nav says it in words, the page shows what
needs the member and what happened, confirming from it clears "needs your action", and the
email choices page works with the keyboard. Every page screenshotted and axe-clean."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.browser.conftest import (
    LiveServer,
    Seeder,
    click_and_wait,
    has_no_horizontal_scroll,
    open_menu,
    sign_in,
    snapshot,
    use_phone_width,
)
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.models import Member

pytestmark = pytest.mark.browser


def test_a_member_follows_a_notification_confirms_and_chooses_her_emails(page, live_server: LiveServer, seed: Seeder):
    world = seed.world()
    seed.approved_exchange(world.coordinator, world.alice, world.bob, 60, "Walked the dog")  # Bob: what happened
    assert world.bob.account_id is not None and world.alice.account_id is not None
    with seed.session() as session:
        bob = session.get(Member, world.bob.id)
        assert bob is not None
        record_exchange(
            session,
            bob,
            RecordRequest(
                provider_account_id=world.bob.account_id,
                recipient_account_id=world.alice.account_id,
                minutes=90,
                performed_on=date.today() - timedelta(days=1),
                description="Fixed the garden gate",
                request_key="browser-notify-1",
            ),
        )

    use_phone_width(page)
    sign_in(page, world.alice)
    # Two unread: the approval, and Bob's record she must confirm. The count is read as words.
    open_menu(page)  # on a phone the links are behind "Menu"
    nav_link = page.get_by_role("link", name="Notifications (2) unread")
    assert nav_link.is_visible()
    click_and_wait(page, nav_link)
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Notifications"
    needs = page.locator("section", has=page.get_by_role("heading", name="Needs your action (1)"))
    assert "Bob recorded 1 hour 30 minutes helping you" in needs.inner_text()
    happened = page.locator("section", has=page.get_by_role("heading", name="What happened"))
    assert "You gave Bob 1 hour" in happened.inner_text()
    assert has_no_horizontal_scroll(page)
    snapshot(page, "notifications")

    click_and_wait(page, needs.get_by_role("link", name="See what to do"))
    click_and_wait(page, page.get_by_role("button", name="Yes, this is right: confirm 1 hour 30 minutes"))
    page.goto(live_server("/notifications"))
    assert page.get_by_role("heading", name="Needs your action").inner_text().strip() == "Needs your action"
    assert page.get_by_text("Nothing needs you just now.").is_visible()
    click_and_wait(page, page.get_by_role("button", name="Mark all as read"))
    assert page.get_by_text("You have no unread notifications.").is_visible()
    snapshot(page, "all-read")

    click_and_wait(page, page.get_by_role("link", name="Choose which emails you get"))
    snapshot(page, "email-choices")
    updates = page.get_by_label("Email me when something happens to my exchanges")
    assert updates.is_checked()
    updates.focus()
    page.keyboard.press("Space")  # the keyboard alone is enough
    assert not updates.is_checked()
    click_and_wait(page, page.get_by_role("button", name="Save my choices"))
    assert page.get_by_text("Your email choices are saved.").is_visible()
    assert not page.get_by_label("Email me when something happens to my exchanges").is_checked()
    assert page.get_by_label("Email me when something needs me").is_checked()
