"""Changing your password while signed in."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import PASSWORD
from timebank.models import AuditEvent, Member

NEW_PASSWORD = "a brand new garden gate"


def _change(client, current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        "/account/password",
        data={"current_password": current, "password": new, "confirm_password": new if confirm is None else confirm},
    )


def test_member_changes_their_password_and_stays_signed_in(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    page = client.get("/account/password").get_data(as_text=True)
    assert "Current password" in page and "New password" in page and "Type the new password again" in page
    response = _change(client)
    assert response.status_code == 302
    assert client.get("/me").status_code == 200
    auth.logout()
    assert auth.login(world.alice).status_code == 401
    assert auth.login(world.alice, password=NEW_PASSWORD).status_code == 302
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "member.password_changed")) is not None


def test_wrong_current_password_is_refused_and_nothing_changes(client, auth, factory, session):
    world = factory.world()
    before = world.alice.password_hash
    auth.login(world.alice)
    response = _change(client, current="not my password")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "That is not your current password" in page
    assert 'href="#current_password"' in page
    session.expire_all()
    assert session.get(Member, world.alice.id).password_hash == before


def test_new_password_must_follow_the_rules_and_match(client, auth, factory, session):
    world = factory.world()
    before = world.alice.password_hash
    auth.login(world.alice)
    assert "at least 10 characters" in _change(client, new="short").get_data(as_text=True)
    assert "cannot be only spaces" in _change(client, new=" " * 12).get_data(as_text=True)
    mismatch = _change(client, confirm=NEW_PASSWORD + "!")
    assert mismatch.status_code == 422
    assert "The two passwords are not the same" in mismatch.get_data(as_text=True)
    same = _change(client, new=PASSWORD)
    assert same.status_code == 422
    assert "must be different from your current one" in same.get_data(as_text=True)
    session.expire_all()
    assert session.get(Member, world.alice.id).password_hash == before


def test_changing_the_password_signs_out_other_sessions(app, auth, client, factory):
    world = factory.world()
    other_computer = app.test_client()
    other_computer.post("/login", data={"email": world.alice.email, "password": PASSWORD})
    auth.login(world.alice)
    assert _change(client).status_code == 302
    assert other_computer.get("/me").status_code == 302
    assert client.get("/me").status_code == 200


def test_changing_the_password_needs_sign_in(client):
    response = client.get("/account/password")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert _change(client).status_code == 302
