"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db, login_manager
from ..models import Member
from .forms import LoginForm
from .service import authenticate

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_member(member_id: str) -> Member | None:
    if not member_id.isdigit():
        return None
    return db.session.get(Member, int(member_id))


def _safe_next(target: str | None) -> str:
    """Only follow a same-site path after login, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("members.me")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("members.me"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        member = authenticate(db.session(), form.email.data or "", form.password.data or "")
        if member is not None:
            session.clear()  # a fresh session at login (no fixation)
            login_user(member)
            flash(f"Welcome, {member.display_name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
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
