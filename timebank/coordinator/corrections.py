"""Corrections: reversing an approved exchange (a new transfer the other way, never an edit),
and granting hours from the community pool to a member in need. The rules are the services'
(``exchanges.service.reverse_exchange``, ``exchanges.grants``); these routes are thin."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from .. import ledger
from ..auth.decorators import coordinator_required
from ..exchanges import grants
from ..exchanges import service as exchanges
from ..exchanges.errors import ExchangeError
from ..exchanges.forms import RequiredReasonForm
from ..exchanges.routes import FORM_ERRORS, detail_page, show_on_form, timebank_of
from ..extensions import db
from ..hours import hours_in_words
from ..ids import URL_ID, is_storable_id
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
    chosen = request.args.get("member_id", "")
    if request.method == "GET" and chosen.isdigit() and is_storable_id(int(chosen)):
        form.member_id.data = int(chosen)
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
            transfer = grants.grant_from_pool(session, coordinator, grant)
        except FORM_ERRORS as error:
            status = show_on_form(form, error)
        else:
            flash(
                f"You gave {hours_in_words(transfer.amount_minutes)} from the community pool "
                f"to {transfer.credit_account.name}.",
                "success",
            )
            return redirect(url_for("coordinator.new_grant"))
    elif request.method == "POST":
        status = 422
    pool = grants.pool_for(session, coordinator)
    return (
        render_template("coordinator/grant.html", form=form, pool=pool, available=grants.pool_available(pool)),
        status,
    )
