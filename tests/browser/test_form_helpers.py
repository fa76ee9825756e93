"""The shared form macros (templates/_form_helpers.html) in a real browser: every kind of field,
shown with its errors, passes axe-core, each line of the error summary leads to its field by
keyboard, and choices are large targets - so every form built with them starts accessible."""

from __future__ import annotations

from typing import Any

import pytest
from flask import render_template_string
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from tests.browser.conftest import (
    LiveServer,
    check_accessibility,
    has_no_horizontal_scroll,
    screenshot,
    use_phone_width,
)

pytestmark = pytest.mark.browser


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class _EveryKindOfField(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Enter a title.")])
    kind = RadioField(
        "Is this an offer or a request?",
        choices=[
            SelectChoice("offer", "An offer: something I can do"),
            SelectChoice("request", "A request: something I would like"),
        ],
        validators=[DataRequired("Choose offer or request.")],
    )
    days = _Checkboxes(
        "When are you usually free?",
        choices=[SelectChoice("mon", "Monday"), SelectChoice("tue", "Tuesday"), SelectChoice("wed", "Wednesday")],
        validators=[DataRequired("Choose at least one day.")],
    )
    description = TextAreaField("Description")
    show_area = BooleanField("Show my area to other members")


PAGE = """{% extends "base.html" %}
{% from "_form_helpers.html" import error_summary, field %}
{% block title %}Form helpers{% endblock %}
{% block content %}
  <h1>Every kind of field</h1>
  {{ error_summary(form) }}
  <form method="post" novalidate>
    {{ form.hidden_tag() }}
    {{ field(form.title, hint="A few words, like 'Help with the garden'.") }}
    {{ field(form.kind) }}
    {{ field(form.days, hint="Tick every day that usually suits you.") }}
    {{ field(form.description) }}
    {{ field(form.show_area, hint="Only your neighbourhood, never your address.") }}
    <button type="submit" class="button">Save</button>
  </form>
{% endblock %}"""


def _form_page_with_errors(live_server: LiveServer) -> str:
    """The macros rendered by the real app (its base template and CSS), after a failed submit."""
    with live_server.app.test_request_context("/", method="POST", data={}):
        form = _EveryKindOfField()
        form.validate()
        form.form_errors.append("Some details are missing.")
        return render_template_string(PAGE, form=form)


@pytest.fixture
def form_page(page: Any, live_server: LiveServer) -> Any:
    html = _form_page_with_errors(live_server)
    page.route("**/form-helpers", lambda route: route.fulfill(status=422, body=html, content_type="text/html"))
    page.goto("/form-helpers")
    return page


def _active_id(page: Any) -> str:
    value: str = page.evaluate("document.activeElement.id")
    return value


def test_every_kind_of_field_with_errors_passes_axe_on_desktop_and_phone(form_page: Any):
    page = form_page
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    screenshot(page, "form-with-errors")
    check_accessibility(page, "form-with-errors")
    use_phone_width(page)
    assert has_no_horizontal_scroll(page)
    screenshot(page, "form-with-errors-phone")
    check_accessibility(page, "form-with-errors-phone")


def test_error_summary_takes_focus_and_each_link_leads_to_its_field_by_keyboard(form_page: Any):
    page = form_page
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    summary = page.locator(".error-summary")
    expected = {
        "Some details are missing.": "title",  # a message about the whole form leads to its first field
        "Enter a title.": "title",
        "Choose offer or request.": "kind",
        "Choose at least one day.": "days",
    }
    for message, field_id in expected.items():
        summary.get_by_role("link", name=message).focus()
        page.keyboard.press("Enter")
        assert _active_id(page) == field_id, f"{message!r} led to {_active_id(page)!r}, not {field_id!r}"


def test_choices_are_grouped_under_a_legend_and_are_large_targets(form_page: Any):
    page = form_page
    group = page.get_by_role("group", name="Is this an offer or a request?")
    assert group.get_by_role("radio").count() == 2
    assert page.get_by_role("group", name="When are you usually free?").get_by_role("checkbox").count() == 3
    # Each option is labelled, and its row (box and label together) is at least 44 px tall.
    for name in ("An offer: something I can do", "Monday", "Show my area to other members"):
        control = page.get_by_label(name)
        assert control.count() == 1
        row = control.locator("xpath=..").bounding_box()
        assert row is not None and row["height"] >= 44, f"{name!r} is only {row and row['height']}px tall"
    # Clicking the label ticks the box: the label is part of the target.
    page.get_by_text("Tuesday").click()
    assert page.get_by_label("Tuesday").is_checked()
    # The group's hint and error are read with it.
    described = page.get_by_role("group", name="When are you usually free?").get_attribute("aria-describedby")
    assert described == "days-hint days-error"
