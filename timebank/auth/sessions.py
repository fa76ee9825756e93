"""Signed-in web sessions on the server: how long they last, and ending them.

No Flask here (``web_session.py`` ties these to the cookie and the request). A session is a
``WebSession`` row; the cookie carries its random id, the row keeps only the id's sha256.

How long a session lasts (docs/PRODUCTION.md, "Sessions"):

- **Shared computer** (the default at sign-in): the timebank's limits, ``session_idle_minutes``
  for participants (30 by default), ``coordinator_session_idle_minutes`` for coordinators and
  admins (15), and ``session_lifetime_hours`` in all (12). Admins outside any timebank get the
  same defaults. The cookie ends with the browser and nothing is remembered.
- **"Keep me signed in on this device"**: participants 14 days idle, 30 days in all;
  coordinators and admins 8 hours idle, 7 days in all (their pages hold private notes).

Activity is measured on the server. ``last_seen_at`` is written at most once a minute
(``ACTIVITY_WRITE_INTERVAL``), so reading a page does not write on every request; the cookie
carries the exact moment the server last saw the session, and the later of the two counts.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ..audit.service import record as audit
from ..models import ApiToken, Member, SessionEnd, Timebank, WebSession
from .errors import InvalidSessionLimits

ACTIVITY_WRITE_INTERVAL = timedelta(minutes=1)

# Bounds of each timebank setting (the database checks them too: models/timebank.py).
IDLE_MINUTES_BOUNDS = (5, 120)
COORDINATOR_IDLE_MINUTES_BOUNDS = (5, 60)
LIFETIME_HOURS_BOUNDS = (1, 24)
DEFAULT_IDLE_MINUTES = 30
DEFAULT_COORDINATOR_IDLE_MINUTES = 15
DEFAULT_LIFETIME_HOURS = 12

# "Keep me signed in on this device".
KEPT_IDLE = timedelta(days=14)
KEPT_LIFETIME = timedelta(days=30)
KEPT_PRIVILEGED_IDLE = timedelta(hours=8)
KEPT_PRIVILEGED_LIFETIME = timedelta(days=7)
LONGEST_LIFETIME = max(KEPT_LIFETIME, KEPT_PRIVILEGED_LIFETIME, timedelta(hours=LIFETIME_HOURS_BOUNDS[1]))

# A form kept after its session ended: at most this much text.
DRAFT_MAX_CHARACTERS = 20_000


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def naive_utc(moment: datetime) -> datetime:
    """As the database stores it (models/base.py: naive UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


# ---------------------------------------------------------------------------------------------
# Limits


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    lifetime: timedelta


@dataclass(frozen=True)
class TimebankSessionLimits:
    """A timebank's settings: idle minutes for participants and for coordinators, hours in all."""

    idle_minutes: int = DEFAULT_IDLE_MINUTES
    coordinator_idle_minutes: int = DEFAULT_COORDINATOR_IDLE_MINUTES
    lifetime_hours: int = DEFAULT_LIFETIME_HOURS

    @classmethod
    def of(cls, timebank: Timebank | None) -> TimebankSessionLimits:
        if timebank is None:  # admins outside any timebank: the installation's defaults
            return cls()
        return cls(
            timebank.session_idle_minutes, timebank.coordinator_session_idle_minutes, timebank.session_lifetime_hours
        )


def check_session_limits(limits: TimebankSessionLimits) -> None:
    """Raise InvalidSessionLimits (naming the field) for a setting outside its safe bounds."""
    for value, (lowest, highest), field, words in (
        (limits.idle_minutes, IDLE_MINUTES_BOUNDS, "idle_minutes", "minutes"),
        (limits.coordinator_idle_minutes, COORDINATOR_IDLE_MINUTES_BOUNDS, "coordinator_idle_minutes", "minutes"),
        (limits.lifetime_hours, LIFETIME_HOURS_BOUNDS, "lifetime_hours", "hours"),
    ):
        if not lowest <= value <= highest:
            raise InvalidSessionLimits(f"Choose between {lowest} and {highest} {words}.", field=field)


def is_privileged(member: Member) -> bool:
    """Coordinators and admins see other people's private details: their limits are stricter."""
    return member.is_admin or member.is_coordinator


def limits_for(member: Member, kept: bool) -> SessionLimits:
    """How long this member's session may stay idle, and last in all. ``member.timebank`` must
    be loaded (the user loader joins it)."""
    privileged = is_privileged(member)
    if kept:
        if privileged:
            return SessionLimits(KEPT_PRIVILEGED_IDLE, KEPT_PRIVILEGED_LIFETIME)
        return SessionLimits(KEPT_IDLE, KEPT_LIFETIME)
    settings = TimebankSessionLimits.of(member.timebank)
    idle_minutes = settings.idle_minutes
    if privileged:
        idle_minutes = settings.coordinator_idle_minutes
        if member.is_admin:  # never looser than the installation's default for admins
            idle_minutes = min(idle_minutes, DEFAULT_COORDINATOR_IDLE_MINUTES)
    lifetime_hours = settings.lifetime_hours
    if member.is_admin:
        lifetime_hours = min(lifetime_hours, DEFAULT_LIFETIME_HOURS)
    return SessionLimits(timedelta(minutes=idle_minutes), timedelta(hours=lifetime_hours))


def duration_words(length: timedelta) -> str:
    """'30 minutes', '12 hours', '14 days', '1 hour'."""
    minutes = int(length.total_seconds() // 60)
    for unit, size in (("day", 24 * 60), ("hour", 60)):
        if minutes >= size and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


# ---------------------------------------------------------------------------------------------
# Starting, checking and ending one session


def open_session(session: Session, member: Member, *, kept: bool, now: datetime) -> tuple[str, WebSession]:
    """A new session for a member who may sign in; returns the id for the cookie (shown once)
    and the row. The caller commits (the sign-in's write transaction)."""
    session_id = secrets.token_urlsafe(32)
    moment = naive_utc(now)
    row = WebSession(
        member_id=member.id,
        token_hash=hash_session_id(session_id),
        kept=kept,
        created_at=moment,
        last_seen_at=moment,
    )
    session.add(row)
    session.flush()
    return session_id, row


@dataclass(frozen=True)
class SessionCheck:
    """Where a session stands at one moment."""

    ended: bool
    reason: SessionEnd | None  # why it ended (None while it lasts)
    ended_at: datetime | None  # naive UTC: when it ended (for idle and lifetime, when the limit passed)
    limits: SessionLimits
    last_seen: datetime  # naive UTC: the latest activity the server knows of
    write_activity: bool  # last_seen_at in the database is a minute or more behind
    seconds_left: int  # until the earlier of the two limits (0 once ended)
    ends_by: SessionEnd | None  # which limit comes first: IDLE or LIFETIME (None once ended)


def check_session(
    row: WebSession,
    member: Member,
    now: datetime,
    *,
    seen_by_browser: datetime | None = None,
    activity: bool = True,
) -> SessionCheck:
    """Has this session ended (earlier, or now by its idle or absolute limit)? ``seen_by_browser``
    is the moment the server last saw it according to the signed cookie (exact, where the
    database's ``last_seen_at`` may be up to a minute behind). A request is activity (the idle
    limit runs again from now) unless ``activity`` is False: the page's script asking how long
    is left."""
    moment = naive_utc(now)
    limits = limits_for(member, row.kept)
    last_seen = row.last_seen_at
    if seen_by_browser is not None:
        last_seen = max(last_seen, naive_utc(seen_by_browser))
    if row.ended_at is not None:
        return SessionCheck(True, row.end_reason, row.ended_at, limits, last_seen, False, 0, None)
    idle_end = last_seen + limits.idle
    lifetime_end = row.created_at + limits.lifetime
    if moment >= min(idle_end, lifetime_end):
        reason, ended_at = (
            (SessionEnd.IDLE, idle_end) if idle_end <= lifetime_end else (SessionEnd.LIFETIME, lifetime_end)
        )
        return SessionCheck(True, reason, ended_at, limits, last_seen, False, 0, None)
    if activity:  # the idle limit now runs from this moment
        last_seen, idle_end = moment, moment + limits.idle
    ends_by = SessionEnd.IDLE if idle_end <= lifetime_end else SessionEnd.LIFETIME
    seconds_left = int((min(idle_end, lifetime_end) - moment).total_seconds())
    write = activity and moment - row.last_seen_at >= ACTIVITY_WRITE_INTERVAL
    return SessionCheck(False, None, None, limits, last_seen, write, seconds_left, ends_by)


def record_activity(session: Session, session_row_id: int, now: datetime) -> None:
    """Move ``last_seen_at`` forward (never back: two requests at once may both write)."""
    moment = naive_utc(now)
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_row_id, WebSession.ended_at.is_(None), WebSession.last_seen_at < moment)
        .values(last_seen_at=moment)
    )


