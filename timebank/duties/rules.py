"""Nobody decides on their own benefit: the rule, in one place.

Every decision that moves time credits to someone, or changes what they may spend or hold, asks
this module first: approving, refusing or settling an exchange (one at a time or in bulk, on the
web or through the API), a coordinator's own record approved at once, a grant from the community
pool, reversing an exchange, changing a member's limits, and approving a decision request. The
one who decides may not be one who benefits: a party to the exchange, the member who gets the
grant or whose limits change. Such an item waits for another coordinator of the timebank or an
installation admin (``decision_requests`` for what has no state of its own to wait in), shows in
their queue as "needs another coordinator", and the audit trail records who decided.

A timebank with a single coordinator can let that coordinator decide their own items, only
through an explicit setting (``Timebank.allow_self_approval``, changed by
``duties.service.set_self_approval`` and audited as ``timebank.self_approval_changed``). It is
switched off, audited, as soon as a second coordinator arrives. Each decision it lets through is
audited as ``duty.self_approved``, which the monthly report lists.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit.service import record as audit
from ..exchanges.errors import NeedsAnotherCoordinator
from ..models import Exchange, Member, MemberStatus, Role, Timebank

SELF_APPROVAL_CHANGED = "timebank.self_approval_changed"
SELF_APPROVED = "duty.self_approved"
NEEDS_ANOTHER_COORDINATOR = "Needs another coordinator"


def may_decide_in(member: Member, timebank_id: int) -> bool:
    """A coordinator of the timebank, or an installation admin (who may decide in any)."""
    return member.is_admin or (member.is_coordinator and member.timebank_id == timebank_id)


def exchange_beneficiaries(exchange: Exchange) -> frozenset[int]:
    """The members an exchange's decision is about: the people on either side (the
    organisation's side has no member)."""
    return frozenset(
        account.member_id
        for account in (exchange.provider_account, exchange.recipient_account)
        if account.member_id is not None
    )


def self_approval_applies(decider: Member, timebank: Timebank) -> bool:
    """The timebank allows its (single) coordinator to decide their own items, and the decider is
    that coordinator."""
    return bool(timebank.allow_self_approval) and decider.is_coordinator and decider.timebank_id == timebank.id


def is_own(decider: Member, beneficiaries: Collection[int]) -> bool:
    return decider.id in beneficiaries


def decision_refusal(decider: Member, beneficiaries: Collection[int], timebank: Timebank, what: str) -> str | None:
    """Why ``decider`` may not decide an item that benefits ``beneficiaries``; None when they may.
    ``what`` names the item from the decider's side: "your own exchange"."""
    if not is_own(decider, beneficiaries) or self_approval_applies(decider, timebank):
        return None
    return f"This is {what}, so another coordinator of {timebank.name} or an administrator must decide it."


def require_independent(
    session: Session,
    decider: Member,
    beneficiaries: Collection[int],
    timebank: Timebank,
    *,
    what: str,
    done: str | Callable[[], str],
    subject_type: str,
    subject_id: int | None,
    minutes: int | None = None,
) -> bool:
    """Refuse (``NeedsAnotherCoordinator``, 403) a decision on the decider's own benefit. When the
    timebank's setting allows it, let it through and audit it as a self-approval (``done`` says
    what was decided, for the monthly report; a function is only called then). Returns whether it
    was a self-approval. Runs in the caller's transaction."""
    refusal = decision_refusal(decider, beneficiaries, timebank, what)
    if refusal is not None:
        raise NeedsAnotherCoordinator(refusal)
    if not is_own(decider, beneficiaries):
        return False
    audit(
        session,
        action=SELF_APPROVED,
        subject_type=subject_type,
        subject_id=subject_id,
        actor=decider,
        timebank_id=timebank.id,
        after={"what": done() if callable(done) else done, "minutes": minutes},
    )
    return True


def coordinator_count(session: Session, timebank_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Member.id)).where(
                Member.timebank_id == timebank_id,
                Member.role == Role.COORDINATOR,
                Member.status == MemberStatus.APPROVED,
            )
        )
        or 0
    )


def end_self_approval_if_shared(session: Session, timebank: Timebank, actor: Member | None) -> None:
    """Self-approval is for a timebank with one coordinator. Call after a coordinator is added or
    comes back (in the same transaction): with more than one, the setting goes off, audited."""
    if not timebank.allow_self_approval or coordinator_count(session, timebank.id) <= 1:
        return
    change_self_approval(
        session,
        timebank,
        actor,
        allowed=False,
        reason=f"{timebank.name} has more than one coordinator now, so each decides for the others.",
    )


def change_self_approval(
    session: Session, timebank: Timebank, actor: Member | None, *, allowed: bool, reason: str
) -> None:
    """Switch the setting and audit it (``timebank.self_approval_changed``, which the monthly
    report reads back). Caller's transaction; the caller decided it may."""
    timebank.allow_self_approval = allowed
    audit(
        session,
        action=SELF_APPROVAL_CHANGED,
        subject_type="timebank",
        subject_id=timebank.id,
        actor=actor,
        timebank_id=timebank.id,
        before={"allow_self_approval": not allowed},
        after={"allow_self_approval": allowed, "reason": reason},
    )
