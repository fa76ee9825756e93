"""The full journey as a new member would take it, in a real browser, through the real forms:

apply to join -> a coordinator approves -> post an offer -> be matched to a request -> propose ->
the other side agrees -> record 1.5 hours (typing the day into the day, month and year boxes,
and checking it said back in words) -> the other side confirms -> a coordinator approves ->
both balances change.

Nina, the newcomer, is on a 360 px phone (nothing may scroll sideways); Alice, who asked for
help, and Cora, the coordinator, are on desktop PCs. Every page on the way is screenshotted
(test-artifacts/screenshots/test_journey/...) and checked with axe-core.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from tests.browser.conftest import (
    PHONE,
    LiveServer,
    Seeder,
    click_and_wait,
    has_no_horizontal_scroll,
    sign_in,
    snapshot,
)

pytestmark = pytest.mark.browser

NINA_EMAIL = "nina@example.org"
NINA_PASSWORD = "a long walk by the river"


def look(page: Any, name: str) -> None:
    """Every page of the journey: a screenshot, axe-core, and (on a phone) no sideways scrolling."""
    snapshot(page, name)
    if page.viewport_size["width"] <= PHONE["width"]:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert has_no_horizontal_scroll(page), f"{name} is {width}px wide on a {PHONE['width']}px phone"


def heading(page: Any) -> str:
    text: str = page.get_by_role("heading", level=1).inner_text()
    return text.strip()


def flash(page: Any) -> str:
    text: str = page.locator(".messages").inner_text()
    return text


def test_a_newcomer_joins_offers_help_is_matched_and_both_balances_change(
    live_server: LiveServer, seed: Seeder, open_page: Any
):
    world = seed.world()  # Riverside: Cora (coordinator), Alice, Bob. Elm Park: Olive.
    seed.listing(
        world.alice,
        "request",
        "Gardening",
        "Help tidying my garden",
        description="The beds need weeding and the hedge needs a trim. Weekday mornings suit me.",
        tags="garden, weeding, hedge",
    )
    nina = open_page(viewport=PHONE)
    alice = open_page()
    cora = open_page()

    # 1. Nina finds the timebank and applies to join.
    nina.goto("/")
    look(nina, "nina-home")
    click_and_wait(nina, nina.get_by_role("main").get_by_role("link", name="Apply to join", exact=True))
    assert heading(nina).startswith("Apply to join")
    look(nina, "nina-join")

    # A wrong turn first: the two passwords differ.
    nina.get_by_label("Which timebank would you like to join?").select_option(label=world.timebank_name)
    nina.get_by_label("Your name").fill("Nina")
    nina.get_by_label("Email address (if you have one)").fill(NINA_EMAIL)
    nina.get_by_label("By email").check()
    nina.get_by_label("What could you offer to others?").fill("Gardening: weeding, planting, trimming hedges.")
    nina.get_by_label("What would you like help with?").fill("A lift to the shops now and then.")
    nina.get_by_label("Choose a password").fill(NINA_PASSWORD)
    nina.get_by_label("Type the password again").fill("a long walk by the sea")
    response = click_and_wait(nina, nina.get_by_role("button", name="Send my application"))
    assert response.status == 422
    summary = nina.get_by_role("alert")
    assert "The two passwords are not the same" in summary.inner_text()
    look(nina, "nina-join-with-an-error")
    # The summary leads her to the field; what she typed is still there (but not the passwords).
    summary.get_by_role("link", name=re.compile("The two passwords are not the same")).click()
    assert nina.evaluate("document.activeElement.id") == "confirm_password"
    assert nina.get_by_label("Your name").input_value() == "Nina"
    assert nina.get_by_label("What could you offer to others?").input_value().startswith("Gardening")
    nina.get_by_label("Choose a password").fill(NINA_PASSWORD)
    nina.get_by_label("Type the password again").fill(NINA_PASSWORD)
    click_and_wait(nina, nina.get_by_role("button", name="Send my application"))
    # The same answer as for an address that already has an account: "we'll email you".
    assert heading(nina) == "Check your email"
    assert world.timebank_name in flash(nina)
    look(nina, "nina-application-sent")

    # Signing in before approval shows where the application stands, not the member pages.
    sign_in_with(nina, NINA_EMAIL, NINA_PASSWORD)
    assert heading(nina) == "Your application is waiting for a coordinator"
    assert world.timebank_name in nina.locator("main").inner_text()
    look(nina, "nina-application-waiting")

    # 2. Cora, the coordinator, reads the application and approves it.
    sign_in(cora, world.coordinator)
    look(cora, "cora-dashboard")
    cora.goto("/coordinator/")
    look(cora, "cora-coordinator-home")
    click_and_wait(cora, cora.get_by_role("link", name="Applications to join"))
    look(cora, "cora-applications")
    click_and_wait(cora, cora.get_by_role("link", name="Read and decide for Nina"))
    assert heading(cora) == "Application from Nina"
    assert "Gardening: weeding" in cora.locator("main").inner_text()
    look(cora, "cora-application-from-nina")
    cora.get_by_label("I have taken up references and done the checks our timebank needs").check()
    cora.get_by_label("Which references and checks did you do?").fill("Met Nina at the centre; neighbour's reference.")
    click_and_wait(cora, cora.get_by_role("button", name="Approve Nina"))
    assert "Nina is approved" in flash(cora)
    look(cora, "cora-nina-approved")

    # 3. Nina signs in and offers gardening.
    sign_in_with(nina, NINA_EMAIL, NINA_PASSWORD)
    assert heading(nina) == "Hello, Nina"
    look(nina, "nina-dashboard-first-time")
    click_and_wait(nina, nina.get_by_role("link", name="Offer something"))
    assert nina.get_by_label("An offer: something I can do for others").is_checked()
    look(nina, "nina-new-offer")
    nina.get_by_label("Category").select_option(label="Gardening")
    nina.get_by_label("Title").fill("Gardening and weeding")
    nina.get_by_label("Description").fill("I can weed beds, plant bulbs and trim a hedge. Mornings are best.")
    nina.get_by_label("Tags (optional)").fill("garden, weeding, hedge")
    nina.get_by_label("Roughly how long (optional)").fill("2")
    click_and_wait(nina, nina.get_by_role("button", name="Add it"))
    assert heading(nina) == "Gardening and weeding"
    look(nina, "nina-offer")

    # 4. Matching: Alice's garden request is suggested for Nina's offer, and says why.
    click_and_wait(nina, nina.get_by_role("link", name="See the requests this offer could meet, and why"))
    look(nina, "nina-matches")
    suggestion = nina.locator(".suggestion").filter(has_text="Help tidying my garden")
    assert suggestion.count() == 1
    assert "Alice" in suggestion.inner_text()
    assert "Why we suggest this" in suggestion.inner_text()
    click_and_wait(nina, suggestion.get_by_role("link", name=re.compile("^Propose an exchange")))
    assert heading(nina) == "Offer to help Alice"
    look(nina, "nina-propose")
    nina.get_by_label("Your message").fill("I could come on Tuesday morning with my tools.")
    nina.get_by_label("Roughly how long? (optional)").fill("1.5")
    click_and_wait(nina, nina.get_by_role("button", name="Send the proposal"))
    assert "Your proposal has gone to Alice" in flash(nina)
    look(nina, "nina-proposal-sent")
    exchange_url = nina.url

    # 5. Alice sees it needs her, and agrees.
    sign_in(alice, world.alice)
    needs = alice.get_by_role("region", name=re.compile("^Needs your action"))
    assert "Nina" in needs.inner_text()
    look(alice, "alice-dashboard-needs-action")
    alice.goto(exchange_url)
    assert "I could come on Tuesday morning" in alice.locator("main").inner_text()
    look(alice, "alice-proposal")
    # She also has it open in a second tab (the same session), as people do.
    alice_tab = alice.context.new_page()
    alice_tab.goto(exchange_url)
    click_and_wait(alice, alice.get_by_role("button", name="Yes, accept"))
    assert "You said yes" in flash(alice)
    look(alice, "alice-accepted")
    # A wrong turn: accepting again from the old tab is refused plainly, and changes nothing.
    response = click_and_wait(alice_tab, alice_tab.get_by_role("button", name="Yes, accept"))
    assert response.status == 409
    assert heading(alice_tab) == "That could not be done"
    look(alice_tab, "alice-accepts-twice")
    alice_tab.close()

    # 6. After the help (yesterday), Nina records 1.5 hours, typing the day into the date boxes.
    nina.goto(exchange_url)
    click_and_wait(nina, nina.get_by_role("link", name="Record the time"))
    look(nina, "nina-record-time")
    yesterday = date.today() - timedelta(days=1)
    when = nina.get_by_role("group", name="When did the help happen?")
    assert when.get_by_label("Day").get_attribute("inputmode") == "numeric"
    # A wrong turn: she leaves the month out. The summary names it and leads to the boxes.
    when.get_by_label("Day").fill(str(yesterday.day))
    when.get_by_label("Month").fill("")
    when.get_by_label("Year").fill(str(yesterday.year))
    nina.get_by_label("How long did it take?").fill("1.5")
    nina.get_by_label("What was done?").fill("Weeded the beds and trimmed the hedge")
    response = click_and_wait(nina, nina.get_by_role("button", name="Continue"))
    assert response.status == 422
    summary = nina.get_by_role("alert")
    assert "The date must include a month" in summary.inner_text()
    look(nina, "nina-record-time-no-month")
    summary.get_by_role("link", name="The date must include a month.").click()
    assert nina.evaluate("document.activeElement.id") == "performed_on-month"
    when = nina.get_by_role("group", name="When did the help happen?")
    assert when.get_by_label("Day").input_value() == str(yesterday.day)  # what she typed is kept
    when.get_by_label("Month").fill(str(yesterday.month))
    click_and_wait(nina, nina.get_by_role("button", name="Continue"))
    # Nothing is saved until she has seen it in words.
    assert heading(nina) == "Check the time before you record it"
    answers = nina.locator("main").inner_text()
    assert f"{yesterday:%A} {yesterday.day} {yesterday:%B %Y}" in answers and "1 hour 30 minutes" in answers
    look(nina, "nina-check-the-time")
    click_and_wait(nina, nina.get_by_role("button", name="Record the time"))
    assert "The time is recorded" in flash(nina)
    look(nina, "nina-time-recorded")
    nina.goto("/dashboard")
    assert "1 hour 30 minutes coming to you is waiting to be confirmed" in nina.locator(".panel").first.inner_text()
    look(nina, "nina-dashboard-hours-waiting")

    # 7. Alice confirms the time.
    alice.goto(exchange_url)
    assert "Weeded the beds and trimmed the hedge" in alice.locator("main").inner_text()
    look(alice, "alice-confirm")
    click_and_wait(alice, alice.get_by_role("button", name="Yes, this is right: confirm 1 hour 30 minutes"))
    assert "a coordinator will approve it" in flash(alice)
    look(alice, "alice-confirmed")

    # 8. Cora approves it from her queue.
    cora.goto("/coordinator/exchanges")
    assert heading(cora) == "Exchanges to approve"
    look(cora, "cora-exchanges-to-approve")
    click_and_wait(cora, cora.get_by_role("button", name=re.compile(r"^Approve\s*:")))
    assert "Approved: Nina gets the time credits." in flash(cora)
    look(cora, "cora-approved")

    # 9. Both balances changed, in plain words.
    nina.goto("/me")
    assert "1 hour 30 minutes" in nina.locator(".balance").inner_text()
    assert "You earned 1 hour 30 minutes helping Alice" in nina.get_by_role("table").inner_text()
    look(nina, "nina-my-hours")
    alice.goto("/me")
    assert "minus 1 hour 30 minutes" in alice.locator(".balance").inner_text()
    assert "You spent 1 hour 30 minutes: Nina helped you" in alice.get_by_role("table").inner_text()
    look(alice, "alice-my-hours")
    nina.goto("/dashboard")
    look(nina, "nina-dashboard-after")


def sign_in_with(page: Any, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    click_and_wait(page, page.get_by_role("button", name="Sign in"))
