"""Joining, signing in and out, and passwords."""

from __future__ import annotations

import functools
import hashlib
from contextlib import suppress
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from ..clock import local_datetime
from ..extensions import db, limiter, login_manager
from ..mail import MailNotSent
from ..members.service import normalise_email
from ..models import ContactPreference, Member
from ..notifications.service import remember_unread, unread_count_of
from ..web import show_error_on_form
from . import service
from .emails import send_password_reset
from .errors import AuthError, PasswordRejected, ResetLinkInvalid
from .forms import ChangePasswordForm, ForgotPasswordForm, JoinForm, LoginForm, NewPasswordForm
from .tokens import password_fingerprint

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"

# The session remembers which password it was signed in with, so changing or resetting the
# password signs out every other session.
PASSWORD_FINGERPRINT_KEY = "pwfp"
# After the right password for an account that may not sign in yet (waiting, declined,
# suspended), the session may show that account's status page, and nothing else.
APPLICANT_KEY = "applicant_id"

# Rate limits (Flask-Limiter). Only failed sign-ins count against an account, so a member who
# signs in and out is never locked out; an address is limited on every attempt.
LOGIN_LIMIT_PER_ACCOUNT = "5/minute;20/hour"
LOGIN_LIMIT_PER_ADDRESS = "30/minute"
RESET_REQUEST_LIMIT_PER_ACCOUNT = "5/hour"
RESET_REQUEST_LIMIT_PER_ADDRESS = "20/hour"
RESET_LIMIT_PER_ADDRESS = "20/hour"
JOIN_LIMIT_PER_ADDRESS = "20/hour"  # a day centre may help several people join from one PC
CHANGE_PASSWORD_LIMIT_PER_MEMBER = "10/hour"


def _email_key() -> str:
    """The account a request is about, hashed so the limiter's store never holds addresses."""
    email = normalise_email(request.form.get("email"))
    if not email:
        return f"address:{get_remote_address()}"
    return "email:" + hashlib.sha256(email.encode()).hexdigest()


def _member_key() -> str:
    return f"member:{current_user.get_id() or get_remote_address()}"


def _failed_sign_in(response: Response) -> bool:
    return response.status_code == 401


def _rejected(response: Response) -> bool:
    return response.status_code == 422


@functools.cache
def _member_for_pages() -> Select[tuple[Member, int]]:
    """The user loader's query, built once (parameter ``member_id``)."""
    return (
        select(Member, unread_count_of(Member.id))
        .where(Member.id == bindparam("member_id"))
        .options(joinedload(Member.account), joinedload(Member.timebank))
    )


@login_manager.user_loader
def _load_member(member_id: str) -> Member | None:
    if not member_id.isdigit():
        return None
    # One query for what every page's navigation and footer read: the member with their account,
    # their timebank and their unread count (three more round trips per page otherwise).
    found = db.session.execute(_member_for_pages(), {"member_id": int(member_id)}).first()
    if found is None:
        return None
    member, unread = found
    if not member.is_active:  # suspended since signing in: signed out
        return None
    if session.get(PASSWORD_FINGERPRINT_KEY) != password_fingerprint(member.password_hash):
        return None  # the password changed since this session signed in
    remember_unread(db.session(), member, unread)
    return member


def _start_member_session(member: Member) -> None:
    session.clear()  # a fresh session at login (no fixation)
    login_user(member)
    session[PASSWORD_FINGERPRINT_KEY] = password_fingerprint(member.password_hash)


