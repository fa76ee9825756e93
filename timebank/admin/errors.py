"""Errors from installation administration. ``timebank.errors`` maps each to a status."""

from __future__ import annotations


class AdminError(Exception):
    code = "admin_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field the message is about, so a form can show it beside that field.
        self.field = field


class NotAnAdmin(AdminError):
    """Only an installation admin may do this (403)."""

    code = "forbidden"


class UnknownTimebank(AdminError):
    """No such timebank (404)."""

    code = "not_found"


class UnknownMember(AdminError):
    """No such member in that timebank (404)."""

    code = "not_found"


class InvalidSettings(AdminError):
    """A timebank's name or settings cannot be used as given (422)."""

    code = "invalid"


class CoordinatorConflict(AdminError):
    """The member cannot be appointed or stood down now: not approved, already a coordinator,
    or the timebank's last coordinator (409)."""

    code = "conflict"


__all__ = ["AdminError", "CoordinatorConflict", "InvalidSettings", "NotAnAdmin", "UnknownMember", "UnknownTimebank"]
