"""Forms for installation administration."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..auth.sessions import TimebankSessionLimits
from ..forms_common import HoursInputError, parse_hours_to_minutes, parse_signed_hours_to_minutes
from ..models import ApprovalPolicy
from .service import GRANULARITIES, LIMIT_MAX_MINUTES, NAME_MAX, SLUG_MAX
from .service import TimebankSettings as Settings


class NewTimebankForm(FlaskForm):
    name = StringField(
        "Name of the timebank",
        validators=[
            DataRequired("Enter the timebank’s name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
        ],
    )
    organisation_name = StringField(
        "Organisation that runs it",
        validators=[
            DataRequired("Enter the organisation’s name."),
            Length(max=NAME_MAX, message=f"Keep the name to {NAME_MAX} characters or fewer."),
        ],
    )
    slug = StringField(
        "Short name for its web address (optional)",
        validators=[
            Optional(),
            Length(max=SLUG_MAX, message=f"Keep the short name to {SLUG_MAX} characters or fewer."),
        ],
    )


POLICY_CHOICES = [
    SelectChoice(ApprovalPolicy.ALWAYS.value, "A coordinator approves every exchange"),
    SelectChoice(
        ApprovalPolicy.ABOVE_THRESHOLD.value, "A coordinator approves exchanges longer than a number of hours"
    ),
    SelectChoice(ApprovalPolicy.NEVER.value, "No approval: hours move once both members confirm"),
]


class SettingsForm(FlaskForm):
    granularity = SelectField(
        "Smallest step of time",
        choices=[SelectChoice(str(g), f"{g} minutes" if g < 60 else "1 hour") for g in GRANULARITIES],
        validate_choice=False,  # the service says which steps divide an hour
    )
    default_floor = StringField(
        "Lowest balance allowed, in hours",
        validators=[DataRequired("Enter the lowest balance, for example -10."), Length(max=20)],
    )
    default_cap = StringField(
        "Most hours a member may hold",
        validators=[DataRequired("Enter the most hours, for example 100."), Length(max=20)],
    )
    approval_policy = RadioField("Who approves exchanges", choices=POLICY_CHOICES)
    approval_threshold = StringField(
        "Approve exchanges longer than (hours)", validators=[Optional(), Length(max=20)]
    )
    time_zone = StringField(
        "Time zone",
        validators=[DataRequired("Enter a time zone, like Europe/London."), Length(max=64)],
        render_kw={"list": "time-zones", "autocomplete": "off"},
    )

    def to_settings(self, current_threshold: int) -> Settings | None:
        """The settings, or None with each problem beside its field."""
        try:
            granularity = int(self.granularity.data or "")
        except ValueError:
            self.granularity.errors = [*self.granularity.errors, "Choose a step from the list."]
            return None
        parsed: dict[str, int | None] = {}
        for name, field, signed in (
            ("floor", self.default_floor, True),
            ("cap", self.default_cap, True),
            ("threshold", self.approval_threshold, False),
        ):
            text = (field.data or "").strip()
            if not text:
                parsed[name] = None
                continue
            try:
                if signed:
                    parsed[name] = parse_signed_hours_to_minutes(text, 1, maximum_minutes=LIMIT_MAX_MINUTES)
                else:
                    parsed[name] = parse_hours_to_minutes(text, 1, maximum_minutes=LIMIT_MAX_MINUTES)
            except HoursInputError as error:
                field.errors = [*field.errors, error.message]
        if self.errors or parsed.get("floor") is None or parsed.get("cap") is None:
            return None
        policy = ApprovalPolicy(self.approval_policy.data)
        threshold = parsed.get("threshold")
        if policy != ApprovalPolicy.ABOVE_THRESHOLD and threshold is None:
            threshold = current_threshold
        floor, cap = parsed["floor"], parsed["cap"]
        assert floor is not None and cap is not None
        return Settings(
            granularity_minutes=granularity,
            default_floor_minutes=floor,
            default_cap_minutes=cap,
            approval_policy=policy,
            approval_threshold_minutes=threshold,
            time_zone=(self.time_zone.data or "").strip(),
        )


def _member_id_or_none(value: object) -> int | None:
    """The chosen member's id; None for the "Choose a member" line, which InputRequired refuses."""
    return None if value in ("", None) else int(str(value))


class AppointForm(FlaskForm):
    member_id = SelectField(
        "Member to make a coordinator",
        coerce=_member_id_or_none,
        validators=[InputRequired("Choose the member to appoint.")],
        validate_choice=False,  # the service answers "not found" for anyone outside this timebank
    )


class StandDownForm(FlaskForm):
    pass


class TwoFactorRequirementForm(FlaskForm):
    required = BooleanField("Coordinators of this timebank must use two-factor sign-in")


class ResetTwoFactorForm(FlaskForm):
    pass



def _whole_number(label: str) -> StringField:
    return StringField(label, validators=[Length(max=10)], render_kw={"inputmode": "numeric"})


class SessionLimitsForm(FlaskForm):
    """How long members stay signed in on a shared computer (the service checks the bounds)."""

    idle_minutes = _whole_number("Participants: minutes without activity")
    coordinator_idle_minutes = _whole_number("Coordinators: minutes without activity")
    lifetime_hours = _whole_number("Everyone: hours in all, active or not")

    def to_limits(self) -> TimebankSessionLimits | None:
        """The limits, or None with a message beside each box that is not a whole number."""
        values: dict[str, int] = {}
        for field, unit, example in (
            (self.idle_minutes, "minutes", 30),
            (self.coordinator_idle_minutes, "minutes", 15),
            (self.lifetime_hours, "hours", 12),
        ):
            text = (field.data or "").strip()
            if text.isdigit() and text.isascii():
                values[field.name] = int(text)
            else:
                field.errors = [*field.errors, f"Enter a whole number of {unit}, for example {example}."]
        if self.errors:
            return None
        return TimebankSessionLimits(**values)
