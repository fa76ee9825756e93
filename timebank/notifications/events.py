"""Who is told what, in one place: the events members care about, turned into notifications.

The exchange service calls ``exchange_event`` beside every audit event of an exchange (same
transaction), and the coordinator's applications service calls ``membership_decided``. Nothing
else decides who hears about what.

| event | told | needs their action |
| --- | --- | --- |
| proposed | the other side (and the member a coordinator proposed for) | yes: accept or decline |
| accepted, declined | the proposer | no |
| recorded | the side that did not record it (coordinators, for person-to-agency time) | yes: confirm |
| confirmed, waiting for approval | coordinators of the timebank (in the app only); the recorder | coordinators: yes |
| disputed | the recorder; coordinators (in the app only) | coordinators: yes, settle it |
| approved | both sides: the credits moved | no |
| rejected, reversed, cancelled, expired | both sides, with the reason | no |
| application approved or declined | the applicant (always by email, if they have one) | no |
| group activity recorded | each attendee: what they earned or spent | no |
| a coordinator asks for a grant, limits or reversal for themselves | the other coordinators (in the app) | yes |
| that request decided | the coordinator who asked | no |

The member who took the step is not told about it, except that both sides always hear that
credits moved. A coordinator acting for a member is not that member, so the member is told.
Every event first resolves the exchange's earlier needs-action notifications (see service.py).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..hours import hours_in_words
from ..models import (
    Account,
    DecisionRequest,
    DecisionStatus,
    Exchange,
    Member,
    MemberStatus,
    Notification,
    Role,
    Timebank,
    utcnow,
)
from ..timebanks.policy import needs_coordinator_approval
from .service import Note, notify, notify_all, resolve_exchange_actions

DASHBOARD_PATH = "/dashboard"
QUEUE_REQUESTS_PATH = "/coordinator/exchanges#requests"
SIGN_IN_PATH = "/login"


def exchange_path(exchange_id: int) -> str:
    return f"/exchanges/{exchange_id}"


def exchange_event(session: Session, exchange: Exchange, actor: Member, verb: str) -> None:
    """Tell the people concerned that ``verb`` happened to the exchange. Caller's transaction."""
    resolve_exchange_actions(session, exchange.id)
    teller = _Teller(session, exchange, actor, verb)
    handler = _HANDLERS.get(verb)
    if handler is not None:
        handler(teller)
        notify_all(session, teller.notes)  # everyone told, in one go


def membership_decided(session: Session, member: Member, *, approved: bool) -> None:
    """An applicant hears the coordinator's answer (the decline reason is on the member)."""
    timebank = member.timebank.name if member.timebank is not None else "the timebank"
    if approved:
        notify(
            session,
            member,
            "membership.approved",
            f"Welcome to {timebank}! Your application was approved. You can now sign in, offer help and ask for help.",
            link=DASHBOARD_PATH,
            dedupe_key="membership:approved",
        )
    else:
        reason = f" The coordinator said: “{member.status_reason}”" if member.status_reason else ""
        notify(
            session,
            member,
            "membership.declined",
            f"Your application to join {timebank} was not approved.{reason} "
            "If you have questions, please contact the coordinator.",
            link=SIGN_IN_PATH,
            dedupe_key="membership:declined",
        )


def decision_requested(session: Session, request: DecisionRequest, requester: Member) -> None:
    """A coordinator asked for something for themselves: the timebank's other coordinators are
    asked to decide it (in the app; their approvals queue lists it too)."""
    from ..duties.words import request_summary

    others = session.scalars(
        select(Member).where(
            Member.timebank_id == request.timebank_id,
            Member.role == Role.COORDINATOR,
            Member.status == MemberStatus.APPROVED,
            Member.id != requester.id,
        )
    )
    notify_all(
        session,
        [
            Note(
                coordinator,
                "decision.requested",
                f"{request_summary(request, coordinator)} It is for them, so another coordinator must decide it.",
                link=QUEUE_REQUESTS_PATH,
                needs_action=True,
                dedupe_key=f"decision:{request.id}:requested",
                email=False,
            )
            for coordinator in others
        ],
    )


def decision_taken(session: Session, request: DecisionRequest, decider: Member) -> None:
    """The coordinator who asked hears the answer; the others' "decide it" is done."""
    from ..duties.words import what_is_asked

    coordinators = select(Member.id).where(Member.timebank_id == request.timebank_id, Member.role == Role.COORDINATOR)
    session.execute(
        update(Notification)
        .where(
            Notification.member_id.in_(coordinators),
            Notification.dedupe_key == f"decision:{request.id}:requested",
            Notification.needs_action.is_(True),
        )
        .values(needs_action=False, read_at=func.coalesce(Notification.read_at, utcnow()))
        .execution_options(synchronize_session=False)
    )
    if request.status == DecisionStatus.WITHDRAWN or decider.id == request.requested_by_id:
        return
    answer = "approved" if request.status == DecisionStatus.APPROVED else "refused"
    note = f" They said: “{request.decision_note}”" if request.decision_note else ""
    notify(
        session,
        request.requested_by,
        f"decision.{answer}",
        f"{decider.display_name} {answer} your request for {what_is_asked(request, request.requested_by)}.{note}",
        link=QUEUE_REQUESTS_PATH,
        dedupe_key=f"decision:{request.id}:{answer}",
    )


