"""The coordinator's exchange approvals: a queue of exchanges with hours reserved (oldest
first), and the decisions: approve, refuse with a reason, settle a dispute. The decisions are
the exchange service's; the forms live on the exchange's own page (``exchanges/detail.html``).
Filters and bulk approval come later (issue 4)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..auth.decorators import coordinator_required
from ..exchanges import service as exchanges
from ..exchanges import views
from ..exchanges.errors import ExchangeError
from ..exchanges.forms import ActionForm, RequiredReasonForm, SettleForm
from ..exchanges.routes import detail_page, show_on_form, timebank_of
from ..extensions import db
from ..ids import URL_ID
from ..models import Member
from .routes import bp


def _coordinator() -> Member:
    member: Member = current_user._get_current_object()
    return member


@bp.get("/exchanges")
@coordinator_required
def exchanges_queue() -> ResponseReturnValue:
    coordinator = _coordinator()
    zone = timebank_of(coordinator).time_zone
    queue = [views.describe(e, coordinator, zone) for e in exchanges.approval_queue(db.session(), coordinator)]
    return render_template("exchanges/coordinator_queue.html", queue=queue, action_form=ActionForm(formdata=None))


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/approve")
@coordinator_required
def approve_exchange(exchange_id: int) -> ResponseReturnValue:
    ActionForm().validate_on_submit()  # CSRF is checked for every POST by CSRFProtect
    exchange = exchanges.approve_exchange(db.session(), _coordinator(), exchange_id)
    flash(f"Approved: {exchange.provider_account.name} gets the time credits.", "success")
    return redirect(url_for("coordinator.exchanges_queue"))


@bp.post(f"/exchanges/<{URL_ID}:exchange_id>/reject")
@coordinator_required
def reject_exchange(exchange_id: int) -> ResponseReturnValue:
    form = RequiredReasonForm(prefix="reject")
    if not form.validate_on_submit():
        return detail_page(exchange_id, 422, reject_form=form)
    try:
        exchanges.reject_exchange(db.session(), _coordinator(), exchange_id, form.reason.data or "")
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
            db.session(), _coordinator(), exchange_id, hours_stand=hours_stand, reason=form.reason.data or ""
        )
    except ExchangeError as error:
        return detail_page(exchange_id, show_on_form(form, error), settle_form=form)
    if hours_stand:
        flash("Settled: the hours stand and the time credits have moved.", "success")
    else:
        flash("Settled: the hours do not stand. The members will see your reason.", "success")
    return redirect(url_for("coordinator.exchanges_queue"))
