"""Nobody decides on their own benefit, in a real browser on a phone (issue 12, point 5): Cora
asks for hours from the community pool for herself; the request waits, marked "Needs another
coordinator" in her queue; Cole, the timebank's other coordinator, approves it from his. Then
the self-approval page. Every page is screenshotted and checked with axe-core, and nothing
scrolls sideways at 360 px."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import (
    Seeder,
    click_and_wait,
    has_no_horizontal_scroll,
    sign_in,
    sign_out,
    snapshot,
    use_phone_width,
)
from timebank.exchanges.donations import DonationRequest, donate
from timebank.models import Member, Role

pytestmark = pytest.mark.browser


def test_a_grant_for_oneself_waits_for_another_coordinator_who_approves_it(page: Any, seed: Seeder) -> None:
    world = seed.world()
    cole = seed.member(world.timebank_id, "Cole Coordinator", role=Role.COORDINATOR)
    with seed.session() as session:
        alice = session.get(Member, world.alice.id)
        assert alice is not None
        donate(session, alice, DonationRequest(minutes=120, note="", request_key="browser-duties-pool"))

    use_phone_width(page)
    sign_in(page, world.coordinator)
    page.goto("/coordinator/grants/new")
    page.get_by_label("Who is it for?").select_option(label="Cora Coordinator")
    page.get_by_label("How much time credit?").fill("1")
    page.get_by_label("Why?").fill("Bus fares to the Friday session")
    click_and_wait(page, page.get_by_role("button", name="Give the hours"))
    assert "another coordinator or an administrator must approve it" in page.locator(".messages").inner_text()
    requests = page.locator("#requests + p + ol")
    assert "Needs another coordinator" in requests.inner_text()
    assert requests.get_by_role("button", name="Approve").count() == 0  # not hers to decide
    assert has_no_horizontal_scroll(page)
    snapshot(page, "own-request-waiting")
    sign_out(page)

    sign_in(page, cole)
    page.goto("/coordinator/exchanges")
    item = page.locator("#requests + p + ol li")
    assert "Cora Coordinator asks for 1 hour from the community pool" in item.inner_text()
    assert has_no_horizontal_scroll(page)
    snapshot(page, "request-for-another-coordinator")
    click_and_wait(page, item.get_by_role("button", name="Approve"))
    assert "approved: it is done" in page.locator(".messages").inner_text()
    assert "No request is waiting." in page.locator("main").inner_text()

    page.goto("/coordinator/self-approval")
    assert "has 2 coordinators" in page.locator("main").inner_text()
    assert has_no_horizontal_scroll(page)
    snapshot(page, "self-approval")