def activity_recorded(
    session: Session, activity_id: int, title: str, held_on: date, minutes: int, earned: bool, attendees: list[Member]
) -> None:
    """Each attendee of a group activity hears that the hours moved (a coordinator recorded it)."""
    hours = hours_in_words(minutes)
    when = f"{held_on.day} {held_on:%B %Y}"
    for member in attendees:
        done = "earned" if earned else "spent"
        words = f"You {done} {hours} for “{title}” on {when}."
        notify(
            session,
            member,
            "activity.recorded",
            words,
            link="/me",
            dedupe_key=f"activity:{activity_id}",
        )


class _Teller:
    """One event on one exchange, and the words for each person told about it."""

    def __init__(self, session: Session, exchange: Exchange, actor: Member, verb: str) -> None:
        self.session = session
        self.exchange = exchange
        self.actor = actor
        self.verb = verb
        self.provider: Account = exchange.provider_account
        self.recipient: Account = exchange.recipient_account
        self.notes: list[Note] = []  # what ``tell`` decided, written together at the end

    # -- who ---------------------------------------------------------------------------------

    def parties(self) -> list[Member]:
        """The members on either side (an organisation's side has no member)."""
        members = [account.member for account in (self.provider, self.recipient) if account.member is not None]
        return list({m.id: m for m in members}.values())

    def others(self) -> list[Member]:
        """The parties, less whoever took the step."""
        return [m for m in self.parties() if m.id != self.actor.id]

    def member(self, member_id: int | None) -> Member | None:
        return self.session.get(Member, member_id) if member_id is not None else None

    def coordinators(self) -> list[Member]:
        """The timebank's coordinators who may decide: less whoever took the step, and less a
        coordinator who takes part in the exchange (another decides it: ``duties.rules``)."""
        parties = [account.member_id for account in (self.provider, self.recipient) if account.member_id is not None]
        return list(
            self.session.scalars(
                select(Member).where(
                    Member.timebank_id == self.exchange.timebank_id,
                    Member.role == Role.COORDINATOR,
                    Member.status == MemberStatus.APPROVED,
                    Member.id != self.actor.id,
                    Member.id.not_in(parties),
                )
            )
        )

    # -- words -------------------------------------------------------------------------------

    def who(self) -> str:
        """The one who took the step: their name, and "a coordinator" when not a party."""
        if any(m.id == self.actor.id for m in self.parties()):
            return self.actor.display_name
        return f"{self.actor.display_name} (a coordinator)"

    def name(self, account: Account, viewer: Member, *, start: bool = False) -> str:
        if account.member_id == viewer.id:
            return "You" if start else "you"
        return account.name

    def about(self) -> str:
        description = " ".join((self.exchange.description or "").split())
        if len(description) > 80:
            description = description[:79] + "…"
        return f" (“{description}”)" if description else ""

    def hours(self) -> str:
        return hours_in_words(self.exchange.minutes) if self.exchange.minutes else "the time"

    def when(self) -> str:
        day: date | None = self.exchange.performed_on
        return f" on {day:%A} {day.day} {day:%B}" if day else ""

    def gave(self, viewer: Member, *, start: bool = True) -> str:
        """'You gave Bob 2 hours' / 'Alice gave you 2 hours' ('you gave ...' inside a sentence)."""
        return (
            f"{self.name(self.provider, viewer, start=start)} gave "
            f"{self.name(self.recipient, viewer)} {self.hours()}{self.about()}"
        )

    def reason(self) -> str:
        reason = (self.exchange.decision_reason or "").strip()
        return f" The reason given: “{reason}”" if reason else ""

    # -- telling -----------------------------------------------------------------------------

    def tell(self, member: Member, message: str, *, needs_action: bool = False, email: bool = True) -> None:
        self.notes.append(
            Note(
                member,
                f"exchange.{self.verb}",
                message,
                link=exchange_path(self.exchange.id),
                exchange_id=self.exchange.id,
                needs_action=needs_action,
                dedupe_key=f"exchange:{self.exchange.id}:{self.verb}",
                email=email,
            )
        )

    def tell_coordinators(self, message: str) -> None:
        """Coordinators see it in the app (their approvals queue has it too); no email."""
        for coordinator in self.coordinators():
            self.tell(coordinator, message, needs_action=True, email=False)


