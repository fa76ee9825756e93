"""The coordinator's member pages: the member list, one member's page (profile, hours, limits,
recent exchanges, vetting record, private notes) and its actions, and registering a member who
has no email. Routes stay thin: parse the form, call ``members_service``, render or redirect."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from .. import clock
from ..auth.decorators import coordinator_required
from ..exchanges import views
from ..extensions import db
from ..hours import hours_for_editing
from ..ids import URL_ID
from ..members.profile import get_profile
from ..models import ContactPreference, DecisionRequest, Timebank
from ..web import requested_page, show_error_on_form, signed_in_member
from . import members_service as service
from .errors import CoordinatorError
from .members_forms import (
    LeftForm,
    LimitsForm,
    MemberSearchForm,
    NoteForm,
    ReactivateForm,
    RegisterMemberForm,
    SignOutMemberForm,
    SuspendForm,
)
from .routes import bp


def _timebank() -> Timebank:
    timebank = db.session.get(Timebank, signed_in_member().timebank_id)
    assert timebank is not None
    return timebank


@bp.get("/members")
@coordinator_required
def members() -> ResponseReturnValue:
    form = MemberSearchForm(formdata=request.args or MultiDict())
    status = 200
    if form.validate():
        filters = service.MemberFilters(status=form.chosen_status(), query=form.q.data or "")
    else:  # a search too long, or a status that does not exist: say so, and show everyone
        status = 422
        filters = service.MemberFilters()
    page = service.list_members(db.session(), signed_in_member(), filters, requested_page())
    return render_template("coordinator/members.html", form=form, page=page, status_words=service.STATUS_WORDS), status


def _member_page(member_id: int, status: int = 200, **forms: FlaskForm) -> ResponseReturnValue:
    session = db.session()
    coordinator = signed_in_member()
    picture = service.member_picture(session, coordinator, member_id)  # another timebank's: 404
    timebank = _timebank()
    limits_form = forms.get("limits_form")
    if limits_form is None and picture.account is not None:
        limits_form = LimitsForm(
            formdata=None,
            data={
                "floor": hours_for_editing(picture.account.own_floor),
                "cap": hours_for_editing(picture.account.own_cap),
            },
        )
    return (
        render_template(
            "coordinator/member.html",
            picture=picture,
            member=picture.member,
            profile=get_profile(session, coordinator, member_id),
            exchanges=[views.describe(e, coordinator, timebank.time_zone) for e in picture.recent_exchanges],
            status_words=service.STATUS_WORDS,
            note_form=forms.get("note_form") or NoteForm(formdata=None),
            limits_form=limits_form,
            suspend_form=forms.get("suspend_form") or SuspendForm(formdata=None),
            left_form=forms.get("left_form") or LeftForm(formdata=None),
            reactivate_form=ReactivateForm(formdata=None),
            sign_ins=service.sign_ins_of(session, coordinator, member_id, clock.now_utc()),
            sign_out_form=SignOutMemberForm(formdata=None),
        ),
        status,
    )


@bp.get(f"/members/<{URL_ID}:member_id>")
@coordinator_required
def member(member_id: int) -> ResponseReturnValue:
    return _member_page(member_id)


@bp.post(f"/members/<{URL_ID}:member_id>/notes")
@coordinator_required
def add_note(member_id: int) -> ResponseReturnValue:
    service.get_member(db.session(), signed_in_member(), member_id)  # another timebank's: 404 before anything else
    form = NoteForm()
    if not form.validate_on_submit():
        return _member_page(member_id, 422, note_form=form)
    try:
        service.add_note(db.session(), signed_in_member(), member_id, form.body.data or "")
    except CoordinatorError as error:
        if error.field is None:
            raise
        show_error_on_form(form, error.message, error.field)
        return _member_page(member_id, 422, note_form=form)
    flash("Your note is saved. Only coordinators can see it.", "success")
    return redirect(url_for("coordinator.member", member_id=member_id, _anchor="notes"))


@bp.post(f"/members/<{URL_ID}:member_id>/limits")
@coordinator_required
def member_limits(member_id: int) -> ResponseReturnValue:
    member = service.get_member(db.session(), signed_in_member(), member_id)
    form = LimitsForm()
    values = form.parsed(_timebank().granularity_minutes) if form.validate_on_submit() else None
    if values is None:
        return _member_page(member_id, 422, limits_form=form)
    try:
        outcome = service.set_limits(
            db.session(), signed_in_member(), member_id, floor_minutes=values[0], cap_minutes=values[1]
        )
    except CoordinatorError as error:
        if error.field is None:
            raise
        show_error_on_form(form, error.message, error.field)
        return _member_page(member_id, 422, limits_form=form)
    if isinstance(outcome, DecisionRequest):
        flash(
            "These are your own limits, so another coordinator or an administrator must approve the change. "
            "It is waiting for them now: your limits have not changed yet.",
            "success",
        )
        return redirect(url_for("coordinator.member", member_id=member_id, _anchor="hours"))
    flash(f"{member.display_name}’s limits are saved.", "success")
    return redirect(url_for("coordinator.member", member_id=member_id, _anchor="hours"))


@bp.post(f"/members/<{URL_ID}:member_id>/suspend")
@coordinator_required
def suspend_member(member_id: int) -> ResponseReturnValue:
    member = service.get_member(db.session(), signed_in_member(), member_id)
    form = SuspendForm()
    if not form.validate_on_submit():
        return _member_page(member_id, 422, suspend_form=form)
    try:
        service.suspend_member(db.session(), signed_in_member(), member_id, reason=form.reason.data or "")
    except CoordinatorError as error:
        if error.field is None:
            raise
        show_error_on_form(form, error.message, error.field)
        return _member_page(member_id, 422, suspend_form=form)
    flash(f"{member.display_name} is suspended. They cannot sign in, and they will see your reason.", "success")
    return redirect(url_for("coordinator.member", member_id=member_id))


@bp.post(f"/members/<{URL_ID}:member_id>/reactivate")
@coordinator_required
def reactivate_member(member_id: int) -> ResponseReturnValue:
    ReactivateForm().validate_on_submit()  # CSRF is checked for every POST by CSRFProtect
    member = service.reactivate_member(db.session(), signed_in_member(), member_id)
    flash(f"{member.display_name} is active again.", "success")
    return redirect(url_for("coordinator.member", member_id=member_id))


@bp.post(f"/members/<{URL_ID}:member_id>/sign-out")
@coordinator_required
def sign_member_out(member_id: int) -> ResponseReturnValue:
    SignOutMemberForm().validate_on_submit()  # CSRF is checked for every POST by CSRFProtect
    member, signed_out = service.sign_member_out(db.session(), signed_in_member(), member_id, clock.now_utc())
    flash(
        f"{member.display_name} is signed out of every device ({_count(signed_out.sessions, 'sign-in')} ended), "
        f"and {_count(signed_out.tokens, 'API token')} stopped working.",
        "success",
    )
    return redirect(url_for("coordinator.member", member_id=member_id, _anchor="sign-ins"))


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


@bp.post(f"/members/<{URL_ID}:member_id>/left")
@coordinator_required
def member_left(member_id: int) -> ResponseReturnValue:
    member = service.get_member(db.session(), signed_in_member(), member_id)
    form = LeftForm()
    if not form.validate_on_submit():
        return _member_page(member_id, 422, left_form=form)
    try:
        service.mark_left(db.session(), signed_in_member(), member_id, reason=form.reason.data or "")
    except CoordinatorError as error:
        if error.field is None:
            raise
        show_error_on_form(form, error.message, error.field)
        return _member_page(member_id, 422, left_form=form)
    flash(f"{member.display_name} is marked as having left. Their hours and history stay.", "success")
    return redirect(url_for("coordinator.member", member_id=member_id))


@bp.route("/members/new", methods=["GET", "POST"])
@coordinator_required
def register_member() -> ResponseReturnValue:
    """Register someone who has no email: the coordinator vets them in person and manages the
    account for them."""
    form = RegisterMemberForm()
    status = 200
    if form.validate_on_submit():
        try:
            new_member = service.register_member(
                db.session(),
                signed_in_member(),
                service.Registration(
                    display_name=form.display_name.data or "",
                    phone=form.phone.data,
                    area=form.area.data or "",
                    contact_preference=ContactPreference(form.contact_preference.data),
                    offers_text=form.offers_text.data or "",
                    wants_text=form.wants_text.data or "",
                    checks_note=form.checks_note.data or "",
                    request_key=form.request_key.data,
                ),
            )
        except CoordinatorError as error:
            if error.field is None:
                raise
            show_error_on_form(form, error.message, error.field)
            status = 422
        else:
            flash(f"{new_member.display_name} is registered and can take part through you.", "success")
            return redirect(url_for("coordinator.member", member_id=new_member.id))
    elif request.method == "POST":
        status = 422
    return render_template("coordinator/member_new.html", form=form), status
