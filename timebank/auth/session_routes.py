"""A member's sign-ins: the page listing them with "sign out everywhere", what the page's script
asks before warning that a session is about to end, and sending or discarding a form kept when
a session ended. Routes on the auth blueprint; the rules are in ``sessions.py`` and
``service.py``."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from .. import clock
from ..extensions import db
from ..ledger import write_transaction
from ..web import signed_in_member
from . import service, sessions
from .routes import _landing_page, _safe_next, bp
from .web_session import current_session_row, end_web_session, kept_draft, local_path, session_warning


class SignOutEverywhereForm(FlaskForm):
    pass


@bp.app_template_global("session_warning")
def _session_warning() -> dict[str, object] | None:
    return session_warning()


@bp.app_template_global("kept_draft")
def _kept_draft() -> sessions.Draft | None:
    return kept_draft()


@bp.get("/account/sessions")
@login_required
def sign_ins() -> ResponseReturnValue:
    member = signed_in_member()
    return render_template(
        "auth/sessions.html",
        sign_ins=sessions.sign_ins_of(db.session(), member, clock.now_utc()),
        this_session=current_session_row(),
        form=SignOutEverywhereForm(formdata=None),
    )


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere() -> ResponseReturnValue:
    SignOutEverywhereForm().validate_on_submit()  # CSRF is checked for every POST by CSRFProtect
    signed_out = service.sign_out_everywhere(db.session(), signed_in_member(), clock.now_utc())
    end_web_session()  # this browser's session has ended with the others: forget its cookie
    tokens = (
        f" {signed_out.tokens} API token{'s' if signed_out.tokens != 1 else ''} stopped working too."
        if signed_out.tokens
        else ""
    )
    flash(f"You have signed out on every device, this one included.{tokens}", "success")
    return redirect(url_for("main.home"))  # like signing out


@bp.get("/account/session-status")
def session_status() -> ResponseReturnValue:
    """For the page's script: how long until this session ends. Asking counts as activity (the
    "Stay signed in" button)."""
    if not current_user.is_authenticated:
        return jsonify({"signed_in": False})
    return jsonify({"signed_in": True, **(session_warning() or {})})


@bp.post("/account/kept-form/send")
@login_required
def send_kept_form() -> ResponseReturnValue:
    """Send a form kept when the session ended: the browser sends this same form (the kept
    fields, with this session's CSRF token) on to where it was going (307 keeps the POST)."""
    draft = _take_kept_form()
    if draft is None:
        flash("There was nothing waiting to be sent.", "info")
        return redirect(_landing_page())
    return redirect(_safe_next(draft.action), code=307)


@bp.post("/account/kept-form/discard")
@login_required
def discard_kept_form() -> ResponseReturnValue:
    if _take_kept_form() is not None:
        flash("What you had entered is discarded.", "success")
    return redirect(_safe_next(local_path(request.referrer)))


def _take_kept_form() -> sessions.Draft | None:
    row = current_session_row()
    if row is None:
        return None
    db_session = db.session()
    with write_transaction(db_session):
        return sessions.take_draft(db_session, row.id)

