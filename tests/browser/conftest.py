"""Browser tests: the real app on a live server, driven by Debian's Chromium through Playwright,
with axe-core accessibility checks and screenshots kept as test artefacts.

- Chromium: /usr/bin/chromium (``apt-get install -y chromium``; ./scripts/test installs it when
  run as root). Never a browser downloaded by Playwright.
- axe-core: tests/browser/node_modules/axe-core (``npm ci --prefix tests/browser``; ./scripts/test
  does it).
- Without either, every browser test is skipped and the summary says so loudly; with CI=true (or
  TIMEBANK_REQUIRE_BROWSER=1) they fail instead.
- Screenshots and axe reports: test-artifacts/screenshots/<test>/<nn>-<name>.png and .axe.json.

See docs/TESTING.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from tests.conftest import PASSWORD, Factory, fresh_sqlite_url, share_compiled_templates, skip_sqlite_fsync
from timebank import create_app
from timebank.exchanges.service import RecordRequest, approve_exchange, record_exchange
from timebank.extensions import db
from timebank.models import ApprovalPolicy, Base, Member, MemberStatus, Role, Timebank

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
CHROMIUM = Path(os.environ.get("TIMEBANK_CHROMIUM", "/usr/bin/chromium"))
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
# Exactly these: the network is closed, and Chromium must not try to reach it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("TIMEBANK_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts")) / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
# Impacts that fail a test. Moderate and minor findings are printed, and kept in the JSON report.
FAILING_IMPACTS = ("serious", "critical")
REQUIRE_BROWSER = os.environ.get("CI") == "true" or os.environ.get("TIMEBANK_REQUIRE_BROWSER") == "1"

_SKIP_MARK = "browser test cannot run"


# --- Availability: skip loudly, or fail in CI ------------------------------------------------


def _missing_requirements() -> list[str]:
    missing = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing.append(f"Chromium not found at {CHROMIUM} (as root: apt-get update && apt-get install -y chromium)")
    if not AXE_JS.is_file():
        missing.append(f"axe-core not found at {AXE_JS.relative_to(REPO_ROOT)} (run: npm ci --prefix tests/browser)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package is not installed (pip install -r requirements.txt)")
    return missing


def _unavailable(reason: str) -> None:
    """Skip this browser test loudly, or fail it where browser tests are required."""
    if REQUIRE_BROWSER:
        pytest.fail(f"Browser tests are required here (CI=true) but cannot run: {reason}", pytrace=False)
    pytest.skip(f"SKIPPED: {_SKIP_MARK} - {reason}")


@pytest.fixture(autouse=True)
def _browser_requirements() -> None:
    missing = _missing_requirements()
    if missing:
        _unavailable("; ".join(missing))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Counted from the reports (they reach the main process from every xdist worker). A skip
    # raised by the session-wide browser fixture is reused by every test, not re-run.
    reports = [
        report for report in terminalreporter.stats.get("skipped", []) if _SKIP_MARK in str(report.longrepr)
    ]
    if not reports:
        return
    longrepr = reports[0].longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    reason = reason.split(f"{_SKIP_MARK} - ", 1)[-1]
    terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
    terminalreporter.write_line(
        f"{len(reports)} browser tests did not run: {reason}. "
        "CI runs them; ./scripts/test installs Chromium (as root) and axe-core.",
        red=True,
    )


# --- The live server ---------------------------------------------------------------------------


class _ServerErrorCatcher:
    """WSGI middleware that remembers every 5xx response and unhandled exception, so a test fails
    when the server broke even if the page looked fine."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.failures: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        where = f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"

        def recording_start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            if status[:1] == "5":
                self.failures.append(f"{where} -> {status}")
            return start_response(status, headers, *args)

        try:
            return self.app(environ, recording_start_response)
        except Exception as exc:
            self.failures.append(f"{where} raised {exc!r}")
            raise


@dataclass
class LiveServer:
    app: Flask
    url: str
    errors: _ServerErrorCatcher

    def __call__(self, path: str = "/") -> str:
        """The full address of a path on this server."""
        return self.url + path


@contextmanager
def serving(app: Flask) -> Iterator[LiveServer]:
    """Serve ``app`` on 127.0.0.1 and a free port for the block; fail if the server broke."""
    catcher = _ServerErrorCatcher(app)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, catcher, threaded=False)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}", errors=catcher)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        with app.app_context():
            db.engine.dispose()
    assert not catcher.failures, "The server failed while the test ran:\n" + "\n".join(catcher.failures)


