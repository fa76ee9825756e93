"""Digest errors. ``timebank.errors`` maps each to an HTTP status."""

from __future__ import annotations


class DigestError(Exception):
    code = "digest_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsubscribeLinkInvalid(DigestError):
    """The link was changed, cut short, or made for another installation."""

    code = "invalid_link"