def end_session(session: Session, session_row_id: int, reason: SessionEnd, at: datetime) -> bool:
    """End one session (if it has not ended already); True when this call ended it."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.id == session_row_id, WebSession.ended_at.is_(None))
        .values(ended_at=naive_utc(at), end_reason=reason)
    )
    return bool(getattr(result, "rowcount", 0))


def find_session(session: Session, session_id: str) -> WebSession | None:
    return session.scalar(select(WebSession).where(WebSession.token_hash == hash_session_id(session_id)))


# ---------------------------------------------------------------------------------------------
# Ending all of a member's sessions, and their API tokens


@dataclass(frozen=True)
class SignedOut:
    sessions: int  # web sessions ended
    tokens: int  # API tokens revoked


def end_member_sessions(
    session: Session, member_id: int, reason: SessionEnd, now: datetime, *, keep_session_id: int | None = None
) -> int:
    """End every session of a member that has not ended (but ``keep_session_id``, the one
    asking). Runs in the caller's transaction."""
    conditions = [WebSession.member_id == member_id, WebSession.ended_at.is_(None)]
    if keep_session_id is not None:
        conditions.append(WebSession.id != keep_session_id)
    result = session.execute(update(WebSession).where(*conditions).values(ended_at=naive_utc(now), end_reason=reason))
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_api_tokens(session: Session, member_id: int, now: datetime) -> int:
    """Revoke every API token of a member that still works. Runs in the caller's transaction."""
    moment = naive_utc(now)
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.member_id == member_id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > moment)
        .values(revoked_at=moment)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def sign_out_member(
    session: Session,
    member: Member,
    reason: SessionEnd,
    now: datetime,
    *,
    actor: Member,
    action: str,
    keep_session_id: int | None = None,
) -> SignedOut:
    """End every session (but ``keep_session_id``) and revoke every API token of a member: a new
    password, "sign out everywhere", a coordinator's "sign out of every device". Audited as
    ``action`` by ``actor``, with what it ended. In the caller's transaction."""
    signed_out = SignedOut(
        sessions=end_member_sessions(session, member.id, reason, now, keep_session_id=keep_session_id),
        tokens=revoke_api_tokens(session, member.id, now),
    )
    audit(
        session,
        action=action,
        subject_type="member",
        subject_id=member.id,
        actor=actor,
        timebank_id=member.timebank_id,
        after={"sessions_ended": signed_out.sessions, "api_tokens_revoked": signed_out.tokens},
    )
    return signed_out


