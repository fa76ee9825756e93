"""Notification emails: a short subject, and plain-text and HTML bodies from the templates in
``templates/email/``, with an absolute link to the thing (``PUBLIC_BASE_URL`` + the
notification's path) and a footer saying why the member got it and where to change that.

Rendered with a Jinja environment of its own (HTML autoescaped), not Flask's: the services that
queue these emails also run from the CLI, the scheduler and the demo, with or without an app
context. ``PUBLIC_BASE_URL`` comes from the app's config when there is one, else the
environment, else the development default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from flask import current_app, has_app_context
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..models import Member, Notification

DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
SETTINGS_PATH = "/notifications/settings"

# The subject line for each kind; anything else gets the general one.
SUBJECTS: dict[str, str] = {
    "exchange.proposed": "Someone has asked about an exchange",
    "exchange.accepted": "Your proposal was accepted",
    "exchange.declined": "Your proposal was declined",
    "exchange.cancelled": "An exchange was called off",
    "exchange.recorded": "Please confirm the time recorded",
    "exchange.confirmed": "An exchange is waiting for approval",
    "exchange.disputed": "An exchange was questioned",
    "exchange.settled": "A question about an exchange was settled",
    "exchange.approved": "Time credits have moved",
    "exchange.rejected": "An exchange was not approved",
    "exchange.reversed": "An exchange was reversed",
    "exchange.expired": "An exchange expired",
    "exchange.reminder": "Reminder: an exchange is waiting for you",
    "listing.paused": "Your offer or request has ended",
    "membership.approved": "Welcome: your application was approved",
    "membership.declined": "About your application to join",
}
GENERAL_SUBJECT = "News from your timebank"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def public_base_url() -> str:
    configured = current_app.config.get("PUBLIC_BASE_URL") if has_app_context() else None
    return str(configured or os.environ.get("PUBLIC_BASE_URL") or DEFAULT_PUBLIC_BASE_URL).rstrip("/")


@cache
def _environment() -> Environment:
    from .. import PROJECT_DIR

    return Environment(
        loader=FileSystemLoader(str(PROJECT_DIR / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def render(template: str, **context: object) -> str:
    return _environment().get_template(template).render(**context)


def absolute_url(path: str) -> str:
    """An address that works from an email: the public base URL and the path inside the app."""
    if path.startswith(("http://", "https://")):
        return path
    return public_base_url() + "/" + path.lstrip("/")


def why_sent(notification: Notification) -> str:
    """The footer's reason, matching the preference that let the email go out."""
    if notification.kind.startswith("membership."):
        return "You get this email because you applied to join a timebank."
    if notification.needs_action:
        return "You get this email because you asked to be told when something needs you."
    if notification.kind.startswith("exchange."):
        return "You get this email because you asked to be told what happens to your exchanges."
    return "You get this email because you asked for email updates from your timebank."


def render_notification_email(member: Member, notification: Notification) -> RenderedEmail:
    timebank_name = member.timebank.name if member.timebank is not None else "Timebank"
    subject = f"{SUBJECTS.get(notification.kind, GENERAL_SUBJECT)} – {timebank_name}"
    context = {
        "member": member,
        "notification": notification,
        "timebank_name": timebank_name,
        "link": absolute_url(notification.link) if notification.link else "",
        "settings_link": absolute_url(SETTINGS_PATH),
        "why": why_sent(notification),
        "can_change": not notification.kind.startswith("membership."),
    }
    return RenderedEmail(
        subject=subject,
        text=render("email/notification.txt", **context),
        html=render("email/notification.html", **context),
    )
