"""Members management and administration in a real browser, through the real forms (CSRF on):

a coordinator registers someone who has no email, writes a private note, is told plainly why a
limit cannot be saved, sets one that fits, and suspends a member; an installation admin creates
a timebank, is told which time zone is wrong, saves the settings and appoints a coordinator.
Every page is screenshotted and checked with axe-core (no serious or critical violations).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.conftest import Seeder, _person, click_and_wait, open_disclosure, sign_in, snapshot
from tests.conftest import Factory
from timebank.models import Account, Member, MemberStatus, Role, Timebank

pytestmark = pytest.mark.browser


def _flash(page: Any) -> str:
    return str(page.locator(".messages").inner_text())


def test_a_coordinator_registers_notes_limits_and_suspends(page: Any, seed: Seeder) -> None:
    world = seed.world()
    sign_in(page, world.coordinator)
    page.goto("/coordinator/")
    click_and_wait(page, page.locator("main").get_by_role("link", name="Members", exact=True))
    snapshot(page, "members")

    click_and_wait(page, page.get_by_role("link", name="Register someone who has no email"))
    snapshot(page, "register-form")
    click_and_wait(page, page.get_by_role("button", name="Register"))
    assert "There is a problem" in page.locator(".error-summary").inner_text()
    snapshot(page, "register-problems")
    page.get_by_label("Name").fill("Maggie Reilly")
    page.get_by_label("Which references and checks did you do?").fill("Met at the drop-in; reference from Jo")
    click_and_wait(page, page.get_by_role("button", name="Register"))
    assert "Maggie Reilly is registered" in _flash(page)
    snapshot(page, "maggie")

    open_disclosure(page, "Add a private note")
    page.get_by_label("Add a private note").fill("Likes the Tuesday knitting group.")
    click_and_wait(page, page.get_by_role("button", name="Save the note"))
    assert "Only coordinators can see it" in _flash(page)
    assert "Likes the Tuesday knitting group." in page.locator("main").inner_text()

    page.goto(f"/coordinator/members/{world.alice.id}")
    open_disclosure(page, "Change Alice’s limits")
    page.get_by_label("Lowest balance allowed, in hours").fill("5")
    response = click_and_wait(page, page.get_by_role("button", name="Save the limits"))
    assert response.status == 422
    assert "zero or below zero" in page.locator(".error-summary").inner_text()
    snapshot(page, "limits-problem")
    page.get_by_label("Lowest balance allowed, in hours").fill("-20")
    click_and_wait(page, page.get_by_role("button", name="Save the limits"))
    assert "limits are saved" in _flash(page)

    open_disclosure(page, "Suspend Alice")
    page.get_by_label("Why are you suspending this member?").fill("Let us talk before the next session.")
    click_and_wait(page, page.get_by_role("button", name="Suspend Alice"))
    assert "Alice is suspended" in _flash(page)
    snapshot(page, "alice-suspended")
    with seed.session() as session:
        alice = session.get(Member, world.alice.id)
        assert alice is not None and alice.status == MemberStatus.SUSPENDED
        account = session.scalar(select(Account).where(Account.member_id == world.alice.id))
        assert account is not None and account.floor_minutes == -20 * 60


def test_an_admin_creates_a_timebank_sets_it_up_and_appoints_a_coordinator(page: Any, seed: Seeder) -> None:
    world = seed.world()
    with seed.session() as session:
        admin = _person(Factory(session).member(None, "Ada Admin", is_admin=True))
    sign_in(page, admin)
    assert page.url.endswith("/admin/")
    snapshot(page, "admin-home")

    click_and_wait(page, page.get_by_role("link", name="Create a timebank"))
    page.get_by_label("Name of the timebank").fill("Hilltop Time Bank")
    page.get_by_label("Organisation that runs it").fill("Hilltop Trust")
    click_and_wait(page, page.get_by_role("button", name="Create the timebank"))
    assert "Hilltop Time Bank is created" in _flash(page)
    snapshot(page, "hilltop")

    page.get_by_label("Time zone").fill("Europe/Atlantis")
    response = click_and_wait(page, page.get_by_role("button", name="Save the settings"))
    assert response.status == 422
    assert "Choose a time zone from the list" in page.locator(".error-summary").inner_text()
    snapshot(page, "settings-problem")
    page.get_by_label("Time zone").fill("Europe/Dublin")
    page.get_by_label("Smallest step of time").select_option("30")
    click_and_wait(page, page.get_by_role("button", name="Save the settings"))
    assert "settings of Hilltop Time Bank are saved" in _flash(page)
    with seed.session() as session:
        hilltop = session.scalar(select(Timebank).where(Timebank.slug == "hilltop-time-bank"))
        assert hilltop is not None and (hilltop.time_zone, hilltop.granularity_minutes) == ("Europe/Dublin", 30)

    page.goto(f"/admin/timebanks/{world.timebank_id}")
    page.get_by_label("Member to make a coordinator").select_option(label="Bob")
    click_and_wait(page, page.get_by_role("button", name="Make them a coordinator"))
    assert "Bob is now a coordinator" in _flash(page)
    snapshot(page, "riverside-coordinators")
    with seed.session() as session:
        bob = session.get(Member, world.bob.id)
        assert bob is not None and bob.role == Role.COORDINATOR