def _app_on(database_url: str) -> Flask:
    """The real app, with CSRF on, on the database at ``database_url`` (a SQLite file)."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-tests",
            "SQLALCHEMY_DATABASE_URI": database_url,
            # WTF_CSRF_ENABLED stays on: the real forms must work with their tokens.
        }
    )
    share_compiled_templates(app)
    skip_sqlite_fsync(app)
    return app


def browser_test_app(database_url: str) -> Flask:
    """The real app, with CSRF on, on a fresh database at ``database_url`` (a SQLite file)."""
    engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return _app_on(database_url)


@pytest.fixture
def live_server(tmp_path: Path, sqlite_template: Path) -> Iterator[LiveServer]:
    """The real app, with CSRF on, on a fresh SQLite file (a copy of the template), served on
    127.0.0.1 and a free port."""
    with serving(_app_on(fresh_sqlite_url(sqlite_template, tmp_path / "browser.sqlite"))) as server:
        yield server


# --- Seeding data through the services ----------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """What a test needs to act as a member: plain values, usable after the session is gone."""

    id: int
    name: str
    email: str
    account_id: int | None
    password: str = PASSWORD


@dataclass(frozen=True)
class SeededWorld:
    timebank_id: int
    timebank_name: str
    coordinator: Person
    alice: Person
    bob: Person
    other_timebank_id: int
    outsider: Person


def _person(member: Member) -> Person:
    assert member.email is not None
    return Person(
        id=member.id,
        name=member.display_name,
        email=member.email,
        account_id=member.account.id if member.account else None,
    )


class Seeder:
    """Puts data into the live server's database with the same services the app uses, in an app
    context of its own. Returns plain values (Person, ids), never live ORM objects."""

    def __init__(self, server: LiveServer) -> None:
        self._app = server.app
        self._requests = 0

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the live server's database; committed when the block ends."""
        with self._app.app_context():
            session = db.session()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                db.session.remove()

    def world(self, approval_policy: ApprovalPolicy = ApprovalPolicy.ALWAYS) -> SeededWorld:
        """Riverside with Cora Coordinator, Alice and Bob; Elm Park with Olive Outsider."""
        with self.session() as session:
            world = Factory(session).world(approval_policy=approval_policy)
            return SeededWorld(
                timebank_id=world.timebank.id,
                timebank_name=world.timebank.name,
                coordinator=_person(world.coordinator),
                alice=_person(world.alice),
                bob=_person(world.bob),
                other_timebank_id=world.other_timebank.id,
                outsider=_person(world.outsider),
            )

    def member(
        self,
        timebank_id: int,
        name: str,
        role: Role = Role.PARTICIPANT,
        status: MemberStatus = MemberStatus.APPROVED,
    ) -> Person:
        with self.session() as session:
            timebank = session.get(Timebank, timebank_id)
            return _person(Factory(session).member(timebank, name, role=role, status=status))

    def listing(
        self,
        owner: Person,
        kind: str,
        category: str,
        title: str,
        description: str = "",
        tags: str = "",
        estimated_minutes: int | None = None,
    ) -> int:
        """An open offer or request ("offer" / "request") in a category of the owner's timebank."""
        from timebank.listings.service import ListingInput, create_listing
        from timebank.models import Category, ListingKind

        with self.session() as session:
            member = session.get(Member, owner.id)
            assert member is not None
            category_id = session.scalar(
                select(Category.id).where(Category.timebank_id == member.timebank_id, Category.name == category)
            )
            assert category_id is not None, f"no category {category!r}"
            listing = create_listing(
                session,
                member,
                ListingInput(
                    kind=ListingKind(kind),
                    category_id=category_id,
                    title=title,
                    description=description,
                    tags=tags,
                    estimated_minutes=estimated_minutes,
                ),
            )
            return listing.id

    def approved_exchange(
        self,
        coordinator: Person,
        provider: Person,
        recipient: Person,
        minutes: int,
        description: str,
        performed_on: date | None = None,
    ) -> int:
        """Help that happened and was approved: the provider earns, the recipient spends."""
        self._requests += 1
        assert provider.account_id is not None and recipient.account_id is not None
        with self.session() as session:
            provider_member = session.get(Member, provider.id)
            assert provider_member is not None
            exchange = record_exchange(
                session,
                provider_member,
                RecordRequest(
                    provider_account_id=provider.account_id,
                    recipient_account_id=recipient.account_id,
                    minutes=minutes,
                    performed_on=performed_on or date.today(),
                    description=description,
                    request_key=f"browser-seed-{self._requests}",
                ),
            )
            coordinator_member = session.get(Member, coordinator.id)
            assert coordinator_member is not None
            # Not confirmed by the recipient: approving it anyway needs a reason.
            approve_exchange(session, coordinator_member, exchange.id, reason="From the signed paper timesheet")
            return exchange.id


@pytest.fixture
def seed(live_server: LiveServer) -> Seeder:
    return Seeder(live_server)


