"""Small helpers every area's routes share: who is signed in, and putting a service's message
on a form. Routes only; services never import this."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from flask_wtf import FlaskForm

from .models import Member
from .pagination import MAX_PAGE


def signed_in_member() -> Member:
    """The signed-in member as the model itself (not Flask-Login's proxy), for services."""
    member: Member = current_user._get_current_object()
    return member


def requested_page() -> int:
    """The ``?page=`` asked for: a whole number in ASCII digits, at most ``MAX_PAGE``; anything
    else is the first page (and a page past the end is moved to the last by the services)."""
    digits = request.args.get("page", "").strip()
    if not (digits.isascii() and digits.isdigit()):
        return 1
    digits = digits.lstrip("0") or "0"
    return MAX_PAGE if len(digits) > len(str(MAX_PAGE)) else max(1, min(int(digits), MAX_PAGE))


def show_error_on_form(form: FlaskForm, message: str, field_name: str | None = None) -> None:
    """Show a message beside the field it is about, or at the top of the form."""
    field = getattr(form, field_name, None) if field_name else None
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)
