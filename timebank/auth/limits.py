"""The sign-in limits: one budget per account and one per address, whichever way in is used.

Every way of proving who you are counts against the same two budgets (Flask-Limiter shared
limits, in its storage: memory:// for one process, Redis in production so every worker and
server counts together):

- the web sign-in form (``POST /login``),
- the API's token endpoint (``POST /api/v1/tokens``),
- the two-factor step after the password (``POST /login/two-factor``).

So a guesser gets five failures a minute (twenty an hour) at an account in all, not five at
each door. Only failures count against the account (a view calls ``note_failed_sign_in``), so
a member who signs in and out is never locked out; the address budget counts every attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar, cast

from flask import Response, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter
from ..members.service import normalise_email

LOGIN_LIMIT_PER_ACCOUNT = "5/minute;20/hour"
LOGIN_LIMIT_PER_ADDRESS = "30/minute"
# The storage scopes the budgets are counted under (shared by every sign-in route).
ACCOUNT_SCOPE = "sign-in-account"
ADDRESS_SCOPE = "sign-in-address"

# Marked on the request itself (its WSGI environ), which never outlives it.
_FAILED = "timebank.sign_in_failed"

F = TypeVar("F", bound=Callable[..., object])


def account_key(email: str | None) -> str:
    """The budget an email's account counts against, hashed so the store never holds addresses.
    Without an email the address's own key is used."""
    normalised = normalise_email(email)
    if not normalised:
        return f"address:{get_remote_address()}"
    return "email:" + hashlib.sha256(normalised.encode()).hexdigest()


def form_account_key() -> str:
    """The account named in a posted form's ``email`` field."""
    return account_key(request.form.get("email"))


def note_failed_sign_in() -> None:
    """This request was a wrong password or a wrong code: it counts against the account."""
    request.environ[_FAILED] = True


def _failed(_response: Response) -> bool:
    return bool(request.environ.get(_FAILED))


def sign_in_limits(key_func: Callable[[], str]) -> Callable[[F], F]:
    """Both sign-in budgets on a view; ``key_func`` finds the account the request is about."""
    per_address = limiter.shared_limit(LOGIN_LIMIT_PER_ADDRESS, scope=ADDRESS_SCOPE, methods=["POST"])
    per_account = limiter.shared_limit(
        LOGIN_LIMIT_PER_ACCOUNT, scope=ACCOUNT_SCOPE, key_func=key_func, methods=["POST"], deduct_when=_failed
    )

    def decorate(view: F) -> F:
        limited = per_address(per_account(view))
        return cast(F, limited)

    return decorate
