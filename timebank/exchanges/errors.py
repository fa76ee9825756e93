"""Exchange errors that are not ledger errors. The web and API layers map each to a status."""

from __future__ import annotations

from .states import InvalidTransition


class ExchangeError(Exception):
    code = "exchange_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ExchangeNotFound(ExchangeError):
    code = "not_found"


class NotAllowed(ExchangeError):
    code = "forbidden"


class InvalidExchange(ExchangeError):
    code = "invalid"


__all__ = ["ExchangeError", "ExchangeNotFound", "InvalidExchange", "InvalidTransition", "NotAllowed"]
