"""Route guards shared by every area."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user, login_required

P = ParamSpec("P")
R = TypeVar("R")


def coordinator_required(view: Callable[P, R]) -> Callable[P, R]:
    """Only an approved coordinator of a timebank may open the view.

    Signed-out visitors are sent to the sign-in page; signed-in members who are not
    coordinators get 403. Checking that the object belongs to the coordinator's own timebank
    is still the service's job.
    """

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_coordinator or current_user.timebank_id is None:
            abort(403)
        return view(*args, **kwargs)

    return login_required(wrapped)


def admin_required(view: Callable[P, R]) -> Callable[P, R]:
    """Only an installation admin may open the view: signed-out visitors are sent to sign in,
    everyone else (coordinators included) gets 403."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return login_required(wrapped)
