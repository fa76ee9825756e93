"""The notifications page, marking them read, and the email preferences page. Thin: the rules
are in service.py. The nav's count and the dashboard's list come from ``register``."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Notification
from ..web import requested_page, signed_in_member
from . import service
from .forms import EmailPreferencesForm, MarkReadForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    page = requested_page()
    listing = service.notifications_for(db.session(), signed_in_member(), page=page)
    return render_template("notifications/index.html", listing=listing)


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int) -> ResponseReturnValue:
    form = MarkReadForm()
    if not form.validate_on_submit():
        flash("This form had expired. Please try again.", "error")
        return redirect(url_for(".index")), 303
    service.mark_read(db.session(), signed_in_member(), notification_id)
    flash("Marked as read.", "success")
    return redirect(url_for(".index")), 303


@bp.post("/read-all")
@login_required
def mark_all_read() -> ResponseReturnValue:
    form = MarkReadForm()
    if not form.validate_on_submit():
        flash("This form had expired. Please try again.", "error")
        return redirect(url_for(".index")), 303
    changed = service.mark_all_read(db.session(), signed_in_member())
    flash("All your notifications are marked as read." if changed else "You had no unread notifications.", "success")
    return redirect(url_for(".index")), 303


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    member = signed_in_member()
    if request.method == "POST":
        # An unticked box is absent from the form, so all three unticked is an empty form: read
        # it as such rather than falling back to the saved choices.
        form = EmailPreferencesForm(formdata=request.form)
    else:
        form = EmailPreferencesForm(data=asdict(service.preferences_of(member)))
    if form.validate_on_submit():
        service.update_email_preferences(
            db.session(),
            member,
            service.EmailPreferences(
                email_when_action_needed=bool(form.email_when_action_needed.data),
                email_exchange_updates=bool(form.email_exchange_updates.data),
                weekly_digest=bool(form.weekly_digest.data),
            ),
        )
        flash("Your email choices are saved.", "success")
        return redirect(url_for(".settings")), 303
    return render_template("notifications/settings.html", form=form, member=member)


def register(app: Flask) -> None:
    """The nav's unread count and the dashboard's "needs your action" list, for templates."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return service.unread_count(db.session(), signed_in_member())
        except SQLAlchemyError:  # the count must never stop a page (an error page above all) showing
            db.session.rollback()
            return 0

    def notifications_needing_action(exclude_exchange_ids: list[int] | None = None) -> list[Notification]:
        if not current_user.is_authenticated:
            return []
        skip = set(exclude_exchange_ids or ())
        items = service.needs_action_for(db.session(), signed_in_member(), limit=20)
        return [n for n in items if n.exchange_id is None or n.exchange_id not in skip]

    app.jinja_env.globals["unread_notifications"] = unread_notifications
    app.jinja_env.globals["notifications_needing_action"] = notifications_needing_action