# ---------------------------------------------------------------------------------------------
# What a member (or their coordinator) sees of their sign-ins


@dataclass(frozen=True)
class LiveSession:
    row: WebSession
    last_seen: datetime  # naive UTC
    ends_at: datetime  # naive UTC: when it will end if nothing happens


@dataclass(frozen=True)
class SignIns:
    sessions: list[LiveSession]  # newest first
    tokens: list[ApiToken]  # working API tokens, newest first


def sign_ins_of(session: Session, member: Member, now: datetime) -> SignIns:
    """The member's sessions that have not ended (by any limit) and their working API tokens."""
    moment = naive_utc(now)
    rows = session.scalars(
        select(WebSession)
        .where(
            WebSession.member_id == member.id,
            WebSession.ended_at.is_(None),
            WebSession.created_at > moment - LONGEST_LIFETIME,
        )
        .order_by(WebSession.id.desc())
    )
    live = []
    for row in rows:
        check = check_session(row, member, now)
        if not check.ended:
            ends_at = min(row.last_seen_at + check.limits.idle, row.created_at + check.limits.lifetime)
            live.append(LiveSession(row=row, last_seen=row.last_seen_at, ends_at=ends_at))
    tokens = list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.member_id == member.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > moment)
            .order_by(ApiToken.id.desc())
        )
    )
    return SignIns(sessions=live, tokens=tokens)


