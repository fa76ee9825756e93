"""What one member may see of another: one place for the "who can see this" choices.

A member always sees their own profile in full, and so do the coordinators of their timebank
(they vet people and broker matches). Everyone else sees only what the member chose to show,
and never anything from another timebank, nor a member who is not approved.
"""

from __future__ import annotations

from ..models import Member, MemberStatus


def same_timebank(viewer: Member, member: Member) -> bool:
    return viewer.timebank_id is not None and viewer.timebank_id == member.timebank_id


def sees_everything(viewer: Member, member: Member) -> bool:
    """The member themself, or a coordinator of their timebank."""
    return viewer.id == member.id or (viewer.is_coordinator and same_timebank(viewer, member))


def can_see_member(viewer: Member, member: Member) -> bool:
    """Whether the viewer may know this member exists at all."""
    if not same_timebank(viewer, member):
        return False
    return member.status == MemberStatus.APPROVED or sees_everything(viewer, member)


def visible_area(viewer: Member, member: Member) -> str | None:
    if member.area and (member.show_area or sees_everything(viewer, member)):
        return member.area
    return None


def visible_availability(viewer: Member, member: Member) -> str | None:
    """The stored slots string, if the viewer may see it."""
    if member.show_availability or sees_everything(viewer, member):
        return member.availability
    return None


def acting_for(actor: Member, member: Member) -> Member | None:
    """The member an actor acts on behalf of (for the audit trail): None when it is themself."""
    return None if actor.id == member.id else member
