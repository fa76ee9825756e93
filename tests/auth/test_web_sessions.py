"""Web sessions live on the server: signing out ends them (a replayed cookie opens nothing), a
new password or "sign out everywhere" ends every other one and every API token, a coordinator
can sign a member out, and a session ends on its own after its idle or absolute limit, per role,
with a plain message, a way back to the page, and nothing typed silently lost. The clock is the
``clock`` fixture: it stands still until a test moves it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, Factory, World
from tests.statement_counting import counting_statements
from timebank.api.auth import issue_token
from timebank.auth.tokens import make_reset_token
from timebank.extensions import db
from timebank.jobs import run_job
from timebank.models import AuditEvent, CoordinatorNote, Member, Role, SessionEnd, WebSession

# A session's own bookkeeping (its last activity, its end) is written through a connection of its
# own, and the daily job runs in its own session: on PostgreSQL these tests commit for real.
pytestmark = pytest.mark.real_commits

PAGE = "/notifications"  # a page every signed-in visitor (admins too) may open
NEW_PASSWORD = "a brand new garden gate"


def sign_in(client: FlaskClient, member: Member, device: str | None = None, next_page: str | None = None):  # type: ignore[no-untyped-def]
    data = {"email": member.email, "password": PASSWORD}
    if device is not None:
        data["device"] = device
    url = "/login" + (f"?next={next_page}" if next_page else "")
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def signed_in(client: FlaskClient) -> bool:
    response = client.get(PAGE)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return False


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session", domain="localhost")
    assert cookie is not None
    return cookie.value


def rows_of(session: Session, member: Member) -> list[WebSession]:
    session.rollback()  # the tests share one session with the requests: read afresh
    return list(session.scalars(select(WebSession).where(WebSession.member_id == member.id).order_by(WebSession.id)))


def admin(factory: Factory) -> Member:
    return factory.member(None, "Ada Admin", is_admin=True)


# ---------------------------------------------------------------------------------------------
# Signing out ends the session on the server


def test_a_cookie_replayed_after_signing_out_opens_nothing(client, factory, session):
    world = factory.world()
    sign_in(client, world.alice)
    assert client.get("/dashboard").status_code == 200
    copied = session_cookie(client)
    client.post("/logout")
    client.set_cookie("session", copied, domain="localhost")  # someone kept a copy of the cookie
    replayed = client.get("/dashboard")
    assert replayed.status_code == 302
    assert "/login" in replayed.headers["Location"]
    [row] = rows_of(session, world.alice)
    assert row.end_reason == SessionEnd.SIGNED_OUT and row.ended_at is not None


def test_the_cookie_carries_a_session_id_whose_row_keeps_only_its_hash(client, factory, session):
    world = factory.world()
    sign_in(client, world.alice)
    with client.session_transaction() as browser_session:
        session_id = browser_session["sid"]
    [row] = rows_of(session, world.alice)
    assert session_id not in row.token_hash
    assert len(row.token_hash) == 64 and row.ended_at is None


# ---------------------------------------------------------------------------------------------
# Ending on their own: idle and absolute limits, for each role


@pytest.mark.parametrize(("role", "idle_minutes"), [("participant", 30), ("coordinator", 15), ("admin", 15)])
def test_a_session_ends_after_its_idle_limit_for_each_role(client, factory, clock, role, idle_minutes):
    world = factory.world()
    member = {"participant": world.alice, "coordinator": world.coordinator}.get(role) or admin(factory)
    sign_in(client, member)
    clock.advance(minutes=idle_minutes - 1)
    assert signed_in(client)  # activity: the idle limit runs again from here
    clock.advance(minutes=idle_minutes - 1)
    assert signed_in(client)
    clock.advance(minutes=idle_minutes)
    response = client.get(PAGE, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert f"You were signed out after {idle_minutes} minutes without activity, to keep your account safe" in page
    assert "Please sign in to see that page" not in page  # one message, the one that says why
    assert not signed_in(client)


def test_an_idle_session_ends_at_its_limit_however_quickly_the_requests_before_it_came(client, factory, clock):
    """last_seen_at is written at most once a minute; the cookie keeps the exact moment, so a
    request 30 seconds after the last write still counts in full."""
    world = factory.world()
    sign_in(client, world.alice)
    clock.advance(seconds=30)
    assert signed_in(client)  # not written (under a minute), remembered in the cookie
    clock.advance(minutes=29, seconds=45)  # 29:45 after the last request, 30:15 after the write
    assert signed_in(client)
    clock.advance(minutes=30)
    assert not signed_in(client)


@pytest.mark.parametrize(("role", "every_minutes"), [("participant", 29), ("coordinator", 14), ("admin", 14)])
def test_a_busy_session_still_ends_after_12_hours_for_each_role(client, factory, clock, session, role, every_minutes):
    world = factory.world()
    member = {"participant": world.alice, "coordinator": world.coordinator}.get(role) or admin(factory)
    sign_in(client, member)
    started = clock.now
    elapsed_minutes = 0
    while elapsed_minutes + every_minutes < 12 * 60:
        clock.advance(minutes=every_minutes)
        elapsed_minutes += every_minutes
        assert signed_in(client), f"signed out after {elapsed_minutes} minutes"
    clock.advance(minutes=12 * 60 - elapsed_minutes)
    page = client.get(PAGE, follow_redirects=True).get_data(as_text=True)
    assert "You were signed out because you had been signed in for 12 hours, to keep your account safe" in page
    assert not signed_in(client)
    [row] = rows_of(session, member)
    assert row.end_reason == SessionEnd.LIFETIME
    assert row.ended_at == (started + timedelta(hours=12)).replace(tzinfo=None)


def test_an_ended_sessions_cookie_opens_nothing_when_replayed(client, factory, clock, session):
    world = factory.world()
    sign_in(client, world.alice)
    copied = session_cookie(client)
    clock.advance(minutes=31)
    assert not signed_in(client)
    [row] = rows_of(session, world.alice)
    assert row.end_reason == SessionEnd.IDLE
    assert row.ended_at is not None  # when the limit passed, not when someone next came by
    assert row.ended_at - row.created_at == timedelta(minutes=30)
    client.set_cookie("session", copied, domain="localhost")
    assert not signed_in(client)


def test_a_timebanks_own_idle_limit_applies_from_the_next_request(client, factory, clock, session):
    world = factory.world()
    world.timebank.session_idle_minutes = 10
    session.commit()
    sign_in(client, world.alice)
    clock.advance(minutes=11)
    page = client.get(PAGE, follow_redirects=True).get_data(as_text=True)
    assert "You were signed out after 10 minutes without activity" in page


# ---------------------------------------------------------------------------------------------
# The way back: the message, the page, a form being sent


def test_after_signing_in_again_the_member_returns_to_the_page_they_were_on(client, factory, clock):
    world = factory.world()
    sign_in(client, world.alice)
    clock.advance(minutes=31)
    response = client.get("/exchanges?page=1")
    assert response.status_code == 302
    login_page = response.headers["Location"]
    assert login_page.startswith("/login?next=")
    page = client.get(login_page).get_data(as_text=True)
    assert "You were signed out after 30 minutes without activity, to keep your account safe" in page
    again = client.post(login_page, data={"email": world.alice.email, "password": PASSWORD})
    assert again.status_code == 302
    assert again.headers["Location"] == "/exchanges?page=1"


def test_a_form_sent_after_the_session_ended_is_kept_and_can_be_sent_after_signing_in(
    client, factory, clock, session
):
    world = factory.world()
    member_page = f"/coordinator/members/{world.bob.id}"
    sign_in(client, world.coordinator)
    assert client.get(member_page).status_code == 200
    clock.advance(minutes=16)  # the coordinator wrote a long note
    sent = client.post(
        f"{member_page}/notes",
        data={"body": "Bob would like a lift to the garden on Fridays."},
        headers={"Referer": f"http://localhost{member_page}"},
    )
    assert sent.status_code == 302
    assert sent.headers["Location"] == f"/login?next={member_page}"
    login = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 15 minutes without activity" in login
    assert "What you were sending has been kept" in login
    assert session.scalar(select(CoordinatorNote.id)) is None  # not saved behind their back

    again = client.post(sent.headers["Location"], data={"email": world.coordinator.email, "password": PASSWORD})
    assert again.headers["Location"] == member_page
    page = client.get(member_page).get_data(as_text=True)
    assert "You were signed out before this was sent" in page
    assert "Bob would like a lift to the garden on Fridays." in page

    with client.session_transaction() as browser_session:
        assert "sid" in browser_session
    forwarded = client.post("/account/kept-form/send", data={"body": "Bob would like a lift to the garden on Fridays."})
    assert forwarded.status_code == 307  # the browser sends the same form on, as a POST
    assert forwarded.headers["Location"] == f"{member_page}/notes"
    client.post(forwarded.headers["Location"], data={"body": "Bob would like a lift to the garden on Fridays."})
    assert session.scalar(select(CoordinatorNote.body)) == "Bob would like a lift to the garden on Fridays."
    assert "You were signed out before this was sent" not in client.get(member_page).get_data(as_text=True)


def test_a_kept_form_can_be_discarded(client, factory, clock):
    world = factory.world()
    sign_in(client, world.coordinator)
    clock.advance(minutes=16)
    client.post(f"/coordinator/members/{world.bob.id}/notes", data={"body": "Not needed after all"})
    sign_in(client, world.coordinator)
    assert "Not needed after all" in client.get("/dashboard").get_data(as_text=True)
    client.post("/account/kept-form/discard")
    assert "Not needed after all" not in client.get("/dashboard").get_data(as_text=True)


def test_a_kept_form_is_never_shown_to_someone_else_who_signs_in_at_that_computer(client, factory, clock, session):
    world = factory.world()
    other_coordinator = factory.member(world.timebank, "Carl Coordinator", role=Role.COORDINATOR)
    sign_in(client, world.coordinator)
    clock.advance(minutes=16)
    client.post(f"/coordinator/members/{world.bob.id}/notes", data={"body": "Private: Bob's health"})
    sign_in(client, other_coordinator)
    assert "Private: Bob" not in client.get("/dashboard").get_data(as_text=True)
    session.rollback()
    assert all(row.draft is None for row in session.scalars(select(WebSession)))


def test_passwords_are_never_kept_and_the_person_is_told(client, factory, clock, session):
    world = factory.world()
    sign_in(client, world.alice)
    clock.advance(minutes=31)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "What you were sending was not saved (passwords are never kept)" in page
    session.rollback()
    assert all(row.draft is None for row in session.scalars(select(WebSession)))


# ---------------------------------------------------------------------------------------------
# A shared computer, or "Keep me signed in on this device"


def test_sign_in_offers_shared_computer_by_default_and_keep_me_signed_in(client):
    page = client.get("/login").get_data(as_text=True)
    assert "This is a shared computer" in page
    assert "Keep me signed in on this device" in page
    assert 'value="shared" checked' in page or 'checked id="device" name="device" type="radio" value="shared"' in page


def test_on_a_shared_computer_the_cookie_ends_with_the_browser_and_nothing_is_remembered(client, factory, clock):
    world = factory.world()
    response = sign_in(client, world.alice, device="shared")
    set_cookie = response.headers["Set-Cookie"]
    assert "Expires=" not in set_cookie and "Max-Age" not in set_cookie
    client.post("/logout")
    assert world.alice.email not in client.get("/login").get_data(as_text=True)
    sign_in(client, world.alice)
    clock.advance(minutes=31)
    assert not signed_in(client)
    with client.session_transaction() as browser_session:
        assert not {"sid", "_user_id", "email"} & set(browser_session)  # nothing of Alice's is left


def test_keep_me_signed_in_lasts_longer_and_offers_the_email_next_time(client, factory, clock):
    world = factory.world()
    response = sign_in(client, world.alice, device="own")
    assert "Expires=" in response.headers["Set-Cookie"]
    clock.advance(hours=3)
    assert signed_in(client)
    clock.advance(days=13)
    assert signed_in(client)
    clock.advance(days=14, minutes=1)
    page = client.get(PAGE, follow_redirects=True).get_data(as_text=True)
    assert "You were signed out after 14 days without activity" in page
    client.post("/logout")
    assert f'value="{world.alice.email}"' in client.get("/login").get_data(as_text=True)


def test_keep_me_signed_in_is_shorter_for_coordinators(client, factory, clock):
    world = factory.world()
    sign_in(client, world.coordinator, device="own")
    clock.advance(hours=7)
    assert signed_in(client)
    clock.advance(hours=8)
    page = client.get(PAGE, follow_redirects=True).get_data(as_text=True)
    assert "You were signed out after 8 hours without activity" in page


def test_a_kept_session_still_ends_after_30_days(client, factory, clock):
    world = factory.world()
    sign_in(client, world.alice, device="own")
    for how_long in ({"days": 10}, {"days": 10}, {"days": 9, "hours": 23}):
        clock.advance(**how_long)
        assert signed_in(client)
    clock.advance(hours=1)
    page = client.get(PAGE, follow_redirects=True).get_data(as_text=True)
    assert "You were signed out because you had been signed in for 30 days" in page


def test_an_unknown_device_choice_is_refused(client, factory):
    world = factory.world()
    response = client.post("/login", data={"email": world.alice.email, "password": PASSWORD, "device": "yours"})
    assert response.status_code == 422


# ---------------------------------------------------------------------------------------------
# New passwords, "sign out everywhere", a coordinator signing a member out: sessions and tokens


def _token_works(app: Flask, token: str) -> bool:
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code == 200


def test_changing_the_password_ends_every_other_session_and_revokes_every_api_token(app, client, factory, session):
    world = factory.world()
    phone = app.test_client()
    sign_in(phone, world.alice)
    sign_in(client, world.alice)
    token, _ = issue_token(session, world.alice, name="case system")
    assert _token_works(app, token)
    changed = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    assert signed_in(client)  # the session that changed it stays signed in
    page = phone.get(PAGE, follow_redirects=True).get_data(as_text=True)
    assert "You were signed out because your password was changed." in page
    assert not _token_works(app, token)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "member.password_changed"))
    assert event is not None and event.after == {"sessions_ended": 1, "api_tokens_revoked": 1}


def test_resetting_the_password_ends_every_session_and_revokes_every_api_token(app, client, factory, session):
    world = factory.world()
    sign_in(client, world.alice)
    token, _ = issue_token(session, world.alice)
    reset = make_reset_token("test", world.alice.id, world.alice.password_hash)
    other_browser = app.test_client()
    response = other_browser.post(
        f"/reset-password/{reset}", data={"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert not signed_in(client)
    assert not _token_works(app, token)
    assert {row.end_reason for row in rows_of(session, world.alice)} == {SessionEnd.PASSWORD_RESET}


def test_sign_out_everywhere_ends_every_session_this_one_too_and_every_api_token(app, client, factory, session):
    world = factory.world()
    phone = app.test_client()
    sign_in(phone, world.alice, device="own")
    sign_in(client, world.alice)
    token, _ = issue_token(session, world.alice)
    page = client.get("/account/sessions").get_data(as_text=True)
    assert "You are signed in on 2 devices, and 1 API token works for you." in page
    assert "This device" in page and "Another device" in page
    response = client.post("/account/sign-out-everywhere", follow_redirects=True)
    assert "You have signed out on every device, this one included. 1 API token stopped working too." in (
        response.get_data(as_text=True)
    )
    assert not signed_in(client)
    assert "You were signed out because you chose to sign out everywhere." in phone.get(
        PAGE, follow_redirects=True
    ).get_data(as_text=True)
    assert not _token_works(app, token)
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "member.signed_out_everywhere")) is not None


def test_a_coordinator_signs_a_member_out_of_every_device(app, client, factory, session):
    world = factory.world()
    bobs_phone = app.test_client()
    sign_in(bobs_phone, world.bob)
    token, _ = issue_token(session, world.bob)
    sign_in(client, world.coordinator)
    member_page = client.get(f"/coordinator/members/{world.bob.id}").get_data(as_text=True)
    assert "Bob is signed in on 1 device" in member_page and "1 API token works for them" in member_page
    response = client.post(f"/coordinator/members/{world.bob.id}/sign-out", follow_redirects=True)
    assert "Bob is signed out of every device (1 sign-in ended), and 1 API token stopped working." in (
        response.get_data(as_text=True)
    )
    assert "A coordinator signed you out of every device." in bobs_phone.get(PAGE, follow_redirects=True).get_data(
        as_text=True
    )
    assert not _token_works(app, token)
    assert signed_in(client)  # the coordinator's own session is untouched
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "member.signed_out_by_coordinator"))
    assert event is not None and event.actor_id == world.coordinator.id and event.subject_id == world.bob.id


def test_only_the_members_own_coordinators_can_sign_them_out(app, factory, session):
    world = factory.world()
    bobs_phone = app.test_client()
    sign_in(bobs_phone, world.bob)
    other = factory.member(world.other_timebank, "Oscar Other", role=Role.COORDINATOR)
    for member, status in ((other, 404), (world.alice, 403)):
        someone = app.test_client()
        sign_in(someone, member)
        assert someone.post(f"/coordinator/members/{world.bob.id}/sign-out").status_code == status
    assert signed_in(bobs_phone)


# ---------------------------------------------------------------------------------------------
# Private pages are not cached; reading a page does not write


def test_signed_in_pages_are_never_stored_by_the_browser_or_a_proxy(client, factory):
    world = factory.world()
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    sign_in(client, world.coordinator)
    for path in ("/dashboard", f"/coordinator/members/{world.bob.id}", "/"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/static/css/site.css").headers.get("Cache-Control", "")


def test_reading_pages_writes_the_sessions_activity_at_most_once_a_minute(client, factory, clock, engine):
    world = factory.world()
    sign_in(client, world.alice)
    with counting_statements(engine) as statements:
        for _ in range(5):
            clock.advance(seconds=10)
            assert client.get("/dashboard").status_code == 200
    assert not [s for s in statements if s.startswith("UPDATE web_sessions")]
    with counting_statements(engine) as statements:
        clock.advance(seconds=20)  # a minute after signing in
        assert client.get("/dashboard").status_code == 200
    assert len([s for s in statements if s.startswith("UPDATE web_sessions")]) == 1


def test_a_signed_in_page_still_loads_its_member_in_one_statement(client, factory, engine):
    world = factory.world()
    sign_in(client, world.alice)
    client.get("/notifications/settings")
    db.session.remove()
    with counting_statements(engine, count_begin=False) as statements:
        assert client.get("/notifications/settings").status_code == 200
    assert len(statements) == 1, statements
    assert "web_sessions" in statements[0] and "members" in statements[0]


# ---------------------------------------------------------------------------------------------
# The page's script: how long is left (asking is not activity)


def test_the_session_status_says_how_long_is_left_and_asking_does_not_count_as_activity(client, factory, clock):
    world = factory.world()
    assert client.get("/account/session-status").get_json() == {"signed_in": False}
    sign_in(client, world.alice)
    clock.advance(minutes=20)
    peek = {"X-Session-Peek": "1"}
    status = client.get("/account/session-status", headers=peek).get_json()
    assert status["signed_in"] is True and status["seconds_left"] == 10 * 60 and status["ends_by"] == "idle"
    clock.advance(minutes=9)
    assert client.get("/account/session-status", headers=peek).get_json()["seconds_left"] == 60
    stay = client.get("/account/session-status").get_json()  # "Stay signed in"
    assert stay["seconds_left"] == 30 * 60
    clock.advance(minutes=29)
    assert signed_in(client)


def test_signed_in_pages_carry_the_warning_for_the_script(client, factory):
    world = factory.world()
    sign_in(client, world.alice)
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="session-warning"' in page and 'data-seconds-left="1800"' in page
    assert "/static/js/session-warning.js" in page


# ---------------------------------------------------------------------------------------------
# The timebank's settings (admins)


def _limits(client: FlaskClient, world: World, idle: str, coordinators: str, hours: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/admin/timebanks/{world.timebank.id}/session-limits",
        data={"idle_minutes": idle, "coordinator_idle_minutes": coordinators, "lifetime_hours": hours},
    )


def test_an_admin_sets_a_timebanks_sign_in_limits_within_safe_bounds(client, factory, session):
    world = factory.world()
    sign_in(client, admin(factory))
    assert _limits(client, world, "20", "10", "8").status_code == 302
    session.expire_all()
    assert (
        world.timebank.session_idle_minutes,
        world.timebank.coordinator_session_idle_minutes,
        world.timebank.session_lifetime_hours,
    ) == (20, 10, 8)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "timebank.settings_changed"))
    assert event is not None and event.after == {
        "session_idle_minutes": 20,
        "coordinator_session_idle_minutes": 10,
        "session_lifetime_hours": 8,
    }
    for values, message in (
        (("4", "10", "8"), "Choose between 5 and 120 minutes."),
        (("30", "61", "8"), "Choose between 5 and 60 minutes."),
        (("30", "15", "25"), "Choose between 1 and 24 hours."),
        (("thirty", "15", "12"), "Enter a whole number of minutes, for example 30."),
        (("30", "15", ""), "Enter a whole number of hours, for example 12."),
    ):
        response = _limits(client, world, *values)
        assert response.status_code == 422, values
        assert message in response.get_data(as_text=True), values
    session.expire_all()
    assert world.timebank.session_idle_minutes == 20


def test_only_admins_set_sign_in_limits(client, factory, session):
    world = factory.world()
    sign_in(client, world.coordinator)
    assert _limits(client, world, "120", "60", "24").status_code == 403
    session.expire_all()
    assert world.timebank.session_idle_minutes == 30


def test_sessions_that_ended_long_ago_are_forgotten_by_the_daily_job(client, factory, clock, session):
    world = factory.world()
    sign_in(client, world.alice)
    client.post("/logout")
    sign_in(client, world.bob)  # never signs out: ends by idling, never marked
    assert run_job("forget_old_sessions", now=clock.advance(days=29)).summary == "Forgot 0 old sign-ins."
    assert run_job("forget_old_sessions", now=clock.advance(days=2)).summary == "Forgot 1 old sign-in."
    assert rows_of(session, world.alice) == [] and len(rows_of(session, world.bob)) == 1
    assert run_job("forget_old_sessions", now=clock.advance(days=30)).summary == "Forgot 1 old sign-in."
    assert rows_of(session, world.bob) == []
