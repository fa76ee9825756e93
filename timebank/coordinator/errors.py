"""Errors from coordinator tools. ``timebank.errors`` maps each to a status."""

from __future__ import annotations


class CoordinatorError(Exception):
    code = "coordinator_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field the message is about, so a form can show it beside that field.
        self.field = field


class NotACoordinator(CoordinatorError):
    """Only a coordinator of the timebank may do this (403)."""

    code = "forbidden"


class ApplicationNotFound(CoordinatorError):
    """No such application in the coordinator's own timebank (404)."""

    code = "not_found"


class DecisionIncomplete(CoordinatorError):
    """The decision is missing something it needs: the checks confirmed, or a reason (422)."""

    code = "invalid"


class ApplicationAlreadyDecided(CoordinatorError):
    """The application was approved or declined already (409)."""

    code = "conflict"


class MemberNotFound(CoordinatorError):
    """No such member in the coordinator's own timebank (404)."""

    code = "not_found"


class InvalidMemberChange(CoordinatorError):
    """A change to a member that cannot be made as asked: a missing reason, limits that do not
    fit the member's balance, a note too long (422)."""

    code = "invalid"


class MemberStateConflict(CoordinatorError):
    """The member's status does not allow this (suspending someone already suspended) (409)."""

    code = "conflict"


__all__ = [
    "ApplicationAlreadyDecided",
    "ApplicationNotFound",
    "CoordinatorError",
    "DecisionIncomplete",
    "InvalidMemberChange",
    "MemberNotFound",
    "MemberStateConflict",
    "NotACoordinator",
]
