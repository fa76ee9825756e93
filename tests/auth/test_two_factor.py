"""Two-factor sign-in: setting it up (QR code, key, first code, recovery codes), the code step
after the password (web and API), a code working once, recovery codes, the shared sign-in budget,
an admin requiring it for a timebank's coordinators (and the installation for admins), turning
it off and an admin's reset."""

from __future__ import annotations

import re
import time

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import PASSWORD
from timebank.auth import two_factor
from timebank.models import AuditEvent, Member, RecoveryCode, Role

SECRET_TEXT = re.compile(r'<p class="secret-text" id="secret">([A-Z2-7 ]+)</p>')
SETUP_TOKEN = re.compile(r'name="setup_token" type="hidden" value="([^"]+)"')
RECOVERY_CODE = re.compile(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>")


def _page(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The app's code now, or for a later 30-second step (a code is accepted once, so a test
    signing in twice uses the next step, which is still inside the accepted window)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _set_up_through_the_page(client: FlaskClient) -> tuple[str, list[str]]:
    """What a member does: open the setup page, add the key to the app, type its code."""
    page = client.get("/account/two-factor/setup")
    assert page.status_code == 200, page.status_code
    text = page.get_data(as_text=True)
    secret = SECRET_TEXT.search(text).group(1).replace(" ", "")  # type: ignore[union-attr]
    token = SETUP_TOKEN.search(text).group(1)  # type: ignore[union-attr]
    done = client.post("/account/two-factor/setup", data={"setup_token": token, "code": _code(secret)})
    assert done.status_code == 200, _page(done)
    return secret, RECOVERY_CODE.findall(done.get_data(as_text=True))


def _with_two_factor(session, member: Member) -> str:  # type: ignore[no-untyped-def]
    """Turn it on directly, with no step used yet (so the current code is accepted)."""
    secret = two_factor.new_secret()
    two_factor.turn_on(session, member, secret, _code(secret))
    member.totp_last_step = None
    session.commit()
    return secret


def _password_step(client: FlaskClient, member: Member, path: str = "/login"):  # type: ignore[no-untyped-def]
    return client.post(path, data={"email": member.email, "password": PASSWORD})


# -- setting it up ------------------------------------------------------------------------------


def test_setting_up_shows_a_qr_code_and_the_key_and_saves_nothing_until_a_first_code(
    client, auth, factory, session
):
    world = factory.world()
    auth.login(world.alice)
    page = client.get("/account/two-factor/setup")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "<svg" in text and "QR code for your authenticator app" in text  # drawn on the server
    # No script draws it: the only script on the page is the layout's session warning.
    assert re.findall(r"<script[^>]*>", text) == ['<script src="/static/js/session-warning.js" defer>']
    secret = SECRET_TEXT.search(text).group(1).replace(" ", "")  # type: ignore[union-attr]
    assert len(secret) == 32
    token = SETUP_TOKEN.search(text).group(1)  # type: ignore[union-attr]
    session.expire_all()
    assert not session.get(Member, world.alice.id).has_two_factor  # opening the page changes nothing

    wrong = client.post("/account/two-factor/setup", data={"setup_token": token, "code": "000000"})
    assert wrong.status_code == 422
    assert "That code does not match" in _page(wrong)
    assert secret in _page(wrong).replace(" ", "")  # the same key again, to try once more
    session.expire_all()
    assert not session.get(Member, world.alice.id).has_two_factor

    done = client.post("/account/two-factor/setup", data={"setup_token": token, "code": _code(secret)})
    assert done.status_code == 200
    assert done.headers["Cache-Control"] == "no-store"
    codes = RECOVERY_CODE.findall(done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "This is the only time they are shown" in _page(done)
    session.expire_all()
    alice = session.get(Member, world.alice.id)
    assert alice.has_two_factor and alice.totp_secret == secret
    stored = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.member_id == alice.id)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only their hashes
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "member.two_factor_enabled")) is not None
    # The settings page says it is on; the codes are not shown again.
    settings = _page(client.get("/account/two-factor"))
    assert "Two-factor sign-in is <strong>on</strong>" in settings
    assert "10 unused recovery codes" in settings
    assert codes[0] not in settings


