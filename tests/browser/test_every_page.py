"""Every page of the app, as every visitor who may see it, with the demo loaded, on a 360 px phone
and a 1280 px desktop: no sideways scroll (nor content hidden in a scroll box), no axe-core
finding of any impact, exactly one h1, no console error, and valid HTML (the Nu HTML Checker).

The pages come from the URL map and the authorization matrix (tests/browser/page_tour.py), so a
new page is checked as soon as it has a row in the matrix. One browser walks the whole tour once
(each page loaded once, checked at 360 px, then widened to 1280 px and checked again); the tests
below each report one kind of problem, for every page at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    REPO_ROOT,
    REQUIRE_BROWSER,
    LiveServer,
    _describe,
    _unavailable,
    browser_test_app,
    new_context,
    run_axe,
    serving,
)
from tests.browser.page_tour import (
    ONLY_REACHED_ON_THE_WAY,
    ROLES,
    DemoSite,
    Visit,
    load_demo_site,
    page_rules,
    sideways,
    sign_in_as,
    small_text,
    visits,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VNU_JAR = REPO_ROOT / "tests" / "browser" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
JAVA = os.environ.get("TIMEBANK_JAVA") or shutil.which("java")
WIDTHS = {"360 px": PHONE, "1280 px": DESKTOP}


@dataclass
class Tour:
    """What the walk found, page by page."""

    visited: list[Visit] = field(default_factory=list)
    not_opened: dict[str, str] = field(default_factory=dict)  # visit name -> what happened
    sideways: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    axe: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    headings: dict[str, str] = field(default_factory=dict)
    console: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    small_text: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    html: dict[str, str] = field(default_factory=dict)  # visit name -> the HTML the server sent
    endpoints: set[str] = field(default_factory=set)  # every page endpoint of the app


def _walk_as(browser: Any, server: LiveServer, site: DemoSite, role: str, planned: list[Visit], tour: Tour) -> None:
    context = new_context(browser, server, viewport=PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        if role != "anonymous":
            sign_in_as(page, site.emails[role])
        for visit in planned:
            errors.clear()
            page.set_viewport_size(PHONE)
            response = page.goto(visit.url)
            if response is None or response.status != 200:
                status = "no response" if response is None else f"{response.status} at {page.url}"
                tour.not_opened[visit.name] = f"{visit.url} -> {status}"
                continue
            if response.request.redirected_from is not None:
                continue  # sent on to another page of theirs (a signed-in member from /login): toured there
            tour.visited.append(visit)
            tour.html[visit.name] = response.text()
            count = page.locator("h1").count()
            if count != 1:
                tour.headings[visit.name] = f"{visit.url}: {count} h1 elements"
            for width_name, viewport in WIDTHS.items():
                page.set_viewport_size(viewport)
                where = f"{visit.url} at {width_name}"
                tour.sideways[visit.name] += [f"{where}: {problem}" for problem in sideways(page)]
                tour.small_text[visit.name] += [f"{where}: {problem}" for problem in small_text(page)]
                violations = run_axe(page).get("violations", [])
                tour.axe[visit.name] += [f"{where}:\n{_describe(violation)}" for violation in violations]
            tour.console[visit.name] += [f"{visit.url}: {error}" for error in errors]
    finally:
        context.close()


@pytest.fixture(scope="module")
def tour(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tour]:
    folder = tmp_path_factory.mktemp("every-page")
    app = browser_test_app(f"sqlite:///{folder / 'demo.sqlite'}")
    site = load_demo_site(app)
    planned = visits(app, site)
    walked = Tour(endpoints=set(page_rules(app)) - set(ONLY_REACHED_ON_THE_WAY))
    with serving(app) as server:
        for role in ROLES:
            _walk_as(browser, server, site, role, [v for v in planned if v.role == role], walked)
        yield walked


def _report(found: dict[str, Any]) -> str:
    lines = []
    for name in sorted(found):
        problems = found[name]
        if problems:
            lines.append(f"{name}:")
            lines += [f"  {problem}" for problem in (problems if isinstance(problems, list) else [problems])]
    return "\n".join(lines)


def _with_problems(found: dict[str, Any]) -> list[str]:
    return sorted(name for name, problems in found.items() if problems)


def test_every_page_opens_for_every_visitor_allowed_to_see_it(tour: Tour) -> None:
    """A page the tour cannot open is checked by none of the tests below: that fails too."""
    assert not tour.not_opened, "These pages did not open (200, no redirect):\n" + _report(tour.not_opened)
    toured = {visit.endpoint for visit in tour.visited}
    assert not tour.endpoints - toured, f"Pages no visitor of the tour opened: {sorted(tour.endpoints - toured)}"


def test_no_page_scrolls_sideways_or_hides_content_in_a_scroll_box(tour: Tour) -> None:
    assert not _with_problems(tour.sideways), (
        "Sideways scrolling on a phone (360 px) or a desktop (1280 px):\n" + _report(tour.sideways)
    )


def test_no_text_is_smaller_than_12_px_not_even_in_a_chart_on_a_phone(tour: Tour) -> None:
    assert not _with_problems(tour.small_text), "Text under 12 px:\n" + _report(tour.small_text)


def test_no_page_has_an_accessibility_problem_of_any_impact(tour: Tour) -> None:
    assert not _with_problems(tour.axe), "axe-core found problems (any impact fails):\n" + _report(tour.axe)


def test_every_page_has_exactly_one_h1(tour: Tour) -> None:
    assert not tour.headings, "Pages without exactly one h1:\n" + _report(tour.headings)


def test_no_page_logs_a_console_error(tour: Tour) -> None:
    assert not _with_problems(tour.console), "Console errors:\n" + _report(tour.console)


def _vnu_missing() -> str | None:
    if not VNU_JAR.is_file():
        return f"vnu-jar not found at {VNU_JAR.relative_to(REPO_ROOT)} (run: npm ci --prefix tests/browser)"
    if JAVA is None:
        return "no java (as root: apt-get install -y default-jre-headless)"
    return None


def test_every_page_is_valid_html(tour: Tour, tmp_path: Path) -> None:
    """The Nu HTML Checker over the HTML the server sent for every page: no errors."""
    missing = _vnu_missing()
    if missing:
        if REQUIRE_BROWSER:
            pytest.fail(f"The HTML check is required here (CI=true) but cannot run: {missing}", pytrace=False)
        _unavailable(missing)
    for name, html in tour.html.items():
        (tmp_path / f"{name}.html").write_text(html)
    assert JAVA is not None
    result = subprocess.run(
        [JAVA, "-Xss8m", "-jar", str(VNU_JAR), "--errors-only", "--format", "gnu", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0 and not output, (
        "The Nu HTML Checker found errors:\n" + output.replace(f"file:{tmp_path}/", "").replace(str(tmp_path) + "/", "")
    )
