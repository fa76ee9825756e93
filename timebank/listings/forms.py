"""Listing forms: adding or changing an offer or request, and the browse page's search."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from ..date_input import DateInputField
from ..forms_common import HoursInputError, parse_hours_to_minutes
from ..hours import hours_for_editing
from ..members import availability as slots
from ..members.forms import optional_int
from ..models import Category, Listing, ListingKind
from .service import (
    MAX_DESCRIPTION,
    MAX_ESTIMATE_MINUTES,
    MAX_TAGS,
    MAX_TITLE,
    ListingFilters,
    ListingInput,
    end_date_problem,
)


class ListingForm(FlaskForm):
    kind = RadioField(
        "Is this an offer or a request?",
        choices=[
            SelectChoice(ListingKind.OFFER.value, "An offer: something I can do for others"),
            SelectChoice(ListingKind.REQUEST.value, "A request: something I would like help with"),
        ],
        validators=[InputRequired("Choose whether this is an offer or a request.")],
    )
    category_id = SelectField("Category", coerce=optional_int, validate_choice=False)
    title = StringField(
        "Title",
        validators=[
            InputRequired("Enter a short title."),
            Length(max=MAX_TITLE, message=f"Keep the title to {MAX_TITLE} characters or fewer."),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[
            Optional(),
            Length(max=MAX_DESCRIPTION, message=f"Keep the description to {MAX_DESCRIPTION} characters or fewer."),
        ],
    )
    tags = StringField(
        "Tags (optional)",
        validators=[Optional(), Length(max=MAX_TAGS, message=f"Keep the tags to {MAX_TAGS} characters or fewer.")],
    )
    hours = StringField("Roughly how long (optional)")
    # Said back in words, and saved once the person has seen it (confirm_in_words).
    ends_on = DateInputField("End date (optional)", validators=[Optional()], confirm_in_words=True)

    granularity: int = 15
    estimated_minutes: int | None = None
    # Set by the route: the timebank's today, so a past end date is refused before it is said back.
    today: date | None = None

    def set_choices(self, categories: list[Category], granularity: int) -> None:
        self.category_id.choices = [
            SelectChoice("", "Choose a category"),
            *(SelectChoice(str(c.id), c.name) for c in categories),
        ]
        self.granularity = granularity

    def validate_category_id(self, field: Field) -> None:
        if field.data is None:
            raise ValidationError("Choose a category.")

    def validate_ends_on(self, field: Field) -> None:
        problem = end_date_problem(field.data, self.today) if self.today is not None else None
        if problem:
            raise ValidationError(problem)

    def validate_hours(self, field: Field) -> None:
        self.estimated_minutes = None
        if not (field.data or "").strip():
            return
        try:
            self.estimated_minutes = parse_hours_to_minutes(
                field.data, self.granularity, maximum_minutes=MAX_ESTIMATE_MINUTES
            )
        except HoursInputError as error:
            raise ValidationError(error.message) from error

    def to_input(self) -> ListingInput:
        return ListingInput(
            kind=ListingKind(self.kind.data),
            category_id=self.category_id.data,
            title=self.title.data or "",
            description=self.description.data or "",
            tags=self.tags.data or "",
            estimated_minutes=self.estimated_minutes,
            ends_on=self.ends_on.data,
        )

    def field_for(self, name: str | None) -> Field | None:
        if name == "estimated_minutes":
            name = "hours"
        if name and name in self._fields:
            return self._fields[name]
        return None


def listing_form_data(listing: Listing) -> dict[str, Any]:
    return {
        "kind": listing.kind.value,
        "category_id": listing.category_id,
        "title": listing.title,
        "description": listing.description,
        "tags": listing.tags,
        "hours": hours_for_editing(listing.estimated_minutes),
        "ends_on": listing.ends_on,
    }


KIND_FILTER_CHOICES = [
    SelectChoice("", "Offers and requests"),
    SelectChoice("offer", "Offers only"),
    SelectChoice("request", "Requests only"),
]


class ListingSearchForm(FlaskForm):
    """The browse page's search and filters (a GET form: nothing changes, so no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200, message="Use 200 characters or fewer.")])
    kind = SelectField("Show", choices=KIND_FILTER_CHOICES, validate_choice=False)
    category = SelectField("Category", coerce=optional_int, validate_choice=False)
    area = SelectField("Area", validate_choice=False)
    day = SelectField(
        "Free on",
        choices=[SelectChoice("", "Any day"), *(SelectChoice(day, name) for day, name in slots.DAYS)],
        validate_choice=False,
    )
    part = SelectField(
        "Time of day",
        choices=[SelectChoice("", "Any time"), *(SelectChoice(part, name.capitalize()) for part, name in slots.PARTS)],
        validate_choice=False,
    )

    def set_choices(self, categories: list[Category], areas: list[str]) -> None:
        self.category.choices = [
            SelectChoice("", "Any category"),
            *(SelectChoice(str(c.id), c.name) for c in categories),
        ]
        self.area.choices = [SelectChoice("", "Any area"), *(SelectChoice(area, area) for area in areas)]

    def filters(self) -> ListingFilters:
        """The filters; values that are not in the lists are ignored rather than refused."""
        kind = self.kind.data if self.kind.data in ("offer", "request") else None
        day = self.day.data if self.day.data in dict(slots.DAYS) else ""
        part = self.part.data if self.part.data in dict(slots.PARTS) else ""
        return ListingFilters(
            query=self.q.data or "",
            kind=ListingKind(kind) if kind else None,
            category_id=self.category.data,
            area=self.area.data or "",
            day=day,
            part=part,
        )


def default_kind(value: str | None) -> str | None:
    return value if value in ("offer", "request") else None
