"""Group activities: a session ("Friday garden session, 2 hours") where every attendee earns, or
spends, the same hours with the organisation's account, posted all together.

    earn:  the organisation's account → each attendee (they ran the session, gave their time)
    spend: each attendee → the organisation's account (they joined a trip the service ran)

One ``write_transaction`` holds everything: the activity, its attendance list and one posted
transfer per attendee (idempotency key ``activity-<id>-<member id>``). If any attendee would go
below their floor or above their cap, or the date is in a closed month, the ledger raises its
typed error naming that person and nothing at all is written. A resubmitted form (same request
key) finds the activity it already recorded; the same key with other details is a conflict.

The coordinator who records it may not be one who earns (nobody decides on their own benefit,
``duties.rules``): they record their own time with the organisation, which waits for another
coordinator; unless the timebank allows self-approval, when it is audited as such.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from .. import ledger
from ..audit.service import record as audit
from ..clock import today_in
from ..duties.rules import decision_refusal, is_own, require_independent
from ..hours import hours_in_words
from ..ids import is_storable_id
from ..models import (
    Account,
    Activity,
    ActivityAttendee,
    ActivityDirection,
    Category,
    Member,
    MemberStatus,
    Timebank,
    TransferPurpose,
)
from ..notifications.events import activity_recorded
from ..timebanks.service import organisation_account
from .errors import CoordinatorError
from .service import require_coordinator

MAX_TITLE = 120  # Activity.title
MAX_REQUEST_KEY = 200
MAX_ATTENDEES = 500


class ActivityNotFound(CoordinatorError):
    """No such activity, or member, in the coordinator's own timebank (404)."""

    code = "not_found"


class InvalidActivity(CoordinatorError):
    """Something in the form cannot be used (422)."""

    code = "invalid"


@dataclass(frozen=True)
class ActivityRequest:
    title: str
    held_on: date
    minutes: int
    direction: ActivityDirection
    attendee_ids: tuple[int, ...]
    request_key: str
    category_id: int | None = None

    def fingerprint(self) -> str:
        parts = (
            self.title.strip(),
            self.held_on.isoformat(),
            self.minutes,
            self.direction.value,
            self.category_id,
            ",".join(str(i) for i in sorted(self.attendee_ids)),
        )
        return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


# -- reading -----------------------------------------------------------------------------------


def attendable_members(session: Session, coordinator: Member) -> list[Member]:
    """Approved members of the coordinator's timebank with an account, sorted by name."""
    timebank_id = require_coordinator(coordinator)
    members = session.scalars(
        select(Member)
        .join(Account, Account.member_id == Member.id)
        .where(Member.timebank_id == timebank_id, Member.status == MemberStatus.APPROVED)
    ).all()
    return sorted(members, key=lambda m: (m.display_name.casefold(), m.id))


def activities_of(session: Session, coordinator: Member, limit: int = 200) -> list[tuple[Activity, int]]:
    """The timebank's activities, latest first, each with its number of attendees."""
    timebank_id = require_coordinator(coordinator)
    counts = (
        select(ActivityAttendee.activity_id, func.count(ActivityAttendee.id).label("n"))
        .group_by(ActivityAttendee.activity_id)
        .subquery()
    )
    rows = session.execute(
        select(Activity, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.activity_id == Activity.id)
        .where(Activity.timebank_id == timebank_id)
        .options(joinedload(Activity.category))
        .order_by(Activity.held_on.desc(), Activity.id.desc())
        .limit(limit)
    ).all()
    return [(activity, int(n)) for activity, n in rows]


def get_activity(session: Session, coordinator: Member, activity_id: int) -> Activity:
    """An activity of the coordinator's own timebank; anything else is "not found"."""
    timebank_id = require_coordinator(coordinator)
    activity = (
        session.scalar(
            select(Activity)
            .where(Activity.id == activity_id)
            .options(selectinload(Activity.attendees).joinedload(ActivityAttendee.member))
        )
        if is_storable_id(activity_id)
        else None
    )
    if activity is None or activity.timebank_id != timebank_id:
        raise ActivityNotFound("There is no such activity in your timebank.")
    return activity


def recorded_by(session: Session, activity: Activity) -> Member | None:
    return session.get(Member, activity.recorded_by_id)


# -- recording ---------------------------------------------------------------------------------


