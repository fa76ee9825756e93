"""GET /dashboard: the page a member lands on after signing in."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Member, Timebank
from .service import build_dashboard

bp = Blueprint("dashboard", __name__)


@bp.get("/dashboard")
@login_required
def index() -> ResponseReturnValue:
    member: Member = current_user._get_current_object()
    if member.account is None or member.timebank_id is None:
        return redirect(url_for("main.home"))  # an installation admin outside any timebank has no hours
    timebank = db.session.get(Timebank, member.timebank_id)
    assert timebank is not None
    return render_template("dashboard/index.html", board=build_dashboard(db.session(), member, timebank))
