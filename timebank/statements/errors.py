"""Typed errors of the statements area; their HTTP statuses are in timebank/errors.py."""

from __future__ import annotations


class StatementError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StatementNotFound(StatementError):
    """No such statement, month or member for this viewer (another member's, another timebank's)."""


class InvalidMonth(StatementError):
    """A month to close that is missing or not written as YYYY-MM."""
