"""My dashboard: where a member lands after signing in. Balance, hours pending both ways, what
needs them, their listings, suggestions, and recent history with a running balance."""

from __future__ import annotations

from sqlalchemy import select

from tests.exchange_helpers import add_listing, created_id
from timebank.members.service import create_member
from timebank.models import Category, ListingKind, ListingStatus


def test_the_dashboard_needs_sign_in(client, factory):
    factory.world()
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_signing_in_lands_on_the_dashboard(client, auth, factory):
    world = factory.world()
    response = auth.login(world.alice)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/dashboard")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Hello, Alice" in page
    assert 'href="/dashboard"' in page and 'href="/exchanges"' in page  # in the main navigation


def test_the_dashboard_shows_balance_pending_hours_and_what_needs_me(browser, factory, session):
    world = factory.world()
    # Bob asks Alice for help (Alice must answer); Alice recorded 2 hours helping Bob earlier
    # (Bob must confirm, Alice waits); Alice recorded 1 hour Bob gave her (Bob must confirm).
    browser.sign_in(world.bob)
    ask = created_id(browser.propose(f"/exchanges/new?member_id={world.alice.id}", direction="they_help"))
    browser.sign_in(world.alice)
    earn = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
    browser.sign_in(world.bob)
    browser.post(f"/exchanges/{earn}/accept")
    browser.sign_in(world.alice)
    browser.record(earn, duration="2")
    spend = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="they_help"))
    browser.sign_in(world.bob)
    browser.post(f"/exchanges/{spend}/accept")
    browser.record(spend, duration="1")  # Bob records: Alice confirms

    browser.sign_in(world.alice)
    page = browser.page("/dashboard")
    assert "You have <strong>0 hours</strong>" in page
    assert "2 hours coming to you is waiting to be confirmed." in page
    assert "1 hour you are spending is waiting to be confirmed." in page
    action = page[page.index("Needs your action") : page.index("Your offers and requests")]
    assert f"/exchanges/{ask}\"" in action  # a proposal to answer
    assert f"/exchanges/{spend}\"" in action  # a record to confirm
    assert f"/exchanges/{earn}\"" not in action  # Alice is waiting for Bob on this one
    assert "You are waiting for others on 1 exchange." in page


def test_the_dashboard_lists_my_open_and_paused_listings_but_not_closed_ones(browser, factory, session):
    world = factory.world()
    add_listing(session, world.alice, ListingKind.OFFER, "Lifts to the shops")
    add_listing(session, world.alice, ListingKind.REQUEST, "Help with forms", status=ListingStatus.PAUSED)
    add_listing(session, world.alice, ListingKind.OFFER, "Old offer", status=ListingStatus.CLOSED)
    add_listing(session, world.bob, ListingKind.OFFER, "Bob's offer")
    browser.sign_in(world.alice)
    page = browser.page("/dashboard")
    assert "Lifts to the shops" in page
    assert "Help with forms</a>\n            (request, paused)" in page
    assert "Old offer" not in page
    assert "Bob&#39;s offer" not in page and "Bob's offer" not in page


def test_the_dashboard_suggests_requests_that_fit_my_offers(browser, factory, session):
    world = factory.world()
    gardening = session.scalar(
        select(Category).where(Category.timebank_id == world.timebank.id, Category.name == "Gardening")
    )
    assert gardening is not None
    add_listing(session, world.alice, ListingKind.OFFER, "Garden tidying", category_id=gardening.id)
    request = add_listing(session, world.bob, ListingKind.REQUEST, "Weeding my garden", category_id=gardening.id)
    browser.sign_in(world.alice)
    page = browser.page("/dashboard")
    suggestions = page[page.index("Suggestions for you") : page.index("Recent history")]
    assert "Weeding my garden" in suggestions
    assert "Why we suggest this" in suggestions
    assert f"listing_id={request.id}" in suggestions  # "Propose an exchange" leads to the form
    browser.sign_in(world.bob)
    assert "Weeding my garden" not in browser.page("/dashboard").split("Suggestions for you")[1].split("Recent")[0]


def test_recent_history_shows_a_running_balance_in_plain_words(browser, factory, session):
    world = factory.world()
    for hours in ("2", "1"):
        browser.sign_in(world.alice)
        exchange_id = created_id(browser.propose(f"/exchanges/new?member_id={world.bob.id}", direction="i_help"))
        browser.sign_in(world.bob)
        browser.post(f"/exchanges/{exchange_id}/accept")
        browser.record(exchange_id, duration=hours, description=f"Help {hours}")
        browser.sign_in(world.alice)
        browser.post(f"/exchanges/{exchange_id}/confirm")
        browser.sign_in(world.coordinator)
        browser.post(f"/coordinator/exchanges/{exchange_id}/approve")
    browser.sign_in(world.alice)
    page = browser.page("/dashboard")
    history = page[page.index("Recent history") :]
    assert "You earned 1 hour helping Bob" in history
    assert "You earned 2 hours helping Bob" in history
    # Newest first, with the balance after each: 3:00 after the 1 hour, 2:00 after the 2 hours.
    assert history.index(">+1:00<") < history.index(">3:00<") < history.index(">+2:00<")
    assert "2:30 means 2 hours 30 minutes" in history  # the table's style, explained once
    browser.sign_in(world.bob)
    bob = browser.page("/dashboard")
    assert "You spent 1 hour: Alice helped you" in bob
    assert ">−3:00<" in bob


def test_my_hours_page_still_works(browser, factory):
    world = factory.world()
    browser.sign_in(world.alice)
    assert "My hours" in browser.page("/me")


def test_an_installation_admin_outside_any_timebank_is_sent_home(client, factory, session):
    create_member(session, timebank=None, display_name="Ada Admin", email="ada@example.org",
                  password="correct horse battery staple", is_admin=True)
    session.commit()
    client.post("/login", data={"email": "ada@example.org", "password": "correct horse battery staple"})
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    assert "/login" not in response.headers["Location"]
