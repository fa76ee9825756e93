"""The group activity form. It checks what it can alone (a name, a real date not in the future,
hours typed the way people type them, who came); the activities service checks the rest."""

from __future__ import annotations

from datetime import date

from wtforms import Field, RadioField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..date_input import DateInputField
from ..exchanges.forms import CheckAnswersMixin, HoursMixin, KeyedForm
from .activities import MAX_TITLE


class ActivityForm(CheckAnswersMixin, HoursMixin, KeyedForm):
    title = StringField(
        "What was the activity called?",
        validators=[
            InputRequired("Give the activity a name, for example “Friday garden session”."),
            Length(max=MAX_TITLE, message=f"Keep the name under {MAX_TITLE} characters."),
        ],
    )
    held_on = DateInputField("When was it?", validators=[InputRequired("Enter the date of the activity.")])
    duration = StringField("How long was it, for each person?", validators=[Length(max=40)])
    # The labels name the organisation; the route fills them in.
    direction = RadioField(
        "What did the people who came do?",
        choices=[SelectChoice("earn", "They gave their time"), SelectChoice("spend", "They took part")],
        validators=[InputRequired("Choose whether the people who came earn or spend time credit.")],
    )
    category = SelectField("Category", coerce=int, validate_choice=True)
    attendees = SelectMultipleField(
        "Who came?",
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
        invalid_choice_message="Tick people from the list only; these are not members of your timebank: %(value)s.",
    )

    # Narrows the names shown (a page with 40 checkboxes is long on a phone); never recorded.
    find = StringField("Find people by name", validators=[Optional(), Length(max=100)])

    # Set by the route: the timebank's today, so a date in the future is refused.
    today: date | None = None
    day: date | None = None

    def validate_held_on(self, field: Field) -> None:
        self.day = field.data
        if self.day is not None and self.today is not None and self.day > self.today:
            raise ValidationError("The date cannot be in the future.")

    def validate_duration(self, field: Field) -> None:
        self._minutes(field, required="Enter how long it was")

    def shown_attendees(self) -> set[int]:
        """The people whose name holds every word typed in "Find people by name" (all, if none)."""
        words = (self.find.data or "").casefold().split()
        return {
            int(choice.value)
            for choice in self.attendees.iter_choices()
            if all(word in str(choice.label).casefold() for word in words)
        }

    def validate_attendees(self, field: Field) -> None:
        if not field.data:
            raise ValidationError("Tick everyone who came. At least one person is needed.")
