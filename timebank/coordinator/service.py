"""Coordinator work, as plain functions over a Session and the acting coordinator.

Applications: time banks vet people (a conversation, references, any checks the organisation
needs) before members meet, so a person who applies waits as "applied" until a coordinator of
that timebank approves or declines them. Every decision is audited.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit.service import record as audit
from ..ledger import write_transaction
from ..models import Member, MemberStatus, utcnow
from ..notifications.events import membership_decided
from .errors import ApplicationAlreadyDecided, ApplicationNotFound, DecisionIncomplete, NotACoordinator

DECLINE_REASON_MAX = 500  # Member.status_reason
CHECKS_NOTE_MAX = 500  # Member.checks_note


def require_coordinator(actor: Member) -> int:
    """The id of the timebank the actor coordinates; NotACoordinator otherwise."""
    if not actor.is_coordinator or actor.timebank_id is None:
        raise NotACoordinator("Only a coordinator of this timebank can do that.")
    return actor.timebank_id


# ---------------------------------------------------------------------------------------------
# Applications to join


def pending_applications(session: Session, coordinator: Member) -> list[Member]:
    """Applications waiting in the coordinator's own timebank, oldest first."""
    timebank_id = require_coordinator(coordinator)
    return list(
        session.scalars(
            select(Member)
            .where(Member.timebank_id == timebank_id, Member.status == MemberStatus.APPLIED)
            .order_by(Member.created_at, Member.id)
        )
    )


def count_pending_applications(session: Session, coordinator: Member) -> int:
    timebank_id = require_coordinator(coordinator)
    count = session.scalar(
        select(func.count(Member.id)).where(Member.timebank_id == timebank_id, Member.status == MemberStatus.APPLIED)
    )
    return count or 0


def get_application(session: Session, coordinator: Member, member_id: int) -> Member:
    """A person in the coordinator's own timebank; another timebank's people are "not found"."""
    timebank_id = require_coordinator(coordinator)
    member = session.get(Member, member_id)
    if member is None or member.timebank_id != timebank_id:
        raise ApplicationNotFound("There is no such application in your timebank.")
    return member


def _lock_application(session: Session, coordinator: Member, member_id: int) -> Member:
    """Inside a write transaction: the application, re-read and locked, still waiting."""
    timebank_id = require_coordinator(coordinator)
    member = session.scalar(
        select(Member)
        .where(Member.id == member_id, Member.timebank_id == timebank_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if member is None:
        raise ApplicationNotFound("There is no such application in your timebank.")
    if member.status != MemberStatus.APPLIED:
        raise ApplicationAlreadyDecided(
            f"This application has already been decided: {member.display_name} is {member.status.value} now."
        )
    return member


def checked_note(note: str) -> str:
    """The vetting note (which references and checks were done), tidied; refused when empty."""
    note = " ".join(note.split())
    if not note:
        raise DecisionIncomplete(
            "Write which references and checks you did, for example “Reference from Jo at the library, "
            "met in person”.",
            field="checks_note",
        )
    if len(note) > CHECKS_NOTE_MAX:
        raise DecisionIncomplete(f"Keep the note to {CHECKS_NOTE_MAX} characters or fewer.", field="checks_note")
    return note


def record_checks(member: Member, coordinator: Member, note: str) -> None:
    """Write the vetting record on the member (the caller audits and commits)."""
    member.checks_note = note
    member.checks_done_at = utcnow()
    member.checks_done_by_id = coordinator.id


def approve_application(
    session: Session, coordinator: Member, member_id: int, *, checks_done: bool, checks_note: str
) -> Member:
    """Approve an applicant once the coordinator confirms references and checks are done and
    writes down which ones (the vetting record, shown on the member's coordinator page)."""
    require_coordinator(coordinator)
    if not checks_done:
        raise DecisionIncomplete(
            "Confirm that references and checks are done before approving.", field="checks_done"
        )
    note = checked_note(checks_note)
    with write_transaction(session):
        member = _lock_application(session, coordinator, member_id)
        member.status = MemberStatus.APPROVED
        member.approved_at = utcnow()
        member.status_reason = ""
        record_checks(member, coordinator, note)
        audit(
            session,
            action="member.approved",
            subject_type="member",
            subject_id=member.id,
            actor=coordinator,
            timebank_id=member.timebank_id,
            before={"status": MemberStatus.APPLIED.value},
            # The note itself stays on the member (free text about people stays out of the append-only trail).
            after={"status": MemberStatus.APPROVED.value, "checks_done": True},
        )
        membership_decided(session, member, approved=True)
    return member


def decline_application(session: Session, coordinator: Member, member_id: int, *, reason: str) -> Member:
    """Decline an applicant, with a reason the applicant will read."""
    require_coordinator(coordinator)
    reason = reason.strip()
    if not reason:
        raise DecisionIncomplete("Write a short reason. The person will see it.", field="reason")
    if len(reason) > DECLINE_REASON_MAX:
        raise DecisionIncomplete(f"Keep the reason to {DECLINE_REASON_MAX} characters or fewer.", field="reason")
    with write_transaction(session):
        member = _lock_application(session, coordinator, member_id)
        member.status = MemberStatus.DECLINED
        member.status_reason = reason
        audit(
            session,
            action="member.declined",
            subject_type="member",
            subject_id=member.id,
            actor=coordinator,
            timebank_id=member.timebank_id,
            before={"status": MemberStatus.APPLIED.value},
            after={"status": MemberStatus.DECLINED.value, "reason": reason},
        )
        membership_decided(session, member, approved=False)
    return member
