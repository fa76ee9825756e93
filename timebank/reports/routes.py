"""Report pages: a timebank's monthly report for its coordinators (page, CSV, PDF, and the
estimated value of an hour) and the network report for installation admins (page, CSV).

Thin: the figures and who may see them are in ``service.py``; the PDF in ``pdf.py``.
"""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..auth.decorators import admin_required, coordinator_required
from ..clock import previous_month, today_in
from ..extensions import db
from ..models import Timebank
from ..web import show_error_on_form, signed_in_member
from . import service, words
from .errors import InvalidReportRequest
from .forms import HourValueForm
from .pdf import monthly_report_pdf

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _timebank() -> Timebank:
    timebank = signed_in_member().timebank
    assert timebank is not None  # coordinator_required: a coordinator of a timebank
    return timebank


def _month(today: date, text: str | None = None) -> date:
    """The month asked for (?month=2026-03); by default the last complete month."""
    text = request.args.get("month", "") if text is None else text
    return service.parse_month(text) if text.strip() else previous_month(today)


def _monthly(text: str | None = None) -> service.MonthlyReport:
    today = today_in(_timebank().time_zone)
    return service.monthly_report(db.session(), signed_in_member(), _month(today, text), today=today)


def _download(data: bytes | str, mimetype: str, filename: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the BOM lets spreadsheet programs read UTF-8 names
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _report_page(report: service.MonthlyReport, form: HourValueForm, status: int = 200) -> ResponseReturnValue:
    return (
        render_template(
            "reports/monthly.html",
            report=report,
            form=form,
            words=words,
            months=service.month_choices(report.today),
        ),
        status,
    )


@bp.get("/monthly")
@coordinator_required
def monthly() -> ResponseReturnValue:
    report = _monthly()
    form = HourValueForm(formdata=None, month=f"{report.month:%Y-%m}")
    if report.hour_value_pence is not None:
        form.hour_value.data = service.format_pence(report.hour_value_pence).lstrip("£").replace(",", "")
    return _report_page(report, form)


@bp.get("/monthly.csv")
@coordinator_required
def monthly_csv() -> ResponseReturnValue:
    report = _monthly()
    filename = f"monthly-report-{_timebank().slug}-{report.month:%Y-%m}.csv"
    return _download(_csv_text(service.report_csv_rows(report)), "text/csv", filename)


@bp.get("/monthly.pdf")
@coordinator_required
def monthly_pdf() -> ResponseReturnValue:
    report = _monthly()
    filename = f"monthly-report-{_timebank().slug}-{report.month:%Y-%m}.pdf"
    web_page = url_for(".monthly", month=f"{report.month:%Y-%m}", _external=True)
    return _download(monthly_report_pdf(report, web_page), "application/pdf", filename)


@bp.post("/hour-value")
@coordinator_required
def hour_value() -> ResponseReturnValue:
    form = HourValueForm()
    month = (form.month.data or "").strip()
    try:
        service.parse_month(month) if month else None
    except InvalidReportRequest:
        month = ""  # a spoilt hidden field: go back to the default month
    if form.validate_on_submit():
        try:
            pence = service.hour_value_from_text(form.hour_value.data or "")
            service.set_hour_value(db.session(), signed_in_member(), pence)
        except InvalidReportRequest as error:
            show_error_on_form(form, error.message, error.field)
        else:
            if pence is None:
                flash("The value line is removed from the report.", "success")
            else:
                flash(f"Saved: one hour is valued at {service.format_pence(pence)} in the report.", "success")
            return redirect(url_for(".monthly", month=month or None))
    return _report_page(_monthly(month), form, 422)


# -- the network report (installation admins) ------------------------------------------------


def _network() -> service.NetworkReport:
    today = today_in(current_app.config.get("DEFAULT_TIME_ZONE", "Europe/London"))
    return service.network_report(db.session(), signed_in_member(), _month(today), today=today)


@bp.get("/network")
@admin_required
def network() -> ResponseReturnValue:
    report = _network()
    return render_template(
        "reports/network.html", report=report, months=service.month_choices(report.today), words=words
    )


@bp.get("/network.csv")
@admin_required
def network_csv() -> ResponseReturnValue:
    report = _network()
    filename = f"network-report-{report.month:%Y-%m}.csv"
    return _download(_csv_text(service.network_csv_rows(report)), "text/csv", filename)
