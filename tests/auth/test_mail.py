"""timebank.mail: one function that sends plain-text-and-HTML mail through SMTP, or logs it in
development."""

from __future__ import annotations

import pytest

from timebank.mail import MailNotSent, send_email


def test_mail_goes_through_smtp_with_text_and_html_alternatives(app, smtp_inbox):
    text, html = "You gave 2 hours to Sam.", "<p>You gave <b>2 hours</b> to Sam.</p>"
    send_email(["sam@example.org", "kit@example.org"], "Your exchange", text, html)
    assert len(smtp_inbox.messages) == 1
    mail = smtp_inbox.messages[0]
    assert sorted(mail.envelope_to) == ["kit@example.org", "sam@example.org"]
    assert mail.envelope_from == "timebank@example.org"
    assert mail.message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in mail.message.iter_parts()]
    assert parts == ["text/plain", "text/html"]  # plain first: mail programs show the last they can
    assert mail.text.strip() == "You gave 2 hours to Sam."
    assert "<b>2 hours</b>" in mail.html
    assert mail.message["Message-ID"].endswith("@example.org>")


def test_plain_text_only_mail_is_not_multipart(app, smtp_inbox):
    send_email("sam@example.org", "Hello", "Just text.")
    assert smtp_inbox.messages[0].message.get_content_type() == "text/plain"


def test_without_a_mail_server_the_message_is_logged_not_sent(app, caplog):
    app.config["MAIL_SERVER"] = ""
    with caplog.at_level("INFO"):
        send_email("sam@example.org", "Logged subject", "Logged body")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Logged subject" in logged and "Logged body" in logged


def test_unreachable_server_raises_mail_not_sent(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False)
    with pytest.raises(MailNotSent):
        send_email("sam@example.org", "Hello", "Body")
