"""Errors from joining, signing in and passwords. ``timebank.errors`` maps each to a status."""

from __future__ import annotations


class AuthError(Exception):
    code = "auth_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field the message is about, so a form can show it beside that field.
        self.field = field


class InvalidApplication(AuthError):
    """An application to join that cannot be accepted as written (422)."""

    code = "invalid_application"


class EmailAlreadyRegistered(InvalidApplication):
    code = "email_taken"


class TimebankNotJoinable(AuthError):
    """No such timebank to apply to (404)."""

    code = "not_found"


class PasswordRejected(AuthError):
    """A new password that breaks the password rules, or a wrong current password (422)."""

    code = "password_rejected"


class ResetLinkInvalid(AuthError):
    """A password reset link that was altered, already used, or for nobody (400)."""

    code = "reset_link_invalid"


class ResetLinkExpired(ResetLinkInvalid):
    code = "reset_link_expired"


class InvalidSessionLimits(AuthError):
    """A timebank's sign-in limits outside their safe bounds (422)."""

    code = "invalid_session_limits"


__all__ = [
    "AuthError",
    "EmailAlreadyRegistered",
    "InvalidApplication",
    "InvalidSessionLimits",
    "PasswordRejected",
    "ResetLinkExpired",
    "ResetLinkInvalid",
    "TimebankNotJoinable",
]
