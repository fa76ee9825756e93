"""The coordinator's dashboard page (read only): what needs action first, then the timebank's
health, with charts drawn on the server. The numbers come from ``coordinator/dashboard.py``."""

from __future__ import annotations

from datetime import date

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..auth.decorators import coordinator_required
from ..clock import today_in
from ..extensions import db
from ..models import Member
from ..web import requested_page
from . import dashboard as service
from .routes import bp


def _coordinator_and_today() -> tuple[Member, date]:
    """The signed-in coordinator and their timebank's today (the dashboard's "now")."""
    coordinator: Member = current_user._get_current_object()
    assert coordinator.timebank is not None  # coordinator_required: a coordinator of a timebank
    return coordinator, today_in(coordinator.timebank.time_zone)


def _page_number() -> int:
    return requested_page()


@bp.get("/dashboard")
@coordinator_required
def dashboard() -> ResponseReturnValue:
    coordinator, today = _coordinator_and_today()
    return render_template(
        "coordinator/dashboard.html",
        board=service.build_coordinator_dashboard(db.session(), coordinator, today),
        settings=service,
    )


@bp.get("/dashboard/outreach")
@coordinator_required
def outreach() -> ResponseReturnValue:
    """Every participant on the dashboard's outreach list, a page at a time."""
    coordinator, today = _coordinator_and_today()
    return render_template(
        "coordinator/outreach.html",
        page=service.outreach_page(db.session(), coordinator, today, _page_number()),
        settings=service,
    )


@bp.get("/dashboard/stale-requests")
@coordinator_required
def stale_requests() -> ResponseReturnValue:
    """Every request on the dashboard's list of requests waiting for an answer, a page at a time."""
    coordinator, today = _coordinator_and_today()
    return render_template(
        "coordinator/stale_requests.html",
        page=service.stale_requests_page(db.session(), coordinator, today, _page_number()),
        settings=service,
    )


@bp.get("/dashboard/near-limits")
@coordinator_required
def near_limits() -> ResponseReturnValue:
    """Every member on the dashboard's list of members near their floor or cap, a page at a time."""
    coordinator: Member = current_user._get_current_object()
    return render_template(
        "coordinator/near_limits.html",
        page=service.near_limits_page(db.session(), coordinator, _page_number()),
        settings=service,
    )
