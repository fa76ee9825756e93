"""Phone-first, plain pages (issue 14): the home page, where a coordinator starts, recording hours
from a member's page, the member page's limits sentence, group activities without JavaScript,
one place for what a member offers, profiles with their listings and "Ask for help", words
instead of codes, history dated by the day the help happened. The browser side (every page at
360 px and 1280 px, axe, the Nu HTML Checker) is tests/browser/test_every_page.py."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.coordinator_exchange_helpers import approved, recorded
from tests.exchange_helpers import Browser, add_listing, balance, form_key, today
from timebank.clock import today_in
from timebank.ledger.close import close_month
from timebank.ledger.periods import month_start
from timebank.models import Account, Activity, Category, ContactPreference, Exchange, ListingKind, Member


def _text(html: str) -> str:
    """What a person reads: the page without its tags, in single spaces."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _ids(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


# -- the home page ------------------------------------------------------------------------------


def test_the_home_page_says_what_a_time_bank_is_and_lists_the_time_banks_taking_members(client, factory):
    world = factory.world()
    page = client.get("/").get_data(as_text=True)
    assert "A time bank is" in page
    assert world.timebank.name in page and world.other_timebank.name in page
    assert f'href="/join/{world.timebank.slug}"' in page
    # "Apply to join" is a button just like "Sign in", side by side.
    assert re.search(r'<a class="button" href="/join">Apply to join</a>', page)
    assert re.search(r'<a class="button" href="/login">Sign in</a>', page)


# -- the coordinator's day --------------------------------------------------------------------


def test_a_coordinator_signing_in_lands_on_the_coordinator_dashboard(client, auth, factory):
    world = factory.world()
    response = auth.login(world.coordinator)
    assert response.status_code == 302 and response.headers["Location"].endswith("/coordinator/dashboard")
    auth.logout()
    response = auth.login(world.alice)
    assert response.headers["Location"].endswith("/dashboard")
    assert not response.headers["Location"].endswith("/coordinator/dashboard")


