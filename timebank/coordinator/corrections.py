"""Corrections: reversing an approved exchange (a new transfer the other way, never an edit),
and granting hours from the community pool to a member in need. The rules are the services'
(``exchanges.service.reverse_exchange``, ``exchanges.grants``); these routes are thin. A
coordinator's own grant or reversal waits for another coordinator (``duties``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from .. import ledger
from ..auth.decorators import coordinator_required
from ..duties import service as duties
from ..exchanges import grants
from ..exchanges import service as exchanges
from ..exchanges.errors import ExchangeError
from ..exchanges.forms import RequiredReasonForm
from ..exchanges.routes import FORM_ERRORS, detail_page, show_on_form, timebank_of
from ..extensions import db
from ..hours import hours_in_words
from ..ids import URL_ID, parse_id
from ..models import DecisionRequest
from ..web import signed_in_member
from .exchange_forms import GrantForm
from .routes import bp

# A reversal the ledger refuses (below the provider's floor, above the recipient's cap, or a
# closed month) is shown on the reverse form, with its 409.
REVERSE_FORM_ERRORS = (ExchangeError, ledger.ExceedsFloor, ledger.ExceedsCap, ledger.ClosedPeriod)


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/reverse")
@coordinator_required
def reverse_exchange(exchange_id: int) -> ResponseReturnValue:
    form = RequiredReasonForm(prefix="reverse")
    if not form.validate_on_submit():
        return detail_page(exchange_id, 422, reverse_form=form)
    try:
        exchange = exchanges.reverse_exchange(db.session(), signed_in_member(), exchange_id, form.reason.data or "")
    except REVERSE_FORM_ERRORS as error:
        return detail_page(exchange_id, show_on_form(form, error), reverse_form=form)
    flash(
        f"Reversed: {exchange.provider_account.name} gave back {hours_in_words(exchange.minutes or 0)} "
        f"to {exchange.recipient_account.name}. Both will see your reason.",
        "success",
    )
    return redirect(url_for("exchanges.detail", exchange_id=exchange_id))


@bp.route("/grants/new", methods=["GET", "POST"])
@coordinator_required
def new_grant() -> ResponseReturnValue:
    """Hours from the community pool for a member in need."""
    coordinator = signed_in_member()
    session = db.session()
    timebank = timebank_of(coordinator)
    form = GrantForm()
    form.granularity = timebank.granularity_minutes
    form.set_choices(grants.members_to_grant(session, coordinator))
    chosen = parse_id(request.args.get("member_id"))
    if request.method == "GET" and chosen is not None:
        form.member_id.data = chosen
    status = 200
    if form.validate_on_submit():
        assert form.member_id.data is not None and form.minutes is not None
        grant = grants.GrantRequest(
            member_id=form.member_id.data,
            minutes=form.minutes,
            reason=form.reason.data or "",
            request_key=form.request_key.data or "",
        )
        try:
            outcome = grants.grant_from_pool(session, coordinator, grant)
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            if isinstance(outcome, DecisionRequest):
                flash(
                    f"This grant of {hours_in_words(outcome.minutes or 0)} is for you, so another coordinator "
                    "or an administrator must approve it. It is waiting for them now: nothing has moved yet.",
                    "success",
                )
                return redirect(url_for("coordinator.exchanges_queue", _anchor="requests"))
            flash(
                f"You gave {hours_in_words(outcome.amount_minutes)} from the community pool "
                f"to {outcome.credit_account.name}.",
                "success",
            )
            return redirect(url_for("coordinator.new_grant"))
    elif request.method == "POST":
        status = 422
    pool = grants.pool_for(session, coordinator)
    return (
        render_template(
            "coordinator/grant.html",
            form=form,
            pool=pool,
            available=grants.pool_available(pool),
            self_approval=timebank.allow_self_approval,
        ),
        status,
    )


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/ask-reversal")
@coordinator_required
def request_reversal(exchange_id: int) -> ResponseReturnValue:
    """A coordinator's own approved exchange: they ask another coordinator to reverse it."""
    form = RequiredReasonForm(prefix="ask_reversal")
    if not form.validate_on_submit():
        return detail_page(exchange_id, 422, ask_reversal_form=form)
    try:
        duties.request_reversal(db.session(), signed_in_member(), exchange_id, form.reason.data or "")
    except ExchangeError as error:
        return detail_page(exchange_id, show_on_form(form, error), ask_reversal_form=form)
    flash(
        "It is your own exchange, so another coordinator or an administrator decides whether to reverse it. "
        "Your request is waiting for them.",
        "success",
    )
    return redirect(url_for("exchanges.detail", exchange_id=exchange_id))
