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


class TwoFactorError(AuthError):
    """Something about two-factor sign-in that cannot be done as asked (422)."""

    code = "two_factor_error"


class WrongCode(TwoFactorError):
    """Not the authenticator app's current code, nor an unused recovery code (422)."""

    code = "invalid_two_factor_code"


class TwoFactorConflict(TwoFactorError):
    """Two-factor sign-in is already on, not on, or required and so cannot be turned off (409)."""

    code = "two_factor_conflict"


class InvalidSessionLimits(AuthError):
    """A timebank's sign-in limits outside their safe bounds (422)."""

    code = "invalid_session_limits"


__all__ = [
    "AuthError",
    "InvalidApplication",
    "InvalidSessionLimits",
    "PasswordRejected",
    "ResetLinkExpired",
    "ResetLinkInvalid",
    "TimebankNotJoinable",
    "TwoFactorConflict",
    "TwoFactorError",
    "WrongCode",
]
