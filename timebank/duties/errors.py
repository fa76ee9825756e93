"""Errors of decision requests. ``timebank.errors`` maps each to a status. (A decision on one's
own benefit is ``exchanges.errors.NeedsAnotherCoordinator``, 403, wherever it is refused.)"""

from __future__ import annotations


class DutyError(Exception):
    code = "duty_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class DecisionNotFound(DutyError):
    """No such request in a timebank the viewer may decide in (404)."""

    code = "not_found"


class DecisionAlreadyTaken(DutyError):
    """The request was decided or withdrawn already (409)."""

    code = "already_decided"


class InvalidDecision(DutyError):
    """Something the decision or the setting needs is missing or cannot be used (422)."""

    code = "invalid"


class SelfApprovalNotAllowed(DutyError):
    """Self-approval is only for a timebank with a single coordinator (409)."""

    code = "conflict"
