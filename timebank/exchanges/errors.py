"""Exchange errors that are not ledger errors. The web and API layers map each to a status."""

from __future__ import annotations

from .states import InvalidTransition


class ExchangeError(Exception):
    code = "exchange_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # The form field the message is about, so a form can show it beside that field.
        self.field = field


class ExchangeNotFound(ExchangeError):
    code = "not_found"


class NotAllowed(ExchangeError):
    code = "forbidden"


class NeedsAnotherCoordinator(NotAllowed):
    """The decision would be on the decider's own benefit: another coordinator of the timebank,
    or an installation admin, must take it (403). See ``timebank/duties``."""

    code = "needs_another_coordinator"


class NotConfirmed(ExchangeError):
    """Approving time the other side has not confirmed: a separate, deliberate step that needs a
    reason (409 without one)."""

    code = "not_confirmed"


class InvalidExchange(ExchangeError):
    code = "invalid"


class Unavailable(ExchangeError):
    """What was asked for exists but cannot be used now (a closed offer, a suspended member)."""

    code = "unavailable"


__all__ = [
    "ExchangeError",
    "ExchangeNotFound",
    "InvalidExchange",
    "InvalidTransition",
    "NeedsAnotherCoordinator",
    "NotAllowed",
    "NotConfirmed",
    "Unavailable",
]
