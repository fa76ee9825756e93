"""Creating a timebank with the accounts every timebank has."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Account, AccountKind, ApprovalPolicy, Category, Timebank

DEFAULT_CATEGORIES = (
    "Arts and crafts",
    "Befriending",
    "Computer help",
    "Cooking",
    "Gardening",
    "Lifts",
    "Running events",
)


class TimebankSetupError(ValueError):
    pass


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def create_timebank(
    session: Session,
    *,
    name: str,
    organisation_name: str,
    slug: str | None = None,
    granularity_minutes: int = 15,
    default_floor_minutes: int = -10 * 60,
    default_cap_minutes: int = 100 * 60,
    approval_policy: ApprovalPolicy = ApprovalPolicy.ALWAYS,
    approval_threshold_minutes: int = 3 * 60,
    time_zone: str = "Europe/London",
    categories: tuple[str, ...] = DEFAULT_CATEGORIES,
) -> Timebank:
    """A timebank with its organisation account (person-to-agency work) and community pool.

    The organisation may run a deficit (it pays members for running its events), so its account
    has no floor; the pool holds only what was donated, so it cannot go below zero.
    """
    slug = slug or slugify(name)
    if session.scalar(select(Timebank.id).where(Timebank.slug == slug)) is not None:
        raise TimebankSetupError(f"A timebank with the short name {slug!r} already exists.")
    timebank = Timebank(
        name=name,
        slug=slug,
        organisation_name=organisation_name,
        granularity_minutes=granularity_minutes,
        default_floor_minutes=default_floor_minutes,
        default_cap_minutes=default_cap_minutes,
        approval_policy=approval_policy,
        approval_threshold_minutes=approval_threshold_minutes,
        time_zone=time_zone,
    )
    session.add(timebank)
    session.flush()
    session.add_all(
        [
            Account(timebank_id=timebank.id, kind=AccountKind.ORGANISATION, name=organisation_name),
            Account(
                timebank_id=timebank.id,
                kind=AccountKind.POOL,
                name=f"{name} community pool",
                floor_minutes=0,
            ),
        ]
    )
    session.add_all(Category(timebank_id=timebank.id, name=category) for category in categories)
    session.flush()
    return timebank


def organisation_account(session: Session, timebank_id: int) -> Account:
    return _special_account(session, timebank_id, AccountKind.ORGANISATION)


def pool_account(session: Session, timebank_id: int) -> Account:
    return _special_account(session, timebank_id, AccountKind.POOL)


def _special_account(session: Session, timebank_id: int, kind: AccountKind) -> Account:
    account = session.scalar(select(Account).where(Account.timebank_id == timebank_id, Account.kind == kind))
    if account is None:
        raise LookupError(f"timebank {timebank_id} has no {kind} account")
    return account
