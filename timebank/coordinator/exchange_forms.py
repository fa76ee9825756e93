"""Forms for the coordinator's exchange work: the approvals queue's filters and bulk decision,
grants from the community pool, and acting for a member (record or propose an exchange).
Each checks what it can on its own; the services check the rest."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..date_input import DateInputField
from ..exchanges.forms import HoursMixin, KeyedForm, RecordTimeForm
from ..exchanges.service import MAX_REASON, QueueFilters
from ..ids import parse_id
from ..members.forms import optional_int
from ..models import Account, Category, ExchangeStatus, Member

STATUS_CHOICES = [
    SelectChoice("", "Any"),
    SelectChoice(ExchangeStatus.RECORDED.value, "Time recorded, not yet confirmed"),
    SelectChoice(ExchangeStatus.CONFIRMED.value, "Confirmed by both sides"),
    SelectChoice(ExchangeStatus.DISPUTED.value, "Questioned"),
]


def _known(field: Field, message: str) -> None:
    """A select's value must be one of its choices (or empty)."""
    if field.data is None:
        return
    if str(field.data) not in {str(choice.value) for choice in field.choices or []}:
        raise ValidationError(message)


class QueueFilterForm(FlaskForm):
    """The approvals queue's filters (a GET form: nothing changes, so no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=STATUS_CHOICES, validate_choice=False)
    member = SelectField("Member (either side)", coerce=optional_int, validate_choice=False)
    category = SelectField("Category", coerce=optional_int, validate_choice=False)
    performed_from = DateInputField("Help given from", validators=[Optional()])
    performed_to = DateInputField("Help given until", validators=[Optional()])
    agency_only = BooleanField("Only time with the organisation (person-to-agency)")

    def set_choices(self, members: list[Member], categories: list[Category]) -> None:
        self.member.choices = [SelectChoice("", "Anyone"), *(SelectChoice(str(m.id), m.display_name) for m in members)]
        self.category.choices = [
            SelectChoice("", "Any category"),
            *(SelectChoice(str(c.id), c.name) for c in categories),
        ]

    def validate_status(self, field: Field) -> None:
        if field.data and field.data not in {choice.value for choice in STATUS_CHOICES}:
            raise ValidationError("Choose a status from the list.")

    def validate_member(self, field: Field) -> None:
        _known(field, "Choose a member from the list.")

    def validate_category(self, field: Field) -> None:
        _known(field, "Choose a category from the list.")

    def validate_performed_to(self, field: Field) -> None:
        start = self.performed_from.data
        if field.data is not None and start is not None and field.data < start:
            raise ValidationError("The end date must be on or after the start date.")

    def filters(self) -> QueueFilters:
        return QueueFilters(
            status=ExchangeStatus(self.status.data) if self.status.data else None,
            member_id=self.member.data,
            category_id=self.category.data,
            performed_from=self.performed_from.data,
            performed_to=self.performed_to.data,
            agency_only=bool(self.agency_only.data),
        )


class IdListField(Field):
    """The ticked checkboxes: every value a whole number (an exchange id)."""

    data: list[int]

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids = []
        for value in valuelist:
            exchange_id = parse_id(str(value))
            if exchange_id is None:
                self.data = []
                raise ValueError("Something in the list is not an exchange. Please reload the page and try again.")
            ids.append(exchange_id)
        self.data = ids

    def _value(self) -> str:
        return ""


class BulkDecisionForm(FlaskForm):
    """Approve, or refuse with one reason, every ticked exchange of the queue."""

    exchange_ids = IdListField("Exchanges", default=list)
    action = StringField("What to do")
    reason = TextAreaField(
        "Why are you not approving them?",
        validators=[Length(max=MAX_REASON, message=f"Keep the reason under {MAX_REASON} characters.")],
        render_kw={"rows": 3},
    )

    def validate_exchange_ids(self, field: Field) -> None:
        if not field.data:
            raise ValidationError("Choose at least one exchange.")

    def validate_action(self, field: Field) -> None:
        if field.data not in ("approve", "reject"):
            raise ValidationError("Choose whether to approve them or not.")

    def validate_reason(self, field: Field) -> None:
        if self.action.data == "reject" and not (field.data or "").strip():
            raise ValidationError("Say why you are not approving them. The members will see it.")


class GrantForm(HoursMixin, KeyedForm):
    member_id = SelectField("Who is it for?", coerce=optional_int, validate_choice=False)
    amount = StringField("How much time credit?", validators=[Length(max=40)])
    reason = TextAreaField(
        "Why?",
        validators=[
            DataRequired("Say why this member is getting hours from the pool."),
            Length(max=500, message="Keep the reason under 500 characters."),
        ],
        render_kw={"rows": 3},
    )

    def set_choices(self, members: list[Member]) -> None:
        self.member_id.choices = [
            SelectChoice("", "Choose a member"),
            *(SelectChoice(str(m.id), m.display_name) for m in members),
        ]

    def validate_member_id(self, field: Field) -> None:
        if field.data is None:
            raise ValidationError("Choose who the hours are for.")
        _known(field, "Choose a member from the list.")

    def validate_amount(self, field: Field) -> None:
        self._minutes(field, required="Enter how much time credit to give")


class MemberPickForm(FlaskForm):
    """Choose the member to act for (a GET form)."""

    class Meta:
        csrf = False

    member_id = SelectField("Who are you acting for?", coerce=optional_int, validate_choice=False)

    def set_choices(self, members: list[Member]) -> None:
        self.member_id.choices = [
            SelectChoice("", "Choose a member"),
            *(SelectChoice(str(m.id), m.display_name) for m in members),
        ]

    def validate_member_id(self, field: Field) -> None:
        if field.data is None:
            raise ValidationError("Choose a member.")
        _known(field, "Choose a member from the list.")


class ActRecordForm(RecordTimeForm):
    """A paper timesheet line for one member: who with, which way, when, how long, what."""

    other_account = SelectField("Who was the exchange with?", coerce=optional_int, validate_choice=False)
    direction = RadioField(
        "Who helped whom?",
        choices=[SelectChoice("member_helped", "They helped"), SelectChoice("member_was_helped", "They were helped")],
        validate_choice=False,
    )

    def set_choices(self, member: Member, accounts: list[Account]) -> None:
        name = member.display_name
        self.other_account.choices = [
            SelectChoice("", "Choose who"),
            *(SelectChoice(str(a.id), a.name) for a in accounts),
        ]
        self.direction.choices = [
            SelectChoice("member_helped", f"{name} helped them ({name} earns)"),
            SelectChoice("member_was_helped", f"They helped {name} ({name} spends)"),
        ]

    def validate_other_account(self, field: Field) -> None:
        if field.data is None:
            raise ValidationError("Choose who the exchange was with.")
        _known(field, "Choose someone from the list.")

    def validate_direction(self, field: Field) -> None:
        if field.data not in ("member_helped", "member_was_helped"):
            raise ValidationError("Choose who helped whom.")


class ActProposeForm(HoursMixin, KeyedForm):
    """A proposal made for a member: who to ask, which way, a message, roughly how long."""

    other_member = SelectField("Who should be asked?", coerce=optional_int, validate_choice=False)
    direction = RadioField(
        "Who will help whom?",
        choices=[SelectChoice("member_helps", "They will help"), SelectChoice("other_helps", "They will be helped")],
        validate_choice=False,
    )
    message = TextAreaField(
        "The message",
        validators=[DataRequired("Write a short message, for example when would suit them."), Length(max=2000)],
    )
    rough_hours = StringField("Roughly how long? (optional)", validators=[Optional(), Length(max=40)])

    def set_choices(self, member: Member, others: list[Member]) -> None:
        name = member.display_name
        self.other_member.choices = [
            SelectChoice("", "Choose who"),
            *(SelectChoice(str(m.id), m.display_name) for m in others),
        ]
        self.direction.choices = [
            SelectChoice("member_helps", f"{name} will help them"),
            SelectChoice("other_helps", f"They will help {name}"),
        ]

    def validate_other_member(self, field: Field) -> None:
        if field.data is None:
            raise ValidationError("Choose who should be asked.")
        _known(field, "Choose someone from the list.")

    def validate_direction(self, field: Field) -> None:
        if field.data not in ("member_helps", "other_helps"):
            raise ValidationError("Choose who will help whom.")

    def validate_rough_hours(self, field: Field) -> None:
        self._minutes(field, required=None)
