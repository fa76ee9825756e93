"""A coordinator's morning, in a real browser, through the real forms (CSRF on):

clear the approvals queue (approve one exchange on its own, refuse one with a reason the members
will read, tick the rest and approve them together), record a group activity with an attendance
list, then look at the members and the audit trail, where all of it is written down.

An installation admin reads every timebank's trail at /admin/audit.

Every coordinator page on the way is screenshotted (test-artifacts/screenshots/test_coordinator/
...) and checked with axe-core: no serious or critical violations.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.browser.conftest import LiveServer, Person, Seeder, _person, click_and_wait, sign_in, snapshot
from tests.conftest import Factory
from timebank.exchanges.service import RecordRequest, confirm_exchange, record_exchange
from timebank.models import Account, Activity, Exchange, ExchangeStatus, Member

pytestmark = pytest.mark.browser

REASON = "Gardening at your own home is not something our timebank can count, sorry."


def _record(
    seed: Seeder,
    recorder: Person,
    provider: Person,
    recipient: Person,
    minutes: int,
    what: str,
    *,
    confirmed_by: Person | None = None,
) -> int:
    """Time a member recorded (and the other side confirmed), waiting in the coordinator's queue."""
    assert provider.account_id is not None and recipient.account_id is not None
    with seed.session() as session:
        member = session.get(Member, recorder.id)
        assert member is not None
        exchange = record_exchange(
            session,
            member,
            RecordRequest(
                provider_account_id=provider.account_id,
                recipient_account_id=recipient.account_id,
                minutes=minutes,
                performed_on=date.today() - timedelta(days=1),
                description=what,
                request_key=f"coordinator-browser-{what}",
            ),
        )
        if confirmed_by is not None:
            confirmer = session.get(Member, confirmed_by.id)
            assert confirmer is not None
            confirm_exchange(session, confirmer, exchange.id)
        return exchange.id


def _statuses(seed: Seeder, ids: list[int]) -> list[ExchangeStatus]:
    with seed.session() as session:
        return [session.get(Exchange, i).status for i in ids]  # type: ignore[union-attr]


def _balance(seed: Seeder, person: Person) -> int:
    with seed.session() as session:
        account = session.scalar(select(Account).where(Account.member_id == person.id))
        assert account is not None
        return account.balance_minutes


def _item(page: Any, exchange_id: int) -> Any:
    """One exchange in the queue."""
    return page.locator(f'li.exchange-item:has(a[href="/exchanges/{exchange_id}"])')


def _heading(page: Any) -> str:
    text: str = page.get_by_role("heading", level=1).inner_text()
    return text.strip()