def test_a_setup_key_from_another_member_or_a_forged_one_is_refused(client, auth, factory, session, app):
    from timebank.auth.tokens import make_setup_token

    world = factory.world()
    auth.login(world.alice)
    secret = two_factor.new_secret()
    bobs = make_setup_token(app.config["SECRET_KEY"], world.bob.id, secret)
    refused = client.post("/account/two-factor/setup", data={"setup_token": bobs, "code": _code(secret)})
    assert refused.status_code == 422
    forged = client.post("/account/two-factor/setup", data={"setup_token": "x" + bobs, "code": _code(secret)})
    assert forged.status_code == 422
    session.expire_all()
    assert not session.get(Member, world.alice.id).has_two_factor


# -- signing in -----------------------------------------------------------------------------------


def test_with_two_factor_on_the_password_alone_does_not_sign_in(client, factory, session):
    world = factory.world()
    secret = _with_two_factor(session, world.alice)
    response = _password_step(client, world.alice, "/login?next=/listings")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/two-factor")
    assert client.get("/dashboard").status_code == 302  # not signed in yet
    with client.session_transaction() as state:
        assert set(state) <= {"two_factor_pending", "_flashes", "csrf_token"}
        pending = state["two_factor_pending"]
        assert pending["member_id"] == world.alice.id and pending["next"] == "/listings"

    page = client.get("/login/two-factor")
    assert page.status_code == 200
    assert "Enter your sign-in code" in _page(page)
    assert 'autocomplete="one-time-code"' in _page(page)

    wrong = client.post("/login/two-factor", data={"code": "123456" if _code(secret) != "123456" else "654321"})
    assert wrong.status_code == 401
    assert "That code does not match" in _page(wrong)
    assert client.get("/dashboard").status_code == 302

    done = client.post("/login/two-factor", data={"code": _code(secret)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/listings")
    assert client.get("/dashboard").status_code == 200
    with client.session_transaction() as state:
        assert "two_factor_pending" not in state


def test_a_code_is_accepted_only_once(client, factory, session):
    world = factory.world()
    secret = _with_two_factor(session, world.alice)
    code = _code(secret)
    _password_step(client, world.alice)
    assert client.post("/login/two-factor", data={"code": code}).status_code == 302
    client.post("/logout")
    _password_step(client, world.alice)
    replayed = client.post("/login/two-factor", data={"code": code})
    assert replayed.status_code == 401
    assert client.post("/login/two-factor", data={"code": _code(secret, steps_ahead=1)}).status_code == 302


def test_a_recovery_code_signs_in_once(client, factory, session):
    world = factory.world()
    _with_two_factor(session, world.alice)
    codes = two_factor.new_recovery_codes(session, world.alice, _code(world.alice.totp_secret or ""))
    _password_step(client, world.alice)
    page = client.get("/login/two-factor?recovery=1")
    assert "Type one of the recovery codes" in _page(page)
    used = client.post("/login/two-factor", data={"code": codes[0].upper().replace("-", " ")})  # as typed
    assert used.status_code == 302
    landing = _page(client.get(used.headers["Location"]))
    assert "You used a recovery code" in landing and "You have 9 left" in landing
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "member.recovery_code_used")) is not None
    client.post("/logout")
    _password_step(client, world.alice)
    assert client.post("/login/two-factor", data={"code": codes[0]}).status_code == 401


def test_the_code_must_follow_the_password_within_five_minutes(client, factory, session):
    world = factory.world()
    secret = _with_two_factor(session, world.alice)
    _password_step(client, world.alice)
    with client.session_transaction() as state:
        state["two_factor_pending"] = {**state["two_factor_pending"], "password_ok_at": int(time.time()) - 301}
    late = client.post("/login/two-factor", data={"code": _code(secret)})
    assert late.status_code == 302 and late.headers["Location"].endswith("/login")
    assert "within 5 minutes" in _page(client.get("/login"))
    assert client.get("/dashboard").status_code == 302


def test_the_code_page_without_a_password_first_sends_to_sign_in(client, factory):
    factory.world()
    response = client.get("/login/two-factor")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    posted = client.post("/login/two-factor", data={"code": "123456"})
    assert posted.status_code == 302 and posted.headers["Location"].endswith("/login")


def test_members_without_two_factor_sign_in_as_before(client, auth, factory):
    world = factory.world()
    response = auth.login(world.alice)
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard")


# -- the API --------------------------------------------------------------------------------------


