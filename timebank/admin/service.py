"""Installation administration, as plain functions over a Session and the acting admin:
timebanks (creating them, their settings) and who coordinates them. Every change is one
transaction with an audit event on the affected timebank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import case, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit.service import record as audit
from ..auth import two_factor
from ..auth.sessions import TimebankSessionLimits, check_session_limits
from ..duties.rules import end_self_approval_if_shared
from ..hours import hours_in_words
from ..ids import is_storable_id
from ..ledger import lock_accounts, write_transaction
from ..ledger.limits import highest_possible_balance, lowest_possible_balance
from ..models import Account, AccountKind, ApprovalPolicy, Member, MemberStatus, Role, Timebank
from ..timebanks.service import TimebankSetupError, create_timebank, slugify
from .errors import CoordinatorConflict, InvalidSettings, NotAnAdmin, UnknownMember, UnknownTimebank

GRANULARITIES = (5, 10, 15, 20, 30, 60)  # every one divides an hour
NAME_MAX = 200  # Timebank.name, Timebank.organisation_name
SLUG_MAX = 60
LIMIT_MAX_MINUTES = 10_000 * 60
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def require_admin(actor: Member) -> None:
    if not actor.is_admin:
        raise NotAnAdmin("Only an administrator of this installation can do that.")


@cache
def known_time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class TimebankSummary:
    timebank: Timebank
    active_members: int
    waiting: int  # applications to vet
    coordinators: int


def list_timebanks(session: Session, admin: Member) -> list[TimebankSummary]:
    """Every timebank of the installation, by name, with how many people are in it."""
    require_admin(admin)
    approved = Member.status == MemberStatus.APPROVED
    counts = {
        row.timebank_id: row
        for row in session.execute(
            select(
                Member.timebank_id,
                func.sum(case((approved, 1), else_=0)).label("active"),
                func.sum(case((Member.status == MemberStatus.APPLIED, 1), else_=0)).label("waiting"),
                func.sum(case((approved & (Member.role == Role.COORDINATOR), 1), else_=0)).label("coordinators"),
            )
            .where(Member.timebank_id.is_not(None))
            .group_by(Member.timebank_id)
        )
    }
    summaries = []
    for timebank in session.scalars(select(Timebank).order_by(func.lower(Timebank.name), Timebank.id)):
        row = counts.get(timebank.id)
        summaries.append(
            TimebankSummary(
                timebank=timebank,
                active_members=int(row.active or 0) if row else 0,
                waiting=int(row.waiting or 0) if row else 0,
                coordinators=int(row.coordinators or 0) if row else 0,
            )
        )
    return summaries


def get_timebank(session: Session, admin: Member, timebank_id: int) -> Timebank:
    require_admin(admin)
    timebank = session.get(Timebank, timebank_id) if is_storable_id(timebank_id) else None
    if timebank is None:
        raise UnknownTimebank("There is no such timebank.")
    return timebank


def coordinators_of(session: Session, admin: Member, timebank_id: int) -> list[Member]:
    timebank = get_timebank(session, admin, timebank_id)
    return list(
        session.scalars(
            select(Member)
            .where(Member.timebank_id == timebank.id, Member.role == Role.COORDINATOR)
            .order_by(func.lower(Member.display_name), Member.id)
        )
    )


def appointable_members(session: Session, admin: Member, timebank_id: int) -> list[Member]:
    """Approved participants of the timebank: the people who can be made coordinators."""
    timebank = get_timebank(session, admin, timebank_id)
    return list(
        session.scalars(
            select(Member)
            .where(
                Member.timebank_id == timebank.id,
                Member.role == Role.PARTICIPANT,
                Member.status == MemberStatus.APPROVED,
            )
            .order_by(func.lower(Member.display_name), Member.id)
        )
    )


# ---------------------------------------------------------------------------------------------
# Creating a timebank


def _checked_name(value: str, field: str, words: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise InvalidSettings(f"Enter {words}.", field=field)
    if len(text) > NAME_MAX:
        raise InvalidSettings(f"Keep {words} to {NAME_MAX} characters or fewer.", field=field)
    return text


def new_timebank(session: Session, admin: Member, *, name: str, organisation_name: str, slug: str = "") -> Timebank:
    """A new timebank with the default settings, its organisation account and community pool.
    The short name (slug) is its web address (/join/<slug>); blank makes one from the name."""
    require_admin(admin)
    name = _checked_name(name, "name", "the timebank’s name")
    organisation_name = _checked_name(organisation_name, "organisation_name", "the organisation’s name")
    slug = slug.strip().lower() or slugify(name)
    if not slug or len(slug) > SLUG_MAX or not _SLUG.fullmatch(slug):
        raise InvalidSettings(
            f"Use only small letters, numbers and dashes for the short name, like “riverside”, "
            f"up to {SLUG_MAX} characters.",
            field="slug",
        )
    taken = f"The short name “{slug}” is taken by another timebank. Choose another."
    try:
        with write_transaction(session):
            timebank = create_timebank(session, name=name, organisation_name=organisation_name, slug=slug)
            audit(
                session,
                action="timebank.created",
                subject_type="timebank",
                subject_id=timebank.id,
                actor=admin,
                timebank_id=timebank.id,
                after={"name": name, "organisation_name": organisation_name, "slug": slug},
            )
    except TimebankSetupError as error:
        raise InvalidSettings(taken, field="slug") from error
    except IntegrityError as error:  # created by someone else a moment ago
        raise InvalidSettings(taken, field="slug") from error
    return timebank


# ---------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class TimebankSettings:
    granularity_minutes: int
    default_floor_minutes: int
    default_cap_minutes: int
    approval_policy: ApprovalPolicy
    approval_threshold_minutes: int | None  # needed for ABOVE_THRESHOLD; otherwise kept as it is
    time_zone: str


def _check_settings(settings: TimebankSettings) -> None:
    if settings.granularity_minutes not in GRANULARITIES:
        raise InvalidSettings(
            "Choose a step that divides an hour: 5, 10, 15, 20, 30 or 60 minutes.", field="granularity"
        )
    if settings.default_floor_minutes > 0:
        raise InvalidSettings("The lowest balance must be zero or below zero, like -10 hours.", field="default_floor")
    if settings.default_cap_minutes < 0:
        raise InvalidSettings("The most hours a member may hold must be zero or more.", field="default_cap")
    for value, field in (
        (settings.default_floor_minutes, "default_floor"),
        (settings.default_cap_minutes, "default_cap"),
    ):
        if abs(value) > LIMIT_MAX_MINUTES:
            raise InvalidSettings(f"Keep the limit within {hours_in_words(LIMIT_MAX_MINUTES)}.", field=field)
    if settings.approval_policy == ApprovalPolicy.ABOVE_THRESHOLD:
        threshold = settings.approval_threshold_minutes
        if threshold is None or threshold <= 0:
            raise InvalidSettings(
                "Say above how many hours a coordinator must approve, for example 3.", field="approval_threshold"
            )
        if threshold > LIMIT_MAX_MINUTES:
            raise InvalidSettings(f"Keep it within {hours_in_words(LIMIT_MAX_MINUTES)}.", field="approval_threshold")
    if settings.time_zone not in known_time_zones():
        raise InvalidSettings(
            "Choose a time zone from the list, like Europe/London.", field="time_zone"
        )


def _check_members_fit(session: Session, timebank: Timebank, floor: int, cap: int) -> None:
    """Members who use the defaults must still be within them (counting every reservation)."""
    accounts = list(
        session.scalars(
            select(Account.id).where(
                Account.timebank_id == timebank.id,
                Account.kind == AccountKind.MEMBER,
                or_(Account.floor_minutes.is_(None), Account.cap_minutes.is_(None)),
            )
        )
    )
    if not accounts:
        return
    locked = lock_accounts(session, accounts).values()
    below = sorted(
        (a.name for a in locked if a.floor_minutes is None and lowest_possible_balance(a) < floor), key=str.lower
    )
    if below:
        raise InvalidSettings(
            f"{_names(below)} could go below that (counting hours waiting for approval). Choose a lower "
            "floor, or give them their own limit first.",
            field="default_floor",
        )
    above = sorted(
        (a.name for a in locked if a.cap_minutes is None and highest_possible_balance(a) > cap), key=str.lower
    )
    if above:
        raise InvalidSettings(
            f"{_names(above)} could go above that (counting hours waiting for approval). Choose a higher "
            "cap, or give them their own limit first.",
            field="default_cap",
        )


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def update_settings(session: Session, admin: Member, timebank_id: int, settings: TimebankSettings) -> Timebank:
    """Change a timebank's granularity, default floor and cap, approval policy and time zone."""
    require_admin(admin)
    _check_settings(settings)
    with write_transaction(session):
        timebank = _lock_timebank(session, timebank_id)
        _check_members_fit(session, timebank, settings.default_floor_minutes, settings.default_cap_minutes)
        wanted: dict[str, object] = {
            "granularity_minutes": settings.granularity_minutes,
            "default_floor_minutes": settings.default_floor_minutes,
            "default_cap_minutes": settings.default_cap_minutes,
            "approval_policy": settings.approval_policy,
            "time_zone": settings.time_zone,
        }
        if settings.approval_threshold_minutes is not None:
            wanted["approval_threshold_minutes"] = settings.approval_threshold_minutes
        _change_settings(session, admin, timebank, wanted)
    return timebank


