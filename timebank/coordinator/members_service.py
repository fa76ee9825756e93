"""A coordinator looks after the members of their own timebank: the member list, one member's
full picture (profile, hours, limits, recent exchanges, vetting record, private notes), and the
changes a coordinator makes for them: limits, suspending and reactivating, marking as left, and
registering someone who has no email.

Plain functions over a Session and the acting coordinator. Another timebank's member is "not
found" (404), a participant is refused (403). Every change is one transaction with its audit
event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ..audit.service import record as audit
from ..auth.sessions import SignedOut, SignIns, sign_out_member
from ..auth.sessions import sign_ins_of as sessions_sign_ins_of
from ..duties.requests import open_request
from ..duties.rules import end_self_approval_if_shared, is_own, require_independent, self_approval_applies
from ..exchanges.service import exchanges_of
from ..hours import hours_in_words
from ..ids import is_storable_id
from ..ledger import Limits, limits_for, lock_accounts, write_transaction
from ..ledger.limits import highest_possible_balance, lowest_possible_balance
from ..members.errors import InvalidProfile
from ..members.profile import MAX_TEXT, validate_area, validate_phone
from ..members.service import create_member
from ..models import (
    Account,
    ContactPreference,
    CoordinatorNote,
    DecisionKind,
    DecisionRequest,
    Exchange,
    Member,
    MemberStatus,
    Role,
    SessionEnd,
    Timebank,
    utcnow,
)
from ..pagination import DEFAULT_PER_PAGE, Page, clamp_page
from ..text_search import contains_pattern, search_words
from .errors import DecisionIncomplete, InvalidMemberChange, MemberNotFound, MemberStateConflict
from .service import checked_note, record_checks, require_coordinator

REASON_MAX = 500  # Member.status_reason
NOTE_MAX = 2000
NAME_MAX = 120  # Member.display_name
LIMIT_MAX_MINUTES = 10_000 * 60  # no member needs a limit beyond ten thousand hours
RECENT_EXCHANGES = 10

# The statuses a coordinator can filter the member list by, in the order the filter shows them.
STATUS_WORDS: dict[MemberStatus, str] = {
    MemberStatus.APPROVED: "Active",
    MemberStatus.APPLIED: "Waiting for vetting",
    MemberStatus.SUSPENDED: "Suspended",
    MemberStatus.LEFT: "Left",
    MemberStatus.DECLINED: "Declined",
}


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True)
class MemberFilters:
    status: MemberStatus | None = None
    query: str = ""


def list_members(
    session: Session,
    coordinator: Member,
    filters: MemberFilters,
    page: int | None = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[Member]:
    """Members of the coordinator's own timebank, by name, filtered by status and a name (or
    email or phone) search."""
    timebank_id = require_coordinator(coordinator)
    conditions = [Member.timebank_id == timebank_id]
    if filters.status is not None:
        conditions.append(Member.status == filters.status)
    for word in search_words(filters.query):
        pattern = contains_pattern(word)
        conditions.append(
            or_(
                Member.display_name.ilike(pattern, escape="\\"),
                Member.email.ilike(pattern, escape="\\"),
                Member.phone.ilike(pattern, escape="\\"),
            )
        )
    total = session.scalar(select(func.count(Member.id)).where(*conditions)) or 0
    current = clamp_page(page, total, per_page)
    members = list(
        session.scalars(
            select(Member)
            .where(*conditions)
            .options(joinedload(Member.account))
            .order_by(func.lower(Member.display_name), Member.id)
            .limit(per_page)
            .offset((current - 1) * per_page)
        ).unique()
    )
    return Page(items=members, page=current, per_page=per_page, total=total)


def get_member(session: Session, coordinator: Member, member_id: int) -> Member:
    """A member of the coordinator's own timebank; anyone else is "not found"."""
    timebank_id = require_coordinator(coordinator)
    member = session.get(Member, member_id) if is_storable_id(member_id) else None
    if member is None or member.timebank_id != timebank_id:
        raise MemberNotFound("There is no such member in your timebank.")
    return member


