"""Dates are typed day first, in GOV.UK's day, month and year boxes or as one text, and said back
in words: "typing 05122026 stored 12 May" must never happen."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import InputRequired, Optional

from timebank.date_input import (
    DateInputError,
    DateInputField,
    date_from_parts,
    date_from_text,
    date_in_words,
    dates_confirmed,
)


@pytest.mark.parametrize(
    "text",
    [
        "05122026",
        "5/12/2026",
        "05/12/2026",
        "5-12-2026",
        "5.12.2026",
        "5 12 2026",
        "5 December 2026",
        "5 Dec 2026",
        "5th December 2026",
        "Saturday 5 December 2026",
        "2026-12-05",
        "  5 / 12 / 2026 ",
    ],
)
def test_one_text_is_read_day_first(text: str) -> None:
    assert date_from_text(text) == date(2026, 12, 5)


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("5", "12", "2026"), date(2026, 12, 5)),
        (("05", "012", "2026"), date(2026, 12, 5)),
        (("5", "Dec", "2026"), date(2026, 12, 5)),
        (("5", "december", "2026"), date(2026, 12, 5)),
        ((" 29", "2 ", "2028"), date(2028, 2, 29)),
        (("", "", ""), None),
    ],
)
def test_the_three_boxes_make_a_date(parts: tuple[str, str, str], expected: date | None) -> None:
    assert date_from_parts(*parts) == expected


@pytest.mark.parametrize(
    ("parts", "message", "boxes"),
    [
        (("5", "", "2026"), "The date must include a month.", ("month",)),
        (("", "", "2026"), "The date must include a day and month.", ("day", "month")),
        (("x", "12", "2026"), "Enter the day as a number", ("day",)),
        (("5", "13", "2026"), "The date must be a real date", ("day", "month", "year")),
        (("31", "2", "2026"), "The date must be a real date", ("day", "month", "year")),
        (("5", "Decembre", "2026"), "Enter the month as a number from 1 to 12", ("month",)),
        (("5", "12", "26"), "Enter the year with 4 numbers", ("year",)),
        (("5", "12", "1026"), "Enter a year from 1900", ("year",)),
        # Only ASCII digits are numbers: Arabic-Indic and full-width digits are refused.
        (("\u0665", "12", "2026"), "Enter the day as a number", ("day",)),
        (("5", "12", "\uff12\uff10\uff12\uff16"), "Enter the year with 4 numbers", ("year",)),
    ],
)
def test_a_wrong_box_gets_a_plain_message_naming_it(
    parts: tuple[str, str, str], message: str, boxes: tuple[str, ...]
) -> None:
    with pytest.raises(DateInputError) as caught:
        date_from_parts(*parts)
    assert caught.value.message.startswith(message)
    assert caught.value.parts == boxes


@pytest.mark.parametrize("text", ["12/5", "5/12/26", "2026", "yesterday", "5 12 2026 10", "1205202"])
def test_text_that_is_not_a_whole_date_is_refused(text: str) -> None:
    with pytest.raises(DateInputError):
        date_from_text(text)


def test_a_date_is_said_back_in_words() -> None:
    assert date_in_words(date(2026, 12, 5)) == "Saturday 5 December 2026"


class _Form(Form):
    day = DateInputField("When?", validators=[InputRequired("Enter the date.")])
    until = DateInputField("Until", validators=[Optional()], confirm_in_words=True)


def test_the_field_reads_its_three_boxes_and_says_the_date_back() -> None:
    form = _Form(MultiDict({"day-day": "5", "day-month": "12", "day-year": "2026"}))
    assert form.validate()
    assert form.day.data == date(2026, 12, 5)
    assert form.day.words == "Saturday 5 December 2026"
    assert form.day.parts == ("5", "12", "2026")


def test_the_field_keeps_what_was_typed_and_marks_the_box_to_fix() -> None:
    form = _Form(MultiDict({"day-day": "5", "day-month": "", "day-year": "2026"}))
    assert not form.validate()
    assert form.day.errors == ["The date must include a month."]
    assert form.day.error_parts == ("month",) and form.day.parts == ("5", "", "2026")
    assert form.day.words == ""


def test_the_field_reads_one_text_day_first_when_a_form_sends_it_whole() -> None:
    form = _Form(MultiDict({"day": "05122026"}))
    assert form.validate() and form.day.data == date(2026, 12, 5)


def test_an_empty_required_date_asks_for_it_once() -> None:
    form = _Form(MultiDict({"day-day": "", "day-month": "", "day-year": ""}))
    assert not form.validate()
    assert form.day.errors == ["Enter the date."]


def test_a_date_to_confirm_is_accepted_once_it_was_said_back() -> None:
    typed = {"day-day": "1", "day-month": "1", "day-year": "2026", "until-day": "5", "until-month": "12",
             "until-year": "2026"}
    first = _Form(MultiDict(typed))
    assert first.validate() and not dates_confirmed(first)
    assert first.until.waits_for_confirming
    again = _Form(MultiDict({**typed, "until-shown": "2026-12-05"}))
    assert again.validate() and dates_confirmed(again)
    changed = _Form(MultiDict({**typed, "until-day": "6", "until-shown": "2026-12-05"}))
    assert changed.validate() and not dates_confirmed(changed)
    empty = _Form(MultiDict({**typed, "until-day": "", "until-month": "", "until-year": ""}))
    assert empty.validate() and dates_confirmed(empty)


def test_a_date_already_saved_is_not_asked_about_again() -> None:
    editing = _Form(data={"day": date(2026, 1, 1), "until": date(2026, 12, 5)})
    assert editing.until.words == "Saturday 5 December 2026" and not editing.until.waits_for_confirming
    assert dates_confirmed(editing)
