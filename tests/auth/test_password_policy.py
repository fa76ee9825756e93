"""Common and breached passwords are refused wherever a password is chosen (joining, changing,
resetting, the demo command), with a message that says why and what to do instead."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD
from timebank.auth.passwords import password_problem
from timebank.models import Member, Timebank

COMMON = ("password12", "1234567890", "aaaaaaaaaa", "qwertyuiop", "iloveyou12")
ON_A_LIST = "This password is on a list of passwords that are often guessed. Try three or four unrelated words."


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_are_refused_with_a_reason_and_what_to_do(password):
    problem = password_problem(password)
    assert problem is not None
    assert problem.endswith("Try three or four unrelated words.")


def test_a_password_from_the_breach_list_is_said_to_be_on_a_list():
    assert password_problem("password12") == ON_A_LIST
    assert password_problem("1234567890") == ON_A_LIST
    assert "Repeated letters" in (password_problem("aaaaaaaaaa") or "")


@pytest.mark.parametrize(
    "password", [PASSWORD, "timebank-demo", "a brand new garden gate", "tea and biscuits", "Tr0ub4dor&3x"]
)
def test_long_unusual_passwords_are_fine(password):
    assert password_problem(password) is None


def test_a_password_built_from_the_members_own_name_or_email_is_refused():
    personal = ("Nadia Hussain", "nadia.hussain@example.org", "Riverside")
    assert "too close to your name" in (password_problem("nadiahussain1", personal=personal) or "")
    assert "too close to your name" in (password_problem("riverside2024", personal=personal) or "")
    assert password_problem("nadiahussain1") is None  # only because it is hers
    assert password_problem(PASSWORD, personal=personal) is None


def test_a_very_long_password_is_judged_without_failing():
    assert password_problem("x" * 1000) is not None  # one letter, repeated
    assert password_problem(PASSWORD * 30) is None


def _join(client, password: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/join",
        data={
            "display_name": "Nadia",
            "email": "nadia@example.org",
            "phone": "",
            "contact_preference": "email",
            "password": password,
            "confirm_password": password,
        },
    )


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.mark.parametrize("password", ["password12", "1234567890", "aaaaaaaaaa"])
def test_joining_with_a_common_password_is_refused_and_nothing_is_created(client, factory, session, password):
    factory.timebank("Riverside")
    response = _join(client, password)
    assert response.status_code == 422
    assert "Try three or four unrelated words." in _text(response)
    assert 'href="#password"' in _text(response)  # the error summary links to the field
    session.expire_all()
    assert session.scalar(select(func.count(Member.id))) == 0


def test_joining_with_a_password_made_of_the_timebanks_name_is_refused(client, factory, session):
    timebank = factory.timebank("Riverside")
    response = _join(client, "riverside2024")
    assert response.status_code == 422
    assert "too close to your name" in _text(response)
    assert session.scalar(select(func.count(Member.id)).where(Member.timebank_id == timebank.id)) == 0


def test_changing_to_a_common_password_is_refused(client, auth, factory, session):
    world = factory.world()
    auth.login(world.alice)
    before = world.alice.password_hash
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": "password12", "confirm_password": "password12"},
    )
    assert response.status_code == 422
    assert ON_A_LIST in _text(response)
    session.expire_all()
    assert session.get(Member, world.alice.id).password_hash == before


def test_changing_to_a_password_made_of_ones_own_name_is_refused(client, auth, factory, session):
    member = factory.member(factory.timebank("Riverside"), "Zebedee Quillfeather")
    auth.login(member)
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": "quillfeather7", "confirm_password": "quillfeather7"},
    )
    assert response.status_code == 422
    assert "too close to your name" in _text(response)


def test_resetting_to_a_common_password_is_refused_and_the_link_still_works(client, factory, session, app):
    from timebank.auth.tokens import make_reset_token

    world = factory.world()
    path = "/reset-password/" + make_reset_token(app.config["SECRET_KEY"], world.alice.id, world.alice.password_hash)
    refused = client.post(path, data={"password": "1234567890", "confirm_password": "1234567890"})
    assert refused.status_code == 422
    assert ON_A_LIST in _text(refused)
    fine = "a brand new garden gate"
    done = client.post(path, data={"password": fine, "confirm_password": fine})
    assert done.status_code == 302


def test_the_demo_command_refuses_a_common_password_and_builds_nothing(runner, session):
    result = runner.invoke(args=["timebank", "demo", "--password", "password12"])
    assert result.exit_code != 0
    assert "often guessed" in result.output
    assert session.scalar(select(func.count(Timebank.id))) == 0