def record_activity(
    session: Session, coordinator: Member, request: ActivityRequest, *, today: date | None = None
) -> Activity:
    """Record a group activity and move every attendee's hours at once, or nothing at all."""
    timebank_id = require_coordinator(coordinator)
    _check_request_key(request.request_key)
    with ledger.write_transaction(session):
        timebank = session.get(Timebank, timebank_id)
        assert timebank is not None
        existing = _replay(session, timebank_id, request)
        if existing is not None:
            return existing
        title = _validate(session, timebank, request, today)
        attendees = _attendees(session, timebank_id, request.attendee_ids)
        earners = {m.id for m in attendees} if request.direction == ActivityDirection.EARN else set()
        refusal = decision_refusal(coordinator, earners, timebank, "your own time")
        if refusal is not None:
            # Nobody decides on their own benefit (duties.rules): activities post at once.
            raise InvalidActivity(
                f"You are on the list, and everyone on it earns hours at once. {refusal} Take yourself off "
                f"the list, then record your own time with {timebank.organisation_name}: it will wait for them.",
                field="attendees",
            )
        activity = Activity(
            timebank_id=timebank_id,
            title=title,
            held_on=request.held_on,
            minutes=request.minutes,
            direction=request.direction,
            category_id=request.category_id,
            recorded_by_id=coordinator.id,
            request_key=request.request_key,
            request_fingerprint=request.fingerprint(),
        )
        try:
            with session.begin_nested():
                session.add(activity)
                session.flush()
        except IntegrityError:
            # A twin request (double click on PostgreSQL) committed first: answer with its result.
            winner = _replay(session, timebank_id, request)
            if winner is None:
                raise
            return winner
        organisation = organisation_account(session, timebank_id)
        for member in attendees:
            assert member.account is not None
            earns = request.direction == ActivityDirection.EARN
            debit, credit = (organisation, member.account) if earns else (member.account, organisation)
            transfer = ledger.create_transfer(
                session,
                timebank_id=timebank_id,
                debit_account_id=debit.id,
                credit_account_id=credit.id,
                amount_minutes=request.minutes,
                value_date=request.held_on,
                purpose=TransferPurpose.ACTIVITY,
                idempotency_key=f"activity-{activity.id}-{member.id}",
                memo=title,
                created_by_id=coordinator.id,
            )
            session.add(ActivityAttendee(activity_id=activity.id, member_id=member.id, transfer_id=transfer.id))
        session.flush()
        if is_own(coordinator, earners):  # allowed by the timebank's self-approval setting: audited as such
            require_independent(
                session,
                coordinator,
                earners,
                timebank,
                what="your own time",
                done=f"Recorded their own attendance at “{title}” and earned {hours_in_words(request.minutes)}",
                subject_type="activity",
                subject_id=activity.id,
                minutes=request.minutes,
            )
        activity_recorded(
            session,
            activity.id,
            title,
            request.held_on,
            request.minutes,
            request.direction == ActivityDirection.EARN,
            attendees,
        )
        audit(
            session,
            action="activity.recorded",
            subject_type="activity",
            subject_id=activity.id,
            actor=coordinator,
            timebank_id=timebank_id,
            after={
                "title": title,
                "held_on": request.held_on.isoformat(),
                "minutes": request.minutes,
                "direction": request.direction.value,
                "category_id": request.category_id,
                "attendee_ids": [m.id for m in attendees],
            },
        )
    return activity


def _check_request_key(key: str) -> None:
    if not key or not key.strip() or len(key) > MAX_REQUEST_KEY:
        raise ledger.InvalidIdempotencyKey("This form is missing its reference. Please reload the page and try again.")


def _replay(session: Session, timebank_id: int, request: ActivityRequest) -> Activity | None:
    existing = session.scalar(
        select(Activity).where(Activity.timebank_id == timebank_id, Activity.request_key == request.request_key)
    )
    if existing is None:
        return None
    if existing.request_fingerprint != request.fingerprint():
        raise ledger.IdempotencyConflict(
            "This form was already sent with different details. Please open a new form and start again."
        )
    return existing


def _validate(session: Session, timebank: Timebank, request: ActivityRequest, today: date | None) -> str:
    title = " ".join(request.title.split())
    if not title:
        raise InvalidActivity("Give the activity a name, for example “Friday garden session”.", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidActivity(f"Keep the name under {MAX_TITLE} characters.", field="title")
    if request.held_on > (today or today_in(timebank.time_zone)):
        raise InvalidActivity("The date cannot be in the future.", field="held_on")
    try:
        ledger.validate_amount(request.minutes, timebank.granularity_minutes)
    except ledger.InvalidAmount as error:
        raise InvalidActivity(error.message, field="duration") from error
    if request.category_id is not None:
        category = session.get(Category, request.category_id) if is_storable_id(request.category_id) else None
        if category is None or category.timebank_id != timebank.id:
            raise InvalidActivity("Choose one of the categories in the list.", field="category")
    if not request.attendee_ids:
        raise InvalidActivity("Tick everyone who came. At least one person is needed.", field="attendees")
    if len(set(request.attendee_ids)) != len(request.attendee_ids):
        raise InvalidActivity("Someone is on the attendance list twice.", field="attendees")
    if len(request.attendee_ids) > MAX_ATTENDEES:
        raise InvalidActivity(f"An activity can have at most {MAX_ATTENDEES} people.", field="attendees")
    return title


def _attendees(session: Session, timebank_id: int, ids: tuple[int, ...]) -> list[Member]:
    """The attendees, in id order (so accounts are always touched in the same order). Anyone
    outside the coordinator's timebank is "not found"; members who cannot take part now are named."""
    if not all(is_storable_id(i) for i in ids):
        raise ActivityNotFound("Someone on the attendance list is not in your timebank.")
    members = {
        m.id: m
        for m in session.scalars(select(Member).where(Member.id.in_(ids)).options(joinedload(Member.account))).unique()
    }
    result = []
    for member_id in sorted(ids):
        member = members.get(member_id)
        if member is None or member.timebank_id != timebank_id:
            raise ActivityNotFound("Someone on the attendance list is not in your timebank.")
        if member.status != MemberStatus.APPROVED or member.account is None:
            raise InvalidActivity(
                f"{member.display_name} cannot take part at the moment, so they cannot be on the list.",
                field="attendees",
            )
        result.append(member)
    return result