def update_session_limits(
    session: Session, admin: Member, timebank_id: int, limits: TimebankSessionLimits
) -> Timebank:
    """Change how long a timebank's members stay signed in: idle minutes for participants and
    for coordinators, and hours in all (each within its safe bounds, auth/sessions.py). Sessions
    already signed in follow the new limits from their next request."""
    require_admin(admin)
    check_session_limits(limits)
    with write_transaction(session):
        timebank = _lock_timebank(session, timebank_id)
        _change_settings(
            session,
            admin,
            timebank,
            {
                "session_idle_minutes": limits.idle_minutes,
                "coordinator_session_idle_minutes": limits.coordinator_idle_minutes,
                "session_lifetime_hours": limits.lifetime_hours,
            },
        )
    return timebank


def _change_settings(session: Session, admin: Member, timebank: Timebank, wanted: dict[str, object]) -> None:
    """Set the settings that differ and audit them (before and after) as one event; none: no event."""
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    for name, value in wanted.items():
        old = getattr(timebank, name)
        if old != value:
            before[name] = str(old) if isinstance(old, ApprovalPolicy) else old
            after[name] = str(value) if isinstance(value, ApprovalPolicy) else value
            setattr(timebank, name, value)
    if after:
        audit(
            session,
            action="timebank.settings_changed",
            subject_type="timebank",
            subject_id=timebank.id,
            actor=admin,
            timebank_id=timebank.id,
            before=before,
            after=after,
        )


