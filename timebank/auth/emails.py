"""The emails this area sends, each rendered from a plain-text and an HTML template."""

from __future__ import annotations

from flask import render_template, url_for

from ..mail import send_email
from ..models import Member
from .tokens import RESET_MAX_AGE_SECONDS

RESET_SUBJECT = "Reset your Timebank password"


def send_password_reset(member: Member, token: str) -> None:
    assert member.email is not None
    link = url_for("auth.reset_password", token=token, _external=True)
    context = {"member": member, "link": link, "valid_minutes": RESET_MAX_AGE_SECONDS // 60}
    send_email(
        member.email,
        RESET_SUBJECT,
        render_template("auth/email/reset_password.txt", **context),
        render_template("auth/email/reset_password.html", **context),
    )
