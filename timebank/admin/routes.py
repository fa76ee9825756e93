"""Administration pages (/admin): timebanks, their settings and their coordinators. Every view
is ``admin_required`` (403 for everyone else, sign-in for visitors)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from ..auth.decorators import admin_required
from ..extensions import db
from ..forms_common import format_hours_input
from ..ids import URL_ID
from ..models import Timebank
from ..web import show_error_on_form, signed_in_member
from . import service
from .errors import AdminError
from .forms import (
    AppointForm,
    NewTimebankForm,
    ResetTwoFactorForm,
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


def _signed(minutes: int) -> str:
    return f"-{format_hours_input(-minutes)}" if minutes < 0 else format_hours_input(minutes)


def _settings_form_for(timebank: Timebank) -> SettingsForm:
    return SettingsForm(
        formdata=None,
        data={
            "granularity": str(timebank.granularity_minutes),
            "default_floor": _signed(timebank.default_floor_minutes),
            "default_cap": _signed(timebank.default_cap_minutes),
            "approval_policy": timebank.approval_policy.value,
            "approval_threshold": format_hours_input(timebank.approval_threshold_minutes),
            "time_zone": timebank.time_zone,
        },
    )


def _timebank_page(
    timebank_id: int,
    status: int = 200,
    settings_form: SettingsForm | None = None,
    appoint_form: AppointForm | None = None,
) -> ResponseReturnValue:
    session = db.session()
    admin = signed_in_member()
    timebank = service.get_timebank(session, admin, timebank_id)  # unknown: 404
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
            appoint_form=appoint_form,
            stand_down_form=StandDownForm(formdata=None),
            two_factor_form=TwoFactorRequirementForm(
                formdata=None, data={"required": timebank.coordinators_need_two_factor}
            ),
            reset_two_factor_form=ResetTwoFactorForm(formdata=None),
            coordinators=service.coordinators_of(session, admin, timebank.id),
            candidates=candidates,
            time_zones=sorted(service.known_time_zones()),
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
