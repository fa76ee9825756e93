"""The coordinator's exchange approvals: a queue of exchanges with hours reserved (oldest
first), narrowed by filters, and the decisions: approve, refuse with a reason, settle a
dispute, one by one (forms on the exchange's own page, ``exchanges/detail.html``) or many at
once (ticked in the queue: one form, each exchange decided in its own transaction, every
outcome reported). The decisions are the exchange service's.

The queue says which time the other side has not confirmed yet (bulk approval skips it;
approving one is its own step with a reason) and which items are the coordinator's own ("needs
another coordinator"), and lists the decision requests waiting in the timebank (``duties``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from ..auth.decorators import coordinator_required
from ..duties import service as duties
from ..exchanges import service as exchanges
from ..exchanges import views
from ..exchanges.errors import ExchangeError
from ..exchanges.forms import ActionForm, ApproveForm, RequiredReasonForm, SettleForm
from ..exchanges.routes import detail_page, show_on_form, timebank_of
from ..extensions import db
from ..ids import URL_ID
from ..members.directory import timebank_categories
from ..web import signed_in_member
from .acting_service import members_with_accounts
from .exchange_forms import BulkDecisionForm, QueueFilterForm
from .routes import bp


def _queue_page(bulk_form: BulkDecisionForm | None = None, status: int = 200) -> ResponseReturnValue:
    """The queue as the filters in the address ask; a filter that cannot be used is shown with
    its message (422) and the queue unfiltered."""
    coordinator = signed_in_member()
    session = db.session()
    zone = timebank_of(coordinator).time_zone
    filter_form = QueueFilterForm(formdata=request.args or MultiDict())
    filter_form.set_choices(members_with_accounts(session, coordinator), timebank_categories(session, coordinator))
    filters = exchanges.QueueFilters()
    if request.args:
        if filter_form.validate():
            filters = filter_form.filters()
        elif status == 200:
            status = 422
    timebank = timebank_of(coordinator)
    queue = [views.describe(e, coordinator, zone) for e in exchanges.approval_queue(session, coordinator, filters)]
    waiting = duties.waiting_requests(session, coordinator)
    return (
        render_template(
            "exchanges/coordinator_queue.html",
            queue=queue,
            requests=[duties.describe_request(r, coordinator, timebank) for r in waiting],
            timebank=timebank,
            filter_form=filter_form,
            filtered=filters != exchanges.QueueFilters(),
            bulk_form=bulk_form or BulkDecisionForm(formdata=None),
            action_form=ActionForm(formdata=None),
        ),
        status,
    )


def _queue_url() -> str:
    """The queue with the filters it was showing."""
    query = request.query_string.decode()
    return url_for("coordinator.exchanges_queue") + (f"?{query}" if query else "")


@bp.get("/exchanges")
@coordinator_required
def exchanges_queue() -> ResponseReturnValue:
    return _queue_page()


@bp.post("/exchanges/bulk")
@coordinator_required
def bulk_decide() -> ResponseReturnValue:
    """Approve, or refuse with one reason, every ticked exchange; a page of what happened to each."""
    form = BulkDecisionForm()
    if not form.validate_on_submit():
        return _queue_page(form, 422)
    try:
        outcomes = exchanges.bulk_decide(
            db.session(), signed_in_member(), form.exchange_ids.data, form.action.data or "", form.reason.data or ""
        )
    except ExchangeError as error:
        return _queue_page(form, show_on_form(form, error))
    return render_template(
        "coordinator/bulk_result.html",
        outcomes=outcomes,
        action=form.action.data,
        done=sum(1 for o in outcomes if o.done),
        unconfirmed=sum(1 for o in outcomes if o.skipped == exchanges.UNCONFIRMED),
        own=sum(1 for o in outcomes if o.skipped == exchanges.OWN),
        back=_queue_url(),
    )


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/approve")
@coordinator_required
def approve_exchange(exchange_id: int) -> ResponseReturnValue:
    """Approve. Time the other side has not confirmed is approved only with a reason (its own
    form on the exchange's page); without one the page says so (409) and nothing moves."""
    form = ApproveForm()
    if not form.validate_on_submit():
        return detail_page(exchange_id, 422, approve_form=form)
    try:
        exchange = exchanges.approve_exchange(
            db.session(), signed_in_member(), exchange_id, reason=form.reason.data or None
        )
    except ExchangeError as error:
        return detail_page(exchange_id, show_on_form(form, error), approve_form=form)
    flash(f"Approved: {exchange.provider_account.name} gets the time credits.", "success")
    return redirect(url_for("coordinator.exchanges_queue"))


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/reject")
@coordinator_required
def reject_exchange(exchange_id: int) -> ResponseReturnValue:
    form = RequiredReasonForm(prefix="reject")
    if not form.validate_on_submit():
        return detail_page(exchange_id, 422, reject_form=form)
    try:
        exchanges.reject_exchange(db.session(), signed_in_member(), exchange_id, form.reason.data or "")
    except ExchangeError as error:
        return detail_page(exchange_id, show_on_form(form, error), reject_form=form)
    flash("Not approved. The members will see your reason, and no time credits moved.", "success")
    return redirect(url_for("coordinator.exchanges_queue"))


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/settle")
@coordinator_required
def settle_exchange(exchange_id: int) -> ResponseReturnValue:
    form = SettleForm(prefix="settle")
    if not form.validate_on_submit():
        return detail_page(exchange_id, 422, settle_form=form)
    hours_stand = form.outcome.data == "stand"
    try:
        exchanges.settle_dispute(
            db.session(), signed_in_member(), exchange_id, hours_stand=hours_stand, reason=form.reason.data or ""
        )
    except ExchangeError as error:
        return detail_page(exchange_id, show_on_form(form, error), settle_form=form)
    if hours_stand:
        flash("Settled: the hours stand and the time credits have moved.", "success")
    else:
        flash("Settled: the hours do not stand. The members will see your reason.", "success")
    return redirect(url_for("coordinator.exchanges_queue"))
