"""Joining, signing in and out, and passwords."""

from __future__ import annotations

import time
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
from flask_login import current_user, login_required
from wtforms import SelectChoice

from .. import clock
from ..clock import local_datetime
from ..extensions import db, limiter, login_manager
from ..models import ContactPreference, Member
from ..web import show_error_on_form
from . import service
from .errors import AuthError, PasswordRejected, ResetLinkInvalid
from .forms import ChangePasswordForm, ForgotPasswordForm, JoinForm, LoginForm, NewPasswordForm
from .limits import account_key, form_account_key, note_failed_sign_in, sign_in_limits
from .web_session import ENDED_KEY, current_session_row, end_web_session, remembered_email, start_web_session

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"

# Web sessions live on the server (web_session.py, sessions.py): signing out, a new password or
# "sign out everywhere" ends them there, and they end on their own when idle or too old.
# After the right password for an account that may not sign in yet (waiting, declined,
# suspended), the session may show that account's status page, and nothing else.
APPLICANT_KEY = "applicant_id"
# Between "password accepted" and "signed in" for a member with two-factor sign-in: who, when the
# password was accepted, and where to go next (two_factor_routes.py).
TWO_FACTOR_PENDING_KEY = "two_factor_pending"

# Rate limits (Flask-Limiter). Signing in has one budget per account and one per address, shared
# with the API and the two-factor step (limits.py); these are the other forms'.
RESET_REQUEST_LIMIT_PER_ACCOUNT = "5/hour"
RESET_REQUEST_LIMIT_PER_ADDRESS = "20/hour"
RESET_LIMIT_PER_ADDRESS = "20/hour"
JOIN_LIMIT_PER_ADDRESS = "20/hour"  # a day centre may help several people join from one PC
CHANGE_PASSWORD_LIMIT_PER_MEMBER = "10/hour"


def _member_key() -> str:
    return f"member:{current_user.get_id() or get_remote_address()}"


def _rejected(response: Response) -> bool:
    return response.status_code == 422


def complete_sign_in(member: Member, next_target: str | None, *, keep_signed_in: bool) -> ResponseReturnValue:
    """The one way a sign-in finishes: after the password, and after the two-factor code for a
    member who uses one (two_factor_routes.py). The web session starts on the server here."""
    start_web_session(member, keep_signed_in=keep_signed_in)
    flash(f"Welcome, {member.display_name}.", "success")
    return redirect(_safe_next(next_target))


def _ask_for_second_factor(member: Member, next_target: str | None, *, keep_signed_in: bool) -> ResponseReturnValue:
    """The password was right; the session holds only who is half signed in (under one key),
    until the code is given on the two-factor page. A form kept from a session that ended
    (web_session.ENDED_KEY) stays, so the sign-in that follows the code can offer it again."""
    ended_session_id = session.get(ENDED_KEY)
    session.clear()
    if ended_session_id is not None:
        session[ENDED_KEY] = ended_session_id
    session[TWO_FACTOR_PENDING_KEY] = {
        "member_id": member.id,
        "password_ok_at": int(time.time()),
        "next": next_target or "",
        "account_key": account_key(member.email),
        "keep_signed_in": keep_signed_in,
    }
    return redirect(url_for("two_factor.sign_in"))


def _safe_next(target: str | None) -> str:
    """Only follow a same-site path after login, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return _landing_page()


def _landing_page() -> str:
    """Where a signed-in member starts: their dashboard; a coordinator's is the coordinator
    dashboard (what needs their action first); an installation admin outside any timebank has
    none, and starts at administration."""
    if current_user.is_authenticated and current_user.is_admin and current_user.timebank_id is None:
        return url_for("admin.index")
    if current_user.is_authenticated and current_user.is_coordinator:
        return url_for("coordinator.dashboard")
    return url_for("dashboard.index")


# ---------------------------------------------------------------------------------------------
# Signing in and out


@bp.route("/login", methods=["GET", "POST"])
@sign_in_limits(form_account_key)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_landing_page())
    form = LoginForm(email=remembered_email())
    status = 200
    if form.validate_on_submit():
        check = service.check_sign_in(db.session(), form.email.data or "", form.password.data or "")
        if check is not None and check.may_sign_in:
            keep = form.keeps_signed_in
            if check.member.has_two_factor:
                return _ask_for_second_factor(check.member, request.args.get("next"), keep_signed_in=keep)
            return complete_sign_in(check.member, request.args.get("next"), keep_signed_in=keep)
        if check is not None:
            # The right password, but the account may not be used (yet): show where it stands.
            session.clear()
            session[APPLICANT_KEY] = check.member.id
            return redirect(url_for("auth.application_status"))
        form.form_errors.append("That email and password do not match an active account. Check them and try again.")
        note_failed_sign_in()
        status = 401
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    end_web_session()
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
            if member is None or member.email is not None:
                # The same answer whether the address is new or already has an account (whose
                # owner is emailed instead): the page must not tell who has an account.
                flash(f"Thank you. We'll email you about your application to join {timebank.name}.", "success")
                return redirect(url_for("auth.application_sent"))
            session[APPLICANT_KEY] = member.id
            flash(f"Thank you, {member.display_name}. Your application to join {timebank.name} is sent.", "success")
            return redirect(url_for("auth.application_status"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/join.html", form=form, timebank=fixed), status


@bp.get("/application/sent")
def application_sent() -> ResponseReturnValue:
    return render_template("auth/application_sent.html")


# ---------------------------------------------------------------------------------------------
# Passwords


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(RESET_REQUEST_LIMIT_PER_ADDRESS, methods=["POST"])
@limiter.limit(RESET_REQUEST_LIMIT_PER_ACCOUNT, key_func=form_account_key, methods=["POST"])
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # Queued for the scheduler's mail job, whoever the address belongs to: the same reply, and
        # the same work, whether or not it has an account.
        service.request_password_reset(db.session(), current_app.config["SECRET_KEY"], form.email.data or "")
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
            service.reset_password(db.session(), secret_key, token, form.password.data or "", now=clock.now_utc())
        except ResetLinkInvalid as error:  # used or expired a moment ago, in another tab
            page = render_template("auth/reset_link_problem.html", message=error.message)
            return _no_referrer(make_response(page, 400))
        except PasswordRejected as error:
            show_error_on_form(form, error.message, error.field)
            status = 422
        else:
            end_web_session()  # whoever was signed in on this browser
            flash(
                "Your password has been changed, and you are signed out everywhere. Sign in with your new password.",
                "success",
            )
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
        this_session = current_session_row()
        try:
            service.change_password(
                db.session(),
                member,
                form.current_password.data or "",
                form.password.data or "",
                now=clock.now_utc(),
                keep_session_id=this_session.id if this_session else None,
            )
        except PasswordRejected as error:
            show_error_on_form(form, error.message, error.field)
            status = 422
        else:
            # This session stays signed in; every other one has ended, and every API token.
            flash("Your password has been changed. You are still signed in here, and nowhere else.", "success")
            return redirect(_landing_page() if member.account else url_for("main.home"))
    elif request.method == "POST":
        status = 422
    return render_template("auth/change_password.html", form=form), status


# The member's sign-ins ("sign out everywhere"), the session warning's status, kept forms.
from . import session_routes as _session_routes  # noqa: E402, F401
