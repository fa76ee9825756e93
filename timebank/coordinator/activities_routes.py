"""Group activity pages: the list, recording one (with its attendance list) and one activity
with what each attendee earned or spent. Thin: the rules are in ``coordinator/activities.py``."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from wtforms import SelectChoice

from .. import ledger
from ..auth.decorators import coordinator_required
from ..clock import today_in
from ..errors import status_for
from ..extensions import db
from ..hours import hours_in_words
from ..ids import URL_ID
from ..models import ActivityDirection, Member, Timebank
from ..timebanks.service import organisation_account
from ..web import show_error_on_form, signed_in_member
from . import activities
from .activity_forms import ActivityForm
from .routes import bp

# Rule breaks shown on the form rather than on a page of their own.
FORM_ERRORS: tuple[type[Exception], ...] = (
    activities.InvalidActivity,
    ledger.InvalidAmount,
    ledger.ExceedsFloor,
    ledger.ExceedsCap,
    ledger.ClosedPeriod,
    ledger.IdempotencyConflict,
)
FIELD_FOR_LEDGER_ERROR: dict[type[Exception], str] = {
    ledger.ClosedPeriod: "held_on",
    ledger.InvalidAmount: "duration",
    ledger.ExceedsFloor: "attendees",
    ledger.ExceedsCap: "attendees",
}


def _timebank(member: Member) -> Timebank:
    timebank = db.session.get(Timebank, member.timebank_id)
    assert timebank is not None
    return timebank


@bp.get("/activities")
@coordinator_required
def activities_list() -> ResponseReturnValue:
    rows = activities.activities_of(db.session(), signed_in_member())
    return render_template("coordinator/activities.html", rows=rows)


def _prepare(form: ActivityForm, coordinator: Member) -> tuple[str, dict[int, Member]]:
    session = db.session()
    timebank = _timebank(coordinator)
    organisation_name = organisation_account(session, timebank.id).name
    form.granularity = timebank.granularity_minutes
    form.today = today_in(timebank.time_zone)
    form.direction.choices = [
        SelectChoice(
            "earn",
            f"They gave their time, for example they ran the session or helped out. "
            f"Each person earns the hours from {organisation_name}.",
        ),
        SelectChoice(
            "spend",
            f"They took part in something {organisation_name} ran for them, for example a trip. "
            f"Each person spends the hours.",
        ),
    ]
    form.category.choices = [SelectChoice(0, "No category")] + [SelectChoice(c.id, c.name) for c in timebank.categories]
    people = activities.attendable_members(session, coordinator)
    form.attendees.choices = [SelectChoice(m.id, m.display_name) for m in people]
    return organisation_name, {m.id: m for m in people}


@bp.route("/activities/new", methods=["GET", "POST"])
@coordinator_required
def new_activity() -> ResponseReturnValue:
    coordinator = signed_in_member()
    form = ActivityForm()
    organisation_name, _people = _prepare(form, coordinator)
    if request.method == "GET" and form.held_on.data is None:
        form.held_on.data = form.today or today_in(_timebank(coordinator).time_zone)
    status = 200
    # "Show matching names" and "Tick everyone shown" send the form back as it is, with the list
    # narrowed or ticked: nothing is recorded, nothing typed is lost, no JavaScript needed.
    step = request.form.get("step", "record") if request.method == "POST" else "record"
    shown = form.shown_attendees()
    if step == "tick_shown":
        form.attendees.data = sorted(set(form.attendees.data or ()) | shown)
    if step == "record" and form.validate_on_submit() and form.answers_confirmed():
        assert form.day is not None and form.minutes is not None
        activity_request = activities.ActivityRequest(
            title=form.title.data or "",
            held_on=form.day,
            minutes=form.minutes,
            direction=ActivityDirection(form.direction.data),
            attendee_ids=tuple(form.attendees.data or ()),
            request_key=form.request_key.data or "",
            category_id=form.category.data or None,
        )
        try:
            activity = activities.record_activity(db.session(), coordinator, activity_request)
        except FORM_ERRORS as error:
            status = _show_on_form(form, error)
        else:
            count = len(activity_request.attendee_ids)
            people = "1 person" if count == 1 else f"{count} people"
            verb = "earned" if activity_request.direction == ActivityDirection.EARN else "spent"
            flash(
                f"Recorded “{activity.title}”: {people} {verb} {hours_in_words(activity.minutes)} each.",
                "success",
            )
            return redirect(url_for("coordinator.activity_detail", activity_id=activity.id))
    elif request.method == "POST" and step == "record" and form.errors:
        status = 422
    return (
        render_template("coordinator/activity_new.html", form=form, organisation_name=organisation_name, shown=shown),
        status,
    )


def _show_on_form(form: ActivityForm, error: Exception) -> int:
    name = getattr(error, "field", None) or FIELD_FOR_LEDGER_ERROR.get(type(error))
    show_error_on_form(form, getattr(error, "message", str(error)), name)
    return status_for(error)


@bp.get(f"/activities/<{URL_ID}:activity_id>")
@coordinator_required
def activity_detail(activity_id: int) -> ResponseReturnValue:
    session = db.session()
    activity = activities.get_activity(session, signed_in_member(), activity_id)
    attendees = sorted(activity.attendees, key=lambda a: (a.member.display_name.casefold(), a.member_id))
    return render_template(
        "coordinator/activity.html",
        activity=activity,
        attendees=attendees,
        recorded_by=activities.recorded_by(session, activity),
        organisation_name=organisation_account(session, activity.timebank_id).name,
    )
