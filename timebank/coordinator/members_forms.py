"""Forms for the coordinator's member pages: the member list's filters, notes, limits,
suspending and leaving, and registering a member who has no email."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, SelectField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..exchanges.forms import KeyedForm
from ..forms_common import HoursInputError, parse_signed_hours_to_minutes
from ..members.profile import CONTACT_LABELS, MAX_AREA, MAX_TEXT
from ..models import ContactPreference, MemberStatus
from .members_service import LIMIT_MAX_MINUTES, NAME_MAX, NOTE_MAX, REASON_MAX, STATUS_WORDS
from .service import CHECKS_NOTE_MAX


class MemberSearchForm(FlaskForm):
    """GET filters: no CSRF (nothing changes)."""

    class Meta:
        csrf = False

    q = StringField(
        "Name, email or phone", validators=[Optional(), Length(max=100, message="Keep the search short.")]
    )
    status = SelectField(
        "Status",
        choices=[
            SelectChoice("", "Everyone"),
            *(SelectChoice(status.value, words) for status, words in STATUS_WORDS.items()),
        ],
        default="",
        validate_choice=True,
    )

    def chosen_status(self) -> MemberStatus | None:
        return MemberStatus(self.status.data) if self.status.data else None


class NoteForm(FlaskForm):
    body = TextAreaField(
        "Add a private note",
        validators=[
            DataRequired("Write the note before saving it."),
            Length(max=NOTE_MAX, message=f"Keep a note to {NOTE_MAX} characters or fewer."),
        ],
        render_kw={"rows": 4},
    )


def parse_limit(text: str | None, granularity: int) -> int | None:
    """A limit typed in hours: blank means "use the timebank's default" (None)."""
    if not (text or "").strip():
        return None
    return parse_signed_hours_to_minutes(text, granularity, maximum_minutes=LIMIT_MAX_MINUTES)


class LimitsForm(FlaskForm):
    floor = StringField(
        "Lowest balance allowed, in hours",
        validators=[Optional(), Length(max=20, message="Enter a number of hours, like -10.")],
    )
    cap = StringField(
        "Most hours they may hold",
        validators=[Optional(), Length(max=20, message="Enter a number of hours, like 100.")],
    )

    def parsed(self, granularity: int) -> tuple[int | None, int | None] | None:
        """(floor, cap) in minutes, or None with the messages on the fields."""
        values: list[int | None] = []
        for field in (self.floor, self.cap):
            try:
                values.append(parse_limit(field.data, granularity))
            except HoursInputError as error:
                field.errors = [*field.errors, error.message]
        if len(values) != 2:
            return None
        return values[0], values[1]


class SuspendForm(FlaskForm):
    reason = TextAreaField(
        "Why are you suspending this member?",
        validators=[
            DataRequired("Write a short reason. The member will see it."),
            Length(max=REASON_MAX, message=f"Keep the reason to {REASON_MAX} characters or fewer."),
        ],
        render_kw={"rows": 3},
    )


class LeftForm(FlaskForm):
    reason = TextAreaField(
        "Anything to note about leaving (optional)",
        validators=[
            Optional(),
            Length(max=REASON_MAX, message=f"Keep the reason to {REASON_MAX} characters or fewer."),
        ],
        render_kw={"rows": 2},
        id="left-reason",  # the member page also holds the suspend form's "reason"
    )


class ReactivateForm(FlaskForm):
    pass


class SignOutMemberForm(FlaskForm):
    pass


class RegisterMemberForm(KeyedForm):
    display_name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the member’s name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
        ],
        render_kw={"autocomplete": "off"},
    )
    phone = TelField(
        "Phone number (optional)",
        validators=[Optional(), Length(max=40, message="Keep the phone number to 40 characters or fewer.")],
    )
    area = StringField(
        "Area (optional)",
        validators=[Optional(), Length(max=MAX_AREA, message=f"Keep this to {MAX_AREA} characters or fewer.")],
    )
    contact_preference = RadioField(
        "How to contact them",
        choices=[
            SelectChoice(preference.value, label)
            for preference, label in CONTACT_LABELS.items()
            if preference != ContactPreference.EMAIL
        ],
        default=ContactPreference.COORDINATOR.value,
    )
    offers_text = TextAreaField(
        "What they can offer (optional)",
        validators=[Optional(), Length(max=MAX_TEXT, message=f"Keep this to {MAX_TEXT} characters or fewer.")],
        render_kw={"rows": 3},
    )
    wants_text = TextAreaField(
        "What they would like help with (optional)",
        validators=[Optional(), Length(max=MAX_TEXT, message=f"Keep this to {MAX_TEXT} characters or fewer.")],
        render_kw={"rows": 3},
    )
    checks_note = TextAreaField(
        "Which references and checks did you do?",
        validators=[
            DataRequired("Write which references and checks you did."),
            Length(max=CHECKS_NOTE_MAX, message=f"Keep the note to {CHECKS_NOTE_MAX} characters or fewer."),
        ],
        render_kw={"rows": 3},
    )