@dataclass(frozen=True)
class AccountPicture:
    """A member's hours and the limits that apply to them."""

    account: Account
    limits: Limits  # what applies now (own override or the timebank default)
    own_floor: int | None  # the member's override; None: the timebank default
    own_cap: int | None
    default_floor: int
    default_cap: int
    lowest_possible: int  # the balance if every reservation against them posts
    highest_possible: int  # the balance if every reservation in their favour posts


@dataclass(frozen=True)
class MemberPicture:
    member: Member
    account: AccountPicture | None
    recent_exchanges: list[Exchange]
    notes: list[CoordinatorNote]
    checks_done_by: Member | None


def account_picture(account: Account, timebank: Timebank) -> AccountPicture:
    return AccountPicture(
        account=account,
        limits=limits_for(account, timebank),
        own_floor=account.floor_minutes,
        own_cap=account.cap_minutes,
        default_floor=timebank.default_floor_minutes,
        default_cap=timebank.default_cap_minutes,
        lowest_possible=lowest_possible_balance(account),
        highest_possible=highest_possible_balance(account),
    )


def member_picture(session: Session, coordinator: Member, member_id: int) -> MemberPicture:
    """Everything a coordinator needs on one member's page."""
    member = get_member(session, coordinator, member_id)
    timebank = session.get(Timebank, member.timebank_id)
    assert timebank is not None
    account = member.account
    return MemberPicture(
        member=member,
        account=account_picture(account, timebank) if account is not None else None,
        recent_exchanges=exchanges_of(session, member, limit=RECENT_EXCHANGES),
        notes=notes_about(session, coordinator, member.id),
        checks_done_by=session.get(Member, member.checks_done_by_id) if member.checks_done_by_id else None,
    )


def notes_about(session: Session, coordinator: Member, member_id: int) -> list[CoordinatorNote]:
    """The private notes on a member, newest first. Only the member's coordinators read them."""
    timebank_id = require_coordinator(coordinator)
    member = get_member(session, coordinator, member_id)
    return list(
        session.scalars(
            select(CoordinatorNote)
            .where(CoordinatorNote.timebank_id == timebank_id, CoordinatorNote.member_id == member.id)
            .options(joinedload(CoordinatorNote.author))
            .order_by(CoordinatorNote.id.desc())
        )
    )


# ---------------------------------------------------------------------------------------------
# Private notes


def add_note(session: Session, coordinator: Member, member_id: int, body: str) -> CoordinatorNote:
    """A private note about a member, seen only by the coordinators of their timebank."""
    timebank_id = require_coordinator(coordinator)
    body = body.strip()
    if not body:
        raise InvalidMemberChange("Write the note before saving it.", field="body")
    if len(body) > NOTE_MAX:
        raise InvalidMemberChange(f"Keep a note to {NOTE_MAX} characters or fewer.", field="body")
    with write_transaction(session):
        member = get_member(session, coordinator, member_id)
        note = CoordinatorNote(timebank_id=timebank_id, member_id=member.id, author_id=coordinator.id, body=body)
        session.add(note)
        session.flush()
        # The note's words stay out of the append-only trail: it records that a note was written.
        audit(
            session,
            action="member.note_added",
            subject_type="member",
            subject_id=member.id,
            actor=coordinator,
            timebank_id=timebank_id,
            after={"note_id": note.id},
        )
    return note


# ---------------------------------------------------------------------------------------------
# Limits


def set_limits(
    session: Session, coordinator: Member, member_id: int, *, floor_minutes: int | None, cap_minutes: int | None
) -> Account | DecisionRequest:
    """Give a member their own floor and cap (None: the timebank's default). A floor above the
    lowest their balance could go, or a cap below the highest it could reach (counting every
    reservation), is refused: the account would break its own limits at once.

    A coordinator's own limits are not theirs to decide (``duties.rules``): the change becomes a
    waiting ``DecisionRequest`` for another coordinator or an admin (returned instead of the
    account), unless the timebank allows self-approval."""
    require_coordinator(coordinator)
    check_limit_values(floor_minutes, cap_minutes)
    with write_transaction(session):
        member = get_member(session, coordinator, member_id)
        if member.account is None:
            raise MemberNotFound("This member has no account.")
        timebank = session.get(Timebank, member.timebank_id)
        assert timebank is not None
        if is_own(coordinator, {member.id}) and not self_approval_applies(coordinator, timebank):
            account = lock_accounts(session, [member.account.id])[member.account.id]
            _check_limits_fit(member, account, timebank, floor_minutes, cap_minutes)
            return open_request(
                session,
                coordinator,
                timebank,
                kind=DecisionKind.LIMITS,
                member=member,
                floor_minutes=floor_minutes,
                cap_minutes=cap_minutes,
            )
        return apply_limits(session, coordinator, timebank, member, floor_minutes, cap_minutes)


