"""The signed-in web session on the request side: the cookie, the user loader, signing in and
out, and what happens when a session has ended (the message, the page to come back to, a form
that was being sent).

The Flask session cookie (signed) carries the session's random id (``SESSION_ID_KEY``), the
moment the server last saw it (``SEEN_KEY``), Flask-Login's member id and the CSRF secret. The
rules (limits, ending, drafts) are ``sessions.py``'s; this module only applies them to the
request. See docs/PRODUCTION.md, "Sessions".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user, logout_user
from flask_login.config import SESSION_KEYS
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, joinedload

from .. import clock
from ..extensions import db, login_manager
from ..ledger import write_transaction
from ..ledger.locking import current_unit
from ..models import Member, SessionEnd, WebSession
from ..notifications.service import remember_unread, unread_count_of
from . import sessions
from .sessions import Draft, SessionCheck, duration_words, hash_session_id

SESSION_ID_KEY = "sid"
SEEN_KEY = "seen"  # epoch seconds: when the server last saw this session (as activity)
ENDED_KEY = "ended_sid"  # the id of this browser's session that ended (a form may be kept on it)
EMAIL_HINT_KEY = "email"  # "keep me signed in" only: the email to offer at the next sign-in
# Sent by the page's script when it only asks how long is left: that is not activity.
PEEK_HEADER = "X-Session-Peek"

# Said on the next page, so the person (or the next person at a shared computer) knows why.
_ENDED_MESSAGES: dict[SessionEnd, str] = {
    SessionEnd.PASSWORD_CHANGED: "You were signed out because your password was changed.",
    SessionEnd.PASSWORD_RESET: "You were signed out because your password was reset.",
    SessionEnd.SIGNED_OUT_EVERYWHERE: "You were signed out because you chose to sign out everywhere.",
    SessionEnd.BY_COORDINATOR: "A coordinator signed you out of every device.",
}


def ended_message(check: SessionCheck) -> str | None:
    """Why the session ended, in plain words; None after signing out (nothing to explain)."""
    if check.reason == SessionEnd.IDLE:
        return (
            f"You were signed out after {duration_words(check.limits.idle)} without activity, "
            "to keep your account safe. Sign in again to carry on."
        )
    if check.reason == SessionEnd.LIFETIME:
        return (
            f"You were signed out because you had been signed in for {duration_words(check.limits.lifetime)}, "
            "to keep your account safe. Sign in again to carry on."
        )
    return _ENDED_MESSAGES.get(check.reason) if check.reason else None


# ---------------------------------------------------------------------------------------------
# Loading the signed-in member: one statement per request


@functools.cache
def _signed_in_query() -> Select[tuple[WebSession, Member, int]]:
    """The session row with its member, their account, their timebank and their unread count:
    what every page's navigation and footer read, and what the limits need (parameter
    ``token_hash``)."""
    return (
        select(WebSession, Member, unread_count_of(Member.id))
        .join(Member, Member.id == WebSession.member_id)
        .where(WebSession.token_hash == bindparam("token_hash"))
        .options(joinedload(Member.account), joinedload(Member.timebank))
    )


def _write_aside(work: Callable[[Session], object]) -> None:
    """A small write of the session's own bookkeeping, in a short transaction of its own so the
    request's reads are left alone. If it fails (a busy database) the page still shows: the
    limits are checked again on the next request."""
    unit = current_unit()
    try:
        if unit is not None and unit.writes:
            # A writing request (a POST) already holds SQLite's write lock from its first read:
            # a second connection would wait for it. The request's own transaction writes it.
            with write_transaction(db.session()) as own:
                work(own)
            return
        with Session(db.engine) as side, write_transaction(side):
            work(side)
    except SQLAlchemyError:
        current_app.logger.warning("Could not record a web session's activity", exc_info=True)


def _seen_by_browser() -> datetime | None:
    seen = session.get(SEEN_KEY)
    return datetime.fromtimestamp(seen, UTC) if isinstance(seen, int | float) else None


@login_manager.user_loader
def load_signed_in_member(member_id: str) -> Member | None:
    session_id = session.get(SESSION_ID_KEY)
    if not isinstance(session_id, str) or not member_id.isdigit():
        return None
    found = db.session.execute(_signed_in_query(), {"token_hash": hash_session_id(session_id)}).first()
    if found is None:  # forgotten long ago, or never ours
        session.pop(SESSION_ID_KEY, None)
        return None
    row, member, unread = found
    if member.id != int(member_id) or not member.is_active:  # suspended since signing in: signed out
        return None
    now = clock.now_utc()
    activity = request.headers.get(PEEK_HEADER) != "1"
    check = sessions.check_session(row, member, now, seen_by_browser=_seen_by_browser(), activity=activity)
    if check.ended:
        if row.ended_at is None and check.reason is not None and check.ended_at is not None:
            reason, ended_at = check.reason, check.ended_at
            _write_aside(lambda side: sessions.end_session(side, row.id, reason, ended_at))
        _forget_ended_session(session_id, check)
        return None
    if check.write_activity:
        _write_aside(lambda side: sessions.record_activity(side, row.id, now))
    if activity:
        session[SEEN_KEY] = now.timestamp()
    g.web_session, g.web_session_check = row, check
    remember_unread(db.session(), member, unread)
    return member


def _forget_ended_session(session_id: str, check: SessionCheck) -> None:
    """This browser's session has ended: say why (once), and keep only a note of which session
    it was, so a form sent from an old tab can be kept for the same member. Nothing else of the
    member stays in the cookie (not even Flask-Login's member id)."""
    for key in (SESSION_ID_KEY, SEEN_KEY, *SESSION_KEYS):
        session.pop(key, None)
    session[ENDED_KEY] = session_id
    message = ended_message(check)
    if message:
        flash(message, "info")
        g.session_end_explained = True


def current_session_row() -> WebSession | None:
    """The signed-in request's session row (after the user loader ran)."""
    row = g.get("web_session")
    return row if isinstance(row, WebSession) else None


def is_signed_in_request() -> bool:
    """The request came with a live-looking signed-in cookie: its response is private."""
    return isinstance(session.get(SESSION_ID_KEY), str)


# ---------------------------------------------------------------------------------------------
# Signing in and out


def start_web_session(member: Member, *, keep_signed_in: bool) -> None:
    """Sign a member in on this browser. The one place a web session starts: the sign-in view
    calls it once the password (and any further check) is accepted. ``keep_signed_in`` is
    "Keep me signed in on this device"; otherwise a shared computer: the shorter limits, a
    cookie that ends with the browser, and nothing remembered."""
    ended_session_id = session.get(ENDED_KEY)
    now = clock.now_utc()
    db_session = db.session()
    with write_transaction(db_session):
        session_id, row = sessions.open_session(db_session, member, kept=keep_signed_in, now=now)
        if isinstance(ended_session_id, str):
            sessions.carry_draft(db_session, ended_session_id, row)
    session.clear()  # a fresh session at sign-in (no fixation), with nothing of the last person's
    login_user(member)
    session[SESSION_ID_KEY] = session_id
    session[SEEN_KEY] = now.timestamp()
    session.permanent = keep_signed_in
    if keep_signed_in and member.email:
        session[EMAIL_HINT_KEY] = member.email


def end_web_session() -> None:
    """Sign out of this browser: the session ends on the server, so its cookie, replayed, opens
    nothing. On a device where the member chose to stay signed in, their email is offered at
    the next sign-in; on a shared computer nothing is left behind."""
    session_id = session.get(SESSION_ID_KEY)
    if isinstance(session_id, str):
        db_session = db.session()
        with write_transaction(db_session):
            row = sessions.find_session(db_session, session_id)
            if row is not None:
                sessions.end_session(db_session, row.id, SessionEnd.SIGNED_OUT, clock.now_utc())
    email = session.get(EMAIL_HINT_KEY) if session.permanent else None
    logout_user()
    session.clear()
    session.permanent = bool(email)
    if email:
        session[EMAIL_HINT_KEY] = email


def remembered_email() -> str | None:
    email = session.get(EMAIL_HINT_KEY)
    return email if isinstance(email, str) else None


# ---------------------------------------------------------------------------------------------
# Asked to sign in: the page to come back to, and a form that was being sent


def local_path(url: str | None) -> str | None:
    """The path (and query) of a URL on this site, else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if (parts.netloc and parts.netloc != request.host) or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _page_to_return_to() -> str | None:
    """A GET comes back to itself; a form sent with POST comes back to the page it was on."""
    if request.method == "GET":
        return local_path(request.full_path)
    return local_path(request.referrer)


def _keep_posted_form(ended_session_id: str) -> None:
    """Keep what a form sent after its session ended (never passwords or files) on that ended
    session, for the same member's next sign-in in this browser; say what was not kept."""
    fields: list[tuple[str, str]] = []
    left_out: list[str] = []
    for name, value in request.form.items(multi=True):
        if name == "csrf_token":
            continue
        if "password" in name.lower():
            if value and "passwords" not in left_out:
                left_out.append("passwords")
            continue
        fields.append((name, value))
    if any(file.filename for file in request.files.values()):
        left_out.append("files you attached")
    if not fields:
        if left_out:
            flash(
                f"What you were sending was not saved ({' and '.join(left_out)} are never kept). "
                "Please enter it again after signing in.",
                "info",
            )
        return
    row = sessions.find_session(db.session(), ended_session_id)
    if row is None:
        return
    draft = Draft(action=local_path(request.full_path) or request.path, fields=fields, left_out=left_out)
    kept: list[bool] = []
    _write_aside(lambda side: kept.append(sessions.keep_draft(side, row.id, draft)))
    if kept == [True]:
        flash("What you were sending has been kept. Sign in again, and you can send it.", "info")
    else:
        flash(
            "What you were sending could not be kept: it was not sent. Sorry, you will need to enter it again.", "info"
        )


@login_manager.unauthorized_handler
def sign_in_first() -> ResponseReturnValue:
    ended_session_id = session.get(ENDED_KEY)
    if request.method == "POST" and isinstance(ended_session_id, str):
        _keep_posted_form(ended_session_id)
    if not g.get("session_end_explained"):
        flash(login_manager.login_message or "Please sign in.", login_manager.login_message_category)
    return redirect(url_for("auth.login", next=_page_to_return_to()))


# ---------------------------------------------------------------------------------------------
# For templates: the quiet warning before the end, and a kept form


def session_warning() -> dict[str, object] | None:
    """What the page's script needs to warn a minute before the session ends."""
    check = g.get("web_session_check")
    if not isinstance(check, SessionCheck) or check.ended:
        return None
    return {
        "seconds_left": check.seconds_left,
        "ends_by": "idle" if check.ends_by == SessionEnd.IDLE else "lifetime",
        "idle_words": duration_words(check.limits.idle),
        "lifetime_words": duration_words(check.limits.lifetime),
    }


def kept_draft() -> Draft | None:
    row = current_session_row()
    return Draft.from_json(row.draft) if row is not None and row.draft else None
