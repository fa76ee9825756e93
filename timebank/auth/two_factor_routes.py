"""Two-factor sign-in pages: the code step after the password, setting it up (a QR code drawn
on the server, no JavaScript), recovery codes, turning it off. The rules are in two_factor.py.

Someone it is required for (a coordinator of a timebank that requires it, an admin when the
installation does) who has not set it up is sent to set it up before any other page.
"""

from __future__ import annotations

import time

import segno
from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Member
from ..web import show_error_on_form, signed_in_member
from . import service, two_factor
from .errors import TwoFactorConflict, TwoFactorError
from .forms import TwoFactorCodeForm, TwoFactorOffForm, TwoFactorSetupForm, TwoFactorSignInForm
from .limits import account_key, note_failed_sign_in, sign_in_limits
from .routes import TWO_FACTOR_PENDING_KEY, _landing_page, complete_sign_in
from .tokens import make_setup_token, read_setup_token

bp = Blueprint("two_factor", __name__)

# The code must follow the password within this time, or the sign-in starts again.
PENDING_MAX_AGE_SECONDS = 5 * 60
# Pages someone who must set up two-factor may still open before they have.
_OPEN_BEFORE_SET_UP = frozenset({"static", "two_factor.setup", "auth.logout", "health.healthz"})


def admins_need_two_factor() -> bool:
    return bool(current_app.config.get("ADMINS_NEED_TWO_FACTOR"))


def _no_store(page: str, status: int = 200) -> ResponseReturnValue:
    """Secrets and recovery codes: never cached, never passed on."""
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- the code after the password -----------------------------------------------------------------


def _pending() -> dict[str, object] | None:
    state = session.get(TWO_FACTOR_PENDING_KEY)
    return state if isinstance(state, dict) else None


def _pending_member(state: dict[str, object]) -> Member | None:
    """Who is half signed in, if the password was accepted recently and they still may sign in."""
    accepted_at = state.get("password_ok_at")
    member_id = state.get("member_id")
    if not isinstance(accepted_at, int) or not isinstance(member_id, int):
        return None
    if time.time() - accepted_at > PENDING_MAX_AGE_SECONDS:
        return None
    member = service.member_by_id(db.session(), member_id)
    if member is None or not member.is_active or not member.has_two_factor:
        return None
    return member


def _pending_account_key() -> str:
    """The sign-in budget of the account half signed in (the same as its password's)."""
    state = _pending()
    key = state.get("account_key") if state else None
    return key if isinstance(key, str) else f"address:{get_remote_address()}"