def _safe_next(target: str | None) -> str:
    """Only follow a same-site path after login, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return _landing_page()


def _landing_page() -> str:
    """Where a signed-in member starts: their dashboard (an installation admin outside any
    timebank has none, and starts at administration)."""
    if current_user.is_authenticated and current_user.is_admin and current_user.timebank_id is None:
        return url_for("admin.index")
    return url_for("dashboard.index")


# ---------------------------------------------------------------------------------------------
# Signing in and out


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT_PER_ADDRESS, methods=["POST"])
@limiter.limit(LOGIN_LIMIT_PER_ACCOUNT, key_func=_email_key, methods=["POST"], deduct_when=_failed_sign_in)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_landing_page())
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        check = service.check_sign_in(db.session(), form.email.data or "", form.password.data or "")
        if check is not None and check.may_sign_in:
            _start_member_session(check.member)
            flash(f"Welcome, {check.member.display_name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
        if check is not None:
            # The right password, but the account may not be used (yet): show where it stands.
            session.clear()
            session[APPLICANT_KEY] = check.member.id
            return redirect(url_for("auth.application_status"))
        form.form_errors.append("That email and password do not match an active account. Check them and try again.")
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("main.home"))


@bp.get("/application")
def application_status() -> ResponseReturnValue:
    """Where an application (or a paused membership) stands. Reached only after the right
    password, or straight after applying, in this browser session."""
    if current_user.is_authenticated:
        return redirect(_landing_page())
    member_id = session.get(APPLICANT_KEY)
    member = service.member_by_id(db.session(), member_id) if isinstance(member_id, int) else None
    if member is None:
        flash("Sign in to see where your application stands.", "info")
        return redirect(url_for("auth.login"))
    time_zone = member.timebank.time_zone if member.timebank else current_app.config["DEFAULT_TIME_ZONE"]
    applied_on = local_datetime(member.created_at, time_zone).date()
    return render_template("auth/application_status.html", member=member, applied_on=applied_on)


# ---------------------------------------------------------------------------------------------
# Applying to join


@bp.route("/join", methods=["GET", "POST"])
@bp.route("/join/<slug>", methods=["GET", "POST"])
@limiter.limit(JOIN_LIMIT_PER_ADDRESS, methods=["POST"])
def join(slug: str | None = None) -> ResponseReturnValue:
    if current_user.is_authenticated:
        flash("You are already a member, so you do not need to apply.", "info")
        return redirect(_landing_page())
    db_session = db.session()
    timebanks = service.joinable_timebanks(db_session)
    if slug is not None:
        fixed = service.joinable_timebank(db_session, slug=slug)  # unknown: 404
    elif len(timebanks) == 1:
        fixed = timebanks[0]
    elif not timebanks:
        return render_template("auth/join_closed.html")
    else:
        fixed = None

    form = JoinForm()
    if fixed is not None:
        del form.timebank
    else:
        form.timebank.choices = [
            SelectChoice("0", "Choose a timebank"),
            *(SelectChoice(str(t.id), t.name) for t in timebanks),
        ]

    status = 200
    if form.validate_on_submit():
        try:
            timebank = fixed or service.joinable_timebank(db_session, timebank_id=form.timebank.data)
            member = service.apply_to_join(
                db_session,
                timebank,
                service.Application(
                    display_name=form.display_name.data or "",
                    email=form.email.data,
                    phone=form.phone.data,
                    contact_preference=ContactPreference(form.contact_preference.data),
                    offers_text=form.offers_text.data or "",
                    wants_text=form.wants_text.data or "",
                    password=form.password.data or None,
                ),
            )
        except AuthError as error:
            show_error_on_form(form, error.message, error.field)
            status = 422
        else:
            session.clear()
            session[APPLICANT_KEY] = member.id
            flash(f"Thank you, {member.display_name}. Your application to join {timebank.name} is sent.", "success")
            return redirect(url_for("auth.application_status"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/join.html", form=form, timebank=fixed), status


# ---------------------------------------------------------------------------------------------
# Passwords


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(RESET_REQUEST_LIMIT_PER_ADDRESS, methods=["POST"])
@limiter.limit(RESET_REQUEST_LIMIT_PER_ACCOUNT, key_func=_email_key, methods=["POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        found = service.password_reset_token_for(db.session(), current_app.config["SECRET_KEY"], form.email.data or "")
        if found is not None:
            # Nothing held open while the mail goes out (on SQLite: the write lock, which every
            # POST takes at its BEGIN); what the email shows is loaded already.
            db.session.close()
            # A failure is logged by send_email; the reply must not differ, or it tells who has an account.
            with suppress(MailNotSent):
                send_password_reset(*found)
        # The same reply whether or not the email belongs to anyone.
        return redirect(url_for("auth.reset_link_sent"))
    return render_template("auth/forgot_password.html", form=form), 422 if request.method == "POST" else 200


@bp.get("/forgot-password/sent")
def reset_link_sent() -> ResponseReturnValue:
    return render_template("auth/reset_link_sent.html")


def _no_referrer(response: Response) -> Response:
    # The token is in this page's address: never pass it on to another site, never cache it.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit(RESET_LIMIT_PER_ADDRESS, methods=["POST"])
def reset_password(token: str) -> ResponseReturnValue:
    secret_key = current_app.config["SECRET_KEY"]
    try:
        service.member_for_reset_token(db.session(), secret_key, token)
    except ResetLinkInvalid as error:
        page = render_template("auth/reset_link_problem.html", message=error.message)
        return _no_referrer(make_response(page, 400))
    form = NewPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            service.reset_password(db.session(), secret_key, token, form.password.data or "")
        except ResetLinkInvalid as error:  # used or expired a moment ago, in another tab
            page = render_template("auth/reset_link_problem.html", message=error.message)
            return _no_referrer(make_response(page, 400))
        except PasswordRejected as error:
            show_error_on_form(form, error.message, error.field)
            status = 422
        else:
            logout_user()
            session.clear()
            flash("Your password has been changed. Sign in with your new password.", "success")
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        status = 422
    return _no_referrer(make_response(render_template("auth/reset_password.html", form=form), status))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(CHANGE_PASSWORD_LIMIT_PER_MEMBER, key_func=_member_key, methods=["POST"], deduct_when=_rejected)
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        member: Member = current_user._get_current_object()
        try:
            service.change_password(db.session(), member, form.current_password.data or "", form.password.data or "")
        except PasswordRejected as error:
            show_error_on_form(form, error.message, error.field)
            status = 422
        else:
            # This session stays signed in; every other session is signed out by the new hash.
            session[PASSWORD_FINGERPRINT_KEY] = password_fingerprint(member.password_hash)
            flash("Your password has been changed.", "success")
            return redirect(_landing_page() if member.account else url_for("main.home"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/change_password.html", form=form), status

