"""GET /api/v1/reports/{YYYY-MM}: the monthly report as JSON and as CSV, for coordinators only.

The figures themselves are the reports service's (tested in tests/test_reports*.py); here: the
JSON carries them exactly (hours beside minutes), the CSV is the service's rows, and every
refusal is in the API's error shape. The autouse spec check validates each answer."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy.orm import Session

from timebank.clock import today_in
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.reports.service import monthly_report, report_csv_rows, set_hour_value


def _record_ninety_minutes(session: Session, world, on: date) -> None:  # type: ignore[no-untyped-def]
    """The coordinator records Alice helping Bob for 1 h 30 (approved at once)."""
    record_exchange(
        session,
        world.coordinator,
        RecordRequest(
            provider_account_id=world.alice.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=90,
            performed_on=on,
            description="Gardening",
            request_key="report-api-test-1",
            for_member_id=world.alice.id,
        ),
    )


def test_a_coordinator_reads_the_month_as_exact_json(api_world, session: Session) -> None:  # type: ignore[no-untyped-def]
    world = api_world.world
    today = today_in(world.timebank.time_zone)
    _record_ninety_minutes(session, world, today)
    month = f"{today:%Y-%m}"

    response = api_world.coordinator.get(f"/api/v1/reports/{month}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["month"] == month
    assert body["timebank_name"] == world.timebank.name
    assert body["complete"] is False  # the current month: figures so far
    assert body["figures"]["minutes"] == 90
    assert body["figures"]["hours"] == 1.5
    assert body["figures"]["exchanges"] == 1
    assert body["figures"]["active_participants"] == 2
    assert len(body["trend"]) == 12 and body["trend"][-1] == body["figures"]
    assert body["estimated_value"] is None  # no value of an hour set

    set_hour_value(session, world.coordinator, 1250)  # £12.50 an hour
    valued = api_world.coordinator.get(f"/api/v1/reports/{month}").get_json()
    assert valued["estimated_value"] == {"hour_value_pence": 1250, "value_pence": 1875, "previous_value_pence": 0}


def test_the_csv_is_the_report_pages_csv(api_world, session: Session) -> None:  # type: ignore[no-untyped-def]
    world = api_world.world
    today = today_in(world.timebank.time_zone)
    _record_ninety_minutes(session, world, today)

    response = api_world.coordinator.get(f"/api/v1/reports/{today:%Y-%m}", headers={"Accept": "text/csv"})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f"timebank-report-{today:%Y-%m}.csv" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    session.rollback()
    assert rows == report_csv_rows(monthly_report(session, world.coordinator, today))


def test_only_coordinators_read_reports(api_world, api_anonymous, validate_api_responses) -> None:  # type: ignore[no-untyped-def]
    month = f"{today_in(api_world.world.timebank.time_zone):%Y-%m}"
    refused = api_world.alice.get(f"/api/v1/reports/{month}")
    assert refused.status_code == 403
    assert set(refused.get_json()["error"]) == {"code", "message", "fields"}
    assert api_anonymous.get(f"/api/v1/reports/{month}").status_code == 401
    # Both answers went through the OpenAPI check (tests/api/spec_check.py).
    assert validate_api_responses.checked == 2 and validate_api_responses.problems == []


def test_a_month_that_is_not_a_month_or_has_not_started_is_refused_with_the_field_named(api_world) -> None:  # type: ignore[no-untyped-def]
    today = today_in(api_world.world.timebank.time_zone)
    next_year = f"{today.year + 1}-01"
    for month in ("2026-13", "march", "0000-01", next_year):
        response = api_world.coordinator.get(f"/api/v1/reports/{month}")
        assert response.status_code == 422, month
        error = response.get_json()["error"]
        assert error["code"] == "invalid" and "month" in error["fields"], month
