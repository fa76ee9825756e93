"""The admin's Outbox in a real browser, on a 360 px phone: long addresses and long emails wrap
(nothing scrolls sideways), each email opens from its summary (details/summary, no script), and
axe-core finds nothing serious."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PHONE, Seeder, _person, has_no_horizontal_scroll, sign_in, snapshot
from tests.conftest import Factory
from timebank.notifications.service import queue_email

pytestmark = pytest.mark.browser


def test_an_admin_reads_the_outbox_on_a_phone(open_page: Any, seed: Seeder) -> None:
    with seed.session() as session:
        admin = _person(Factory(session).member(None, "Ada Admin", is_admin=True))
        queue_email(
            session,
            member=None,
            kind="test",
            subject="Bernadette O'Sullivan confirmed the time you recorded for the Tuesday lunch",
            text_body="Hello,\n\nThe time is confirmed: " + "a-very-long-unbroken-link-" * 8 + "\n",
            to_address="bernadette.osullivan.and.a.long.address@riverside-wellbeing-centre.example",
        )
        session.commit()
    page = open_page(viewport=PHONE)
    sign_in(page, admin)
    page.goto("/admin/outbox")
    assert page.get_by_role("heading", level=1).inner_text() == "Outbox"
    page.get_by_text("Read the email").click()
    assert "The time is confirmed" in page.locator("main").inner_text()
    assert has_no_horizontal_scroll(page)
    snapshot(page, "outbox-phone")
