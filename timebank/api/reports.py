"""``GET /api/v1/reports/{YYYY-MM}``: the timebank's monthly report, as JSON or (``Accept:
text/csv``) as the same CSV the report page offers. Coordinators only.

The figures, who may read them and what a month may be all come from
``reports.service`` (``parse_month``, ``monthly_report``, ``report_csv_rows``); this module only
says how they look in JSON: minutes as exact hours beside the integer minutes, months as
``YYYY-MM``.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask import Response, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, fields

from ..extensions import db
from ..reports import service as reports
from .auth import current_api_member, token_required
from .blueprint import bp
from .schemas import Hours
from .spec import documented

MONTH_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$"
CSV = "text/csv"
JSON = "application/json"


class Month(fields.Field):
    """A month (its first day) as ``YYYY-MM``."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "pattern": MONTH_PATTERN, "examples": ["2026-03"], **kwargs.pop("metadata", {})}
        super().__init__(dump_only=True, metadata=metadata, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{value:%Y-%m}"


class ReportFiguresSchema(Schema):
    """The headline figures of one month."""

    month = Month(required=True)
    hours = Hours(attribute="minutes", required=True, metadata={"description": "Hours exchanged, net of reversals."})
    minutes = fields.Integer(dump_only=True, required=True, metadata={"description": "The same, in minutes."})
    person_to_person_hours = Hours(
        attribute="person_to_person_minutes", required=True, metadata={"description": "Between two members."}
    )
    person_to_person_minutes = fields.Integer(dump_only=True, required=True)
    person_to_agency_hours = Hours(
        attribute="person_to_agency_minutes", required=True, metadata={"description": "With the organisation."}
    )
    person_to_agency_minutes = fields.Integer(dump_only=True, required=True)
    group_activity_hours = Hours(
        attribute="group_activity_minutes", required=True, metadata={"description": "At group activities."}
    )
    group_activity_minutes = fields.Integer(dump_only=True, required=True)
    exchanges = fields.Integer(dump_only=True, required=True, metadata={"description": "Exchanges approved."})
    activities = fields.Integer(dump_only=True, required=True, metadata={"description": "Group activities held."})
    active_participants = fields.Integer(
        dump_only=True, required=True, metadata={"description": "Members who gave or received help."}
    )
    new_members = fields.Integer(dump_only=True, required=True)
    leaving_members = fields.Integer(dump_only=True, required=True)
    requests_made = fields.Integer(dump_only=True, required=True)
    requests_met = fields.Integer(dump_only=True, required=True)
    requests_unmet = fields.Integer(dump_only=True, required=True)


class ReportCategorySchema(Schema):
    name = fields.String(dump_only=True, required=True)
    hours = Hours(attribute="minutes", required=True)
    minutes = fields.Integer(dump_only=True, required=True)


class ReciprocitySchema(Schema):
    active_members = fields.Integer(
        dump_only=True, required=True, metadata={"description": "Members active in the last three months."}
    )
    both_ways = fields.Integer(
        dump_only=True, required=True, metadata={"description": "Of them, who gave and received."}
    )
    percent = fields.Integer(
        dump_only=True, required=True, allow_none=True, metadata={"description": "The share, rounded; null if nobody."}
    )


class EstimatedValueSchema(Schema):
    """Hours x a value of one hour the coordinators set: an estimate for funders, not money."""

    hour_value_pence = fields.Integer(dump_only=True, required=True)
    value_pence = fields.Integer(dump_only=True, required=True)
    previous_value_pence = fields.Integer(dump_only=True, required=True)


class SelfApprovalSchema(Schema):
    """A timebank with a single coordinator may let them approve their own items (an explicit,
    audited setting); the report says whether it was on in the month and how many they approved."""

    was_on = fields.Boolean(
        dump_only=True, required=True, metadata={"description": "On at any moment of the month."}
    )
    items_self_approved = fields.Integer(
        dump_only=True,
        required=True,
        metadata={"description": "Exchanges, grants, limits and reversals the coordinator approved for themselves."},
    )


class MonthlyReportSchema(Schema):
    timebank_id = fields.Integer(dump_only=True, required=True)
    timebank_name = fields.String(dump_only=True, required=True)
    organisation_name = fields.String(dump_only=True, required=True)
    month = Month(required=True)
    complete = fields.Boolean(
        dump_only=True, required=True, metadata={"description": "False while the month is still going on."}
    )
    figures = fields.Nested(ReportFiguresSchema, dump_only=True, required=True)
    previous = fields.Nested(ReportFiguresSchema, dump_only=True, required=True)
    trend = fields.List(
        fields.Nested(ReportFiguresSchema),
        dump_only=True,
        required=True,
        metadata={"description": "The last twelve months, oldest first, ending with this one."},
    )
    categories = fields.List(fields.Nested(ReportCategorySchema), dump_only=True, required=True)
    reciprocity = fields.Nested(ReciprocitySchema, dump_only=True, required=True)
    requests_matched = fields.Integer(dump_only=True, required=True)
    median_hours_to_match = Hours(
        attribute="median_minutes_to_match",
        required=True,
        allow_none=True,
        metadata={"description": "From a request to its first match."},
    )
    median_minutes_to_match = fields.Integer(dump_only=True, required=True, allow_none=True)
    estimated_value = fields.Nested(
        EstimatedValueSchema,
        dump_only=True,
        required=True,
        allow_none=True,
        metadata={"description": "Only when the coordinators set a value of one hour."},
    )
    self_approval = fields.Nested(SelfApprovalSchema, dump_only=True, required=True)


def report_json(report: reports.MonthlyReport) -> dict[str, Any]:
    def figures(f: reports.Figures) -> dict[str, Any]:
        return {**vars(f), "requests_unmet": f.requests_unmet}

    value = None
    if report.hour_value_pence is not None:
        value = {
            "hour_value_pence": report.hour_value_pence,
            "value_pence": report.value_pence,
            "previous_value_pence": report.previous_value_pence,
        }
    dumped: dict[str, Any] = MonthlyReportSchema().dump(
        {
            "timebank_id": report.timebank_id,
            "timebank_name": report.timebank_name,
            "organisation_name": report.organisation_name,
            "month": report.month,
            "complete": not report.is_partial,
            "figures": figures(report.figures),
            "previous": figures(report.previous),
            "trend": [figures(f) for f in report.trend],
            "categories": [vars(category) for category in report.categories],
            "reciprocity": {**vars(report.reciprocity), "percent": report.reciprocity.percent},
            "requests_matched": report.requests_matched,
            "median_minutes_to_match": report.median_minutes_to_match,
            "estimated_value": value,
            "self_approval": {
                "was_on": report.self_approval.was_on,
                "items_self_approved": len(report.self_approval.items),
            },
        }
    )
    return dumped


def report_csv(report: reports.MonthlyReport) -> Response:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(reports.report_csv_rows(report))
    response = Response(buffer.getvalue(), mimetype=CSV)
    response.headers["Content-Disposition"] = f'attachment; filename="timebank-report-{report.month:%Y-%m}.csv"'
    return response


@bp.get("/reports/<month>")
@documented(
    summary="The timebank's monthly report",
    description="Coordinators only. Send `Accept: text/csv` for the CSV the report page offers. "
    "The current month gives its figures so far (`complete` is false); a month not started yet is refused.",
    tags=["Reports"],
    responses={200: MonthlyReportSchema, 403: None, 422: None},
    content={CSV: {"schema": {"type": "string"}}},
    path={"month": {"type": "string", "pattern": MONTH_PATTERN, "examples": ["2026-03"]}},
)
@token_required
def monthly_report(month: str) -> ResponseReturnValue:
    viewer = current_api_member()
    first_day: date = reports.parse_month(month)
    report = reports.monthly_report(db.session(), viewer, first_day)
    if request.accept_mimetypes.best_match([JSON, CSV]) == CSV:
        return report_csv(report)
    return report_json(report)