# ---------------------------------------------------------------------------------------------
# A form sent after its session ended


_BOOKKEEPING_SUFFIXES = ("_key", "_id", "_ids")


@dataclass(frozen=True)
class Draft:
    """What a member was sending when their session ended: where to, and the fields kept."""

    action: str  # a path on this site
    fields: list[tuple[str, str]]
    left_out: list[str]  # what could not be kept, in words ("files you attached")

    @property
    def shown(self) -> list[tuple[str, str]]:
        """What the person typed or chose, for them to read: not the form's own bookkeeping."""
        return [
            (name.replace("_", " ").capitalize(), value)
            for name, value in self.fields
            if value.strip() and not name.endswith(_BOOKKEEPING_SUFFIXES)
        ]

    def to_json(self) -> str:
        return json.dumps({"action": self.action, "fields": self.fields, "left_out": self.left_out})

    @classmethod
    def from_json(cls, text: str | None) -> Draft | None:
        try:
            data: Any = json.loads(text or "")
            fields = [(str(name), str(value)) for name, value in data["fields"]]
            return cls(action=str(data["action"]), fields=fields, left_out=[str(x) for x in data.get("left_out", [])])
        except (ValueError, KeyError, TypeError):
            return None


def keep_draft(session: Session, session_row_id: int, draft: Draft) -> bool:
    """Keep a form on the ended session it was sent with; False when it is too long to keep."""
    if sum(len(name) + len(value) for name, value in draft.fields) > DRAFT_MAX_CHARACTERS:
        return False
    session.execute(update(WebSession).where(WebSession.id == session_row_id).values(draft=draft.to_json()))
    return True


def carry_draft(session: Session, ended_session_id: str, new_row: WebSession) -> None:
    """At sign-in: a form kept on the ended session of this browser moves to the new session
    when it is the same member's; anyone else's is forgotten (a shared computer)."""
    ended = session.execute(
        select(WebSession.id, WebSession.member_id, WebSession.draft).where(
            WebSession.token_hash == hash_session_id(ended_session_id)
        )
    ).first()
    if ended is None or ended.draft is None or ended.id == new_row.id:
        return
    if ended.member_id == new_row.member_id:
        new_row.draft = ended.draft
    session.execute(update(WebSession).where(WebSession.id == ended.id).values(draft=None))


def take_draft(session: Session, session_row_id: int) -> Draft | None:
    """The current session's kept form, removed from it (sending or discarding it)."""
    text = session.scalar(select(WebSession.draft).where(WebSession.id == session_row_id))
    session.execute(update(WebSession).where(WebSession.id == session_row_id).values(draft=None))
    return Draft.from_json(text)


# ---------------------------------------------------------------------------------------------
# Housekeeping


FORGET_AFTER = timedelta(days=30)


def forget_old_sessions(session: Session, now: datetime) -> int:
    """Delete sessions that ended (or must have ended) more than 30 days ago. In the caller's
    transaction; returns how many."""
    moment = naive_utc(now)
    result = session.execute(
        delete(WebSession).where(
            (WebSession.ended_at < moment - FORGET_AFTER)
            | (WebSession.created_at < moment - LONGEST_LIFETIME - FORGET_AFTER)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
