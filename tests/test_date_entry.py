"""Typing a date on the pages that save one: day, month and year boxes (or one text, read day
first), and the date said back in words ("Saturday 5 December 2026") before anything is saved.
"Typing 05122026 stored 12 May" must never happen."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.exchange_helpers import (
    CONFIRM_BUTTON,
    Browser,
    created_id,
    date_boxes,
    exchange,
    form_key,
    only_exchange,
    snapshot,
    today,
)
from timebank.models import Account, Activity
from timebank.timebanks.service import organisation_account


@pytest.fixture
def browser(client):  # type: ignore[no-untyped-def]
    return Browser(client)


def _swappable_day() -> date:
    """A recent past day that reads differently month first (day 1-12, not the month's number)."""
    day = today() - timedelta(days=1)
    while not (day.day <= 12 and day.day != day.month):
        day -= timedelta(days=1)
    return day


def _words(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _accepted(browser: Browser, world) -> int:  # type: ignore[no-untyped-def]
    browser.sign_in(world.alice)
    exchange_id = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
    browser.sign_in(world.bob)
    assert browser.post(f"/exchanges/{exchange_id}/accept").status_code == 302
    browser.sign_in(world.alice)
    return exchange_id


def test_the_record_form_asks_for_the_date_in_three_labelled_boxes(browser, factory):  # type: ignore[no-untyped-def]
    world = factory.world()
    exchange_id = _accepted(browser, world)
    page = browser.page(f"/exchanges/{exchange_id}/record")
    assert '<legend class="legend">When did the help happen?</legend>' in page
    for part, label in (("day", "Day"), ("month", "Month"), ("year", "Year")):
        box = "performed_on" if part == "day" else f"performed_on-{part}"
        assert f'<label for="{box}">{label}</label>' in page
        assert re.search(rf'id="{box}" name="performed_on-{part}" type="text" inputmode="numeric"', page)
    assert 'type="date"' not in page
    assert f"That is {_words(today())}." in page  # today is filled in, and said in words


def test_recorded_time_is_said_back_in_words_and_saved_only_when_confirmed(browser, factory, session):  # type: ignore[no-untyped-def]
    world = factory.world()
    exchange_id = _accepted(browser, world)
    day = _swappable_day()
    url = f"/exchanges/{exchange_id}/record"
    typed = {
        "request_key": form_key(browser.page(url)),
        **date_boxes("performed_on", day),
        "duration": "2:30",
        "description": "Fixed the shelf",
    }
    before = snapshot(session)
    check = browser.post(url, typed)
    page = check.get_data(as_text=True)
    assert check.status_code == 200 and CONFIRM_BUTTON in page
    assert "<h1>Check the time before you record it</h1>" in page
    assert f"<dd>{_words(day)}</dd>" in page and "<dd>2 hours 30 minutes</dd>" in page
    assert snapshot(session) == before  # nothing saved yet

    change = browser.post(url, {**typed, "answers": "change"})
    assert change.status_code == 200 and "<h1>Record the time</h1>" in change.get_data(as_text=True)
    assert f'value="{day.day}"' in change.get_data(as_text=True) and snapshot(session) == before

    saved = browser.post(url, {**typed, "answers": "confirmed"})
    assert saved.status_code == 302
    assert exchange(session, exchange_id).performed_on == day
    assert exchange(session, exchange_id).minutes == 150


def test_a_date_typed_as_one_number_is_read_day_first(browser, factory, session):  # type: ignore[no-untyped-def]
    world = factory.world()
    exchange_id = _accepted(browser, world)
    day = _swappable_day()
    typed = f"{day:%d%m%Y}"  # e.g. 05122026: 5 December, never 12 May
    response = browser.record(exchange_id, performed_on=typed)
    assert response.status_code == 302
    assert exchange(session, exchange_id).performed_on == day


def test_a_wrong_box_is_named_in_the_error_summary_and_nothing_is_saved(browser, factory, session):  # type: ignore[no-untyped-def]
    world = factory.world()
    exchange_id = _accepted(browser, world)
    before = snapshot(session)
    no_month = {"performed_on-day": "31", "performed_on-month": "", "performed_on-year": "2025"}
    response = browser.record(exchange_id, **no_month)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<a href="#performed_on-month">The date must include a month.</a>' in page  # to the box to fix
    assert re.search(r'class="date-input-month input-error" id="performed_on-month"[^>]*aria-invalid="true"', page)
    assert 'value="31"' in page  # what was typed stays in its box
    assert snapshot(session) == before


def test_direct_and_organisation_records_are_checked_before_saving(browser, factory, session):  # type: ignore[no-untyped-def]
    world = factory.world()
    browser.sign_in(world.alice)
    day = _swappable_day()
    direct = {
        "request_key": form_key(browser.page("/exchanges/record")),
        "other_member": str(world.bob.id),
        "direction": "i_helped",
        **date_boxes("performed_on", day),
        "duration": "1",
        "description": "Walked the dog",
    }
    check = browser.post("/exchanges/record", direct).get_data(as_text=True)
    assert f"<dd>{_words(day)}</dd>" in check and "<dd>Bob</dd>" in check and "<dd>I helped them</dd>" in check
    assert created_id(browser.post("/exchanges/record", {**direct, "answers": "confirmed"}))
    assert only_exchange(session).performed_on == day

    organisation = {
        "request_key": form_key(browser.page("/exchanges/organisation")),
        "direction": "earn",
        **date_boxes("performed_on", day),
        "duration": "3",
        "description": "Tuesday lunch",
    }
    check = browser.post("/exchanges/organisation", organisation).get_data(as_text=True)
    assert f"<dd>{_words(day)}</dd>" in check and "<dd>3 hours</dd>" in check and CONFIRM_BUTTON in check


def test_a_coordinator_checks_a_paper_timesheet_line_before_the_credits_move(browser, factory, session):  # type: ignore[no-untyped-def]
    world = factory.world()
    browser.sign_in(world.coordinator)
    bob_account = session.query(Account).filter_by(member_id=world.bob.id).one()
    day = _swappable_day()
    url = f"/coordinator/act/{world.alice.id}/record"
    line = {
        "request_key": form_key(browser.page(url)),
        "other_account": str(bob_account.id),
        "direction": "member_helped",
        **date_boxes("performed_on", day),
        "duration": "1:30",
        "description": "Painted the fence",
    }
    before = snapshot(session)
    check = browser.post(url, line).get_data(as_text=True)
    assert "Check before you record it for Alice" in check and f"<dd>{_words(day)}</dd>" in check
    assert snapshot(session) == before
    assert browser.post(url, {**line, "answers": "confirmed"}).status_code == 302
    assert only_exchange(session).performed_on == day


def test_a_group_activity_is_checked_with_everyone_who_came_before_it_is_recorded(browser, factory, session):  # type: ignore[no-untyped-def]
    world = factory.world()
    browser.sign_in(world.coordinator)
    day = _swappable_day()
    url = "/coordinator/activities/new"
    activity = {
        "request_key": form_key(browser.page(url)),
        "title": "Friday garden session",
        **date_boxes("held_on", day),
        "duration": "2",
        "direction": "earn",
        "category": "0",
        "attendees": [str(world.alice.id), str(world.bob.id)],
    }
    check = browser.post(url, activity).get_data(as_text=True)
    assert "Check the activity before you record it" in check
    assert f"<dd>{_words(day)}</dd>" in check and "<dt>Who came (2)</dt><dd>Alice, Bob</dd>" in check
    assert session.query(Activity).count() == 0
    assert browser.post(url, {**activity, "answers": "confirmed"}).status_code == 302
    session.rollback()
    assert session.query(Activity).one().held_on == day
    assert organisation_account(session, world.timebank.id).balance_minutes == -240
