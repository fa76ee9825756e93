"""Forms of the notifications pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField


class EmailPreferencesForm(FlaskForm):
    email_when_action_needed = BooleanField("Email me when something needs me")
    email_exchange_updates = BooleanField("Email me when something happens to my exchanges")
    weekly_digest = BooleanField("Send me a weekly email of new offers and requests")


class MarkReadForm(FlaskForm):
    """Only the CSRF token: the buttons that mark notifications read."""
