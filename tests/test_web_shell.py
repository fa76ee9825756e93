"""The minimal web shell: home, sign in and out, and a member's own balance and history."""

from __future__ import annotations

from datetime import date

from tests.conftest import PASSWORD
from timebank.exchanges.service import RecordRequest, approve_exchange, record_exchange
from timebank.models import MemberStatus


def _give_alice_90_minutes_from_bob(session, world) -> None:  # type: ignore[no-untyped-def]
    request = RecordRequest(
        provider_account_id=world.alice.account.id,
        recipient_account_id=world.bob.account.id,
        minutes=90,
        performed_on=date.today(),
        description="Helped tidy the garden",
        request_key="garden-1",
    )
    exchange = record_exchange(session, world.alice, request)
    approve_exchange(session, world.coordinator, exchange.id, reason="Bob said so on the phone")


def test_home_page_invites_sign_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Give an hour, get an hour" in response.data
    assert b'href="/login"' in response.data


def test_member_page_needs_sign_in(client):
    response = client.get("/me")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_sign_in_shows_balance_and_history_with_running_balance(client, auth, factory, session):
    world = factory.world()
    _give_alice_90_minutes_from_bob(session, world)
    response = auth.login(world.alice)
    assert response.status_code == 302
    page = client.get("/me").get_data(as_text=True)
    assert "1 hour 30 minutes" in page
    assert "You earned 1 hour 30 minutes helping Bob" in page
    assert "Helped tidy the garden" in page
    bob_page = _page_for(client, auth, world.bob)
    assert "You spent 1 hour 30 minutes: Alice helped you" in bob_page
    # the change and the balance after, hours:minutes
    assert '<td class="num" data-label="Change">\u22121:30</td>' in bob_page


def _page_for(client, auth, member) -> str:  # type: ignore[no-untyped-def]
    auth.logout()
    auth.login(member)
    return client.get("/me").get_data(as_text=True)


def test_pending_hours_are_shown_as_waiting(client, auth, factory, session):
    world = factory.world()
    record_exchange(
        session,
        world.alice,
        RecordRequest(world.alice.account.id, world.bob.account.id, 60, date.today(), "Shopping", "k"),
    )
    auth.login(world.alice)
    page = client.get("/me").get_data(as_text=True)
    assert "Waiting for approval" in page
    assert "You will get 1 hour from Bob" in page


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, auth, factory):
    world = factory.world()
    response = auth.login(world.alice, password="not the password")
    assert response.status_code == 401
    assert b"do not match an active account" in response.data
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": PASSWORD})
    assert unknown.status_code == 401
    assert client.get("/me").status_code == 302


def test_empty_login_form_gets_field_errors_linked_from_a_summary(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert 'href="#email"' in page and "Enter your email address." in page


def test_members_who_are_not_approved_cannot_sign_in(client, auth, factory):
    world = factory.world()
    applicant = factory.member(world.timebank, "Newcomer", status=MemberStatus.APPLIED)
    suspended = factory.member(world.timebank, "Paused", status=MemberStatus.SUSPENDED)
    for member in (applicant, suspended):
        response = auth.login(member)
        # The right password shows where they stand (tests/auth/), but never signs them in.
        assert response.status_code == 302 and response.headers["Location"].endswith("/application")
        assert client.get("/me").status_code == 302


def test_sign_out_ends_the_session(client, auth, factory):
    world = factory.world()
    auth.login(world.alice)
    assert client.get("/me").status_code == 200
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/me").status_code == 302


def test_login_does_not_redirect_to_another_site(client, factory):
    world = factory.world()
    response = client.post(
        "/login?next=//evil.example/steal", data={"email": world.alice.email, "password": PASSWORD}
    )
    assert response.headers["Location"].endswith("/dashboard")  # where a member lands after signing in


def test_each_member_sees_only_their_own_account(client, auth, factory, session):
    world = factory.world()
    _give_alice_90_minutes_from_bob(session, world)
    auth.login(world.outsider)
    page = client.get("/me").get_data(as_text=True)
    assert "Alice" not in page and "Helped tidy the garden" not in page


def test_unknown_page_is_a_plain_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"Page not found" in response.data


def test_forms_are_csrf_protected_outside_tests(app, factory):
    world = factory.world()
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/login", data={"email": world.alice.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"form had expired" in response.data
