from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from .service import CHECKS_NOTE_MAX, DECLINE_REASON_MAX

# ---------------------------------------------------------------------------------------------
# Applications to join. Both forms sit on one page, so each has a prefix ("approve-", "decline-").


class ApproveApplicationForm(FlaskForm):
    checks_done = BooleanField(
        "I have taken up references and done the checks our timebank needs",
        validators=[InputRequired("Confirm that references and checks are done before approving.")],
    )
    checks_note = TextAreaField(
        "Which references and checks did you do?",
        validators=[
            DataRequired("Write which references and checks you did."),
            Length(max=CHECKS_NOTE_MAX, message=f"Keep the note to {CHECKS_NOTE_MAX} characters or fewer."),
        ],
        render_kw={"rows": 3},
    )


class DeclineApplicationForm(FlaskForm):
    reason = TextAreaField(
        "Why are you declining this application?",
        validators=[
            DataRequired("Write a short reason. The person will see it."),
            Length(max=DECLINE_REASON_MAX, message=f"Keep the reason to {DECLINE_REASON_MAX} characters or fewer."),
        ],
        render_kw={"rows": 3},
    )
