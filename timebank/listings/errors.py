"""Listing errors. ``timebank.errors`` maps each to an HTTP status."""

from __future__ import annotations


class ListingError(Exception):
    code = "listing_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field the message belongs to, so a form can show it beside that field.
        self.field = field


class ListingNotFound(ListingError):
    """No such listing, or one the viewer may not see (another timebank, closed, hidden owner)."""

    code = "not_found"


class ListingNotAllowed(ListingError):
    code = "forbidden"


class InvalidListing(ListingError):
    code = "invalid"


class ListingStateConflict(ListingError):
    """The change does not fit the listing's state (pausing a closed listing, say)."""

    code = "conflict"
