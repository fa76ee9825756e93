"""Sending email: one function for every message the service sends (password resets now,
notifications later).

Settings come from the Flask config: MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS (STARTTLS),
MAIL_USERNAME, MAIL_PASSWORD, MAIL_DEFAULT_SENDER, MAIL_TIMEOUT_SECONDS. When MAIL_SERVER is
empty (development) nothing is sent: the whole message is written to the application log, so a
developer can copy a reset link from the terminal.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


class MailNotSent(RuntimeError):
    """The SMTP server could not be reached or refused the message."""


def build_message(
    to: str | Sequence[str],
    subject: str,
    text_body: str,
    html_body: str | None = None,
    *,
    sender: str | None = None,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML as the richer alternative.
    ``headers`` adds extra headers (List-Unsubscribe for digests)."""
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise ValueError("An email needs at least one recipient.")
    message = EmailMessage()
    message["From"] = sender or current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=_sender_domain(message["From"]))
    if reply_to:
        message["Reply-To"] = reply_to
    for name, value in (headers or {}).items():
        # Extra headers such as List-Unsubscribe; the ones set above are not overridden.
        if name not in message:
            message[name] = value
    message.set_content(text_body)
    if html_body is not None:
        message.add_alternative(html_body, subtype="html")
    return message


def send_email(
    to: str | Sequence[str],
    subject: str,
    text_body: str,
    html_body: str | None = None,
    *,
    sender: str | None = None,
    reply_to: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """Send one message (or log it when no MAIL_SERVER is set). Returns the message built.

    Raises MailNotSent when the SMTP server cannot be reached or refuses the message; callers
    decide whether that matters to the person in front of them.
    """
    message = build_message(to, subject, text_body, html_body, sender=sender, reply_to=reply_to, headers=headers)
    config = current_app.config
    server = config.get("MAIL_SERVER") or ""
    if not server:
        current_app.logger.info(
            "Mail not sent (no MAIL_SERVER set); it would have been:\n%s", message.as_string()
        )
        return message
    port = int(config.get("MAIL_PORT", 587))
    timeout = float(config.get("MAIL_TIMEOUT_SECONDS", 15))
    try:
        with smtplib.SMTP(server, port, timeout=timeout) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            username = config.get("MAIL_USERNAME") or ""
            if username:
                smtp.login(username, config.get("MAIL_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        current_app.logger.warning("Could not send mail %r to %s: %s", subject, message["To"], error)
        raise MailNotSent(str(error)) from error
    return message


def _sender_domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rpartition("@")[2] or "localhost"