def _ask_for_token(client: FlaskClient, member: Member, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/tokens", json={"email": member.email, "password": PASSWORD, **extra})


def test_the_api_asks_for_the_code_of_a_member_with_two_factor(client, factory, session):
    world = factory.world()
    secret = _with_two_factor(session, world.alice)
    missing = _ask_for_token(client, world.alice)
    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "two_factor_required"
    assert "totp_code" in missing.get_json()["error"]["message"]
    wrong = _ask_for_token(client, world.alice, totp_code="000000")
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_two_factor_code"
    given = _ask_for_token(client, world.alice, totp_code=_code(secret))
    assert given.status_code == 201
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {given.get_json()['token']}"})
    assert me.status_code == 200
    # Members without two-factor need no code; a code they send is not needed.
    assert _ask_for_token(client, world.bob).status_code == 201


def test_the_api_takes_a_recovery_code_once(client, factory, session):
    world = factory.world()
    secret = _with_two_factor(session, world.alice)
    codes = two_factor.new_recovery_codes(session, world.alice, _code(secret))
    assert _ask_for_token(client, world.alice, totp_code=codes[3]).status_code == 201
    assert _ask_for_token(client, world.alice, totp_code=codes[3]).status_code == 401


# -- required: a timebank's coordinators, the installation's admins -------------------------------


def _require_for_coordinators(client: FlaskClient, admin: Member, timebank_id: int, required: bool = True):  # type: ignore[no-untyped-def]
    client.post("/logout")
    _password_step(client, admin)
    response = client.post(f"/admin/timebanks/{timebank_id}/two-factor", data={"required": "y"} if required else {})
    client.post("/logout")
    return response


def test_an_admin_requires_it_for_a_timebanks_coordinators_who_must_set_it_up_first(client, factory, session):
    world = factory.world()
    admin = factory.member(None, "Ada Admin", is_admin=True)
    response = _require_for_coordinators(client, admin, world.timebank.id)
    assert response.status_code == 302
    session.expire_all()
    assert session.get(type(world.timebank), world.timebank.id).coordinators_need_two_factor
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "timebank.settings_changed"))
    assert event is not None and event.actor_id == admin.id
    assert event.after == {"coordinators_need_two_factor": True}

    # The coordinator signs in with the password, and is sent to set it up before anything else.
    assert _password_step(client, world.coordinator).status_code == 302
    for path in ("/dashboard", "/coordinator/", "/coordinator/applications", "/account/two-factor"):
        refused = client.get(path)
        assert refused.status_code == 302 and refused.headers["Location"].endswith("/account/two-factor/setup"), path
    setup = _page(client.get("/account/two-factor/setup"))
    assert "Your role needs two-factor sign-in" in setup
    secret, _codes = _set_up_through_the_page(client)
    assert client.get("/coordinator/").status_code == 200
    # Next time, the code is asked for.
    client.post("/logout")
    assert _password_step(client, world.coordinator).headers["Location"].endswith("/login/two-factor")
    assert client.post("/login/two-factor", data={"code": _code(secret, steps_ahead=1)}).status_code == 302

    # Participants of that timebank, and coordinators of others, are not asked.
    client.post("/logout")
    assert _password_step(client, world.alice).headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200


def test_a_coordinator_who_must_use_it_gets_no_api_token_until_set_up(client, factory, session):
    world = factory.world()
    before = _ask_for_token(client, world.coordinator)
    assert before.status_code == 201
    old_token = before.get_json()["token"]
    world.timebank.coordinators_need_two_factor = True
    session.commit()
    refused = _ask_for_token(client, world.coordinator)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "two_factor_setup_required"
    old = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"})
    assert old.status_code == 403 and old.get_json()["error"]["code"] == "two_factor_setup_required"
    secret = _with_two_factor(session, world.coordinator)
    assert _ask_for_token(client, world.coordinator, totp_code=_code(secret)).status_code == 201
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_token}"}).status_code == 200


def test_the_installation_can_require_it_for_admins(client, factory, app):
    factory.world()
    admin = factory.member(None, "Ada Admin", is_admin=True)
    app.config["ADMINS_NEED_TWO_FACTOR"] = True
    assert _password_step(client, admin).status_code == 302
    refused = client.get("/admin/")
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/account/two-factor/setup")
    _set_up_through_the_page(client)
    assert client.get("/admin/").status_code == 200


def test_only_an_admin_may_require_it(client, auth, factory, session):
    world = factory.world()
    auth.login(world.coordinator)
    assert client.post(f"/admin/timebanks/{world.timebank.id}/two-factor", data={"required": "y"}).status_code == 403
    session.expire_all()
    assert not session.get(type(world.timebank), world.timebank.id).coordinators_need_two_factor


