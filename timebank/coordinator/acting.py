"""Acting for members: a coordinator adds a listing, records an exchange (a paper timesheet) or
proposes one on behalf of a member of their timebank who does not use the website. Every record
shows "Recorded by <coordinator> for <member>" (or "Proposed by ..."), and the audit trail names
both. The rules are the areas' own services; these routes are thin."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from ..auth.decorators import coordinator_required
from ..clock import today_in
from ..date_input import dates_confirmed
from ..exchanges import service as exchanges
from ..exchanges.routes import FORM_ERRORS, show_on_form, timebank_of
from ..extensions import db
from ..ids import URL_ID
from ..listings.errors import InvalidListing
from ..listings.forms import ListingForm, default_kind
from ..listings.service import create_listing
from ..members.directory import timebank_categories
from ..models import ExchangeStatus
from ..web import signed_in_member
from . import acting_service
from .exchange_forms import ActProposeForm, ActRecordForm, MemberPickForm
from .routes import bp


@bp.get("/act")
@coordinator_required
def act() -> ResponseReturnValue:
    """Choose the member to act for; then the things that can be done for them."""
    coordinator = signed_in_member()
    form = MemberPickForm(formdata=request.args or MultiDict())
    form.set_choices(acting_service.members_to_act_for(db.session(), coordinator))
    if request.args:
        if form.validate():
            assert form.member_id.data is not None
            return redirect(url_for("coordinator.act_for", member_id=form.member_id.data))
        return render_template("coordinator/act.html", form=form), 422
    return render_template("coordinator/act.html", form=form)


@bp.get(f"/act/<{URL_ID}:member_id>")
@coordinator_required
def act_for(member_id: int) -> ResponseReturnValue:
    member = acting_service.member_to_act_for(db.session(), signed_in_member(), member_id)
    return render_template("coordinator/act_for.html", member=member)


@bp.route(f"/act/<{URL_ID}:member_id>/listings/new", methods=["GET", "POST"])
@coordinator_required
def act_new_listing(member_id: int) -> ResponseReturnValue:
    coordinator = signed_in_member()
    session = db.session()
    member = acting_service.member_to_act_for(session, coordinator, member_id)
    timebank = timebank_of(coordinator)
    if request.method == "GET":
        form = ListingForm(formdata=None, data={"kind": default_kind(request.args.get("kind"))})
    else:
        form = ListingForm()
    form.set_choices(timebank_categories(session, coordinator), timebank.granularity_minutes)
    form.today = today_in(timebank.time_zone)
    status = 200
    if form.validate_on_submit() and dates_confirmed(form):
        try:
            listing = create_listing(session, coordinator, form.to_input(), owner_id=member.id)
        except InvalidListing as error:
            target = form.field_for(error.field)
            if target is not None:
                target.errors = [*target.errors, error.message]
            else:
                form.form_errors.append(error.message)
            status = 422
        else:
            flash(f"{member.display_name}’s {listing.kind.value} “{listing.title}” is now listed.", "success")
            return redirect(url_for("listings.show", listing_id=listing.id))
    elif request.method == "POST" and form.errors:
        status = 422
    return render_template("coordinator/act_listing.html", form=form, member=member), status


@bp.route(f"/act/<{URL_ID}:member_id>/record", methods=["GET", "POST"])
@coordinator_required
def act_record(member_id: int) -> ResponseReturnValue:
    """A paper timesheet line: help the member gave or got. A coordinator's record is approved
    at once, so the credits move now."""
    coordinator = signed_in_member()
    session = db.session()
    member = acting_service.member_to_act_for(session, coordinator, member_id)
    timebank = timebank_of(coordinator)
    # Opened from the member's page ("Record hours for Albert"): back to Albert afterwards.
    from_member_page = request.args.get("back") == "member"
    form = ActRecordForm()
    form.set_choices(member, acting_service.counterparts(session, coordinator, member))
    form.granularity = timebank.granularity_minutes
    form.today = today_in(timebank.time_zone)
    if request.method == "GET" and not form.performed_on.data:
        form.performed_on.data = form.today
    status = 200
    if form.validate_on_submit() and form.answers_confirmed():
        assert member.account is not None and form.other_account.data is not None
        assert form.day is not None and form.minutes is not None
        mine, theirs = member.account.id, form.other_account.data
        member_helped = form.direction.data == "member_helped"
        record = exchanges.RecordRequest(
            provider_account_id=mine if member_helped else theirs,
            recipient_account_id=theirs if member_helped else mine,
            minutes=form.minutes,
            performed_on=form.day,
            description=form.description.data or "",
            request_key=form.request_key.data or "",
            for_member_id=member.id,
        )
        try:
            exchange = exchanges.record_exchange(session, coordinator, record)
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            if exchange.status == ExchangeStatus.APPROVED:
                flash(f"Recorded for {member.display_name}, and approved: the time credits have moved.", "success")
            else:  # it involves the coordinator themselves: another coordinator decides it
                flash(
                    f"Recorded for {member.display_name}. It is your own exchange too, so it waits for another "
                    "coordinator or an administrator to approve it.",
                    "success",
                )
            if from_member_page:
                return redirect(url_for("coordinator.member", member_id=member.id, _anchor="exchanges"))
            return redirect(url_for("exchanges.detail", exchange_id=exchange.id))
    elif request.method == "POST" and form.errors:
        status = 422
    return (
        render_template("coordinator/act_record.html", form=form, member=member, from_member_page=from_member_page),
        status,
    )


@bp.route(f"/act/<{URL_ID}:member_id>/propose", methods=["GET", "POST"])
@coordinator_required
def act_propose(member_id: int) -> ResponseReturnValue:
    """Ask someone, for the member, whether they could help (or be helped). The other person
    answers as they would any proposal."""
    coordinator = signed_in_member()
    session = db.session()
    member = acting_service.member_to_act_for(session, coordinator, member_id)
    form = ActProposeForm()
    others = [m for m in acting_service.members_to_act_for(session, coordinator) if m.id != member.id]
    form.set_choices(member, others)
    form.granularity = timebank_of(coordinator).granularity_minutes
    status = 200
    if form.validate_on_submit():
        proposal = exchanges.ProposalRequest(
            request_key=form.request_key.data or "",
            message=form.message.data or "",
            member_id=form.other_member.data,
            actor_provides=form.direction.data == "member_helps",
            minutes=form.minutes,
            for_member_id=member.id,
        )
        try:
            exchange = exchanges.propose_exchange(session, coordinator, proposal)
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            flash(f"The proposal has gone, from {member.display_name}. You will see the answer here.", "success")
            return redirect(url_for("exchanges.detail", exchange_id=exchange.id))
    elif request.method == "POST":
        status = 422
    return render_template("coordinator/act_propose.html", form=form, member=member), status
