"""A member's own page: balance and history."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from ..extensions import db
from .service import account_history, pending_transfers

bp = Blueprint("members", __name__)


@bp.get("/me")
@login_required
def me() -> str:
    account = current_user.account
    if account is None:  # an installation admin outside any timebank has no account
        abort(404)
    return render_template(
        "members/me.html",
        account=account,
        history=account_history(db.session(), account),
        pending=pending_transfers(db.session(), account),
    )
