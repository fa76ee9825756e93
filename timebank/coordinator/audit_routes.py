"""The audit trail pages: /coordinator/audit (a coordinator's own timebank) and /admin/audit (every
timebank, for installation admins), each with a streamed CSV export of the filtered events.

Both pages are read only; the rules (who sees which events, the search) are in
``timebank/audit/service.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from ..admin.routes import bp as admin_bp
from ..audit import service
from ..audit.forms import AuditSearchForm
from ..auth.decorators import admin_required, coordinator_required
from ..clock import now_utc
from ..extensions import db
from ..pagination import Page
from ..web import requested_page, signed_in_member
from .routes import bp

# The page that shows each kind of subject, and its URL parameter. Only pages the viewer can open:
# a coordinator opens their timebank's objects; an admin opens timebanks.
_COORDINATOR_LINKS = {
    "member": ("coordinator.member", "member_id"),
    "exchange": ("exchanges.detail", "exchange_id"),
    "listing": ("listings.show", "listing_id"),
    "activity": ("coordinator.activity_detail", "activity_id"),
}
_ADMIN_LINKS = {"timebank": ("admin.timebank", "timebank_id")}


def _subject_link(links: dict[str, tuple[str, str]]) -> Callable[[service.AuditRow], str | None]:
    def link(row: service.AuditRow) -> str | None:
        target = links.get(row.subject_type)
        if target is None or row.subject_id is None or target[0] not in current_app.view_functions:
            return None
        values: dict[str, Any] = {target[1]: row.subject_id}
        return url_for(target[0], **values)

    return link


@dataclass(frozen=True)
class _Trail:
    """One of the two audit pages."""

    installation: bool  # every timebank (admins) rather than the coordinator's own
    endpoint: str
    csv_endpoint: str
    back: str  # the page the "back" link leads to
    filename: str
    links: dict[str, tuple[str, str]]


COORDINATOR_TRAIL = _Trail(
    False, "coordinator.audit", "coordinator.audit_csv", "coordinator.index", "audit-trail", _COORDINATOR_LINKS
)
ADMIN_TRAIL = _Trail(True, "admin.audit", "admin.audit_csv", "admin.index", "audit-trail-all-timebanks", _ADMIN_LINKS)


def _form(trail: _Trail) -> tuple[AuditSearchForm, service.AuditFilters | None]:
    """The search form from the query string, and its filters (None when they do not make sense)."""
    form = AuditSearchForm(formdata=request.args or MultiDict())
    form.set_choices(service.filter_choices(db.session(), signed_in_member(), installation=trail.installation))
    if request.args and not form.validate():
        return form, None
    return form, form.filters()


def _csv_url(trail: _Trail) -> str:
    """The export of what the page shows: the same filters, every page."""
    values: dict[str, Any] = {key: value for key, value in request.args.items() if key != "page"}
    return url_for(trail.csv_endpoint, **values)


def _page(trail: _Trail) -> ResponseReturnValue:
    form, filters = _form(trail)
    if filters is None:  # shown with the error summary, and no results
        page: Page[service.AuditRow] = Page(items=[], page=1, per_page=service.PER_PAGE, total=0)
        status = 422
    else:
        page = service.search_events(
            db.session(),
            signed_in_member(),
            filters,
            requested_page(),
            installation=trail.installation,
        )
        status = 200
    return (
        render_template(
            "coordinator/audit.html",
            form=form,
            filters=filters or service.AuditFilters(),
            page=page,
            trail=trail,
            csv_url=_csv_url(trail) if filters is not None else None,
            subject_link=_subject_link(trail.links),
        ),
        status,
    )


def _csv(trail: _Trail) -> ResponseReturnValue:
    filters = _form(trail)[1]
    if filters is None:  # the page, with the error summary (422)
        return _page(trail)
    viewer = signed_in_member()
    service.check_csv_access(viewer, installation=trail.installation)
    lines = service.iter_events_csv(db.session(), viewer, filters, installation=trail.installation)
    filename = f"{trail.filename}-{now_utc():%Y-%m-%d}.csv"
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@bp.get("/audit")
@coordinator_required
def audit() -> ResponseReturnValue:
    return _page(COORDINATOR_TRAIL)


@bp.get("/audit.csv")
@coordinator_required
def audit_csv() -> ResponseReturnValue:
    return _csv(COORDINATOR_TRAIL)


@admin_bp.get("/audit", endpoint="audit")
@admin_required
def admin_audit() -> ResponseReturnValue:
    return _page(ADMIN_TRAIL)


@admin_bp.get("/audit.csv", endpoint="audit_csv")
@admin_required
def admin_audit_csv() -> ResponseReturnValue:
    return _csv(ADMIN_TRAIL)
