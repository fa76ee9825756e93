"""A member the viewer may not see (an applicant, a suspended, declined or departed member,
another timebank's) is answered exactly like an id that does not exist: same status, same words,
never their name. On the web pages and in the exchanges service; the API's own test is
tests/api/test_api_bad_input.py. Both databases."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import Factory
from tests.exchange_helpers import Browser, form_key, today
from timebank.exchanges.errors import ExchangeNotFound, Unavailable
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.models import Member, MemberStatus

HIDDEN = [MemberStatus.APPLIED, MemberStatus.SUSPENDED, MemberStatus.DECLINED, MemberStatus.LEFT]
NO_SUCH_ID = 2_000_000_000


@pytest.fixture
def browser(client: FlaskClient) -> Browser:
    return Browser(client)


def _answer(response) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    # The layout's "sign in again" link names the page asked for (its own id): not an answer.
    return response.status_code, re.sub(r"next=[^\"]*", "next=", response.get_data(as_text=True))


@pytest.mark.parametrize("status", HIDDEN)
def test_proposing_to_a_hidden_member_is_like_proposing_to_no_one(
    browser: Browser, factory: Factory, status: MemberStatus
) -> None:
    world = factory.world()
    hidden = factory.member(world.timebank, "Kofi Boateng", status=status)
    browser.sign_in(world.alice)
    browser.page("/dashboard")  # the welcome message is shown once
    got = _answer(browser.get(f"/exchanges/new?member_id={hidden.id}"))
    assert got == _answer(browser.get(f"/exchanges/new?member_id={NO_SUCH_ID}"))
    assert got[0] == 404 and "Kofi" not in got[1]


@pytest.mark.parametrize("status", HIDDEN)
def test_recording_with_a_hidden_member_is_like_recording_with_no_one(
    browser: Browser, factory: Factory, status: MemberStatus
) -> None:
    world = factory.world()
    hidden = factory.member(world.timebank, "Kofi Boateng", status=status)
    browser.sign_in(world.alice)

    def record_with(member_id: int) -> tuple[int, str]:
        page = browser.page("/exchanges/record")
        data = {
            "request_key": form_key(page),
            "other_member": str(member_id),
            "direction": "they_helped",
            "performed_on": today().strftime("%d/%m/%Y"),
            "duration": "1",
            "description": "Sorted my phone",
        }
        status_code, text = _answer(browser.post("/exchanges/record", data))
        return status_code, text.replace(data["request_key"], "")

    got = record_with(hidden.id)
    assert got == record_with(NO_SUCH_ID)
    assert got[0] == 422 and "Kofi" not in got[1]


def _record(session: Session, actor: Member, other: Member) -> RecordRequest:
    assert actor.account is not None and other.account is not None
    return RecordRequest(
        provider_account_id=actor.account.id,
        recipient_account_id=other.account.id,
        minutes=60,
        performed_on=today() - timedelta(days=1),
        description="Sorted my phone",
        request_key=str(uuid.uuid4()),
    )


@pytest.mark.parametrize("status", [*HIDDEN, "other timebank"])
def test_the_service_refuses_a_hidden_member_as_not_in_this_timebank(
    session: Session, factory: Factory, status: MemberStatus | str
) -> None:
    world = factory.world()
    if status == "other timebank":
        hidden = world.outsider
    else:
        hidden = factory.member(world.timebank, "Kofi Boateng", status=MemberStatus(status))
    with pytest.raises(ExchangeNotFound) as caught:
        record_exchange(session, world.alice, _record(session, world.alice, hidden))
    session.rollback()
    assert caught.value.message == "That person is not in this timebank."


def test_a_coordinator_who_sees_the_member_is_told_why(session: Session, factory: Factory) -> None:
    world = factory.world()
    suspended = factory.member(world.timebank, "Kofi Boateng", status=MemberStatus.SUSPENDED)
    request = _record(session, world.alice, suspended)
    with pytest.raises(Unavailable) as caught:
        record_exchange(session, world.coordinator, request)
    session.rollback()
    assert "Kofi Boateng" in caught.value.message
