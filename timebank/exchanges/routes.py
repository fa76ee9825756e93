"""Exchange and donation pages. Thin: read the form, call one service function, render or
redirect. Rule breaks the form can show (a date, a duration, not enough credit) are shown on the
form with its error summary; everything else goes to ``timebank.errors`` (404, 403, 409)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectChoice

from .. import ledger
from ..clock import today_in
from ..errors import status_for
from ..extensions import db
from ..hours import hours_in_words
from ..ids import URL_ID, parse_id
from ..models import ExchangeStatus, Member, MemberStatus, Timebank
from ..timebanks.service import organisation_account
from ..web import show_error_on_form
from . import donations, service, views
from .errors import ExchangeError, ExchangeNotFound, NotAllowed
from .forms import (
    ActionForm,
    ApproveForm,
    DirectRecordForm,
    DonateForm,
    OrganisationForm,
    ProposeForm,
    ReasonForm,
    RecordTimeForm,
    RequiredReasonForm,
    SettleForm,
)

bp = Blueprint("exchanges", __name__)

# Errors a form shows beside its fields rather than on a page of its own.
FORM_ERRORS: tuple[type[Exception], ...] = (
    ExchangeError,
    ledger.InvalidAmount,
    ledger.ExceedsFloor,
    ledger.ExceedsCap,
    ledger.ClosedPeriod,
)
FIELD_FOR_LEDGER_ERROR: dict[type[Exception], str] = {
    ledger.ClosedPeriod: "performed_on",
    ledger.InvalidAmount: "duration",
}


def me() -> Member:
    member: Member = current_user._get_current_object()
    if member.timebank_id is None or member.account is None or member.status != MemberStatus.APPROVED:
        abort(404)  # an installation admin outside any timebank has no exchanges
    return member


def timebank_of(member: Member) -> Timebank:
    timebank = db.session.get(Timebank, member.timebank_id)
    assert timebank is not None
    return timebank


def show_on_form(form: FlaskForm, error: Exception) -> int:
    """Put a service's message on the form (beside its field when it names one); the status."""
    if not isinstance(error, FORM_ERRORS) or isinstance(error, (ExchangeNotFound, NotAllowed)):
        raise error  # not about the form: timebank.errors turns it into its page and status
    name = getattr(error, "field", None) or FIELD_FOR_LEDGER_ERROR.get(type(error))
    show_error_on_form(form, getattr(error, "message", str(error)), name)
    return status_for(error)


# -- lists and detail ------------------------------------------------------------------------


@bp.get("/exchanges")
@login_required
def index() -> ResponseReturnValue:
    member = me()
    zone = timebank_of(member).time_zone
    described = [views.describe(e, member, zone) for e in service.exchanges_of(db.session(), member)]
    return render_template("exchanges/index.html", groups=views.grouped(described))


def detail_page(exchange_id: int, status: int = 200, **forms: FlaskForm) -> ResponseReturnValue:
    """The exchange page with the buttons the viewer may press (forms passed in keep their
    errors and input; the rest start empty). Also used by the coordinator's decisions."""
    member: Member = current_user._get_current_object()
    session = db.session()
    exchange = service.get_exchange(session, member, exchange_id)
    timebank = timebank_of(member)
    view = views.describe(exchange, member, timebank.time_zone)
    events = service.exchange_events(session, member, exchange_id)
    blank = {
        "action_form": ActionForm(formdata=None),
        "approve_form": ApproveForm(formdata=None),
        "ask_reversal_form": RequiredReasonForm(prefix="ask_reversal", formdata=None),
        "decline_form": ReasonForm(prefix="decline", formdata=None),
        "cancel_form": ReasonForm(prefix="cancel", formdata=None),
        "dispute_form": RequiredReasonForm(prefix="dispute", formdata=None),
        "reject_form": RequiredReasonForm(prefix="reject", formdata=None),
        "settle_form": SettleForm(prefix="settle", formdata=None),
        "reverse_form": RequiredReasonForm(prefix="reverse", formdata=None),
    }
    blank.update(forms)
    return (
        render_template(
            "exchanges/detail.html",
            view=view,
            exchange=exchange,
            history=views.history(events, member, timebank.time_zone),
            **blank,
        ),
        status,
    )


@bp.get(f"/exchanges/<{URL_ID}:exchange_id>")
@login_required
def detail(exchange_id: int) -> ResponseReturnValue:
    return detail_page(exchange_id)


# -- proposing -------------------------------------------------------------------------------


def _optional_int(name: str) -> int | None:
    value = request.args.get(name, "")
    if not value:
        return None
    chosen = parse_id(value)
    if chosen is None:
        abort(404)
    return chosen


