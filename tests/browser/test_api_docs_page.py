"""The API's documentation page in a real browser: nothing loaded from elsewhere (the network
is closed), axe-core clean, readable on a 360 px phone without sideways scrolling."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, has_no_horizontal_scroll, snapshot, use_phone_width

pytestmark = pytest.mark.browser


def test_the_api_docs_page_is_local_accessible_and_fits_a_phone(page: Any, live_server: LiveServer) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto("/api/docs")
    assert response is not None and response.status == 200
    assert page.get_by_role("heading", level=1).inner_text().startswith("Timebank API")
    assert page.get_by_role("heading", name="Getting a token").is_visible()
    snapshot(page, "api-docs")
    assert all(url.startswith(live_server.url) for url in requested), requested

    use_phone_width(page)
    page.reload()
    assert has_no_horizontal_scroll(page)
    snapshot(page, "api-docs-phone")
