"""The emails this area sends, each rendered from a plain-text and an HTML template.

None is sent from a web request: the services queue them in the email outbox
(``notifications.service.queue_email``) and the scheduler's mail job sends them, so a request
takes as long whether or not it leads to an email (no account enumeration by timing).

Rendered with the notifications' own Jinja environment (no Flask), with links made from
``PUBLIC_BASE_URL``, never from the request's Host header (which a visitor chooses).
"""

from __future__ import annotations

from ..models import Member, Timebank
from ..notifications.emails import RenderedEmail, absolute_url, render
from .tokens import RESET_MAX_AGE_SECONDS

RESET_SUBJECT = "Reset your Timebank password"
NO_ACCOUNT_SUBJECT = "About resetting a Timebank password"
APPLICATION_RECEIVED_SUBJECT = "We have your application"
ALREADY_REGISTERED_SUBJECT = "Someone tried to join with your email address"

SIGN_IN_PATH = "/login"
FORGOT_PASSWORD_PATH = "/forgot-password"
JOIN_PATH = "/join"


def reset_path(token: str) -> str:
    return f"/reset-password/{token}"


def _rendered(template: str, subject: str, **context: object) -> RenderedEmail:
    return RenderedEmail(
        subject=subject,
        text=render(f"auth/email/{template}.txt", **context),
        html=render(f"auth/email/{template}.html", **context),
    )


def password_reset(member: Member, token: str) -> RenderedEmail:
    return _rendered(
        "reset_password",
        RESET_SUBJECT,
        member=member,
        link=absolute_url(reset_path(token)),
        valid_minutes=RESET_MAX_AGE_SECONDS // 60,
    )


def no_account(address: str) -> RenderedEmail:
    """The answer to a forgot-password request for an address nobody signs in with."""
    return _rendered(
        "no_account",
        NO_ACCOUNT_SUBJECT,
        address=address,
        forgot_link=absolute_url(FORGOT_PASSWORD_PATH),
        join_link=absolute_url(JOIN_PATH),
    )


def application_received(member: Member, timebank: Timebank) -> RenderedEmail:
    return _rendered(
        "application_received",
        APPLICATION_RECEIVED_SUBJECT,
        member=member,
        timebank=timebank,
        sign_in_link=absolute_url(SIGN_IN_PATH),
    )


def already_registered(member: Member, timebank: Timebank) -> RenderedEmail:
    """To the owner of an email address someone tried to join with."""
    return _rendered(
        "already_registered",
        ALREADY_REGISTERED_SUBJECT,
        member=member,
        timebank=timebank,
        sign_in_link=absolute_url(SIGN_IN_PATH),
        forgot_link=absolute_url(FORGOT_PASSWORD_PATH),
    )
