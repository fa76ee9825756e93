"""The public unsubscribe page of the weekly digest (``/unsubscribe/<token>``).

GET shows what the link will do and a button; POST turns the digest off. No sign-in and no CSRF
token: the signed token is the permission, and mail clients' one-click unsubscribe (RFC 8058,
a POST with ``List-Unsubscribe=One-Click``) sends neither a session nor a form token. All the
POST can do is switch one email off.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, make_response, render_template, request
from flask.typing import ResponseReturnValue

from ..extensions import csrf, db
from . import service
from .errors import UnsubscribeLinkInvalid

bp = Blueprint("digest", __name__)


def _private(page: str, status: int = 200) -> Response:
    response = make_response(page, status)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str) -> ResponseReturnValue:
    from ..errors import status_for

    secret_key = current_app.config["SECRET_KEY"]
    session = db.session()
    try:
        if request.method == "POST":
            member = service.unsubscribe(session, secret_key, token)
            return _private(render_template("digest/unsubscribed.html", member=member))
        member = service.member_for_token(session, secret_key, token)
    except UnsubscribeLinkInvalid as error:
        return _private(render_template("digest/link_problem.html", message=error.message), status_for(error))
    return _private(render_template("digest/unsubscribe.html", member=member, token=token))
