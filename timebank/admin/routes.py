"""Administration pages (/admin): timebanks, their settings and their coordinators. Every view
is ``admin_required`` (403 for everyone else, sign-in for visitors)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from ..auth.decorators import admin_required
from ..auth.errors import AuthError
from ..coordinator.duties_forms import DecideExchangeForm, DecideRequestForm, SelfApprovalForm
from ..duties import service as duties
from ..duties.errors import DutyError
from ..errors import status_for
from ..exchanges import service as exchanges
from ..exchanges import views
from ..exchanges.errors import ExchangeError
from ..exchanges.states import InvalidTransition
from ..extensions import db
from ..hours import hours_for_editing
from ..ids import URL_ID
from ..models import Timebank
from ..web import show_error_on_form, signed_in_member
from . import service
from .errors import AdminError
from .forms import (
    AppointForm,
    NewTimebankForm,
    ResetTwoFactorForm,
    SessionLimitsForm,
    SettingsForm,
    StandDownForm,
    TwoFactorRequirementForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_required
def index() -> ResponseReturnValue:
    return render_template("admin/index.html", summaries=service.list_timebanks(db.session(), signed_in_member()))


# What each scheduled job is called on the admin page; its code name (for `flask timebank run-job`)
# stays behind a disclosure for those who need it.
JOB_TITLES = {
    "close_due_months": "Closing finished months",
    "expire_pending_exchanges": "Reminders and expiry of unconfirmed time",
    "pause_ended_listings": "Pausing offers and requests that have ended",
    "queue_weekly_digests": "The weekly email of new offers and requests",
    "send_emails": "Sending emails",
}


@bp.get("/jobs")
@admin_required
def jobs() -> ResponseReturnValue:
    from ..jobs import job_statuses

    return render_template(
        "admin/jobs.html", statuses=job_statuses(db.session(), signed_in_member()), titles=JOB_TITLES
    )


@bp.get("/outbox")
@admin_required
def outbox() -> ResponseReturnValue:
    """The emails the app queued and sent, to read in development (``OUTBOX_PAGE``; not found
    in production, where they are nobody's but their recipients')."""
    from .outbox import outbox as outbox_page

    if not current_app.config.get("OUTBOX_PAGE"):
        abort(404)
    page = outbox_page(db.session(), signed_in_member(), request.args.get("page", 1, type=int))
    return render_template("admin/outbox.html", page=page)


@bp.route("/timebanks/new", methods=["GET", "POST"])
@admin_required
def new_timebank() -> ResponseReturnValue:
    form = NewTimebankForm()
    status = 200
    if form.validate_on_submit():
        try:
            timebank = service.new_timebank(
                db.session(),
                signed_in_member(),
                name=form.name.data or "",
                organisation_name=form.organisation_name.data or "",
                slug=form.slug.data or "",
            )
        except AdminError as error:
            if error.field is None:
                raise
            show_error_on_form(form, error.message, error.field)
            status = 422
        else:
            flash(f"{timebank.name} is created. Now check its settings and appoint a coordinator.", "success")
            return redirect(url_for("admin.timebank", timebank_id=timebank.id))
    elif request.method == "POST":
        status = 422
    return render_template("admin/timebank_new.html", form=form), status


def _settings_form_for(timebank: Timebank) -> SettingsForm:
    return SettingsForm(
        formdata=None,
        data={
            "granularity": str(timebank.granularity_minutes),
            "default_floor": hours_for_editing(timebank.default_floor_minutes),
            "default_cap": hours_for_editing(timebank.default_cap_minutes),
            "approval_policy": timebank.approval_policy.value,
            "approval_threshold": hours_for_editing(timebank.approval_threshold_minutes),
            "time_zone": timebank.time_zone,
        },
    )


def _session_limits_form_for(timebank: Timebank) -> SessionLimitsForm:
    return SessionLimitsForm(
        formdata=None,
        data={
            "idle_minutes": str(timebank.session_idle_minutes),
            "coordinator_idle_minutes": str(timebank.coordinator_session_idle_minutes),
            "lifetime_hours": str(timebank.session_lifetime_hours),
        },
    )


def _timebank_page(
    timebank_id: int,
    status: int = 200,
    settings_form: SettingsForm | None = None,
    appoint_form: AppointForm | None = None,
    session_limits_form: SessionLimitsForm | None = None,
    self_approval_form: SelfApprovalForm | None = None,
    problem: str = "",
) -> ResponseReturnValue:
    session = db.session()
    admin = signed_in_member()
    timebank = service.get_timebank(session, admin, timebank_id)  # unknown: 404
    if self_approval_form is None:
        self_approval_form = SelfApprovalForm(formdata=None)
        self_approval_form.allowed.data = "yes" if timebank.allow_self_approval else "no"
    candidates = service.appointable_members(session, admin, timebank.id)
    if appoint_form is None:
        appoint_form = AppointForm(formdata=None)
    # A first line that chooses nobody: nobody is appointed by leaving the list as it came.
    appoint_form.member_id.choices = [SelectChoice("", "Choose a member")] + [
        SelectChoice(str(m.id), m.display_name) for m in candidates
    ]
    return (
        render_template(
            "admin/timebank.html",
            timebank=timebank,
            settings_form=settings_form or _settings_form_for(timebank),
            session_limits_form=session_limits_form or _session_limits_form_for(timebank),
            appoint_form=appoint_form,
            stand_down_form=StandDownForm(formdata=None),
            two_factor_form=TwoFactorRequirementForm(
                formdata=None, data={"required": timebank.coordinators_need_two_factor}
            ),
            reset_two_factor_form=ResetTwoFactorForm(formdata=None),
            coordinators=service.coordinators_of(session, admin, timebank.id),
            candidates=candidates,
            time_zones=sorted(service.known_time_zones()),
            self_approval_form=self_approval_form,
            waiting_exchanges=[
                views.describe(e, admin, timebank.time_zone)
                for e in duties.exchanges_needing_another(session, admin, timebank.id)
            ],
            waiting_requests=[
                duties.describe_request(r, admin, timebank)
                for r in duties.waiting_requests(session, admin, timebank.id)
            ],
            problem=problem,
        ),
        status,
    )


@bp.get(f"/timebanks/<{URL_ID}:timebank_id>")
@admin_required
def timebank(timebank_id: int) -> ResponseReturnValue:
    return _timebank_page(timebank_id)


@bp.post(f"/timebanks/<{URL_ID}:timebank_id>/settings")
@admin_required
def timebank_settings(timebank_id: int) -> ResponseReturnValue:
    timebank = service.get_timebank(db.session(), signed_in_member(), timebank_id)
    form = SettingsForm()
    settings = form.to_settings(timebank.approval_threshold_minutes) if form.validate_on_submit() else None
    if settings is None:
        return _timebank_page(timebank_id, 422, settings_form=form)
    try:
        service.update_settings(db.session(), signed_in_member(), timebank_id, settings)
    except AdminError as error:
        if error.field is None:
            raise
        show_error_on_form(form, error.message, error.field)
        return _timebank_page(timebank_id, 422, settings_form=form)
    flash(f"The settings of {timebank.name} are saved.", "success")
    return redirect(url_for("admin.timebank", timebank_id=timebank_id))


@bp.post(f"/timebanks/<{URL_ID}:timebank_id>/session-limits")
@admin_required
def timebank_session_limits(timebank_id: int) -> ResponseReturnValue:
    timebank = service.get_timebank(db.session(), signed_in_member(), timebank_id)
    form = SessionLimitsForm()
    limits = form.to_limits() if form.validate_on_submit() else None
    if limits is None:
        return _timebank_page(timebank_id, 422, session_limits_form=form)
    try:
        service.update_session_limits(db.session(), signed_in_member(), timebank_id, limits)
    except AuthError as error:
        show_error_on_form(form, error.message, error.field)
        return _timebank_page(timebank_id, 422, session_limits_form=form)
    flash(f"The sign-in limits of {timebank.name} are saved.", "success")
    return redirect(url_for("admin.timebank", timebank_id=timebank_id, _anchor="session-limits"))


@bp.post(f"/timebanks/<{URL_ID}:timebank_id>/coordinators")
@admin_required
def appoint_coordinator(timebank_id: int) -> ResponseReturnValue:
    service.get_timebank(db.session(), signed_in_member(), timebank_id)
    form = AppointForm()
    if not form.validate_on_submit():
        return _timebank_page(timebank_id, 422, appoint_form=form)
    member = service.appoint_coordinator(db.session(), signed_in_member(), timebank_id, form.member_id.data)
    flash(f"{member.display_name} is now a coordinator.", "success")
    return redirect(url_for("admin.timebank", timebank_id=timebank_id, _anchor="coordinators"))


@bp.post(f"/timebanks/<{URL_ID}:timebank_id>/coordinators/<{URL_ID}:member_id>/stand-down")
@admin_required
def stand_down_coordinator(timebank_id: int, member_id: int) -> ResponseReturnValue:
    StandDownForm().validate_on_submit()  # CSRF is checked for every POST by CSRFProtect
    member = service.stand_down_coordinator(db.session(), signed_in_member(), timebank_id, member_id)
    flash(f"{member.display_name} is a participant again, no longer a coordinator.", "success")
    return redirect(url_for("admin.timebank", timebank_id=timebank_id, _anchor="coordinators"))


@bp.post(f"/timebanks/<{URL_ID}:timebank_id>/two-factor")
@admin_required
def two_factor_requirement(timebank_id: int) -> ResponseReturnValue:
    form = TwoFactorRequirementForm()
    form.validate_on_submit()  # a checkbox: ticked or not (CSRF is checked by CSRFProtect)
    required = bool(form.required.data)
    timebank = service.set_coordinators_need_two_factor(db.session(), signed_in_member(), timebank_id, required)
    if timebank.coordinators_need_two_factor:
        flash(
            f"Coordinators of {timebank.name} must now use two-factor sign-in. Those who have not set it up "
            "are asked to at their next page.",
            "success",
        )
    else:
        flash(f"Two-factor sign-in is now optional for coordinators of {timebank.name}.", "success")
    return redirect(url_for("admin.timebank", timebank_id=timebank_id, _anchor="two-factor"))


@bp.post(f"/timebanks/<{URL_ID}:timebank_id>/members/<{URL_ID}:member_id>/reset-two-factor")
@admin_required
def reset_two_factor(timebank_id: int, member_id: int) -> ResponseReturnValue:
    ResetTwoFactorForm().validate_on_submit()  # CSRF is checked for every POST by CSRFProtect
    member = service.reset_two_factor(db.session(), signed_in_member(), timebank_id, member_id)
    flash(
        f"{member.display_name}’s two-factor sign-in is reset. They sign in with their password and set it up again.",
        "success",
    )
    return redirect(url_for("admin.timebank", timebank_id=timebank_id, _anchor="coordinators"))


# ---------------------------------------------------------------------------------------------
# What waits for someone other than a timebank's own coordinator (``duties``)


@bp.post(f"/timebanks/<{URL_ID}:timebank_id>/self-approval")
@admin_required
def timebank_self_approval(timebank_id: int) -> ResponseReturnValue:
    service.get_timebank(db.session(), signed_in_member(), timebank_id)  # unknown: 404
    form = SelfApprovalForm()
    if not form.validate_on_submit():
        return _timebank_page(timebank_id, 422, self_approval_form=form)
    try:
        duties.set_self_approval(
            db.session(),
            signed_in_member(),
            timebank_id,
            allowed=form.allowed.data == "yes",
            reason=form.reason.data or "",
        )
    except DutyError as error:
        show_error_on_form(form, error.message, error.field)
        return _timebank_page(timebank_id, 409 if error.field is None else 422, self_approval_form=form)
    flash("The self-approval setting is saved.", "success")
    return redirect(url_for("admin.timebank", timebank_id=timebank_id, _anchor="self-approval"))


def _problems(form: FlaskForm) -> str:
    return " ".join(message for messages in form.errors.values() for message in messages)


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/decide")
@admin_required
def decide_exchange(exchange_id: int) -> ResponseReturnValue:
    """Decide a coordinator's own exchange (it waits for someone else)."""
    session = db.session()
    admin = signed_in_member()
    exchange = exchanges.get_exchange_for_decider(session, admin, exchange_id)  # unknown: 404
    form = DecideExchangeForm()
    back = exchange.timebank_id
    if not form.validate_on_submit():
        return _timebank_page(back, 422, problem=_problems(form))
    try:
        duties.decide_exchange(
            session, admin, exchange_id, approve=form.decision.data == "approve", reason=form.reason.data or ""
        )
    except (ExchangeError, InvalidTransition) as error:
        session.rollback()
        return _timebank_page(back, status_for(error), problem=error.message)
    flash("Decided: the coordinators and members concerned are told.", "success")
    return redirect(url_for("admin.timebank", timebank_id=back, _anchor="waiting"))


@bp.post(f"/requests/<{URL_ID}:request_id>/decide")
@admin_required
def decide_request(request_id: int) -> ResponseReturnValue:
    """Decide a coordinator's request for themselves (a grant, their limits, a reversal)."""
    session = db.session()
    form = DecideRequestForm()
    if not form.validate_on_submit():
        timebank_id = duties.request_timebank(session, signed_in_member(), request_id)  # unknown: 404
        return _timebank_page(timebank_id, 422, problem=_problems(form))
    decided = duties.decide_request(
        session, signed_in_member(), request_id, approve=form.decision.data == "approve", note=form.note.data or ""
    )
    flash(f"The request of {decided.requested_by.display_name} is {decided.status.value}.", "success")
    return redirect(url_for("admin.timebank", timebank_id=decided.timebank_id, _anchor="waiting"))
