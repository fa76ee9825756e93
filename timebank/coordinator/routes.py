"""Coordinator pages. Every view is ``coordinator_required`` (403 for anyone else); every object
is read through a service that answers "not found" for another timebank's data."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from ..auth.decorators import coordinator_required
from ..extensions import db
from ..models import Member
from ..web import show_error_on_form, signed_in_member
from . import service
from .errors import CoordinatorError
from .forms import ApproveApplicationForm, DeclineApplicationForm

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


@bp.get("/")
@coordinator_required
def index() -> ResponseReturnValue:
    """The coordinator's start page: one entry per tool (see templates/coordinator/index.html)."""
    return render_template(
        "coordinator/index.html",
        waiting_applications=service.count_pending_applications(db.session(), signed_in_member()),
    )


# ---------------------------------------------------------------------------------------------
# Applications to join


@bp.get("/applications")
@coordinator_required
def applications() -> ResponseReturnValue:
    return render_template(
        "coordinator/applications.html",
        applications=service.pending_applications(db.session(), signed_in_member()),
    )


def _application_page(
    member: Member,
    approve_form: ApproveApplicationForm | None = None,
    decline_form: DeclineApplicationForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    return (
        render_template(
            "coordinator/application.html",
            applicant=member,
            approve_form=approve_form or ApproveApplicationForm(prefix="approve", formdata=None),
            decline_form=decline_form or DeclineApplicationForm(prefix="decline", formdata=None),
        ),
        status,
    )


@bp.get("/applications/<int:member_id>")
@coordinator_required
def application(member_id: int) -> ResponseReturnValue:
    return _application_page(service.get_application(db.session(), signed_in_member(), member_id))


@bp.post("/applications/<int:member_id>/approve")
@coordinator_required
def approve(member_id: int) -> ResponseReturnValue:
    db_session = db.session()
    member = service.get_application(db_session, signed_in_member(), member_id)  # foreign or unknown: 404
    form = ApproveApplicationForm(prefix="approve")
    if not form.validate_on_submit():
        return _application_page(member, approve_form=form, status=422)
    try:
        service.approve_application(
            db_session,
            signed_in_member(),
            member_id,
            checks_done=bool(form.checks_done.data),
            checks_note=form.checks_note.data or "",
        )
    except CoordinatorError as error:
        if error.field is None:
            raise  # not about the form: errors.py turns it into its status
        show_error_on_form(form, error.message, error.field)
        return _application_page(member, approve_form=form, status=422)
    flash(f"{member.display_name} is approved and can now take part.", "success")
    return redirect(url_for("coordinator.applications"))


@bp.post("/applications/<int:member_id>/decline")
@coordinator_required
def decline(member_id: int) -> ResponseReturnValue:
    db_session = db.session()
    member = service.get_application(db_session, signed_in_member(), member_id)
    form = DeclineApplicationForm(prefix="decline")
    if not form.validate_on_submit():
        return _application_page(member, decline_form=form, status=422)
    try:
        service.decline_application(db_session, signed_in_member(), member_id, reason=form.reason.data or "")
    except CoordinatorError as error:
        if error.field is None:
            raise
        show_error_on_form(form, error.message, error.field)
        return _application_page(member, decline_form=form, status=422)
    flash(f"You declined {member.display_name}'s application. They will see your reason.", "success")
    return redirect(url_for("coordinator.applications"))


# Other modules add their routes to this blueprint (keep the imports sorted):
# dashboard_routes: the coordinator's dashboard; exchanges: the approvals queue;
# members: the member list, one member's page and its actions; activities_routes: group
# activities; timesheets_routes: the timesheet import; acting: acting for a member;
# corrections: reversing an exchange, grants from the community pool; duties_routes: decision
# requests that wait for another coordinator, and the self-approval setting.
from . import acting as _acting  # noqa: E402, F401
from . import activities_routes as _activities_routes  # noqa: E402, F401
from . import audit_routes as _audit_routes  # noqa: E402, F401
from . import corrections as _corrections  # noqa: E402, F401
from . import dashboard_routes as _dashboard_routes  # noqa: E402, F401
from . import duties_routes as _duties_routes  # noqa: E402, F401
from . import exchanges as _exchanges  # noqa: E402, F401
from . import members as _members  # noqa: E402, F401
from . import timesheets_routes as _timesheets_routes  # noqa: E402, F401
