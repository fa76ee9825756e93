"""Signing in and out: a fresh session at login, status pages for people who may not sign in
yet, and sessions that end when the password changes or the member is suspended."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import PASSWORD
from timebank.coordinator.service import decline_application
from timebank.models import Member, MemberStatus


def test_signing_in_gives_a_fresh_session(client, auth, factory):
    world = factory.world()
    with client.session_transaction() as flask_session:
        flask_session["planted"] = "by someone else"
    auth.login(world.alice)
    with client.session_transaction() as flask_session:
        assert "planted" not in flask_session
        assert flask_session["_user_id"] == str(world.alice.id)


def test_session_moved_to_another_browser_is_dropped(client, factory):
    world = factory.world()
    browser = {"User-Agent": "the-real-browser"}
    client.post("/login", data={"email": world.alice.email, "password": PASSWORD}, headers=browser)
    assert client.get("/me", headers=browser).status_code == 200
    # Same cookie, but a different browser: Flask-Login ("strong") throws the session away.
    stolen = client.get("/me", headers={"User-Agent": "a-different-browser"})
    assert stolen.status_code == 302
    assert "/login" in stolen.headers["Location"]


def test_waiting_applicant_with_the_right_password_sees_their_status_not_member_pages(client, factory):
    world = factory.world()
    applicant = factory.member(world.timebank, "Nadia", status=MemberStatus.APPLIED)
    response = client.post("/login", data={"email": applicant.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/application")
    page = client.get("/application").get_data(as_text=True)
    assert "Your application is waiting for a coordinator" in page
    assert client.get("/me").status_code == 302
    with client.session_transaction() as flask_session:
        assert "_user_id" not in flask_session


def test_declined_applicant_sees_the_coordinators_reason(client, factory, session):
    world = factory.world()
    applicant = factory.member(world.timebank, "Nadia", status=MemberStatus.APPLIED)
    decline_application(session, world.coordinator, applicant.id, reason="We could not get a reference.")
    client.post("/login", data={"email": applicant.email, "password": PASSWORD})
    page = client.get("/application").get_data(as_text=True)
    assert "Your application was not accepted" in page
    assert "We could not get a reference." in page


def test_suspended_member_sees_that_their_membership_is_paused(client, factory, session):
    world = factory.world()
    world.bob.status = MemberStatus.SUSPENDED
    world.bob.status_reason = "Please call Cora about last week."
    session.commit()
    client.post("/login", data={"email": world.bob.email, "password": PASSWORD})
    page = client.get("/application").get_data(as_text=True)
    assert "Your membership is paused" in page
    assert "Please call Cora about last week." in page
    assert client.get("/me").status_code == 302


def test_wrong_password_for_an_applicant_shows_nothing_about_them(client, factory):
    world = factory.world()
    applicant = factory.member(world.timebank, "Nadia", status=MemberStatus.APPLIED)
    response = client.post("/login", data={"email": applicant.email, "password": "not the password"})
    assert response.status_code == 401
    status = client.get("/application")
    assert status.status_code == 302
    assert "/login" in status.headers["Location"]


def test_status_page_without_signing_in_asks_to_sign_in(client):
    response = client.get("/application")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_member_suspended_while_signed_in_is_signed_out(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    assert client.get("/me").status_code == 200
    alice = session.scalar(select(Member).where(Member.id == world.alice.id))
    assert alice is not None
    alice.status = MemberStatus.SUSPENDED
    session.commit()
    assert client.get("/me").status_code == 302


def test_sign_in_page_offers_password_reset_and_joining(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in page
    assert 'href="/join"' in page
