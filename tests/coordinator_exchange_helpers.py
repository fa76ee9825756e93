"""Setting up exchanges for the coordinator's approvals, corrections and acting tests, through
the same services the pages use (quicker than clicking through every step)."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.exchange_helpers import today
from timebank.exchanges import service
from timebank.exchanges.donations import DonationRequest, donate
from timebank.models import Account, AuditEvent, Exchange, Member
from timebank.timebanks.service import organisation_account, pool_account


def account_of(session: Session, member: Member) -> Account:
    account = session.scalar(select(Account).where(Account.member_id == member.id))
    assert account is not None
    return account


def recorded(
    session: Session,
    provider: Member,
    recipient: Member,
    minutes: int = 60,
    *,
    days_ago: int = 1,
    description: str = "Fixed the shelf",
    listing_id: int | None = None,
    category_id: int | None = None,
) -> int:
    """The provider records help they gave the recipient: hours reserved, waiting."""
    exchange = service.record_exchange(
        session,
        provider,
        service.RecordRequest(
            provider_account_id=account_of(session, provider).id,
            recipient_account_id=account_of(session, recipient).id,
            minutes=minutes,
            performed_on=today() - timedelta(days=days_ago),
            description=description,
            request_key=uuid.uuid4().hex,
            listing_id=listing_id,
            category_id=category_id,
        ),
    )
    return exchange.id


def with_organisation(session: Session, member: Member, minutes: int = 30, *, earns: bool = True) -> int:
    """Person-to-agency time the member recorded with the organisation."""
    exchange = service.record_with_organisation(
        session,
        member,
        member_earns=earns,
        record=service.TimeRecord(minutes=minutes, performed_on=today(), description="Ran the tea bar"),
        request_key=uuid.uuid4().hex,
    )
    return exchange.id


def confirmed(session: Session, provider: Member, recipient: Member, minutes: int = 60, **kwargs: object) -> int:
    exchange_id = recorded(session, provider, recipient, minutes, **kwargs)  # type: ignore[arg-type]
    service.confirm_exchange(session, recipient, exchange_id)
    return exchange_id


def disputed(session: Session, provider: Member, recipient: Member, minutes: int = 60) -> int:
    exchange_id = recorded(session, provider, recipient, minutes)
    service.dispute_exchange(session, recipient, exchange_id, "It was shorter than that")
    return exchange_id


def approved(session: Session, coordinator: Member, provider: Member, recipient: Member, minutes: int = 60) -> int:
    """Recorded by the provider, confirmed by the recipient, approved by the coordinator."""
    exchange_id = confirmed(session, provider, recipient, minutes)
    service.approve_exchange(session, coordinator, exchange_id)
    return exchange_id


def donated(session: Session, member: Member, minutes: int) -> None:
    donate(session, member, DonationRequest(minutes=minutes, note="", request_key=uuid.uuid4().hex))


def pool_balance(session: Session, timebank_id: int) -> int:
    session.rollback()
    return pool_account(session, timebank_id).balance_minutes


def organisation_balance(session: Session, timebank_id: int) -> int:
    session.rollback()
    return organisation_account(session, timebank_id).balance_minutes


def status_of(session: Session, exchange_id: int) -> str:
    session.rollback()
    exchange = session.get(Exchange, exchange_id)
    assert exchange is not None
    return exchange.status.value


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def links_to_exchanges(page: str) -> set[int]:
    """The exchanges a page links to (their own pages)."""
    return {int(found) for found in re.findall(r'href="/exchanges/(\d+)"', page)}


def days_ago(days: int) -> date:
    return today() - timedelta(days=days)