@bp.route("/login/two-factor", methods=["GET", "POST"])
@sign_in_limits(_pending_account_key)
def sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_landing_page())
    state = _pending()
    member = _pending_member(state) if state else None
    if state is None or member is None:
        if state is not None:
            session.pop(TWO_FACTOR_PENDING_KEY, None)
            flash("Please sign in again: the code has to follow the password within 5 minutes.", "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorSignInForm()
    status = 200
    if form.validate_on_submit():
        result = two_factor.check_second_factor(db.session(), member, form.code.data or "")
        if result.accepted:
            next_target = state.get("next")
            response = complete_sign_in(
                member,
                next_target if isinstance(next_target, str) and next_target else None,
                keep_signed_in=state.get("keep_signed_in") is True,
            )
            if result.used_recovery_code:
                flash(
                    f"You used a recovery code: it will not work again. You have {result.recovery_codes_left} left. "
                    "If you have lost your phone, make new recovery codes or ask an administrator for help.",
                    "info",
                )
            return response
        note_failed_sign_in()
        show_error_on_form(form, two_factor.WRONG_CODE, "code")
        status = 401
    elif request.method == "POST":
        status = 422
    recovery = request.args.get("recovery") == "1"
    return render_template("auth/two_factor_sign_in.html", form=form, recovery=recovery), status


# -- setting it up ---------------------------------------------------------------------------------


def qr_code_svg(uri: str) -> str:
    """The otpauth:// address as an inline SVG QR code (212 px: fits a 360 px phone)."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app"))


@bp.route("/account/two-factor/setup", methods=["GET", "POST"])
@login_required
def setup() -> ResponseReturnValue:
    member = signed_in_member()
    if member.has_two_factor:
        flash("Two-factor sign-in is already on for your account.", "info")
        return redirect(url_for("two_factor.settings"))
    secret_key = current_app.config["SECRET_KEY"]
    form = TwoFactorSetupForm()
    secret = read_setup_token(secret_key, form.setup_token.data, member.id) if form.setup_token.data else None
    status = 200
    if request.method == "POST" and secret is None:
        form.form_errors.append("This page was open too long. Add the new code below to your app, then try again.")
        status = 422
    elif form.validate_on_submit():
        assert secret is not None
        try:
            codes = two_factor.turn_on(db.session(), member, secret, form.code.data or "")
        except TwoFactorConflict as error:
            flash(error.message, "info")
            return redirect(url_for("two_factor.settings"))
        except TwoFactorError as error:
            show_error_on_form(form, error.message, error.field)
            status = 422
        else:
            return _no_store(render_template("auth/two_factor_recovery_codes.html", codes=codes, first_time=True))
    elif request.method == "POST":
        status = 422
    if secret is None:
        secret = two_factor.new_secret()
        form.setup_token.data = make_setup_token(secret_key, member.id, secret)
    page = render_template(
        "auth/two_factor_setup.html",
        form=form,
        qr_svg=qr_code_svg(two_factor.provisioning_uri(secret, member)),
        secret=two_factor.grouped(secret),
        required=two_factor.is_required_for(member, admins_need_two_factor=admins_need_two_factor()),
    )
    return _no_store(page, status)


# -- the member's own settings ----------------------------------------------------------------------


def _settings_page(
    codes_form: TwoFactorCodeForm | None = None, off_form: TwoFactorOffForm | None = None, status: int = 200
) -> ResponseReturnValue:
    member = signed_in_member()
    page = render_template(
        "auth/two_factor_settings.html",
        member=member,
        required=two_factor.is_required_for(member, admins_need_two_factor=admins_need_two_factor()),
        codes_left=two_factor.recovery_codes_left(db.session(), member) if member.has_two_factor else 0,
        codes_form=codes_form or TwoFactorCodeForm(formdata=None),
        off_form=off_form or TwoFactorOffForm(formdata=None),
    )
    return page, status


def _own_account_key() -> str:
    return account_key(current_user.email if current_user.is_authenticated else None)


@bp.get("/account/two-factor")
@login_required
def settings() -> ResponseReturnValue:
    return _settings_page()


@bp.post("/account/two-factor/recovery-codes")
@login_required
@sign_in_limits(_own_account_key)
def new_recovery_codes() -> ResponseReturnValue:
    form = TwoFactorCodeForm()
    if not form.validate_on_submit():
        return _settings_page(codes_form=form, status=422)
    try:
        codes = two_factor.new_recovery_codes(db.session(), signed_in_member(), form.code.data or "")
    except TwoFactorConflict as error:
        flash(error.message, "info")
        return redirect(url_for("two_factor.settings"))
    except TwoFactorError as error:
        note_failed_sign_in()
        show_error_on_form(form, error.message, error.field)
        return _settings_page(codes_form=form, status=422)
    return _no_store(render_template("auth/two_factor_recovery_codes.html", codes=codes, first_time=False))


@bp.post("/account/two-factor/turn-off")
@login_required
@sign_in_limits(_own_account_key)
def turn_off() -> ResponseReturnValue:
    form = TwoFactorOffForm()
    if not form.validate_on_submit():
        return _settings_page(off_form=form, status=422)
    try:
        two_factor.turn_off(
            db.session(),
            signed_in_member(),
            form.password.data or "",
            form.code.data or "",
            admins_need_two_factor=admins_need_two_factor(),
        )
    except TwoFactorConflict as error:
        show_error_on_form(form, error.message, None)
        return _settings_page(off_form=form, status=409)
    except TwoFactorError as error:
        note_failed_sign_in()
        show_error_on_form(form, error.message, error.field)
        return _settings_page(off_form=form, status=422)
    flash("Two-factor sign-in is off. You sign in with your email address and password only.", "success")
    return redirect(url_for("two_factor.settings"))


# -- required: set it up first -----------------------------------------------------------------------


@bp.before_app_request
def _set_up_first() -> ResponseReturnValue | None:
    """A coordinator (or admin) who must use two-factor sign-in and has not set it up yet is
    sent to set it up before anything else. The API is token-only and checks for itself."""
    if request.endpoint in _OPEN_BEFORE_SET_UP or request.endpoint is None:
        return None
    if request.blueprint in ("api", "api_docs") or not current_user.is_authenticated:
        return None
    if two_factor.must_set_up(signed_in_member(), admins_need_two_factor=admins_need_two_factor()):
        return redirect(url_for("two_factor.setup"))
    return None