def _proposed(t: _Teller) -> None:
    proposer = t.member(t.exchange.proposed_by_id)
    if proposer is None:
        return
    arranged = ""
    if t.actor.id != proposer.id:
        arranged = f" {t.actor.display_name} arranged this for {proposer.display_name}."
    for member in t.parties():
        if member.id == proposer.id:
            continue
        if t.provider.member_id == member.id:
            asked = f"{proposer.display_name} asked if you could help them{t.about()}."
        else:
            asked = f"{proposer.display_name} offered to help you{t.about()}."
        t.tell(member, f"{asked}{arranged} Please accept or decline.", needs_action=True)
    if t.actor.id != proposer.id:
        other = t.recipient if t.provider.member_id == proposer.id else t.provider
        t.tell(
            proposer,
            f"{t.actor.display_name} (a coordinator) proposed an exchange with {other.name} for you{t.about()}.",
        )


def _answered(t: _Teller) -> None:
    proposer = t.member(t.exchange.proposed_by_id)
    if proposer is None or proposer.id == t.actor.id:
        return
    if t.verb == "accepted":
        t.tell(
            proposer,
            f"{t.who()} agreed to your proposal{t.about()}. "
            "Once the help has happened, either of you can record the time.",
        )
    else:
        t.tell(proposer, f"{t.who()} declined your proposal{t.about()}.{t.reason()}")


def _recorded(t: _Teller) -> None:
    # (A coordinator's record approved in the same step is not told as recorded: the exchange
    # service tells "approved" instead, which tells both sides.)
    recorder_id = t.exchange.recorded_by_id
    recorder = t.member(recorder_id)
    by = recorder.display_name if recorder is not None else t.actor.display_name
    confirmers = [m for m in t.parties() if m.id != recorder_id]
    if not confirmers:  # person-to-agency: a coordinator confirms for the organisation
        organisation = t.provider if t.provider.member_id is None else t.recipient
        t.tell_coordinators(
            f"{by} recorded {t.hours()} with {organisation.name}{t.about()}{t.when()}. "
            "It needs a coordinator to approve it."
        )
        return
    for member in confirmers:
        if t.recipient.member_id == member.id:
            what = f"{by} recorded {t.hours()} helping you{t.about()}{t.when()}."
        else:
            what = f"{by} recorded that you helped them for {t.hours()}{t.about()}{t.when()}."
        t.tell(member, f"{what} Please confirm it, or say if it is not right.", needs_action=True)


def _confirmed(t: _Teller) -> None:
    timebank = t.session.get(Timebank, t.exchange.timebank_id)
    if timebank is None or not needs_coordinator_approval(timebank, t.exchange.minutes or 0):
        return  # approved in the same step: "approved" tells both sides
    t.tell_coordinators(
        f"{t.provider.name} gave {t.recipient.name} {t.hours()}{t.about()}{t.when()}. "
        "Both agree, and it is waiting for a coordinator to approve it."
    )
    recorder = t.member(t.exchange.recorded_by_id)
    if recorder is not None and recorder.id != t.actor.id:
        t.tell(
            recorder,
            f"{t.who()} confirmed the {t.hours()}{t.about()}. It is waiting for a coordinator to approve it.",
        )


def _disputed(t: _Teller) -> None:
    recorder = t.member(t.exchange.recorded_by_id)
    if recorder is not None and recorder.id != t.actor.id:
        t.tell(
            recorder,
            f"{t.who()} says the {t.hours()} you recorded{t.about()} is not right.{t.reason()} "
            "A coordinator will look at it.",
        )
    t.tell_coordinators(
        f"{t.who()} questioned {t.hours()} between {t.provider.name} and {t.recipient.name}{t.about()}."
        f"{t.reason()} Please settle it."
    )


def _approved(t: _Teller) -> None:
    for member in t.parties():
        t.tell(member, f"{t.gave(member)}: approved. The time credits have moved.")


def _ended(t: _Teller) -> None:
    endings = {
        "rejected": "was not approved, so no time credits moved.",
        "reversed": "was reversed by a coordinator: the time credits went back.",
        "cancelled": f"was called off by {t.who()}.",
        "expired": "expired because it was not confirmed in time. No time credits moved.",
    }
    for member in t.others():
        if t.exchange.minutes:
            what = f"The exchange in which {t.gave(member, start=False)}"
        else:
            what = f"The exchange between {t.name(t.provider, member)} and {t.name(t.recipient, member)}{t.about()}"
        t.tell(member, f"{what} {endings[t.verb]}{t.reason()}")


_HANDLERS = {
    "proposed": _proposed,
    "accepted": _answered,
    "declined": _answered,
    "recorded": _recorded,
    "confirmed": _confirmed,
    "disputed": _disputed,
    "approved": _approved,
    "rejected": _ended,
    "reversed": _ended,
    "cancelled": _ended,
    "expired": _ended,
}
