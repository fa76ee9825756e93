"""Turning errors into clear pages with 4xx statuses, in one place (never a 500 for bad input)."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from . import ledger
from .admin import errors as admin_errors
from .api.errors import error_response, http_error_response, is_api_request
from .auth import errors as auth_errors
from .busy import answer_reads_only, busy_response
from .coordinator import activities as activity_service
from .coordinator import errors as coordinator_errors
from .coordinator import timesheets as timesheet_service
from .digest import errors as digest_errors
from .duties import errors as duty_errors
from .exchanges import errors as exchange_errors
from .extensions import db
from .forms_common import HoursInputError
from .input_guard import UnreadableInput
from .listings import errors as listing_errors
from .members import errors as profile_errors
from .notifications import errors as notification_errors
from .reports import errors as report_errors
from .statements import errors as statement_errors

# The status each typed error becomes. Anything a user can cause is a 4xx.
LEDGER_STATUS: dict[type[ledger.LedgerError], int] = {
    ledger.InvalidAmount: 422,
    ledger.InvalidIdempotencyKey: 400,
    ledger.SameAccount: 422,
    ledger.AccountNotFound: 404,
    ledger.TransferNotFound: 404,
    ledger.TimebankNotFound: 404,
    ledger.AccountsInDifferentTimebanks: 422,
    ledger.ExceedsFloor: 409,
    ledger.ExceedsCap: 409,
    ledger.IdempotencyConflict: 409,
    ledger.TransferNotPending: 409,
    ledger.PendingTransferAlreadyPosted: 409,
    ledger.PendingTransferAlreadyVoided: 409,
    ledger.TransferNotReversible: 409,
    ledger.TransferAlreadyReversed: 409,
    ledger.ReversalWithoutOriginal: 422,
    ledger.ClosedPeriod: 409,
    ledger.MonthNotOver: 409,
    ledger.EarlierMonthOpen: 409,
}

AUTH_STATUS: dict[type[Exception], int] = {
    auth_errors.InvalidApplication: 422,
    auth_errors.PasswordRejected: 422,
    auth_errors.TimebankNotJoinable: 404,
    auth_errors.ResetLinkInvalid: 400,
    auth_errors.TwoFactorConflict: 409,
    auth_errors.TwoFactorError: 422,
    auth_errors.InvalidSessionLimits: 422,
}

COORDINATOR_STATUS: dict[type[Exception], int] = {
    coordinator_errors.NotACoordinator: 403,
    coordinator_errors.ApplicationNotFound: 404,
    coordinator_errors.DecisionIncomplete: 422,
    coordinator_errors.ApplicationAlreadyDecided: 409,
    coordinator_errors.MemberNotFound: 404,
    coordinator_errors.InvalidMemberChange: 422,
    coordinator_errors.MemberStateConflict: 409,
    activity_service.ActivityNotFound: 404,
    activity_service.InvalidActivity: 422,
    timesheet_service.InvalidTimesheet: 422,
    timesheet_service.TimesheetAlreadyImported: 409,
    timesheet_service.TimesheetChanged: 409,
    timesheet_service.TimesheetRowRefused: 409,
}

EXCHANGE_STATUS: dict[type[Exception], int] = {
    exchange_errors.ExchangeNotFound: 404,
    exchange_errors.NotAllowed: 403,
    exchange_errors.InvalidExchange: 422,
    exchange_errors.NotConfirmed: 409,
    exchange_errors.InvalidTransition: 409,
    exchange_errors.Unavailable: 409,
}


PROFILE_STATUS: dict[type[Exception], int] = {
    profile_errors.MemberNotFound: 404,
    profile_errors.ProfileNotAllowed: 403,
    profile_errors.InvalidProfile: 422,
}

ADMIN_STATUS: dict[type[Exception], int] = {
    admin_errors.NotAnAdmin: 403,
    admin_errors.UnknownTimebank: 404,
    admin_errors.UnknownMember: 404,
    admin_errors.InvalidSettings: 422,
    admin_errors.CoordinatorConflict: 409,
}

LISTING_STATUS: dict[type[Exception], int] = {
    listing_errors.ListingNotFound: 404,
    listing_errors.ListingNotAllowed: 403,
    listing_errors.InvalidListing: 422,
    listing_errors.ListingStateConflict: 409,
}

DUTY_STATUS: dict[type[Exception], int] = {
    duty_errors.DecisionNotFound: 404,
    duty_errors.DecisionAlreadyTaken: 409,
    duty_errors.SelfApprovalNotAllowed: 409,
    duty_errors.InvalidDecision: 422,
}

DIGEST_STATUS: dict[type[Exception], int] = {
    digest_errors.UnsubscribeLinkInvalid: 400,
}


# Input parsing shared by the web forms and the JSON API (hours typed as text, API bodies).
INPUT_STATUS: dict[type[Exception], int] = {
    HoursInputError: 422,
    ValidationError: 422,
}


STATEMENT_STATUS: dict[type[Exception], int] = {
    statement_errors.StatementNotFound: 404,
    statement_errors.InvalidMonth: 422,
}


REPORT_STATUS: dict[type[Exception], int] = {
    report_errors.InvalidReportRequest: 422,
}


NOTIFICATION_STATUS: dict[type[Exception], int] = {
    notification_errors.NotificationNotFound: 404,
}


def known_status(error: Exception) -> int | None:
    """The status of a typed error from the tables above; None for anything else (a bug)."""
    for table in (
        LEDGER_STATUS,
        AUTH_STATUS,
        COORDINATOR_STATUS,
        EXCHANGE_STATUS,
        PROFILE_STATUS,
        LISTING_STATUS,
        DIGEST_STATUS,
        DUTY_STATUS,
        ADMIN_STATUS,
        INPUT_STATUS,
        STATEMENT_STATUS,
        REPORT_STATUS,
        NOTIFICATION_STATUS,
    ):
        for error_type, status in table.items():
            if isinstance(error, error_type):
                return status
    return None


def status_for(error: Exception) -> int:
    status = known_status(error)
    return 400 if status is None else status


def register(app: Flask) -> None:
    @app.errorhandler(ledger.LedgerError)
    @app.errorhandler(admin_errors.AdminError)
    @app.errorhandler(auth_errors.AuthError)
    @app.errorhandler(coordinator_errors.CoordinatorError)
    @app.errorhandler(exchange_errors.ExchangeError)
    @app.errorhandler(exchange_errors.InvalidTransition)
    @app.errorhandler(profile_errors.ProfileError)
    @app.errorhandler(listing_errors.ListingError)
    @app.errorhandler(digest_errors.DigestError)
    @app.errorhandler(duty_errors.DutyError)
    @app.errorhandler(report_errors.ReportError)
    @app.errorhandler(statement_errors.StatementError)
    @app.errorhandler(notification_errors.NotificationError)
    def _rule_broken(error: Exception) -> tuple[str, int]:
        db.session.rollback()
        answer_reads_only()  # error pages only read: never wait for the write lock (timebank/busy.py)
        message = getattr(error, "message", str(error))
        return render_template("errors/problem.html", message=message), status_for(error)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        answer_reads_only()
        message = "This form had expired or was sent twice. Please go back, reload the page and try again."
        return render_template("errors/problem.html", message=message), 400

    # Bad input refused at the edge (input_guard.py). Registered by class, so these answer for the
    # API's routes too (a handler for a status is found before the API blueprint's catch-all).
    @app.errorhandler(UnreadableInput)
    def _unreadable(error: UnreadableInput) -> ResponseReturnValue:
        if is_api_request():
            fields = {error.field: [error.message]} if error.field else {}
            return error_response(400, "unreadable_input", error.message, fields)
        return render_template("errors/problem.html", message=error.message), 400

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
        limit_kb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024
        message = f"What was sent is too large: a form or file can be at most {limit_kb} KB. Send less, or split it."
        if is_api_request():
            return error_response(413, "payload_too_large", message)
        return render_template("errors/problem.html", message=message), 413

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> ResponseReturnValue:
        if is_api_request():  # an unknown /api/ path or method: JSON, in the API's error shape
            return http_error_response(error)
        answer_reads_only()
        return render_template("errors/http.html", error=error), error.code or 500

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseReturnValue:
        if ledger.is_database_busy(error):  # after any retries: 503, never a 500
            return busy_response()
        db.session.rollback()
        answer_reads_only()
        app.logger.exception("Unexpected error")
        return render_template("errors/http.html", error=None), 500
