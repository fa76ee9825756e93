"""Errors from notifications. ``timebank.errors`` maps each to a status."""

from __future__ import annotations


class NotificationError(Exception):
    code = "notification_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotificationNotFound(NotificationError):
    """No such notification for this member (someone else's is "not found" too): 404."""

    code = "not_found"
