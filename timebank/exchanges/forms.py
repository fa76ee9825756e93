"""Exchange and donation forms. Each checks what it can on its own (required fields, hours
typed the way people type them, dates typed day first and not in the future); the services
check the rest. Recording time shows the answers back in words before saving
(``CheckAnswersMixin``)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from ..date_input import DateInputField
from ..forms_common import EXAMPLES, HoursInputError, parse_hours_to_minutes


def new_request_key() -> str:
    """A fresh reference for a form, so sending it twice does the thing once."""
    return uuid.uuid4().hex


class CheckAnswersMixin:
    """GOV.UK's "check your answers": once a form is valid, its answers are shown back in words
    (the date as "Saturday 5 December 2026") and saved only when the person presses the save
    button under them (``answers=confirmed``); "Change something" (``answers=change``) opens the
    form again, still filled in. The template shows the check page while ``checking``."""

    _to_check = False

    def answers_confirmed(self) -> bool:
        """Call once the form is valid: True to save now; otherwise the page says the answers
        back (or, after "Change something", shows the form again)."""
        answer = request.form.get("answers", "")
        self._to_check = answer not in ("confirmed", "change")
        return answer == "confirmed"

    @property
    def checking(self) -> bool:
        """Show the check page: the answers are valid and wait for the save button. A refusal
        when saving (shown on the form) opens the form again instead."""
        errors: dict[str, Any] = getattr(self, "errors", {})
        return self._to_check and not errors


class KeyedForm(FlaskForm):
    request_key = HiddenField(
        validators=[DataRequired("This form is missing its reference. Please reload the page and try again.")]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.request_key.data:
            self.request_key.data = new_request_key()


class HoursMixin:
    """Turns the typed duration into minutes; the route sets ``granularity`` first."""

    granularity = 15
    minutes: int | None = None

    def _minutes(self, field: Field, *, required: str | None) -> None:
        if not (field.data or "").strip():
            if required:
                raise ValidationError(f"{required}, {EXAMPLES}.")
            self.minutes = None
            return
        try:
            self.minutes = parse_hours_to_minutes(field.data, self.granularity)
        except HoursInputError as error:
            raise ValidationError(error.message) from error


class ProposeForm(HoursMixin, KeyedForm):
    direction = RadioField(
        "Who will help whom?",
        choices=[SelectChoice("i_help", "I will help them"), SelectChoice("they_help", "They will help me")],
        validate_choice=False,  # checked below, only when the question is asked
    )
    message = TextAreaField(
        "Your message",
        validators=[DataRequired("Write a short message, for example when would suit you."), Length(max=2000)],
    )
    rough_hours = StringField("Roughly how long? (optional)", validators=[Optional(), Length(max=40)])

    # Set by the route when the direction follows from a listing, so the question is not asked.
    direction_fixed = False

    def validate_direction(self, field: Field) -> None:
        if not self.direction_fixed and field.data not in ("i_help", "they_help"):
            raise ValidationError("Choose whether you will help them or they will help you.")

    def validate_rough_hours(self, field: Field) -> None:
        self._minutes(field, required=None)


class RecordTimeForm(CheckAnswersMixin, HoursMixin, KeyedForm):
    performed_on = DateInputField(
        "When did the help happen?", validators=[InputRequired("Enter the date the help happened.")]
    )
    duration = StringField("How long did it take?", validators=[Length(max=40)])
    description = TextAreaField(
        "What was done?",
        validators=[DataRequired("Say briefly what was done."), Length(max=2000)],
    )

    # Set by the route: the timebank's today, so a date in the future is refused.
    today: date | None = None
    day: date | None = None

    def validate_performed_on(self, field: Field) -> None:
        self.day = field.data
        if self.day is not None and self.today is not None and self.day > self.today:
            raise ValidationError("The date cannot be in the future.")

    def validate_duration(self, field: Field) -> None:
        self._minutes(field, required="Enter how long it took")


class DirectRecordForm(RecordTimeForm):
    other_member = SelectField("Who was the exchange with?", coerce=int, validate_choice=True)
    direction = RadioField(
        "Who helped whom?",
        choices=[SelectChoice("i_helped", "I helped them"), SelectChoice("they_helped", "They helped me")],
        validators=[InputRequired("Choose who helped whom.")],
    )


class OrganisationForm(RecordTimeForm):
    direction = RadioField(
        "What was it?",
        choices=[
            SelectChoice("earn", "I helped the day service (I earn time credit)"),
            SelectChoice("spend", "I took part in something the day service ran for me (I spend time credit)"),
        ],
        validators=[InputRequired("Choose whether you helped or took part.")],
    )


class ReasonForm(FlaskForm):
    """Decline or cancel: a reason is welcome but not needed."""

    reason = TextAreaField("Reason (optional)", validators=[Optional(), Length(max=500)])


class RequiredReasonForm(FlaskForm):
    """Say the record is wrong, or refuse it: the others need to know why."""

    reason = TextAreaField(
        "Why?", validators=[DataRequired("Say why, so the others understand."), Length(max=500)]
    )


class SettleForm(FlaskForm):
    outcome = RadioField(
        "Your decision",
        choices=[
            SelectChoice("stand", "The hours stand: approve them"),
            SelectChoice("reject", "The hours do not stand: do not approve"),
        ],
        validators=[InputRequired("Choose whether the hours stand.")],
    )
    reason = TextAreaField("Note for the members", validators=[Length(max=500)])

    def validate_reason(self, field: Field) -> None:
        if self.outcome.data == "reject" and not (field.data or "").strip():
            raise ValidationError("Say why the hours do not stand, so the members understand.")


class ActionForm(FlaskForm):
    """A button that changes something: it only carries the CSRF token."""


class ApproveForm(FlaskForm):
    """Approve. Time the other side has not confirmed needs a reason (the service says so)."""

    reason = TextAreaField(
        "Why approve it before they confirm?",
        validators=[Optional(), Length(max=500, message="Keep the reason under 500 characters.")],
        render_kw={"rows": 3},
    )


class DonateForm(HoursMixin, KeyedForm):
    amount = StringField("How much time credit would you like to give?", validators=[Length(max=40)])
    note = TextAreaField("A note (optional)", validators=[Optional(), Length(max=300)])

    def validate_amount(self, field: Field) -> None:
        self._minutes(field, required="Enter how much time credit to give")