def check_limit_values(floor_minutes: int | None, cap_minutes: int | None) -> None:
    if floor_minutes is not None and floor_minutes > 0:
        raise InvalidMemberChange(
            "The lowest balance must be zero or below zero, like -10 hours.", field="floor"
        )
    if cap_minutes is not None and cap_minutes < 0:
        raise InvalidMemberChange("The most hours a member may hold must be zero or more.", field="cap")
    for value, field in ((floor_minutes, "floor"), (cap_minutes, "cap")):
        if value is not None and abs(value) > LIMIT_MAX_MINUTES:
            raise InvalidMemberChange(f"Keep the limit within {hours_in_words(LIMIT_MAX_MINUTES)}.", field=field)


def apply_limits(
    session: Session,
    decider: Member,
    timebank: Timebank,
    member: Member,
    floor_minutes: int | None,
    cap_minutes: int | None,
    *,
    requested_by: Member | None = None,
) -> Account:
    """The change itself, in the caller's write transaction: a coordinator's form for another
    member, or a limits request another coordinator or an admin approved (``requested_by``). Who
    may decide is checked here too (the one rule), so no path can skip it."""
    assert member.account is not None
    account = lock_accounts(session, [member.account.id])[member.account.id]
    _check_limits_fit(member, account, timebank, floor_minutes, cap_minutes)
    before = {"floor_minutes": account.floor_minutes, "cap_minutes": account.cap_minutes}
    after: dict[str, object] = {"floor_minutes": floor_minutes, "cap_minutes": cap_minutes}
    if before == after:
        return account
    require_independent(
        session,
        decider,
        {member.id},
        timebank,
        what="your own limits",
        done="Changed their own limits",
        subject_type="account",
        subject_id=account.id,
    )
    account.floor_minutes = floor_minutes
    account.cap_minutes = cap_minutes
    if requested_by is not None:
        after["requested_by_id"] = requested_by.id
    audit(
        session,
        action="account.limits_changed",
        subject_type="account",
        subject_id=account.id,
        actor=decider,
        timebank_id=account.timebank_id,
        on_behalf_of=member,
        before=before,
        after=after,
    )
    return account


def _check_limits_fit(
    member: Member, account: Account, timebank: Timebank, floor_minutes: int | None, cap_minutes: int | None
) -> None:
    floor = timebank.default_floor_minutes if floor_minutes is None else floor_minutes
    cap = timebank.default_cap_minutes if cap_minutes is None else cap_minutes
    lowest = lowest_possible_balance(account)
    highest = highest_possible_balance(account)
    if floor > lowest:
        raise InvalidMemberChange(
            f"{member.display_name}’s balance could go as low as {hours_in_words(lowest)} "
            "(counting hours waiting for approval), so the lowest balance allowed cannot be above that.",
            field="floor",
        )
    if cap < highest:
        raise InvalidMemberChange(
            f"{member.display_name}’s balance could reach {hours_in_words(highest)} "
            "(counting hours waiting for approval), so the most they may hold cannot be below that.",
            field="cap",
        )


# ---------------------------------------------------------------------------------------------
# Suspending, reactivating, leaving


