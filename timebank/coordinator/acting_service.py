"""Acting for members: who a coordinator may act for, and who with.

The actions themselves are the areas' own services (``listings.service.create_listing`` with an
owner, ``exchanges.service.propose_exchange`` and ``record_exchange`` with ``for_member_id``),
which check the rules and write the audit trail with the member acted for. Here: only finding
the people, always inside the coordinator's own timebank (another timebank's member is "not
found").
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..ids import is_storable_id
from ..members.errors import MemberNotFound
from ..models import Account, AccountKind, Member, MemberStatus
from .service import require_coordinator


def members_to_act_for(session: Session, coordinator: Member) -> list[Member]:
    """Approved members of the coordinator's timebank with a time credit account, by name."""
    timebank_id = require_coordinator(coordinator)
    return list(
        session.scalars(
            select(Member)
            .join(Account, Account.member_id == Member.id)
            .where(Member.timebank_id == timebank_id, Member.status == MemberStatus.APPROVED)
            .order_by(Member.display_name, Member.id)
        )
    )


def members_with_accounts(session: Session, coordinator: Member) -> list[Member]:
    """Every member of the timebank with an account, whatever their status (for filters)."""
    timebank_id = require_coordinator(coordinator)
    return list(
        session.scalars(
            select(Member)
            .join(Account, Account.member_id == Member.id)
            .where(Member.timebank_id == timebank_id)
            .order_by(Member.display_name, Member.id)
        )
    )


def member_to_act_for(session: Session, coordinator: Member, member_id: int) -> Member:
    """An approved member of the coordinator's own timebank with an account; anyone else is
    "not found" (another timebank's people are never revealed)."""
    timebank_id = require_coordinator(coordinator)
    member = session.get(Member, member_id) if is_storable_id(member_id) else None
    if (
        member is None
        or member.timebank_id != timebank_id
        or member.status != MemberStatus.APPROVED
        or member.account is None
    ):
        raise MemberNotFound("There is no such member in your timebank to act for.")
    return member


def counterparts(session: Session, coordinator: Member, member: Member) -> list[Account]:
    """Who the member could have an exchange with: the other approved members' accounts, then
    the organisation's (person-to-agency work)."""
    timebank_id = require_coordinator(coordinator)
    people = session.scalars(
        select(Account)
        .join(Member, Account.member_id == Member.id)
        .where(
            Account.timebank_id == timebank_id,
            Account.kind == AccountKind.MEMBER,
            Member.status == MemberStatus.APPROVED,
            Member.id != member.id,
        )
        .order_by(Member.display_name, Account.id)
    ).all()
    organisation = session.scalars(
        select(Account).where(Account.timebank_id == timebank_id, Account.kind == AccountKind.ORGANISATION)
    ).all()
    return [*people, *organisation]
