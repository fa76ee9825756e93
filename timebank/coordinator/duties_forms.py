"""Forms for what waits for another coordinator: deciding a request, and the self-approval setting."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

NOTE_MAX = 500


class DecideRequestForm(FlaskForm):
    """Approve or refuse one request; the button pressed says which (``decision``)."""

    decision = RadioField(
        "Your decision",
        choices=[SelectChoice("approve", "Approve"), SelectChoice("refuse", "Refuse")],
        validators=[InputRequired("Choose whether to approve it or not.")],
    )
    note = TextAreaField(
        "Why not? (needed if you refuse)",
        validators=[Length(max=NOTE_MAX, message=f"Keep it under {NOTE_MAX} characters.")],
        render_kw={"rows": 2},
    )

    def validate_note(self, field: Field) -> None:
        if self.decision.data == "refuse" and not (field.data or "").strip():
            raise ValidationError("Say why, so the coordinator who asked understands.")


class DecideExchangeForm(FlaskForm):
    """An administrator decides a coordinator's own exchange: approve (with a reason when the
    other side has not confirmed) or do not approve (with a reason)."""

    decision = RadioField(
        "Your decision",
        choices=[SelectChoice("approve", "Approve"), SelectChoice("reject", "Do not approve")],
        validators=[InputRequired("Choose whether to approve it or not.")],
    )
    reason = TextAreaField(
        "Reason",
        validators=[Length(max=NOTE_MAX, message=f"Keep it under {NOTE_MAX} characters.")],
        render_kw={"rows": 2},
    )


class SelfApprovalForm(FlaskForm):
    allowed = RadioField(
        "May the coordinator approve their own exchanges, grants, reversals and limits?",
        choices=[
            SelectChoice("no", "No: another coordinator or an administrator decides them (recommended)"),
            SelectChoice("yes", "Yes: this timebank has a single coordinator"),
        ],
        validators=[InputRequired("Choose yes or no.")],
    )
    reason = TextAreaField(
        "Why?",
        validators=[Length(max=NOTE_MAX, message=f"Keep it under {NOTE_MAX} characters.")],
        render_kw={"rows": 2},
    )

    def validate_reason(self, field: Field) -> None:
        if self.allowed.data == "yes" and not (field.data or "").strip():
            raise ValidationError("Say why this timebank needs its coordinator to approve their own items.")
