"""The one form on the report page: the estimated value of an hour (pounds and pence, or empty
for no value line). Parsing and the rules are the service's (``hour_value_from_text``)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import Length


class HourValueForm(FlaskForm):
    hour_value = StringField("Value of one hour, in pounds", validators=[Length(max=20)])
    # The report month to come back to.
    month = HiddenField()