def _lock_timebank(session: Session, timebank_id: int) -> Timebank:
    timebank = (
        session.scalar(
            select(Timebank)
            .where(Timebank.id == timebank_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if is_storable_id(timebank_id)
        else None
    )
    if timebank is None:
        raise UnknownTimebank("There is no such timebank.")
    return timebank


# ---------------------------------------------------------------------------------------------
# Coordinators


def _lock_member_of(session: Session, timebank: Timebank, member_id: int) -> Member:
    member = (
        session.scalar(
            select(Member)
            .where(Member.id == member_id, Member.timebank_id == timebank.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if is_storable_id(member_id)
        else None
    )
    if member is None:
        raise UnknownMember(f"There is no such member in {timebank.name}.")
    return member


def _role_changed(session: Session, admin: Member, member: Member, before: Role, after: Role) -> None:
    audit(
        session,
        action="member.role_changed",
        subject_type="member",
        subject_id=member.id,
        actor=admin,
        timebank_id=member.timebank_id,
        before={"role": before.value},
        after={"role": after.value},
    )


def appoint_coordinator(session: Session, admin: Member, timebank_id: int, member_id: int) -> Member:
    """Make an approved member of the timebank one of its coordinators."""
    require_admin(admin)
    with write_transaction(session):
        timebank = _lock_timebank(session, timebank_id)
        member = _lock_member_of(session, timebank, member_id)
        if member.role == Role.COORDINATOR:
            raise CoordinatorConflict(f"{member.display_name} is already a coordinator of {timebank.name}.")
        if member.status != MemberStatus.APPROVED:
            raise CoordinatorConflict(
                f"{member.display_name} is not an active member ({member.status.value}), so cannot coordinate."
            )
        member.role = Role.COORDINATOR
        _role_changed(session, admin, member, Role.PARTICIPANT, Role.COORDINATOR)
        # Self-approval is only for a timebank with a single coordinator.
        end_self_approval_if_shared(session, timebank, admin)
    return member


def stand_down_coordinator(session: Session, admin: Member, timebank_id: int, member_id: int) -> Member:
    """A coordinator goes back to being a participant; never the timebank's last coordinator."""
    require_admin(admin)
    with write_transaction(session):
        timebank = _lock_timebank(session, timebank_id)  # two stand-downs at once wait for each other
        member = _lock_member_of(session, timebank, member_id)
        if member.role != Role.COORDINATOR:
            raise CoordinatorConflict(f"{member.display_name} is not a coordinator of {timebank.name}.")
        if member.status == MemberStatus.APPROVED:
            others = session.scalar(
                select(func.count(Member.id)).where(
                    Member.timebank_id == timebank.id,
                    Member.role == Role.COORDINATOR,
                    Member.status == MemberStatus.APPROVED,
                    Member.id != member.id,
                )
            )
            if not others:
                raise CoordinatorConflict(
                    f"{member.display_name} is the last coordinator of {timebank.name}. "
                    "Appoint another coordinator first."
                )
        member.role = Role.PARTICIPANT
        _role_changed(session, admin, member, Role.COORDINATOR, Role.PARTICIPANT)
    return member


# ---------------------------------------------------------------------------------------------
# Two-factor sign-in


def set_coordinators_need_two_factor(session: Session, admin: Member, timebank_id: int, required: bool) -> Timebank:
    """Require (or stop requiring) two-factor sign-in for the timebank's coordinators. Those who
    have not set it up are sent to set it up at their next page."""
    require_admin(admin)
    with write_transaction(session):
        timebank = _lock_timebank(session, timebank_id)
        if timebank.coordinators_need_two_factor != required:
            audit(
                session,
                action="timebank.settings_changed",
                subject_type="timebank",
                subject_id=timebank.id,
                actor=admin,
                timebank_id=timebank.id,
                before={"coordinators_need_two_factor": timebank.coordinators_need_two_factor},
                after={"coordinators_need_two_factor": required},
            )
            timebank.coordinators_need_two_factor = required
    return timebank


def reset_two_factor(session: Session, admin: Member, timebank_id: int, member_id: int) -> Member:
    """Turn off a member's two-factor sign-in (a lost phone): they sign in with their password,
    and set it up again at once if their role needs it. Audited."""
    require_admin(admin)
    with write_transaction(session):
        timebank = _lock_timebank(session, timebank_id)
        member = _lock_member_of(session, timebank, member_id)
        if not member.has_two_factor:
            raise CoordinatorConflict(
                f"{member.display_name} has not set up two-factor sign-in, so there is nothing to reset."
            )
        two_factor.reset(session, member, actor=admin)
    return member