@bp.route("/exchanges/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    member = me()
    session = db.session()
    listing_id, member_id = _optional_int("listing_id"), _optional_int("member_id")
    plan = service.plan_proposal(
        session, member, listing_id=listing_id, member_id=member_id, asking_for_help=request.args.get("ask") == "help"
    )
    form = ProposeForm()
    form.granularity = timebank_of(member).granularity_minutes
    form.direction_fixed = plan.actor_provides is not None
    status = 200
    if form.validate_on_submit():
        actor_provides = plan.actor_provides
        if actor_provides is None:
            actor_provides = form.direction.data == "i_help"
        proposal = service.ProposalRequest(
            request_key=form.request_key.data or "",
            message=form.message.data or "",
            member_id=plan.other.id,
            listing_id=listing_id,
            actor_provides=actor_provides,
            minutes=form.minutes,
        )
        try:
            exchange = service.propose_exchange(session, member, proposal)
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            flash(f"Your proposal has gone to {plan.other.display_name}. You will see their answer here.", "success")
            return redirect(url_for("exchanges.detail", exchange_id=exchange.id))
    elif request.method == "POST":
        status = 422
    return render_template("exchanges/new.html", form=form, plan=plan), status


def _answer(exchange_id: int, step: str) -> ResponseReturnValue:
    member = me()
    session = db.session()
    if step == "accept":
        if not ActionForm().validate_on_submit():
            abort(400)
        service.accept_exchange(session, member, exchange_id)
        flash("You said yes. Once the help has happened, record the time here.", "success")
    elif step == "confirm":
        if not ActionForm().validate_on_submit():
            abort(400)
        exchange = service.confirm_exchange(session, member, exchange_id)
        if exchange.status == ExchangeStatus.APPROVED:
            flash("Thank you. The time is confirmed and the time credits have moved.", "success")
        else:
            flash("Thank you. The time is confirmed; a coordinator will approve it.", "success")
    return redirect(url_for("exchanges.detail", exchange_id=exchange_id))


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/accept")
@login_required
def accept(exchange_id: int) -> ResponseReturnValue:
    return _answer(exchange_id, "accept")


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/confirm")
@login_required
def confirm(exchange_id: int) -> ResponseReturnValue:
    return _answer(exchange_id, "confirm")


def _answer_with_reason(
    exchange_id: int,
    step: str,
    form: ReasonForm | RequiredReasonForm,
    act: Callable[[Session, Member, int, str], object],
    done_message: str,
) -> ResponseReturnValue:
    """Decline, cancel or dispute: each takes a reason and shows its problems on its own form."""
    if not form.validate_on_submit():
        return detail_page(exchange_id, 422, **{f"{step}_form": form})
    try:
        act(db.session(), me(), exchange_id, form.reason.data or "")
    except ExchangeError as error:
        return detail_page(exchange_id, show_on_form(form, error), **{f"{step}_form": form})
    flash(done_message, "success")
    return redirect(url_for("exchanges.detail", exchange_id=exchange_id))


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/decline")
@login_required
def decline(exchange_id: int) -> ResponseReturnValue:
    return _answer_with_reason(
        exchange_id, "decline", ReasonForm(prefix="decline"), service.decline_exchange,
        "You said no. They will see your answer.",
    )


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/cancel")
@login_required
def cancel(exchange_id: int) -> ResponseReturnValue:
    return _answer_with_reason(
        exchange_id, "cancel", ReasonForm(prefix="cancel"), service.cancel_exchange,
        "The exchange is cancelled. No time credits moved.",
    )


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/dispute")
@login_required
def dispute(exchange_id: int) -> ResponseReturnValue:
    return _answer_with_reason(
        exchange_id, "dispute", RequiredReasonForm(prefix="dispute"), service.dispute_exchange,
        "Thank you for saying. A coordinator will look at it and decide.",
    )


# -- recording the time ------------------------------------------------------------------------


def _prepare(form: RecordTimeForm, timebank: Timebank) -> None:
    form.granularity = timebank.granularity_minutes
    form.today = today_in(timebank.time_zone)
    if request.method == "GET" and not form.performed_on.data:
        form.performed_on.data = form.today


def _time(form: RecordTimeForm) -> service.TimeRecord:
    assert form.day is not None and form.minutes is not None
    return service.TimeRecord(minutes=form.minutes, performed_on=form.day, description=form.description.data or "")


@bp.route(f"/exchanges/<{URL_ID}:exchange_id>/record", methods=["GET", "POST"])
@login_required
def record(exchange_id: int) -> ResponseReturnValue:
    member = me()
    session = db.session()
    exchange = service.get_exchange(session, member, exchange_id)
    view = views.describe(exchange, member, timebank_of(member).time_zone)
    form = RecordTimeForm()
    _prepare(form, timebank_of(member))
    if request.method == "GET" and exchange.description and not form.description.data:
        form.description.data = exchange.description
    status = 200
    # Nothing to check when it cannot be recorded now: the service says why (or, for a second
    # press after the record went through, finds it made).
    if form.validate_on_submit() and (form.answers_confirmed() or "record" not in view.actions):
        try:
            service.record_time(session, member, exchange_id, _time(form))
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            flash("The time is recorded. The other side will be asked to confirm it.", "success")
            return redirect(url_for("exchanges.detail", exchange_id=exchange_id))
    elif request.method == "POST" and form.errors:
        status = 422
    return render_template("exchanges/record.html", form=form, view=view, exchange=exchange), status


def _members_to_choose(member: Member) -> list[SelectChoice]:
    others = db.session.scalars(
        select(Member)
        .where(
            Member.timebank_id == member.timebank_id,
            Member.status == MemberStatus.APPROVED,
            Member.id != member.id,
        )
        .order_by(Member.display_name, Member.id)
    )
    people = [SelectChoice(str(m.id), m.display_name) for m in others if m.account is not None]
    return [SelectChoice("0", "Choose a person"), *people]


@bp.route("/exchanges/record", methods=["GET", "POST"])
@login_required
def record_direct() -> ResponseReturnValue:
    """Record help that already happened, without a proposal first."""
    member = me()
    session = db.session()
    timebank = timebank_of(member)
    form = DirectRecordForm()
    form.other_member.choices = _members_to_choose(member)
    _prepare(form, timebank)
    if request.method == "GET" and (chosen := _optional_int("member_id")):
        form.other_member.data = chosen
    status = 200
    if form.validate_on_submit() and form.other_member.data and form.answers_confirmed():
        other = session.get(Member, form.other_member.data)
        assert other is not None and other.account is not None and member.account is not None
        mine, theirs = member.account.id, other.account.id
        i_helped = form.direction.data == "i_helped"
        record_request = service.RecordRequest(
            provider_account_id=mine if i_helped else theirs,
            recipient_account_id=theirs if i_helped else mine,
            minutes=form.minutes or 0,
            performed_on=_time(form).performed_on,
            description=form.description.data or "",
            request_key=form.request_key.data or "",
        )
        try:
            exchange = service.record_exchange(session, member, record_request)
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            flash(f"The time is recorded. {other.display_name} will be asked to confirm it.", "success")
            return redirect(url_for("exchanges.detail", exchange_id=exchange.id))
    elif request.method == "POST" and (form.errors or not form.other_member.data):
        if not form.other_member.data and not form.other_member.errors:
            form.other_member.errors = [*form.other_member.errors, "Choose who the exchange was with."]
        status = 422
    return render_template("exchanges/record_direct.html", form=form), status


@bp.route("/exchanges/organisation", methods=["GET", "POST"])
@login_required
def organisation() -> ResponseReturnValue:
    """Person-to-agency: time with the organisation that runs the timebank."""
    member = me()
    session = db.session()
    timebank = timebank_of(member)
    organisation_name = organisation_account(session, timebank.id).name
    form = OrganisationForm()
    form.direction.choices = [
        SelectChoice("earn", f"I helped {organisation_name} (I earn time credit)"),
        SelectChoice("spend", f"I took part in something {organisation_name} ran for me (I spend time credit)"),
    ]
    form.performed_on.label.text = "When was it?"
    form.duration.label.text = "How long was it?"
    form.description.label.text = "What did you do?"
    _prepare(form, timebank)
    if request.method == "GET" and request.args.get("direction") in ("earn", "spend"):
        form.direction.data = request.args["direction"]
    status = 200
    if form.validate_on_submit() and form.answers_confirmed():
        try:
            exchange = service.record_with_organisation(
                session,
                member,
                member_earns=form.direction.data == "earn",
                record=_time(form),
                request_key=form.request_key.data or "",
            )
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            flash(f"The time is recorded. A coordinator will confirm it for {organisation_name}.", "success")
            return redirect(url_for("exchanges.detail", exchange_id=exchange.id))
    elif request.method == "POST" and form.errors:
        status = 422
    return render_template("exchanges/organisation.html", form=form, organisation_name=organisation_name), status


# -- donations -------------------------------------------------------------------------------


@bp.route("/donate", methods=["GET", "POST"])
@login_required
def donate() -> ResponseReturnValue:
    member = me()
    session = db.session()
    timebank = timebank_of(member)
    form = DonateForm()
    form.granularity = timebank.granularity_minutes
    status = 200
    if form.validate_on_submit():
        gift = donations.DonationRequest(
            minutes=form.minutes or 0, note=form.note.data or "", request_key=form.request_key.data or ""
        )
        try:
            donations.donate(session, member, gift)
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            flash(f"Thank you. You gave {hours_in_words(gift.minutes)} to the community pool.", "success")
            return redirect(url_for("dashboard.index"))
    elif request.method == "POST":
        status = 422
    assert member.account is not None
    return render_template("exchanges/donate.html", form=form, account=member.account, timebank=timebank), status
