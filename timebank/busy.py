"""Requests and a busy database (docs/ARCHITECTURE.md, "Locking"): never a 500, never a lost write.

- Every request is a unit of work (``ledger.locking.unit_of_work``): GET, HEAD and OPTIONS only
  read, so their SQLite transactions begin DEFERRED and never wait for a writer; every other
  method may write, so each of its transactions begins IMMEDIATE, holding the write lock from its
  BEGIN (SQLite refuses a transaction that began as a read and then writes, at once).
- A view that meets a busy database having committed no write is run again, a bounded number of
  times with a short backoff (``ledger.busy.run_again_when_busy``).
- What remains is a 503 with ``Retry-After``: in the API's error shape, or a page that keeps
  what was typed (a button that sends the same form again). The handler is the app's own, so no
  route can answer 500 for "database is locked".
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, g, make_response, render_template, request

from .api.errors import error_response, is_api_request
from .extensions import db
from .ledger.busy import is_database_busy, run_again_when_busy
from .ledger.locking import current_unit, unit_of_work

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER_SECONDS = 2
BUSY_CODE = "database_busy"
BUSY_MESSAGE = "The service is busy just now and did not do this. Send the same request again in a few seconds."
_UNIT = "timebank_unit_of_work"


def register(app: Flask) -> None:
    """Call after every blueprint is registered (the views are wrapped as they are now)."""
    # First of the before-request hooks: nothing may read before the unit says how to begin.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_unit)
    app.teardown_request(_end_unit)
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = _run_again_when_busy(view)


def _begin_unit() -> None:
    stack = ExitStack()
    stack.enter_context(unit_of_work(writes=request.method not in SAFE_METHODS))
    setattr(g, _UNIT, stack)


def _end_unit(_error: BaseException | None) -> None:
    stack = g.pop(_UNIT, None)
    if stack is None:
        return
    if request.method not in SAFE_METHODS:
        # Let go of the write lock the request's last transaction may hold now, not when the app
        # context ends (the same moment in a server; later in tests, which share one context).
        db.session.rollback()
    stack.close()


def _run_again_when_busy(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return run_again_when_busy(lambda: view(*args, **kwargs), reset=db.session.rollback)

    return wrapped


@dataclass(frozen=True)
class Resend:
    """The form that met a busy database, to send again as it was typed."""

    action: str
    fields: list[tuple[str, str]]


def _resendable_form() -> Resend | None:
    """The posted form, when it can be sent again from hidden fields: not a file upload (a
    browser cannot be handed a file back), and never a password (it would sit in the page)."""
    if request.method in SAFE_METHODS or request.mimetype not in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return None
    if any(upload.filename for upload in request.files.values()):
        return None
    fields = list(request.form.items(multi=True))
    if not fields or any("password" in name.lower() for name, _value in fields):
        return None
    return Resend(action=request.full_path.rstrip("?"), fields=fields)


def answer_reads_only() -> None:
    """What is left of this request only reads (an error page, after the rollback): its
    transactions begin DEFERRED, so the answer never waits for the write lock (or 500s on it)."""
    unit = current_unit()
    if unit is not None:
        unit.writes = False


def busy_response() -> Response:
    """503 with Retry-After for a request that met a busy database (after any retries)."""
    db.session.rollback()
    unit = current_unit()
    nothing_saved = unit is None or unit.committed_writes == 0
    answer_reads_only()
    current_app.logger.warning("Database busy: %s %s answered 503", request.method, request.path)
    if is_api_request():
        response = error_response(503, BUSY_CODE, BUSY_MESSAGE)
    else:
        page = render_template(
            "errors/busy.html",
            nothing_saved=nothing_saved,
            resend=_resendable_form() if nothing_saved else None,
            sent_a_form=request.method not in SAFE_METHODS,
        )
        response = make_response(page, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["RETRY_AFTER_SECONDS", "SAFE_METHODS", "answer_reads_only", "busy_response", "is_database_busy", "register"]
