"""The audit trail's search and filters (a GET form: nothing changes, so no CSRF)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from ..date_input import DateInputField
from .service import AuditFilters, FilterChoices


def _actor_id(value: object) -> int | None:
    """An actor's id; anything else fails the choice check (422) instead of widening the search."""
    if value in (None, "", "None"):
        return None
    return int(str(value))  # ValueError: WTForms reports "not a valid choice"


class AuditSearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200, message="Use 200 characters or fewer.")])
    action = SelectField("What was done", choices=[SelectChoice("", "Anything")], default="")
    actor = SelectField("Who did it", coerce=_actor_id, choices=[SelectChoice(None, "Anyone")])
    subject = SelectField("What it was done to", choices=[SelectChoice("", "Anything")], default="")
    date_from = DateInputField("From", validators=[Optional()])
    date_to = DateInputField("To", validators=[Optional()])

    def set_choices(self, choices: FilterChoices) -> None:
        self.action.choices = [
            SelectChoice("", "Anything"),
            *(SelectChoice(code, words) for code, words in choices.actions),
        ]
        self.actor.choices = [
            SelectChoice(None, "Anyone"),
            *(SelectChoice(value, label) for value, label in choices.actors),
        ]
        self.subject.choices = [
            SelectChoice("", "Anything"),
            *(SelectChoice(value, label) for value, label in choices.subject_types),
        ]

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.date_from.data and self.date_to.data and self.date_to.data < self.date_from.data:
            self.date_to.errors = [*self.date_to.errors, "The end date must be on or after the start date."]
            valid = False
        return valid

    def filters(self) -> AuditFilters:
        return AuditFilters(
            query=self.q.data or "",
            action=self.action.data or "",
            actor_id=self.actor.data,
            subject_type=self.subject.data or "",
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )
