"""Recording who did what, and reading it back.

``record`` is called inside the same transaction as the change it describes. The trail is
append-only: database triggers refuse UPDATE and DELETE on audit_events (see models/transfer.py).

Reading: coordinators see their own timebank's events (``search_events``, ``iter_events_csv``);
installation admins see every event (``installation=True``). Both take the same filters, so the
CSV export holds exactly what the page shows, all pages of it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, String, and_, cast, distinct, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from ..admin.errors import NotAnAdmin
from ..clock import local_datetime
from ..coordinator.errors import NotACoordinator
from ..models import AuditEvent, Base, Member, Timebank, utcnow
from ..pagination import Page, clamp_page
from ..text_search import contains_pattern, search_words

PER_PAGE = 25
CSV_BATCH = 500  # rows fetched from the database at a time while streaming the export

# Plain words for the actions the app records; anything else is shown by its code.
ACTION_WORDS: dict[str, str] = {
    "account.limits_changed": "changed a member's limits",
    "activity.recorded": "recorded a group activity",
    "decision.approved": "approved a coordinator's request for themselves",
    "decision.refused": "refused a coordinator's request for themselves",
    "decision.requested": "asked another coordinator to decide something for them",
    "decision.withdrawn": "withdrew their request",
    "donation.given": "gave hours to the community pool",
    "duty.self_approved": "approved their own item (self-approval was on)",
    "exchange.accepted": "accepted a proposal",
    "exchange.approved": "approved an exchange",
    "exchange.cancelled": "cancelled an exchange",
    "exchange.confirmed": "confirmed an exchange",
    "exchange.declined": "declined a proposal",
    "exchange.disputed": "disputed an exchange",
    "exchange.expired": "expired an exchange nobody confirmed",
    "exchange.proposed": "proposed an exchange",
    "exchange.recorded": "recorded time for an exchange",
    "exchange.rejected": "rejected an exchange",
    "exchange.reversed": "reversed an exchange",
    "exchange.settled": "settled a dispute",
    "ledger.adjustment": "adjusted an account",
    "ledger.donation": "moved hours given to the community pool",
    "ledger.grant": "moved hours from the community pool",
    "ledger.reversal": "reversed a ledger transfer",
    "listing.closed": "closed a listing",
    "listing.created": "added a listing",
    "listing.paused": "paused a listing",
    "listing.reopened": "reopened a listing",
    "listing.updated": "changed a listing",
    "member.applied": "applied to join",
    "member.approved": "approved an application",
    "member.declined": "declined an application",
    "member.left": "recorded that a member left",
    "member.note_added": "added a private note",
    "member.password_changed": "changed a password",
    "member.password_reset": "reset a password",
    "member.profile_updated": "changed a profile",
    "member.recovery_code_used": "signed in with a recovery code",
    "member.recovery_codes_replaced": "made new recovery codes",
    "member.two_factor_disabled": "turned off two-factor sign-in",
    "member.two_factor_enabled": "turned on two-factor sign-in",
    "member.two_factor_reset": "reset a member's two-factor sign-in",
    "member.reactivated": "reactivated a member",
    "member.signed_out_by_coordinator": "signed a member out of every device",
    "member.signed_out_everywhere": "signed out everywhere",
    "member.registered": "registered a member",
    "period.closed": "closed a month (statements written)",
    "member.role_changed": "changed a member's role",
    "member.suspended": "suspended a member",
    "pool.granted": "gave hours from the community pool",
    "timebank.created": "created a timebank",
    "timebank.self_approval_changed": "changed whether the coordinator may approve their own items",
    "timebank.settings_changed": "changed a timebank's settings",
    "timesheet.imported": "imported a timesheet",
}

SUBJECT_WORDS: dict[str, str] = {
    "account": "account",
    "activity": "group activity",
    "decision_request": "request for another coordinator",
    "exchange": "exchange",
    "listing": "listing",
    "member": "member",
    "period": "closed month",
    "timebank": "timebank",
    "timesheet_import": "timesheet import",
    "transfer": "ledger transfer",
}

# What a before/after detail is called on the page. Codes and fingerprints (a file's SHA-256, a
# month's checksum) are technical: the page keeps them behind a "Technical detail" disclosure.
KEY_WORDS: dict[str, str] = {
    "automatic": "approved automatically",
    "cap_minutes": "most hours they may hold (minutes)",
    "floor_minutes": "lowest balance allowed (minutes)",
    "minutes": "minutes",
    "performed_on": "day the help happened",
    "value_date": "day it counts from",
    "rows_imported": "rows imported",
    "rows_already_imported": "rows already imported before",
    "rows_left_out": "rows left out",
    "lines_imported": "lines of the file imported",
    "filename": "file name",
}
TECHNICAL_KEYS = frozenset({"checksum", "file_sha256", "request_key", "idempotency_key"})

CSV_HEADER = (
    "event_id",
    "when_utc",
    "when_local",
    "timebank",
    "actor_id",
    "actor",
    "on_behalf_of_id",
    "on_behalf_of",
    "action",
    "what",
    "subject_type",
    "subject_id",
    "before",
    "after",
)


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " ").replace(".", ": "))


def subject_words(subject_type: str) -> str:
    return SUBJECT_WORDS.get(subject_type, subject_type.replace("_", " "))


@dataclass(frozen=True)
class AuditFilters:
    query: str = ""  # free text: action, subject, before/after values, the actor's name
    action: str = ""  # an action code, e.g. "exchange.approved"
    actor_id: int | None = None
    subject_type: str = ""
    date_from: date | None = None  # inclusive, in the viewer's time zone
    date_to: date | None = None  # inclusive

    @property
    def any(self) -> bool:
        return bool(self.query or self.action or self.actor_id or self.subject_type or self.date_from or self.date_to)


@dataclass(frozen=True)
class Change:
    """One key of an event's before/after, in words."""

    key: str
    before: str
    after: str
    technical: bool = False  # a code or fingerprint: shown only behind a disclosure


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    timebank_name: str | None
    actor_id: int | None
    actor_name: str
    on_behalf_of_id: int | None
    on_behalf_of_name: str | None
    action: str
    action_words: str
    subject_type: str
    subject_words: str
    subject_id: int | None
    changes: list[Change]


@dataclass(frozen=True)
class FilterChoices:
    """What the filter lists offer: only values that occur in the viewer's events."""

    actions: list[tuple[str, str]]  # (code, words)
    actors: list[tuple[int, str]]
    subject_types: list[tuple[str, str]]


def record(
    session: Session,
    *,
    action: str,
    subject_type: str,
    subject_id: int | None,
    actor: Member | None,
    timebank_id: int | None,
    on_behalf_of: Member | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        timebank_id=timebank_id,
        actor_id=actor.id if actor else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of and on_behalf_of is not actor else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
    )
    session.add(event)
    return event


def append(
    session: Session,
    *,
    action: str,
    subject_type: str,
    subject_id: int,
    actor: Member | None,
    timebank_id: int | None,
    on_behalf_of: Member | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """``record`` for a caller that does not need the event back (the exchange steps): the same
    row, written at once with a plain INSERT instead of through the session's unit of work,
    which cost more than the statement. The subject must already be in the database."""
    session.execute(
        _APPEND,
        {
            "timebank_id": timebank_id,
            "actor_id": actor.id if actor else None,
            "on_behalf_of_id": on_behalf_of.id if on_behalf_of and on_behalf_of is not actor else None,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "before": before,
            "after": after,
            "created_at": utcnow(),
        },
    )


_APPEND = insert(Base.metadata.tables["audit_events"])


# -- who may see what --------------------------------------------------------------------------


def _scope(viewer: Member, installation: bool) -> int | None:
    """The timebank whose events the viewer may read; None for every timebank (admins)."""
    if installation:
        if not viewer.is_admin:
            raise NotAnAdmin("Only an installation admin can read the whole audit trail.")
        return None
    if not viewer.is_coordinator or viewer.timebank_id is None:
        raise NotACoordinator("Only a coordinator of this timebank can read its audit trail.")
    return viewer.timebank_id


def time_zone_of(session: Session, viewer: Member) -> str:
    if viewer.timebank_id is not None:
        timebank = session.get(Timebank, viewer.timebank_id)
        if timebank is not None:
            return timebank.time_zone
    return "Europe/London"


# -- the query --------------------------------------------------------------------------------

_Actor = aliased(Member, name="actor")
_Behalf = aliased(Member, name="behalf")


def _utc_start(day: date, time_zone: str) -> datetime:
    """Local midnight at the start of ``day`` as a naive UTC timestamp (how times are stored)."""
    local = datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone))
    return local.astimezone(UTC).replace(tzinfo=None)


def _json_escaped(word: str) -> str:
    """How a word appears inside stored JSON text ("José" is stored as "Jos\\u00e9")."""
    return json.dumps(word)[1:-1]


def _statement(timebank_id: int | None, filters: AuditFilters, time_zone: str) -> Select[Any]:
    statement = (
        select(AuditEvent, _Actor.display_name, _Behalf.display_name, Timebank.name)
        .outerjoin(_Actor, _Actor.id == AuditEvent.actor_id)
        .outerjoin(_Behalf, _Behalf.id == AuditEvent.on_behalf_of_id)
        .outerjoin(Timebank, Timebank.id == AuditEvent.timebank_id)
    )
    conditions: list[ColumnElement[bool]] = []
    if timebank_id is not None:
        conditions.append(AuditEvent.timebank_id == timebank_id)
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.actor_id is not None:
        conditions.append(AuditEvent.actor_id == filters.actor_id)
    if filters.subject_type:
        conditions.append(AuditEvent.subject_type == filters.subject_type)
    if filters.date_from is not None:
        conditions.append(AuditEvent.created_at >= _utc_start(filters.date_from, time_zone))
    if filters.date_to is not None:
        conditions.append(AuditEvent.created_at < _utc_start(filters.date_to + timedelta(days=1), time_zone))
    for word in search_words(filters.query):
        texts = (
            AuditEvent.action,
            AuditEvent.subject_type,
            cast(AuditEvent.before, String),
            cast(AuditEvent.after, String),
            _Actor.display_name,
            _Behalf.display_name,
        )
        patterns = {contains_pattern(word), contains_pattern(_json_escaped(word))}
        matches: list[ColumnElement[bool]] = [
            column.ilike(pattern, escape="\\") for column in texts for pattern in patterns
        ]
        if word.isdigit() and len(word) < 10:
            matches.append(AuditEvent.subject_id == int(word))
        conditions.append(or_(*matches))
    if conditions:
        statement = statement.where(and_(*conditions))
    return statement


