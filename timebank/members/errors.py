"""Profile and directory errors. ``timebank.errors`` maps each to an HTTP status."""

from __future__ import annotations


class ProfileError(Exception):
    code = "profile_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field the message belongs to, so a form can show it beside that field.
        self.field = field


class MemberNotFound(ProfileError):
    """No such member, or one the viewer may not see (another timebank, not yet approved)."""

    code = "not_found"


class ProfileNotAllowed(ProfileError):
    code = "forbidden"


class InvalidProfile(ProfileError):
    code = "invalid"
