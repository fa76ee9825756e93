"""Two-factor sign-in in a real browser, as a coordinator whose timebank requires it: set it up
from the QR code page (its key typed into an "app", here pyotp), keep the recovery codes, then
sign in with a code, on a 360 px phone, with and without JavaScript, checked with axe-core."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest

from tests.browser.conftest import (
    LiveServer,
    Person,
    Seeder,
    check_accessibility,
    click_and_wait,
    has_no_horizontal_scroll,
    new_context,
    screenshot,
    sign_in,
    sign_out,
    use_phone_width,
)
from timebank.models import Timebank

pytestmark = pytest.mark.browser


def _heading(page: Any) -> str:
    text: str = page.get_by_role("heading", level=1).inner_text()
    return text.strip()


def _check(page: Any, name: str, *, accessibility: bool) -> None:
    screenshot(page, name)
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways on a 360 px phone"
    if accessibility:
        check_accessibility(page, name)


def _set_up_and_sign_in_again(page: Any, coordinator: Person, *, accessibility: bool) -> None:
    use_phone_width(page)
    sign_in(page, coordinator)
    # The timebank requires it: the set-up page comes before anything else.
    assert _heading(page) == "Set up two-factor sign-in"
    assert "Your role needs two-factor sign-in" in page.locator("main").inner_text()
    assert page.get_by_role("img", name="QR code for your authenticator app").count() == 1
    _check(page, "two-factor-setup-phone", accessibility=accessibility)
    secret = page.locator("#secret").inner_text().replace(" ", "")
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).now())
    click_and_wait(page, page.get_by_role("button", name="Turn on two-factor sign-in"))
    assert _heading(page) == "Your recovery codes"
    codes = page.locator(".recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    _check(page, "two-factor-recovery-codes-phone", accessibility=accessibility)
    click_and_wait(page, page.get_by_role("link", name="I have kept my codes safe"))
    assert _heading(page) == "Two-factor sign-in"
    page.goto("/coordinator/")
    assert _heading(page) != "Set up two-factor sign-in"
    sign_out(page)

    sign_in(page, coordinator)
    assert _heading(page) == "Enter your sign-in code"
    _check(page, "two-factor-code-phone", accessibility=accessibility)
    # The next step's code: the one used to set it up is not accepted again.
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).at(time.time() + 30))
    click_and_wait(page, page.get_by_role("button", name="Sign in"))
    assert page.get_by_text(f"Welcome, {coordinator.name}.").is_visible()


def _require_two_factor(seed: Seeder, timebank_id: int) -> None:
    with seed.session() as session:
        timebank = session.get(Timebank, timebank_id)
        assert timebank is not None
        timebank.coordinators_need_two_factor = True


def test_a_coordinator_sets_up_two_factor_and_signs_in_with_a_code_on_a_phone(
    page, live_server: LiveServer, seed: Seeder
):
    world = seed.world()
    _require_two_factor(seed, world.timebank_id)
    _set_up_and_sign_in_again(page, world.coordinator, accessibility=True)


def test_two_factor_works_without_javascript(browser, live_server: LiveServer, seed: Seeder):
    world = seed.world()
    _require_two_factor(seed, world.timebank_id)
    context = new_context(browser, live_server, java_script_enabled=False)
    try:
        _set_up_and_sign_in_again(context.new_page(), world.coordinator, accessibility=False)
    finally:
        context.close()