def _checked_reason(reason: str, *, required: bool, missing: str) -> str:
    reason = reason.strip()
    if required and not reason:
        raise InvalidMemberChange(missing, field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidMemberChange(f"Keep the reason to {REASON_MAX} characters or fewer.", field="reason")
    return reason


def _lock_member(session: Session, coordinator: Member, member_id: int) -> Member:
    timebank_id = require_coordinator(coordinator)
    member = (
        session.scalar(
            select(Member)
            .where(Member.id == member_id, Member.timebank_id == timebank_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if is_storable_id(member_id)
        else None
    )
    if member is None:
        raise MemberNotFound("There is no such member in your timebank.")
    return member


def _change_status(
    session: Session,
    coordinator: Member,
    member_id: int,
    *,
    action: str,
    allowed_from: tuple[MemberStatus, ...],
    to: MemberStatus,
    reason: str,
    refusal: str,
) -> Member:
    with write_transaction(session):
        member = _lock_member(session, coordinator, member_id)
        if member.id == coordinator.id:
            raise MemberStateConflict(
                "You cannot change your own membership here. Ask another coordinator or an administrator."
            )
        if member.status not in allowed_from:
            raise MemberStateConflict(refusal.format(name=member.display_name, status=member.status.value))
        before = {"status": member.status.value, "reason": member.status_reason}
        member.status = to
        member.status_reason = reason
        if to == MemberStatus.APPROVED and member.approved_at is None:
            member.approved_at = member.created_at
        # When they left, for the monthly report's "leaving members"; back again clears it.
        member.left_at = utcnow() if to == MemberStatus.LEFT else None
        if to == MemberStatus.APPROVED and member.role == Role.COORDINATOR:
            # A coordinator back again: self-approval is only for a timebank with one.
            timebank = session.get(Timebank, member.timebank_id)
            assert timebank is not None
            end_self_approval_if_shared(session, timebank, coordinator)
        audit(
            session,
            action=action,
            subject_type="member",
            subject_id=member.id,
            actor=coordinator,
            timebank_id=member.timebank_id,
            before=before,
            after={"status": to.value, "reason": reason},
        )
    return member


def suspend_member(session: Session, coordinator: Member, member_id: int, *, reason: str) -> Member:
    """Pause a member's membership: they cannot sign in (a signed-in session ends on its next
    request) and are never matched. The reason is shown to them."""
    require_coordinator(coordinator)
    reason = _checked_reason(reason, required=True, missing="Write a short reason. The member will see it.")
    return _change_status(
        session,
        coordinator,
        member_id,
        action="member.suspended",
        allowed_from=(MemberStatus.APPROVED,),
        to=MemberStatus.SUSPENDED,
        reason=reason,
        refusal="Only an active member can be suspended: {name} is {status}.",
    )


def reactivate_member(session: Session, coordinator: Member, member_id: int) -> Member:
    """A suspended member, or one who left, is active again."""
    require_coordinator(coordinator)
    return _change_status(
        session,
        coordinator,
        member_id,
        action="member.reactivated",
        allowed_from=(MemberStatus.SUSPENDED, MemberStatus.LEFT),
        to=MemberStatus.APPROVED,
        reason="",
        refusal="Only a suspended member, or one who left, can be reactivated: {name} is {status}.",
    )


def mark_left(session: Session, coordinator: Member, member_id: int, *, reason: str = "") -> Member:
    """The member has left the timebank. Their hours and history stay; they cannot sign in."""
    require_coordinator(coordinator)
    reason = _checked_reason(reason, required=False, missing="")
    return _change_status(
        session,
        coordinator,
        member_id,
        action="member.left",
        allowed_from=(MemberStatus.APPROVED, MemberStatus.SUSPENDED),
        to=MemberStatus.LEFT,
        reason=reason,
        refusal="Only an active or suspended member can be marked as left: {name} is {status}.",
    )


# ---------------------------------------------------------------------------------------------
# Signing a member out


def sign_member_out(session: Session, coordinator: Member, member_id: int, now: datetime) -> tuple[Member, SignedOut]:
    """End every web session of a member of the coordinator's timebank and revoke their API
    tokens (a lost phone, a shared computer left signed in, a worry about their account)."""
    require_coordinator(coordinator)
    with write_transaction(session):
        member = get_member(session, coordinator, member_id)
        signed_out = sign_out_member(
            session,
            member,
            SessionEnd.BY_COORDINATOR,
            now,
            actor=coordinator,
            action="member.signed_out_by_coordinator",
        )
    return member, signed_out


def sign_ins_of(session: Session, coordinator: Member, member_id: int, now: datetime) -> SignIns:
    """Where a member of the coordinator's timebank is signed in (for their member page)."""
    return sessions_sign_ins_of(session, get_member(session, coordinator, member_id), now)


# ---------------------------------------------------------------------------------------------
# Registering a member who has no email


@dataclass(frozen=True)
class Registration:
    display_name: str
    checks_note: str
    phone: str | None = None
    area: str = ""
    contact_preference: ContactPreference = ContactPreference.COORDINATOR
    offers_text: str = ""
    wants_text: str = ""
    # The form's one-off reference: sending the same form twice registers one member.
    request_key: str | None = None


REGISTRATION_KEY_MAX = 64


def register_member(session: Session, coordinator: Member, data: Registration) -> Member:
    """A member who has no email (a coordinator-managed account): approved at once, because the
    coordinator vetted them in person (the checks note says how), with an account and no
    password. They take part through the coordinator.

    A form sent twice (a double-click, a retry after a slow page) finds the member the first
    one registered, even when both arrive at once: the unique (timebank, registration_key)
    constraint decides."""
    timebank_id = require_coordinator(coordinator)
    key = (data.request_key or "").strip() or None
    if key is not None and len(key) > REGISTRATION_KEY_MAX:
        raise InvalidMemberChange("This form's reference is not valid. Please reload the page and try again.")
    try:
        return _register(session, coordinator, timebank_id, data, key)
    except IntegrityError:
        # The same form, sent at the same moment, registered the member first.
        existing = _registered_with(session, timebank_id, key) if key else None
        if existing is None:
            raise
        return _same_registration(existing, data)


def _registered_with(session: Session, timebank_id: int, key: str) -> Member | None:
    return session.scalar(
        select(Member).where(Member.timebank_id == timebank_id, Member.registration_key == key)
    )


def _same_registration(existing: Member, data: Registration) -> Member:
    if existing.display_name != " ".join(data.display_name.split()):
        raise MemberStateConflict("This form was already sent with a different name. Please start again.")
    return existing


def _register(
    session: Session, coordinator: Member, timebank_id: int, data: Registration, key: str | None
) -> Member:
    name = " ".join(data.display_name.split())
    if not name:
        raise InvalidMemberChange("Enter the member’s name.", field="display_name")
    if len(name) > NAME_MAX:
        raise InvalidMemberChange(f"Keep the name to {NAME_MAX} characters or fewer.", field="display_name")
    try:
        phone = validate_phone(data.phone)
        area = validate_area(data.area)
    except InvalidProfile as error:
        raise InvalidMemberChange(error.message, field=error.field) from error
    if data.contact_preference == ContactPreference.EMAIL:
        raise InvalidMemberChange(
            "This member has no email address. Choose another way to contact them.", field="contact_preference"
        )
    if data.contact_preference in (ContactPreference.PHONE, ContactPreference.TEXT) and not phone:
        raise InvalidMemberChange(
            "Add a phone number, or choose “Through the coordinator”.", field="contact_preference"
        )
    texts = {}
    for field, value, words in (
        ("offers_text", data.offers_text, "What they can offer"),
        ("wants_text", data.wants_text, "What they would like help with"),
    ):
        text = value.strip()
        if len(text) > MAX_TEXT:
            raise InvalidMemberChange(f"{words} must be {MAX_TEXT} characters or fewer.", field=field)
        texts[field] = text
    try:
        note = checked_note(data.checks_note)
    except DecisionIncomplete as error:
        raise InvalidMemberChange(error.message, field="checks_note") from error
    with write_transaction(session):
        if key is not None:
            existing = _registered_with(session, timebank_id, key)
            if existing is not None:
                return _same_registration(existing, data)
        timebank = session.get(Timebank, timebank_id)
        assert timebank is not None
        member = create_member(
            session,
            timebank=timebank,
            display_name=name,
            email=None,
            role=Role.PARTICIPANT,
            status=MemberStatus.APPROVED,
            password=None,
            phone=phone,
        )
        member.area = area
        member.contact_preference = data.contact_preference
        member.offers_text = texts["offers_text"]
        member.wants_text = texts["wants_text"]
        member.registration_key = key
        record_checks(member, coordinator, note)
        session.flush()
        audit(
            session,
            action="member.registered",
            subject_type="member",
            subject_id=member.id,
            actor=coordinator,
            timebank_id=timebank_id,
            after={
                "status": MemberStatus.APPROVED.value,
                "contact_preference": data.contact_preference.value,
                "checks_done": True,
                "email": False,
            },
        )
    return member