def _value_words(value: object) -> str:
    if value is None:
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, list):
        return ", ".join(_value_words(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """Each key that was set or changed, in words; keys whose value stayed the same are left out."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        Change(
            key=KEY_WORDS.get(key, key.replace("_", " ")),
            before=_value_words(before.get(key)),
            after=_value_words(after.get(key)),
            technical=key in TECHNICAL_KEYS,
        )
        for key in keys
        if key not in before or key not in after or before[key] != after[key]
    ]


def _row(event: AuditEvent, actor: str | None, behalf: str | None, timebank: str | None) -> AuditRow:
    return AuditRow(
        id=event.id,
        created_at=event.created_at,
        timebank_name=timebank,
        actor_id=event.actor_id,
        actor_name=actor or "The system",
        on_behalf_of_id=event.on_behalf_of_id,
        on_behalf_of_name=behalf,
        action=event.action,
        action_words=action_words(event.action),
        subject_type=event.subject_type,
        subject_words=subject_words(event.subject_type),
        subject_id=event.subject_id,
        changes=changes(event.before, event.after),
    )


def search_events(
    session: Session, viewer: Member, filters: AuditFilters, page: int | None = 1, *, installation: bool = False
) -> Page[AuditRow]:
    """One page of events the viewer may read that match the filters, newest first."""
    timebank_id = _scope(viewer, installation)
    statement = _statement(timebank_id, filters, time_zone_of(session, viewer))
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    number = clamp_page(page, total, PER_PAGE)
    rows = session.execute(
        statement.order_by(AuditEvent.id.desc()).limit(PER_PAGE).offset((number - 1) * PER_PAGE)
    ).all()
    return Page(items=[_row(*row) for row in rows], page=number, per_page=PER_PAGE, total=total)


def filter_choices(session: Session, viewer: Member, *, installation: bool = False) -> FilterChoices:
    timebank_id = _scope(viewer, installation)
    scoped = [AuditEvent.timebank_id == timebank_id] if timebank_id is not None else []
    actions = session.scalars(select(distinct(AuditEvent.action)).where(*scoped).order_by(AuditEvent.action))
    subjects = session.scalars(
        select(distinct(AuditEvent.subject_type)).where(*scoped).order_by(AuditEvent.subject_type)
    )
    actors = session.execute(
        select(Member.id, Member.display_name)
        .where(Member.id.in_(select(AuditEvent.actor_id).where(*scoped)))
        .order_by(Member.display_name, Member.id)
    ).all()
    return FilterChoices(
        actions=[(action, action_words(action)) for action in actions],
        actors=[(member_id, name) for member_id, name in actors],
        subject_types=[(subject, subject_words(subject)) for subject in subjects],
    )


# -- the CSV export -----------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab
    or carriage return) gets a leading single quote (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _csv_line(values: tuple[object, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(value) for value in values])
    return buffer.getvalue()


def _json_text(value: dict[str, Any] | None) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def iter_events_csv(
    session: Session, viewer: Member, filters: AuditFilters, *, installation: bool = False
) -> Iterator[str]:
    """The matching events as CSV text, newest first, one line at a time.

    The permission check happens on the first ``next()``; routes call ``check_csv_access``
    before starting the response so a refusal is a proper 403. Rows are streamed from the
    database in batches (``yield_per``: a server-side cursor on PostgreSQL), never held in
    memory all at once."""
    timebank_id = _scope(viewer, installation)
    time_zone = time_zone_of(session, viewer)
    statement = _statement(timebank_id, filters, time_zone).order_by(AuditEvent.id.desc())
    yield "\ufeff" + _csv_line(CSV_HEADER)  # the BOM lets spreadsheet programs read UTF-8 names
    result = session.execute(statement.execution_options(yield_per=CSV_BATCH))
    for event, actor, behalf, timebank in result:
        when = event.created_at.replace(microsecond=0)
        yield _csv_line(
            (
                event.id,
                when.isoformat() + "Z",
                local_datetime(when, time_zone).isoformat(),
                timebank or "",
                event.actor_id or "",
                actor or ("" if event.actor_id else "The system"),
                event.on_behalf_of_id or "",
                behalf or "",
                event.action,
                action_words(event.action),
                event.subject_type,
                "" if event.subject_id is None else event.subject_id,
                _json_text(event.before),
                _json_text(event.after),
            )
        )


def check_csv_access(viewer: Member, *, installation: bool = False) -> None:
    """Raise the refusal ``iter_events_csv`` would, before a streamed response starts."""
    _scope(viewer, installation)