# --- The browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the whole run."""
    missing = _missing_requirements()
    if missing:
        _unavailable("; ".join(missing))
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        except PlaywrightError as exc:
            _unavailable(f"Chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


def new_context(browser: Any, live_server: LiveServer, **options: Any) -> Any:
    """A fresh browser profile (no cookies) pointed at the live server."""
    settings: dict[str, Any] = {
        "base_url": live_server.url,
        "viewport": DESKTOP,
        "locale": "en-GB",
        "timezone_id": "Europe/London",
        # axe is injected as an inline script; a Content-Security-Policy must not stop it.
        "bypass_csp": True,
    }
    settings.update(options)
    context = browser.new_context(**settings)
    # A guard against a hung page, not a timing assertion.
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A page in a fresh context (no cookies), 1280 x 900, on the live server."""
    context = new_context(browser, live_server)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def open_page(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Any]]:
    """Open more pages, each in a fresh context of its own (another person, another device):
    ``open_page()`` or ``open_page(viewport=PHONE)``. All are closed after the test."""
    contexts: list[Any] = []

    def opener(**options: Any) -> Any:
        context = new_context(browser, live_server, **options)
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


def use_phone_width(page: Any) -> None:
    """Make the page 360 CSS pixels wide, like a small phone."""
    page.set_viewport_size(PHONE)


def use_desktop_width(page: Any) -> None:
    page.set_viewport_size(DESKTOP)


def has_no_horizontal_scroll(page: Any) -> bool:
    width = page.viewport_size["width"]
    scroll_width: int = page.evaluate("document.documentElement.scrollWidth")
    return scroll_width <= width


# --- Artefacts: screenshots and accessibility reports -------------------------------------------


class _Artifacts:
    """Where the current test's files go, numbered in the order they were taken."""

    directory: Path = ARTIFACTS / "unnamed"
    count = 0

    def next_path(self, name: str, suffix: str) -> Path:
        self.count += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f"{self.count:02d}-{_slug(name)}{suffix}"


_artifacts = _Artifacts()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "page"


@pytest.fixture(autouse=True)
def _artifact_directory(request: pytest.FixtureRequest) -> None:
    """Each test starts with an empty folder of its own."""
    module = Path(str(request.node.fspath)).stem
    _artifacts.directory = ARTIFACTS / module / _slug(request.node.name)
    _artifacts.count = 0
    shutil.rmtree(_artifacts.directory, ignore_errors=True)


def screenshot(page: Any, name: str) -> Path:
    """A full-page PNG in test-artifacts/screenshots/<module>/<test>/<nn>-<name>.png."""
    path = _artifacts.next_path(name, ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def _describe(violation: dict[str, Any]) -> str:
    lines = [f"  [{violation.get('impact')}] {violation['id']}: {violation['help']}", f"    {violation['helpUrl']}"]
    for node in violation.get("nodes", [])[:10]:
        target = " ".join(str(t) for t in node.get("target", []))
        lines.append(f"    - {target}")
        summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
        if summary:
            lines.append(f"      {summary[:300]}")
    return "\n".join(lines)


def run_axe(page: Any) -> dict[str, Any]:
    """axe-core's full results for the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    results: dict[str, Any] = page.evaluate(
        """async () => await axe.run(document, {
            resultTypes: ['violations', 'incomplete'],
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']},
        })"""
    )
    return results


def check_accessibility(page: Any, name: str) -> list[dict[str, Any]]:
    """Run axe-core on the page; fail on any serious or critical violation.

    The full results are saved as <nn>-<name>.axe.json beside the screenshots; every violation is
    printed (pytest shows it for a failing test, or with -s). Returns the non-failing violations.
    """
    results = run_axe(page)
    path = _artifacts.next_path(name, ".axe.json")
    path.write_text(json.dumps(results, indent=2, sort_keys=True))
    violations: list[dict[str, Any]] = results.get("violations", [])
    failing = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
    if violations:
        print(f"axe-core on {name} ({page.url}): {len(violations)} violations")
        for violation in violations:
            print(_describe(violation))
    assert not failing, (
        f"axe-core found {len(failing)} serious or critical accessibility problems on {name} ({page.url}); "
        f"full report: {path}\n" + "\n".join(_describe(v) for v in failing)
    )
    return [v for v in violations if v not in failing]


def snapshot(page: Any, name: str) -> None:
    """Screenshot the page and check its accessibility: what every page of a journey gets."""
    screenshot(page, name)
    check_accessibility(page, name)


# --- Acting like a person -----------------------------------------------------------------------


def sign_in(page: Any, person: Person, password: str | None = None) -> None:
    """Sign in through the real form (with its CSRF token), as a person would."""
    page.goto("/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(password or person.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def click_and_wait(page: Any, locator: Any) -> Any:
    """Click something that loads a new page (a link, or a form's button); the response."""
    with page.expect_navigation() as navigation:
        locator.click()
    return navigation.value


def open_menu(page: Any) -> None:
    """On a phone the header's links are behind "Menu" (a details/summary): open it, as a person would."""
    menu = page.locator("details.menu-phone")
    if menu.count() and menu.is_visible() and menu.get_attribute("open") is None:
        menu.locator("summary").click()


def open_disclosure(page: Any, summary: str) -> None:
    """Open a folded-away part of a page (a details/summary) by its summary, as a person would."""
    details = page.locator("details", has=page.locator("summary", has_text=summary)).first
    if details.get_attribute("open") is None:
        details.locator("summary").first.click()


def sign_out(page: Any) -> None:
    open_menu(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
