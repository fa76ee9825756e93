"""Helpers for the exchange and dashboard HTTP tests: set things up the way members do, and
prove that a refused request changed nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD
from timebank import ledger
from timebank.clock import today_in
from timebank.models import Account, Exchange, Listing, ListingKind, Member, Transfer


@dataclass(frozen=True)
class State:
    """Everything a refused request must leave alone."""

    exchanges: tuple[tuple[Any, ...], ...]
    transfers: int
    accounts: tuple[tuple[int, int, int, int, int], ...]


def snapshot(session: Session) -> State:
    session.rollback()  # a fresh look: what the requests committed
    exchanges = tuple(
        (e.id, e.status.value, e.minutes, e.performed_on, e.decision_reason, e.pending_transfer_id)
        for e in session.scalars(select(Exchange).order_by(Exchange.id))
    )
    accounts = tuple(
        (a.id, a.credits_posted, a.debits_posted, a.credits_pending, a.debits_pending)
        for a in session.scalars(select(Account).order_by(Account.id))
    )
    transfers = session.scalar(select(func.count(Transfer.id))) or 0
    return State(exchanges=exchanges, transfers=transfers, accounts=accounts)


def assert_nothing_changed(session: Session, before: State) -> None:
    assert snapshot(session) == before
    assert ledger.check_ledger(session).ok


def ledger_ok(session: Session) -> bool:
    session.rollback()
    return ledger.check_ledger(session).ok


def today() -> date:
    return today_in("Europe/London")


def form_key(page: str) -> str:
    """The hidden request key a form page was given."""
    match = re.search(r'name="request_key" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="request_key"[^>]*value="([^"]+)"', page
    )
    assert match, "the form has no request key"
    return match.group(1)


def balance(session: Session, member: Member) -> int:
    session.rollback()
    account = session.scalar(select(Account).where(Account.member_id == member.id))
    assert account is not None
    return account.balance_minutes


def pending(session: Session, member: Member) -> tuple[int, int]:
    """(coming in, going out) minutes reserved on the member's account."""
    session.rollback()
    account = session.scalar(select(Account).where(Account.member_id == member.id))
    assert account is not None
    return account.credits_pending, account.debits_pending


def exchange(session: Session, exchange_id: int) -> Exchange:
    session.rollback()
    found = session.get(Exchange, exchange_id)
    assert found is not None
    return found


def only_exchange(session: Session) -> Exchange:
    session.rollback()
    rows = session.scalars(select(Exchange)).all()
    assert len(rows) == 1, f"expected one exchange, found {len(rows)}"
    return rows[0]


def add_listing(session: Session, member: Member, kind: ListingKind, title: str, **extra: Any) -> Listing:
    listing = Listing(
        timebank_id=member.timebank_id, member_id=member.id, kind=kind, title=title, created_by_id=member.id, **extra
    )
    session.add(listing)
    session.commit()
    return listing


class Browser:
    """One signed-in member at a time, driving the pages like a person would."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def sign_in(self, member: Member) -> None:
        self.client.post("/logout")
        response = self.client.post("/login", data={"email": member.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)

    def page(self, url: str) -> str:
        response = self.client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_data(as_text=True)

    def get(self, url: str) -> TestResponse:
        return self.client.get(url)

    def post(self, url: str, data: dict[str, Any] | None = None) -> TestResponse:
        return self.client.post(url, data=data or {})

    def propose(self, url: str, **data: Any) -> TestResponse:
        """Open the proposal form at ``url`` and send it."""
        fields = {"message": "Could we do Saturday morning?"}
        fields.update(data)
        return self.post(url, {"request_key": form_key(self.page(url)), **fields})

    def record(self, exchange_id: int, **data: Any) -> TestResponse:
        """Record the time of an accepted exchange: by default 2 hours today, typed into the day,
        month and year boxes, checked on the page that says it back, then saved."""
        url = f"/exchanges/{exchange_id}/record"
        fields = {**date_boxes("performed_on", today()), "duration": "2", "description": "Fixed the shelf"}
        return self.send_and_confirm(url, {"request_key": form_key(self.page(url)), **with_date(fields, data)})

    def send_and_confirm(self, url: str, data: dict[str, Any]) -> TestResponse:
        """Send a form that says its answers back before saving; if it did, press its save button
        (the answers travel on unchanged). Otherwise the first answer (errors, a refusal)."""
        response = self.post(url, data)
        if response.status_code == 200 and CONFIRM_BUTTON in response.get_data(as_text=True):
            return self.post(url, {**data, "answers": "confirmed"})
        return response


CONFIRM_BUTTON = 'name="answers" value="confirmed"'


def date_boxes(name: str, day: date) -> dict[str, str]:
    """A date typed as a person types it into the day, month and year boxes."""
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


def with_date(defaults: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``defaults`` updated by ``data``; a date ``data`` gives as one text (``performed_on=...``)
    replaces the default boxes of that date."""
    fields = dict(defaults)
    for name in data:
        for part in ("day", "month", "year"):
            fields.pop(f"{name}-{part}", None)
    fields.update(data)
    return fields


def created_id(response: TestResponse) -> int:
    """The exchange a successful form redirected to."""
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/exchanges/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))
