"""Notifications: what happened to a member's exchanges, and what needs them, in the app and
(when their preferences allow) by email.

``notify`` is called inside the transaction of the event it tells about (it never commits), so
the notification and its queued email exist exactly when the event does. Email is never sent
from here: an ``OutboundEmail`` row is queued and ``delivery.deliver_outbox`` sends it later.

Idempotency: a ``dedupe_key`` is unique per member (and the queued email's key is derived from
it), written with INSERT .. ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike (``db.py``),
so a job that runs twice, or two processes at once, tell a member once. An event that tells
several people (``notify_all``) writes all their notifications in one statement and all their
emails in another, and reads none of them back.

"Needs your action": a notification written with ``needs_action=True`` stays in that section
until the exchange it is about moves on. Every event on an exchange first resolves the
needs-action notifications already written about it (``resolve_exchange_actions``: they become
ordinary, read history), because whatever they asked for has now been done or overtaken (by
this member, the other side, or another coordinator). Reading a notification does not resolve
it: the action is still needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.event import listens_for
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.expression import ColumnExpressionArgument, ScalarSelect, Select

from ..db import attach, insert_once
from ..ids import is_storable_id
from ..ledger import write_transaction
from ..models import Base, Member, Notification, OutboundEmail, utcnow
from ..pagination import DEFAULT_PER_PAGE, Page, page_of
from .errors import NotificationNotFound

MAX_MESSAGE = 500
MAX_LINK = 300
MAX_KEY = 200
MAX_SUBJECT = 200
# "Needs your action" is kept short by resolving; this only bounds a page that was never tidied.
MAX_NEEDS_ACTION_SHOWN = 100

# Why a member gets each kind of email: the preference that governs it. Kinds not listed follow
# ``email_when_action_needed`` (needs action) or ``email_exchange_updates`` (what happened).
MEMBERSHIP_PREFIX = "membership."  # answers to their application: always sent, there is no setting
DIGEST_PREFIX = "digest."  # the weekly digest: only when they opted in


@dataclass(frozen=True)
class EmailPreferences:
    email_when_action_needed: bool
    email_exchange_updates: bool
    weekly_digest: bool


@dataclass(frozen=True)
class NotificationList:
    """The notifications page: what needs the member (all of it), what happened (one page)."""

    needs_action: list[Notification]
    happened: Page[Notification]
    unread: int


# -- writing ---------------------------------------------------------------------------------


def wants_email(member: Member, kind: str, *, needs_action: bool) -> bool:
    """Whether the member's preferences (and their having an email, and not having left) let
    this kind of notification go out by email."""
    if not member.email or member.left_at is not None:
        return False
    if kind.startswith(MEMBERSHIP_PREFIX):
        return True
    if kind.startswith(DIGEST_PREFIX):
        return bool(member.weekly_digest)
    if needs_action:
        return bool(member.email_when_action_needed)
    return bool(member.email_exchange_updates)


@dataclass(frozen=True)
class Note:
    """One thing to tell one member (``notify``'s arguments), for telling several at once."""

    member: Member
    kind: str
    message: str
    link: str = ""
    exchange_id: int | None = None
    needs_action: bool = False
    dedupe_key: str | None = None
    email: bool = True


def notify(
    session: Session,
    member: Member,
    kind: str,
    message: str,
    *,
    link: str = "",
    exchange_id: int | None = None,
    needs_action: bool = False,
    dedupe_key: str | None = None,
    email: bool = True,
) -> Notification | None:
    """Tell a member something: an in-app notification and, if ``email`` and their preferences
    allow, a queued email. Runs in the caller's transaction (no commit). Returns None, writing
    nothing, when the member already has a notification with this ``dedupe_key``."""
    note = Note(member, kind, message, link, exchange_id, needs_action, dedupe_key, email)
    return notify_all(session, [note])[0]


def notify_all(session: Session, notes: Sequence[Note]) -> list[Notification | None]:
    """``notify`` for several notes at once: every notification in one INSERT, every email they
    call for in a second (an event tells both sides of an exchange, or every coordinator).
    Returns, note by note, the notification written, or None where its ``dedupe_key`` was taken."""
    if not notes:
        return []
    keys = [(note.member.id, note.dedupe_key) for note in notes]
    if len(notes) > 1 and (None in (key for _member, key in keys) or len(set(keys)) < len(keys)):
        # What comes back is matched to the notes by (member, dedupe_key): without one each,
        # they go in one at a time.
        return [notify_all(session, [note])[0] for note in notes]
    session.flush()  # the exchange (or whatever else) the notifications point at
    now = utcnow()
    rows = [
        {
            "member_id": note.member.id,
            "timebank_id": note.member.timebank_id,
            "kind": note.kind[:40],
            "message": _clip(note.message, MAX_MESSAGE),
            "link": note.link[:MAX_LINK],
            "exchange_id": note.exchange_id,
            "needs_action": note.needs_action,
            "dedupe_key": note.dedupe_key[:MAX_KEY] if note.dedupe_key else None,
            "created_at": now,
        }
        for note in notes
    ]
    inserted = {
        (row.member_id, row.dedupe_key): row.id
        for row in insert_once(
            session,
            "notifications",
            rows,
            conflict=["member_id", "dedupe_key"],
            returning=("id", "member_id", "dedupe_key"),
        )
    }
    written: list[Notification | None] = []
    emails: list[_Email] = []
    for note, row in zip(notes, rows, strict=True):
        new_id = inserted.get((row["member_id"], row["dedupe_key"]))
        if new_id is None:
            written.append(None)
            continue
        # Built from what was just written, not read back.
        notification = attach(session, Notification(id=new_id, read_at=None, **row))
        written.append(notification)
        if note.email and wants_email(note.member, note.kind, needs_action=note.needs_action):
            from .emails import render_notification_email

            rendered = render_notification_email(note.member, notification)
            emails.append(
                _Email(
                    member=note.member,
                    kind=note.kind,
                    subject=rendered.subject,
                    text_body=rendered.text,
                    html_body=rendered.html,
                    dedupe_key=f"notification-{notification.id}",
                    notification_id=notification.id,
                )
            )
    _queue(session, emails, rows_wanted=False)
    return written


@dataclass(frozen=True)
class _Email:
    member: Member | None
    kind: str
    subject: str
    text_body: str
    html_body: str = ""
    to_address: str | None = None
    headers: dict[str, str] | None = None
    dedupe_key: str | None = None
    notification_id: int | None = None


def queue_email(
    session: Session,
    *,
    member: Member | None,
    kind: str,
    subject: str,
    text_body: str,
    html_body: str = "",
    to_address: str | None = None,
    headers: dict[str, str] | None = None,
    dedupe_key: str | None = None,
    notification_id: int | None = None,
) -> OutboundEmail | None:
    """Put one email in the outbox (the caller's transaction; nothing is sent here). ``headers``
    are extra headers, e.g. List-Unsubscribe for a digest. Returns None, queueing nothing, when an
    email with this ``dedupe_key`` was queued before, or there is nobody to send it to."""
    email = _Email(member, kind, subject, text_body, html_body, to_address, headers, dedupe_key, notification_id)
    return _queue(session, [email])[0]


def _queue(session: Session, emails: Sequence[_Email], *, rows_wanted: bool = True) -> list[OutboundEmail | None]:
    """Every email in one INSERT; each one's row, or None when it was not queued (without
    ``rows_wanted``, an empty list: nobody will look at them)."""
    now = utcnow()
    rows: list[dict[str, Any] | None] = []
    for email in emails:
        address = email.to_address or (email.member.email if email.member is not None else None)
        if not address:
            rows.append(None)
            continue
        rows.append(
            {
                "member_id": email.member.id if email.member is not None else None,
                "notification_id": email.notification_id,
                "kind": email.kind[:40],
                "to_address": address,
                "subject": _clip(email.subject, MAX_SUBJECT),
                "text_body": email.text_body,
                "html_body": email.html_body,
                "headers": "\n".join(f"{name}: {value}" for name, value in (email.headers or {}).items()),
                "dedupe_key": email.dedupe_key[:MAX_KEY] if email.dedupe_key else None,
                "created_at": now,
                "attempts": 0,
                "last_error": "",
            }
        )
    wanted = [row for row in rows if row is not None]
    keys = [row["dedupe_key"] for row in wanted]
    if len(wanted) > 1 and (None in keys or len(set(keys)) < len(keys)):
        one_by_one = [_queue(session, [email])[0] for email in emails]  # matched by key: one at a time
        return one_by_one if rows_wanted else []
    inserted = {
        row.dedupe_key: row.id
        for row in insert_once(
            session, "outbound_emails", wanted, conflict=["dedupe_key"], returning=("id", "dedupe_key")
        )
    }
    if not rows_wanted:
        return []
    queued: list[OutboundEmail | None] = []
    for row in rows:
        new_id = inserted.get(row["dedupe_key"]) if row is not None else None
        queued.append(
            attach(session, OutboundEmail(id=new_id, claimed_at=None, claim_token=None, sent_at=None, **row))
            if row is not None and new_id is not None
            else None
        )
    return queued


def resolve_exchange_actions(session: Session, exchange_id: int) -> int:
    """The exchange moved on: what its needs-action notifications asked for is done or overtaken.
    They become read history. Returns how many were resolved. Caller's transaction."""
    # On the table, not the entity: nothing in the session needs flushing first (these rows are
    # never changed through the session), and the ORM's bulk UPDATE costs several times the SQL.
    result = session.execute(_RESOLVE_ACTIONS, {"of_exchange": exchange_id, "now": utcnow()})
    return int(getattr(result, "rowcount", 0) or 0)


_notifications = Base.metadata.tables["notifications"]
_RESOLVE_ACTIONS = (
    update(_notifications)
    .where(_notifications.c.exchange_id == bindparam("of_exchange"), _notifications.c.needs_action.is_(True))
    .values(needs_action=False, read_at=func.coalesce(_notifications.c.read_at, bindparam("now")))
)


# -- reading ---------------------------------------------------------------------------------


# Every page's navigation shows the signed-in member's unread count. The user loader reads it in
# the member's own query (``unread_count_of``) and leaves it in the session (``remember_unread``),
# so a page does not count again. It is forgotten as soon as anything may have changed it: any
# flush, any statement through the session other than a SELECT, the end of any transaction
# (commit, rollback, close). So it never outlives the transaction it was read in.
_UNREAD_KEY = "timebank.unread_notifications"


def unread_count_of(member_id: ColumnExpressionArgument[int] | int) -> ScalarSelect[int]:
    """The unread count as a scalar subquery on a member id column (correlated) or value."""
    return _unread_count(member_id).scalar_subquery()


def remember_unread(session: Session, member: Member, count: int) -> None:
    session.info[_UNREAD_KEY] = (member.id, int(count))


def unread_count(session: Session, member: Member) -> int:
    """How many of the member's notifications are unread: one indexed count (none when it was
    read with the signed-in member in this transaction and nothing was written since)."""
    known = session.info.get(_UNREAD_KEY)
    if known is not None and known[0] == member.id:
        return int(known[1])
    count = session.scalar(_unread_count(member.id))
    return int(count or 0)


def _unread_count(member_id: ColumnExpressionArgument[int] | int) -> Select[tuple[int]]:
    return select(func.count(Notification.id)).where(
        Notification.member_id == member_id, Notification.read_at.is_(None)
    )


@listens_for(Session, "after_flush")
@listens_for(Session, "after_transaction_end")
def _forget_unread(session: Session, *_: Any) -> None:
    session.info.pop(_UNREAD_KEY, None)


@listens_for(Session, "do_orm_execute")
def _forget_unread_on_write(state: ORMExecuteState) -> None:
    if not isinstance(state.statement, Select):  # a write (text() inserts included), or unknown
        state.session.info.pop(_UNREAD_KEY, None)


def needs_action_for(session: Session, member: Member, *, limit: int = MAX_NEEDS_ACTION_SHOWN) -> list[Notification]:
    """What still needs the member, newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.member_id == member.id, Notification.needs_action.is_(True))
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def notifications_for(
    session: Session, member: Member, *, page: int | None = 1, per_page: int = DEFAULT_PER_PAGE
) -> NotificationList:
    """The member's own notifications, in two sections, newest first; "what happened" by pages."""
    mine = Notification.member_id == member.id
    happened = Notification.needs_action.is_(False)
    happened_page = page_of(
        session,
        select(Notification).where(mine, happened).order_by(Notification.created_at.desc(), Notification.id.desc()),
        page,
        per_page,
    )
    return NotificationList(
        needs_action=needs_action_for(session, member),
        happened=happened_page,
        unread=unread_count(session, member),
    )


def get_notification(session: Session, member: Member, notification_id: int) -> Notification:
    """One of the member's own notifications; anyone else's is "not found"."""
    notification = session.get(Notification, notification_id) if is_storable_id(notification_id) else None
    if notification is None or notification.member_id != member.id:
        raise NotificationNotFound("There is no such notification.")
    return notification


# -- the member's own changes ----------------------------------------------------------------


def mark_read(session: Session, member: Member, notification_id: int) -> Notification:
    """Mark one of the member's own notifications read (again: no change). Others' are not found."""
    with write_transaction(session):
        notification = get_notification(session, member, notification_id)
        if notification.read_at is None:
            notification.read_at = utcnow()
    return notification


def mark_all_read(session: Session, member: Member) -> int:
    """Mark every unread notification of the member read. Returns how many changed."""
    with write_transaction(session):
        result = session.execute(
            update(Notification)
            .where(Notification.member_id == member.id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)


def update_email_preferences(session: Session, member: Member, preferences: EmailPreferences) -> Member:
    """The member chooses which emails they get (in-app notifications are always kept)."""
    with write_transaction(session):
        own = session.get(Member, member.id, populate_existing=True)
        assert own is not None
        own.email_when_action_needed = preferences.email_when_action_needed
        own.email_exchange_updates = preferences.email_exchange_updates
        own.weekly_digest = preferences.weekly_digest
    return own


def preferences_of(member: Member) -> EmailPreferences:
    return EmailPreferences(
        email_when_action_needed=bool(member.email_when_action_needed),
        email_exchange_updates=bool(member.email_exchange_updates),
        weekly_digest=bool(member.weekly_digest),
    )


# -- helpers ---------------------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
