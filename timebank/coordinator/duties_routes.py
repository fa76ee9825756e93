"""What waits for another coordinator: deciding or withdrawing a decision request (a
coordinator's own grant, limits or reversal), and the single-coordinator self-approval setting.
The rules are ``duties.service``'s; these routes are thin."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..auth.decorators import coordinator_required
from ..duties import service as duties
from ..duties.errors import DutyError
from ..duties.rules import coordinator_count
from ..exchanges.forms import ActionForm
from ..extensions import db
from ..ids import URL_ID
from ..models import DecisionStatus, Timebank
from ..web import show_error_on_form, signed_in_member
from .duties_forms import DecideRequestForm, SelfApprovalForm
from .routes import bp


@bp.post(f"/requests/<{URL_ID}:request_id>/decide")
@coordinator_required
def decide_request(request_id: int) -> ResponseReturnValue:
    duties.request_timebank(db.session(), signed_in_member(), request_id)  # another timebank's: 404 first
    form = DecideRequestForm()
    if not form.validate_on_submit():
        message = " ".join(error for errors in form.errors.values() for error in errors)
        flash(message or "Choose whether to approve it or not.", "error")
        return redirect(url_for("coordinator.exchanges_queue", _anchor="requests"))
    decided = duties.decide_request(
        db.session(), signed_in_member(), request_id, approve=form.decision.data == "approve", note=form.note.data or ""
    )
    word = "approved: it is done" if decided.status == DecisionStatus.APPROVED else "refused"
    flash(f"The request of {decided.requested_by.display_name} is {word}.", "success")
    return redirect(url_for("coordinator.exchanges_queue", _anchor="requests"))


@bp.post(f"/requests/<{URL_ID}:request_id>/withdraw")
@coordinator_required
def withdraw_request(request_id: int) -> ResponseReturnValue:
    ActionForm().validate_on_submit()  # CSRF is checked for every POST by CSRFProtect
    duties.withdraw_request(db.session(), signed_in_member(), request_id)
    flash("Your request is withdrawn. Nothing was changed.", "success")
    return redirect(url_for("coordinator.exchanges_queue", _anchor="requests"))


@bp.route("/self-approval", methods=["GET", "POST"])
@coordinator_required
def self_approval() -> ResponseReturnValue:
    """A single-coordinator timebank's explicit, audited setting (see ``duties.rules``)."""
    coordinator = signed_in_member()
    session = db.session()
    timebank = session.get(Timebank, coordinator.timebank_id)
    assert timebank is not None
    form = SelfApprovalForm()
    status = 200
    if request.method == "GET":
        form.allowed.data = "yes" if timebank.allow_self_approval else "no"
    elif form.validate_on_submit():
        try:
            duties.set_self_approval(
                session,
                coordinator,
                timebank.id,
                allowed=form.allowed.data == "yes",
                reason=form.reason.data or "",
            )
        except DutyError as error:
            show_error_on_form(form, error.message, error.field)
            status = 409 if error.field is None else 422
        else:
            flash(
                "You can now approve your own items. Each one is recorded, and the monthly report lists them."
                if form.allowed.data == "yes"
                else "Your own items now wait for another coordinator or an administrator.",
                "success",
            )
            return redirect(url_for("coordinator.self_approval"))
    else:
        status = 422
    return (
        render_template(
            "coordinator/self_approval.html",
            form=form,
            timebank=timebank,
            coordinators=coordinator_count(session, timebank.id),
        ),
        status,
    )