# -- turning it off, new codes, an admin's reset ------------------------------------------------


def test_a_member_turns_it_off_with_password_and_code(client, factory, session):
    world = factory.world()
    secret = _with_two_factor(session, world.alice)
    _password_step(client, world.alice)
    client.post("/login/two-factor", data={"code": _code(secret)})
    no_password = client.post("/account/two-factor/turn-off", data={"password": "wrong", "code": _code(secret, 1)})
    assert no_password.status_code == 422 and "That is not your password" in _page(no_password)
    no_code = client.post("/account/two-factor/turn-off", data={"password": PASSWORD, "code": "000000"})
    assert no_code.status_code == 422
    session.expire_all()
    assert session.get(Member, world.alice.id).has_two_factor
    done = client.post("/account/two-factor/turn-off", data={"password": PASSWORD, "code": _code(secret, 1)})
    assert done.status_code == 302
    session.expire_all()
    alice = session.get(Member, world.alice.id)
    assert not alice.has_two_factor and alice.totp_secret is None
    assert session.scalars(select(RecoveryCode).where(RecoveryCode.member_id == alice.id)).all() == []
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "member.two_factor_disabled")) is not None
    client.post("/logout")
    assert _password_step(client, world.alice).headers["Location"].endswith("/dashboard")


def test_someone_it_is_required_for_cannot_turn_it_off(client, factory, session):
    world = factory.world()
    world.timebank.coordinators_need_two_factor = True
    session.commit()
    secret = _with_two_factor(session, world.coordinator)
    _password_step(client, world.coordinator)
    client.post("/login/two-factor", data={"code": _code(secret)})
    assert "cannot be turned off" in _page(client.get("/account/two-factor"))
    refused = client.post("/account/two-factor/turn-off", data={"password": PASSWORD, "code": _code(secret, 1)})
    assert refused.status_code == 409
    session.expire_all()
    assert session.get(Member, world.coordinator.id).has_two_factor


def test_new_recovery_codes_replace_the_old_ones(client, factory, session):
    world = factory.world()
    secret = _with_two_factor(session, world.alice)
    old = two_factor.new_recovery_codes(session, world.alice, _code(secret))
    _password_step(client, world.alice)
    client.post("/login/two-factor", data={"code": old[0]})
    response = client.post("/account/two-factor/recovery-codes", data={"code": _code(secret, 1)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    new = RECOVERY_CODE.findall(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/logout")
    _password_step(client, world.alice)
    assert client.post("/login/two-factor", data={"code": old[1]}).status_code == 401
    assert client.post("/login/two-factor", data={"code": new[0]}).status_code == 302


def test_an_admin_resets_a_coordinators_two_factor_who_then_sets_it_up_again(client, factory, session):
    world = factory.world()
    admin = factory.member(None, "Ada Admin", is_admin=True)
    world.timebank.coordinators_need_two_factor = True
    session.commit()
    _with_two_factor(session, world.coordinator)
    _password_step(client, admin)
    page = _page(client.get(f"/admin/timebanks/{world.timebank.id}"))
    assert "Reset Cora Coordinator’s two-factor sign-in" in page
    response = client.post(f"/admin/timebanks/{world.timebank.id}/members/{world.coordinator.id}/reset-two-factor")
    assert response.status_code == 302
    session.expire_all()
    assert not session.get(Member, world.coordinator.id).has_two_factor
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "member.two_factor_reset"))
    assert event is not None and event.actor_id == admin.id and event.subject_id == world.coordinator.id
    # Nothing left to reset; and another timebank's member is not this timebank's to reset.
    again = client.post(f"/admin/timebanks/{world.timebank.id}/members/{world.coordinator.id}/reset-two-factor")
    assert again.status_code == 409
    elsewhere = client.post(f"/admin/timebanks/{world.timebank.id}/members/{world.outsider.id}/reset-two-factor")
    assert elsewhere.status_code == 404
    client.post("/logout")
    _password_step(client, world.coordinator)
    assert client.get("/coordinator/").headers["Location"].endswith("/account/two-factor/setup")


def test_only_an_admin_may_reset_it(client, auth, factory, session):
    world = factory.world()
    _with_two_factor(session, world.alice)
    other = factory.member(world.timebank, "Carl Coordinator", role=Role.COORDINATOR)
    auth.login(other)
    response = client.post(f"/admin/timebanks/{world.timebank.id}/members/{world.alice.id}/reset-two-factor")
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Member, world.alice.id).has_two_factor