def test_a_coordinator_clears_the_approvals_queue_and_records_a_group_activity(
    live_server: LiveServer, seed: Seeder, page: Any
) -> None:
    world = seed.world()  # Riverside: Cora (coordinator), Alice, Bob (approval policy: always)
    dev = seed.member(world.timebank_id, "Dev")
    one = _record(seed, world.alice, world.alice, world.bob, 120, "Walked Bob's dog", confirmed_by=world.bob)
    refuse = _record(seed, world.bob, world.bob, world.alice, 90, "Weeded Alice's garden")
    bulk = [
        _record(seed, world.alice, world.alice, dev, 60, "Read Dev's post to him", confirmed_by=dev),
        _record(seed, dev, dev, world.bob, 45, "Fixed Bob's bicycle", confirmed_by=world.bob),
    ]
    # Alice has not confirmed this one: bulk approval leaves it, and says why.
    unconfirmed = _record(seed, dev, dev, world.alice, 30, "Carried Alice's shopping")
    everyone = [one, refuse, *bulk, unconfirmed]
    start = {person.id: _balance(seed, person) for person in (world.alice, world.bob, dev)}

    sign_in(page, world.coordinator)
    page.goto("/coordinator/")
    assert _heading(page) == "Coordinator"
    snapshot(page, "coordinator-start")
    click_and_wait(page, page.get_by_role("link", name="Open the dashboard"))
    snapshot(page, "dashboard")

    # The queue: five waiting, one of them not confirmed yet.
    page.goto("/coordinator/")
    click_and_wait(page, page.get_by_role("link", name="Exchanges to approve"))
    assert _heading(page) == "Exchanges to approve"
    for exchange_id in everyone:
        assert _item(page, exchange_id).count() == 1
    assert "Not yet confirmed by Alice" in _item(page, unconfirmed).inner_text()
    snapshot(page, "queue-five-waiting")

    # 1. Approve one on its own, from the queue.
    click_and_wait(page, _item(page, one).get_by_role("button", name="Approve"))
    assert "Approved" in page.locator(".messages").inner_text()
    assert _item(page, one).count() == 0
    snapshot(page, "queue-after-approving-one")

    # 2. Refuse one, with a reason, from its own page. A missing reason is explained first.
    click_and_wait(page, _item(page, refuse).get_by_role("link", name="Look at it"))
    page.get_by_text("Do not approve", exact=True).first.click()  # opens the <details>
    snapshot(page, "exchange-to-refuse")
    click_and_wait(page, page.get_by_role("button", name="Do not approve"))
    assert page.locator(".error-summary").is_visible()
    assert "Say why" in page.locator(".error-summary").inner_text()
    snapshot(page, "refusal-without-a-reason")
    page.get_by_label("Why?").fill(REASON)
    click_and_wait(page, page.get_by_role("button", name="Do not approve"))
    assert _heading(page) == "Exchanges to approve"
    assert "Not approved" in page.locator(".messages").inner_text()

    # 3. Tick the rest and approve them together: each outcome is reported.
    for exchange_id in [*bulk, unconfirmed]:
        _item(page, exchange_id).get_by_role("checkbox").check()
    click_and_wait(page, page.get_by_role("button", name="Approve the ticked exchanges", exact=True))
    assert _heading(page) == "What happened to the ticked exchanges"
    assert "2 of 3 approved." in page.locator(".lead").inner_text()
    assert "1 was skipped because the other person has not confirmed it yet." in page.locator("main").inner_text()
    snapshot(page, "bulk-approval-outcomes")
    click_and_wait(page, page.get_by_role("link", name="Back to exchanges to approve").first)

    # 4. The unconfirmed one, on its own page: a separate step, with a reason.
    click_and_wait(page, _item(page, unconfirmed).get_by_role("link", name="Look at it"))
    page.get_by_text("Approve before Alice confirms").click()  # opens the <details>
    page.get_by_label("Why approve it before they confirm?").fill("Alice signed the paper timesheet")
    snapshot(page, "approve-before-confirmation")
    click_and_wait(page, page.get_by_role("button", name="Approve 30 minutes without their confirmation"))
    assert "Approved" in page.locator(".messages").inner_text()
    assert "Nothing is waiting" in page.locator("main").inner_text()
    snapshot(page, "queue-empty")

    assert _statuses(seed, everyone) == [
        ExchangeStatus.APPROVED,
        ExchangeStatus.REJECTED,
        ExchangeStatus.APPROVED,
        ExchangeStatus.APPROVED,
        ExchangeStatus.APPROVED,
    ]
    # Alice earned 2h (dog) + 1h (post) and spent 30m (shopping); Bob spent 2h and 45m; Dev spent
    # 1h and earned 45m + 30m. The refused 1h30 moved nothing.
    assert _balance(seed, world.alice) - start[world.alice.id] == 150
    assert _balance(seed, world.bob) - start[world.bob.id] == -165
    assert _balance(seed, dev) - start[dev.id] == 15

    # 5. A group activity: Friday's garden session, 2 hours each, for Alice and Dev.
    page.goto("/coordinator/activities/new")
    assert _heading(page) == "Record a group activity"
    snapshot(page, "activity-form")
    friday = date.today() - timedelta(days=1)
    page.get_by_label("What was the activity called?").fill("Friday garden session")
    when = page.get_by_role("group", name="When was it?")
    when.get_by_label("Day").fill(str(friday.day))
    when.get_by_label("Month").fill(str(friday.month))
    when.get_by_label("Year").fill(str(friday.year))
    page.get_by_label("How long was it, for each person?").fill("2")
    page.locator('input[name="direction"][value="earn"]').check()
    page.get_by_label("Category").select_option(label="Gardening")
    page.get_by_role("checkbox", name="Alice").check()
    page.get_by_role("checkbox", name="Dev").check()
    click_and_wait(page, page.get_by_role("button", name="Continue"))
    # Said back before anything is recorded: the date in words, everyone who came.
    assert _heading(page) == "Check the activity before you record it"
    check = page.locator("main").inner_text()
    assert f"{friday:%A} {friday.day} {friday:%B %Y}" in check and "Alice, Dev" in check
    snapshot(page, "activity-check")
    click_and_wait(page, page.get_by_role("button", name="Record the activity"))
    assert _heading(page) == "Friday garden session"
    main = page.locator("main").inner_text()
    assert "Who came (2)" in main and "2:00" in main
    snapshot(page, "activity-recorded")
    with seed.session() as session:
        activity = session.scalar(select(Activity))
        assert activity is not None and activity.minutes == 120 and len(activity.attendees) == 2
    assert _balance(seed, world.alice) - start[world.alice.id] == 150 + 120
    assert _balance(seed, dev) - start[dev.id] == 15 + 120
    page.goto("/coordinator/activities")
    snapshot(page, "activities")

    # 6. Members, and the audit trail: everything above, with who did it.
    page.goto("/coordinator/members")
    snapshot(page, "members")
    page.goto(f"/coordinator/members/{world.alice.id}")
    snapshot(page, "member-alice")
    # The dashboard's whole lists, each on its own page (the dashboard shows the first five).
    for path, name in (
        ("/coordinator/dashboard/outreach", "outreach"),
        ("/coordinator/dashboard/stale-requests", "stale-requests"),
        ("/coordinator/dashboard/near-limits", "near-limits"),
    ):
        page.goto(path)
        assert page.get_by_role("heading", level=1).is_visible()
        snapshot(page, name)
    page.goto("/coordinator/")
    click_and_wait(page, page.get_by_role("link", name="Audit trail"))
    assert _heading(page) == "Audit trail"
    trail = page.locator("main").inner_text()
    for words in ("approved an exchange", "rejected an exchange", "recorded a group activity"):
        assert words in trail
    assert REASON in trail
    snapshot(page, "audit-trail")
    page.get_by_label("Search").fill("garden")
    click_and_wait(page, page.get_by_role("button", name="Search"))
    trail = page.locator("main").inner_text()
    assert "rejected an exchange" in trail and "recorded a group activity" in trail
    assert "approved an exchange" not in trail
    snapshot(page, "audit-trail-search")
    page.goto("/coordinator/audit?date_from-day=31&date_from-month=2&date_from-year=2026")
    assert page.locator(".error-summary").is_visible()
    snapshot(page, "audit-trail-bad-date")


def test_an_admin_reads_every_timebanks_audit_trail(live_server: LiveServer, seed: Seeder, page: Any) -> None:
    world = seed.world()
    _record(seed, world.alice, world.alice, world.bob, 60, "Changed a fuse")
    with seed.session() as session:
        admin = _person(Factory(session).member(None, "Ada Admin", is_admin=True))
    sign_in(page, admin)
    page.goto("/admin/")
    click_and_wait(page, page.get_by_role("link", name="Audit trail"))
    assert _heading(page) == "Audit trail"
    trail = page.locator("main").inner_text()
    assert "In Riverside" in trail and "recorded time for an exchange" in trail
    snapshot(page, "admin-audit-trail")
    page.get_by_text("More filters").click()
    page.get_by_label("Who did it").select_option(label="Alice")
    click_and_wait(page, page.get_by_role("button", name="Search"))
    assert "recorded time for an exchange" in page.locator("main").inner_text()
    snapshot(page, "admin-audit-trail-filtered")
