"""Profile and directory forms.

The "what I can offer" and "what I would like help with" lists work without JavaScript: the
form has one row per saved entry (each with a "Remove" box) plus a few blank rows to add more.
Rows are plain fields named ``offer_0_label`` etc., built for the number of rows needed, so every
field gets its own label, message and link from the error summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError

from ..ids import is_storable_id
from ..models import Category, ContactPreference, ListingKind, Member
from . import availability as slots
from .profile import CONTACT_LABELS, MAX_SKILL_LABEL, MAX_SKILLS_PER_KIND, MAX_TEXT, ProfileInput, SkillInput

BLANK_ROWS = 3
SKILL_KINDS = {"offer": ListingKind.OFFER, "request": ListingKind.REQUEST}
_ROW_KEY = re.compile(r"(offer|request)_(\d+)_(?:id|category|label|remove)$")


def optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        number = int(cast(Any, value))
    except (TypeError, ValueError):
        return None
    return number if is_storable_id(number) else None


class ProfileForm(FlaskForm):
    offers_text = TextAreaField(
        "What you can offer, in your own words",
        validators=[Optional(), Length(max=MAX_TEXT, message=f"Keep this to {MAX_TEXT} characters or fewer.")],
    )
    wants_text = TextAreaField(
        "What you would like help with, in your own words",
        validators=[Optional(), Length(max=MAX_TEXT, message=f"Keep this to {MAX_TEXT} characters or fewer.")],
    )
    availability = SelectMultipleField(
        "When you are usually free", choices=[SelectChoice(slot, slots.describe_slot(slot)) for slot in slots.ALL_SLOTS]
    )
    area = StringField(
        "Your area", validators=[Optional(), Length(max=80, message="Keep this to 80 characters or fewer.")]
    )
    about = TextAreaField(
        "About you",
        validators=[Optional(), Length(max=MAX_TEXT, message=f"Keep this to {MAX_TEXT} characters or fewer.")],
    )
    access_needs = TextAreaField(
        "Anything others should know",
        validators=[Optional(), Length(max=MAX_TEXT, message=f"Keep this to {MAX_TEXT} characters or fewer.")],
    )
    contact_preference = RadioField(
        "How you like to be contacted",
        choices=[SelectChoice(preference.value, label) for preference, label in CONTACT_LABELS.items()],
        default=ContactPreference.EMAIL.value,
    )
    phone = TelField(
        "Phone number (optional)",
        validators=[Optional(), Length(max=40, message="Keep the phone number to 40 characters or fewer.")],
        render_kw={"autocomplete": "tel"},
    )
    show_email = BooleanField("My email address")
    show_phone = BooleanField("My phone number")
    show_area = BooleanField("My area")
    show_about = BooleanField("About me")
    show_access_needs = BooleanField("Anything others should know")
    show_availability = BooleanField("When I am usually free")

    offer_rows: int
    request_rows: int

    def validate_availability(self, field: Field) -> None:
        if set(field.data or ()) - set(slots.ALL_SLOTS):
            raise ValidationError("Choose the days and times from the table.")

    def rows(self, kind: str) -> list[dict[str, Field]]:
        """The fields of each "offer" or "request" row, in order, for the template."""
        count = self.offer_rows if kind == "offer" else self.request_rows
        return [
            {part: self[f"{kind}_{index}_{part}"] for part in ("id", "category", "label", "remove")}
            for index in range(count)
        ]

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        valid = super().validate(extra_validators)
        for kind, word in (("offer", "thing you can offer"), ("request", "thing you would like help with")):
            kept = 0
            for number, row in enumerate(self.rows(kind), start=1):
                label = (row["label"].data or "").strip()
                category = row["category"].data
                if row["remove"].data or (not label and category is None):
                    continue
                kept += 1
                if not label:
                    row["label"].errors = [*row["label"].errors, f"Describe {word} {number} in a few words."]
                    valid = False
                if category is None:
                    row["category"].errors = [*row["category"].errors, f"Choose a category for {word} {number}."]
                    valid = False
            if kept > MAX_SKILLS_PER_KIND:
                self.form_errors.append(f"You can list up to {MAX_SKILLS_PER_KIND} of each. Remove some first.")
                valid = False
        return valid

    def skill_inputs(self, kind: str) -> tuple[SkillInput, ...]:
        chosen = []
        for row in self.rows(kind):
            label = (row["label"].data or "").strip()
            category = row["category"].data
            if row["remove"].data or (not label and category is None):
                continue
            chosen.append(SkillInput(category_id=category, label=label, id=optional_int(row["id"].data)))
        return tuple(chosen)

    def to_input(self) -> ProfileInput:
        return ProfileInput(
            offers_text=self.offers_text.data or "",
            wants_text=self.wants_text.data or "",
            about=self.about.data or "",
            access_needs=self.access_needs.data or "",
            area=self.area.data or "",
            contact_preference=ContactPreference(self.contact_preference.data),
            phone=self.phone.data or None,
            availability=frozenset(self.availability.data or ()),
            show_email=bool(self.show_email.data),
            show_phone=bool(self.show_phone.data),
            show_area=bool(self.show_area.data),
            show_about=bool(self.show_about.data),
            show_access_needs=bool(self.show_access_needs.data),
            show_availability=bool(self.show_availability.data),
            offer_skills=self.skill_inputs("offer"),
            request_skills=self.skill_inputs("request"),
        )

    def field_for(self, name: str | None) -> Field | None:
        """The field a service error belongs to, if the form shows one by that name."""
        if name and name in self._fields:
            return self._fields[name]
        return None


def _skill_fields(kind: str, index: int, categories: list[SelectChoice]) -> dict[str, Field]:
    number = index + 1
    what = "Something you can offer" if kind == "offer" else "Something you would like help with"
    return {
        f"{kind}_{index}_id": HiddenField(),
        f"{kind}_{index}_category": SelectField(
            f"Category {number}", choices=categories, coerce=optional_int, validate_choice=False
        ),
        f"{kind}_{index}_label": StringField(
            f"{what}, in a few words ({number})",
            validators=[
                Optional(),
                Length(max=MAX_SKILL_LABEL, message=f"Keep this to {MAX_SKILL_LABEL} characters or fewer."),
            ],
        ),
        f"{kind}_{index}_remove": BooleanField(f"Remove this ({number})"),
    }


def rows_in(formdata: Mapping[str, str] | Iterable[str], kind: str) -> int:
    """How many rows of ``kind`` a submitted form had (at most the limit plus the blank rows)."""
    indices = [int(match.group(2)) for key in formdata if (match := _ROW_KEY.match(key)) and match.group(1) == kind]
    return min(max(indices, default=-1) + 1, MAX_SKILLS_PER_KIND + BLANK_ROWS)


def make_profile_form(
    categories: list[Category],
    *,
    offer_rows: int,
    request_rows: int,
    formdata: Any = None,
    data: Mapping[str, Any] | None = None,
) -> ProfileForm:
    """A profile form with room for the given numbers of offer and request rows."""
    choices = [
        SelectChoice("", "Choose a category"),
        *(SelectChoice(str(category.id), category.name) for category in categories),
    ]
    fields: dict[str, Field] = {}
    for index in range(offer_rows):
        fields.update(_skill_fields("offer", index, choices))
    for index in range(request_rows):
        fields.update(_skill_fields("request", index, choices))
    form_class = type("ProfileFormWithRows", (ProfileForm,), fields)
    form = cast(ProfileForm, form_class(formdata=formdata, data=data))
    form.offer_rows = offer_rows
    form.request_rows = request_rows
    return form


def profile_form_data(member: Member) -> tuple[dict[str, Any], int, int]:
    """Initial form data from a saved profile, with blank rows after the saved entries."""
    data: dict[str, Any] = {
        name: getattr(member, name)
        for name in (
            "offers_text",
            "wants_text",
            "about",
            "access_needs",
            "area",
            "phone",
            "show_email",
            "show_phone",
            "show_area",
            "show_about",
            "show_access_needs",
            "show_availability",
        )
    }
    data["contact_preference"] = member.contact_preference.value
    data["availability"] = sorted(slots.parse(member.availability), key=slots.ALL_SLOTS.index)
    counts = {}
    for kind, skill_kind in SKILL_KINDS.items():
        skills = [skill for skill in member.skills if skill.kind == skill_kind]
        for index, skill in enumerate(skills):
            data[f"{kind}_{index}_id"] = str(skill.id)
            data[f"{kind}_{index}_category"] = skill.category_id
            data[f"{kind}_{index}_label"] = skill.label
        counts[kind] = len(skills) + BLANK_ROWS
    return data, counts["offer"], counts["request"]


class DirectorySearchForm(FlaskForm):
    """The directory's search box and filters (a GET form: nothing changes, so no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("Search by name or what they offer", validators=[Optional(), Length(max=200)])
    category = SelectField("Category", coerce=optional_int, validate_choice=False)
    area = SelectField("Area", validate_choice=False)

    def set_choices(self, categories: list[Category], areas: list[str]) -> None:
        self.category.choices = [
            SelectChoice("", "Any category"),
            *(SelectChoice(str(c.id), c.name) for c in categories),
        ]
        self.area.choices = [SelectChoice("", "Any area"), *(SelectChoice(area, area) for area in areas)]
