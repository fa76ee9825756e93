"""Errors from reports. ``timebank.errors`` maps each to a status."""

from __future__ import annotations


class ReportError(Exception):
    code = "report_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field the message is about, so a form can show it beside that field.
        self.field = field


class InvalidReportRequest(ReportError):
    """A month or a setting the report cannot use: a month not started yet, a value of an hour
    that is not whole pence or is out of range (422)."""

    code = "invalid"


__all__ = ["InvalidReportRequest", "ReportError"]