def test_record_hours_for_a_member_from_their_page_returns_to_their_page(client, factory, session):
    world = factory.world()
    browser = Browser(client)
    browser.sign_in(world.coordinator)
    member_page = browser.page(f"/coordinator/members/{world.alice.id}")
    link = f"/coordinator/act/{world.alice.id}/record?back=member"
    assert f'href="{link}">Record hours for Alice</a>' in member_page
    form = browser.page(link)
    assert f'href="/coordinator/members/{world.alice.id}">Back to Alice</a>' in form
    bob_account = session.scalar(select(Account).where(Account.member_id == world.bob.id))
    assert bob_account is not None
    response = browser.send_and_confirm(
        link,
        {
            "request_key": form_key(form),
            "other_account": str(bob_account.id),
            "direction": "member_helped",
            "performed_on": today().isoformat(),
            "duration": "1",
            "description": "Helped with the shopping",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/coordinator/members/{world.alice.id}#exchanges")
    assert balance(session, world.alice) == 60


def test_the_limits_sentence_gives_a_range_that_makes_sense(client, auth, factory, session):
    world = factory.world()
    recorded(session, world.alice, world.bob, 120)  # Bob could go 2 hours lower, Alice 2 hours higher
    session.commit()
    auth.login(world.coordinator)
    page = _text(client.get(f"/coordinator/members/{world.bob.id}").get_data(as_text=True))
    assert "balance will end up between minus 2 hours and 0 hours" in page
    assert "the lowest balance allowed cannot be above minus 2 hours" in page
    assert "could go as low as" not in page
    quiet = _text(client.get(f"/coordinator/members/{world.coordinator.id}").get_data(as_text=True))
    assert "Nothing is waiting for approval" in quiet


def test_the_member_page_folds_its_forms_away_and_has_no_duplicate_ids(client, auth, factory):
    world = factory.world()
    auth.login(world.coordinator)
    page = client.get(f"/coordinator/members/{world.alice.id}").get_data(as_text=True)
    for summary in ("Change Alice’s limits", "Add a private note", "Suspend Alice", "Mark Alice as left"):
        assert f"<summary>{summary}</summary>" in page
    assert re.search(r"<details[^>]*>\s*<summary>Suspend Alice</summary>", page)
    ids = _ids(page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_a_group_activity_finds_names_and_ticks_everyone_shown_without_javascript(client, factory, session):
    world = factory.world()
    factory.member(world.timebank, "Albert Ames")
    factory.member(world.timebank, "Alberta Brown")
    browser = Browser(client)
    browser.sign_in(world.coordinator)
    form = browser.page("/coordinator/activities/new")
    typed = {
        "request_key": form_key(form),
        "title": "Friday garden session",
        "held_on": today().isoformat(),
        "duration": "2",
        "direction": "earn",
        "category": "0",
        "attendees": [str(world.bob.id)],
    }
    found = browser.post("/coordinator/activities/new", {**typed, "find": "albert", "step": "find"})
    assert found.status_code == 200
    page = found.get_data(as_text=True)
    assert "Albert Ames" in page and "Alberta Brown" in page
    assert not re.search(r'<label for="[^"]+">Alice</label>', page)
    # Bob stays ticked though he is not shown, and what was typed is kept.
    assert f'<input type="hidden" name="attendees" value="{world.bob.id}">' in page
    assert 'value="Friday garden session"' in page
    ticked = browser.post("/coordinator/activities/new", {**typed, "find": "albert", "step": "tick_shown"})
    page = ticked.get_data(as_text=True)
    assert len(re.findall(r'type="checkbox"[^>]*checked|checked[^>]*type="checkbox"', page)) == 2
    assert session.scalar(select(Activity.id)) is None  # nothing recorded by finding or ticking
    members = session.scalars(select(Member.id).where(Member.display_name.in_(["Albert Ames", "Alberta Brown"])))
    chosen = [str(world.bob.id), *(str(i) for i in members)]
    done = browser.send_and_confirm("/coordinator/activities/new", {**typed, "attendees": chosen, "step": "record"})
    assert done.status_code == 302
    activity = session.scalars(select(Activity)).one()
    assert len(activity.attendees) == 3


# -- profiles ---------------------------------------------------------------------------------


def test_the_public_profile_shows_their_listings_and_asks_for_help(client, auth, factory, session):
    world = factory.world()
    category = session.scalars(select(Category).where(Category.timebank_id == world.timebank.id)).first()
    add_listing(session, world.bob, ListingKind.OFFER, "Bike repairs", category_id=category.id if category else None)
    auth.login(world.alice)
    page = client.get(f"/members/{world.bob.id}").get_data(as_text=True)
    assert "Bike repairs" in page
    ask = f"/exchanges/new?member_id={world.bob.id}&amp;ask=help"
    assert f'href="{ask}">Ask Bob for help</a>' in page
    form = client.get(ask.replace("&amp;", "&")).get_data(as_text=True)
    assert "<h1>Ask Bob for help</h1>" in form
    assert 'name="direction"' not in form  # asking for help: no need to say who helps whom


def test_the_public_profile_names_no_way_to_contact_that_it_hides(client, auth, factory, session):
    world = factory.world()
    bob = session.get(Member, world.bob.id)
    assert bob is not None
    bob.contact_preference, bob.show_email = ContactPreference.EMAIL, False
    session.commit()
    auth.login(world.alice)
    page = _text(client.get(f"/members/{world.bob.id}").get_data(as_text=True))
    assert "How they like to be contacted" not in page
    assert world.bob.email not in page
    assert "Bob has not shared an email address or phone number" in page
    bob = session.get(Member, world.bob.id)
    assert bob is not None
    bob.show_email = True
    session.commit()
    page = _text(client.get(f"/members/{world.bob.id}").get_data(as_text=True))
    assert "How they like to be contacted: Email" in page and world.bob.email in page


def test_the_profile_form_asks_what_you_offer_in_one_place(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    page = client.get("/profile").get_data(as_text=True)
    # The rows are the one place; the free text is folded away, optional.
    assert re.search(r"<details[^>]*>\s*<summary>Anything else you can offer, in your own words", page)
    assert page.index('name="offer_0_label"') < page.index('name="offers_text"')


# -- words ------------------------------------------------------------------------------------


def test_the_audit_trail_speaks_words_and_keeps_codes_behind_a_disclosure(client, auth, factory, session):
    world = factory.world()
    recorded(session, world.alice, world.bob, 60)
    session.commit()
    auth.login(world.coordinator)
    page = client.get("/coordinator/audit").get_data(as_text=True)
    outside_details = re.sub(r"<details.*?</details>", "", page, flags=re.S)
    assert "exchange.recorded" not in _text(outside_details)
    assert "recorded time for an exchange" in page
    assert "<dd><code>exchange.recorded</code></dd>" in page


def test_no_checksum_job_code_or_person_to_agency_is_shown_outside_a_disclosure(client, auth, factory, session):
    world = factory.world()
    last_month = month_start(today_in(world.timebank.time_zone)) - timedelta(days=1)
    close_month(session, world.timebank.id, month_start(last_month), closed_by_id=world.coordinator.id)
    session.commit()
    auth.login(world.coordinator)
    months = client.get("/coordinator/months").get_data(as_text=True)
    assert "Checksum" not in months
    admin = factory.member(None, "Ada Admin", is_admin=True)
    auth.logout()
    auth.login(admin)
    jobs = client.get("/admin/jobs").get_data(as_text=True)
    outside_details = _text(re.sub(r"<details.*?</details>", "", jobs, flags=re.S))
    assert "close_due_months" not in outside_details and "Closing finished months" in outside_details
    network = _text(client.get("/reports/network").get_data(as_text=True))
    assert "agency" not in network.lower() and "With the organisation" in network


def test_suggestions_do_not_ask_a_member_who_offers_to_add_offers(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    assert "Add what you can offer" in client.get("/dashboard").get_data(as_text=True)
    add_listing(session, world.alice, ListingKind.OFFER, "Gardening")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Add what you can offer" not in page
    assert "Nobody is asking for help with what you offer just now" in page


def test_history_shows_the_day_the_help_happened_not_the_day_it_was_approved(client, auth, factory, session):
    world = factory.world()
    approved(session, world.coordinator, world.alice, world.bob, 60)  # helped yesterday, approved today
    session.commit()
    exchange = session.scalars(select(Exchange)).one()
    assert exchange.performed_on is not None and exchange.performed_on != today()
    day = f"{exchange.performed_on:%A} {exchange.performed_on.day} {exchange.performed_on:%B %Y}"
    auth.login(world.alice)
    for url in ("/me", "/dashboard"):
        page = client.get(url).get_data(as_text=True)
        assert f'<td data-label="Day">{day}</td>' in page, url


def test_a_coordinator_acting_record_still_opens_the_exchange_when_not_from_the_member_page(
    client, factory, session
):
    world = factory.world()
    browser = Browser(client)
    browser.sign_in(world.coordinator)
    url = f"/coordinator/act/{world.alice.id}/record"
    bob_account = session.scalar(select(Account).where(Account.member_id == world.bob.id))
    assert bob_account is not None
    response = browser.send_and_confirm(
        url,
        {
            "request_key": form_key(browser.page(url)),
            "other_account": str(bob_account.id),
            "direction": "member_helped",
            "performed_on": today().isoformat(),
            "duration": "1",
            "description": "Fixed the gate",
        },
    )
    assert re.search(r"/exchanges/\d+$", response.headers["Location"])
