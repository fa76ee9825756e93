"""Hours are written in one of two styles, from one module: words in sentences ("2 hours 30
minutes"), hours:minutes in tables, charts, CSV files and PDFs ("2:30"), negatives included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from timebank.charts import ChartData
from timebank.forms_common import parse_hours_to_minutes, parse_signed_hours_to_minutes
from timebank.hours import (
    HOURS_IN_TABLES,
    hours_change_in_table,
    hours_change_in_words,
    hours_for_editing,
    hours_for_spreadsheet,
    hours_in_table,
    hours_in_words,
)

PACKAGE = Path(__file__).resolve().parents[1] / "timebank"


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "0 hours"),
        (1, "1 minute"),
        (45, "45 minutes"),
        (60, "1 hour"),
        (61, "1 hour 1 minute"),
        (150, "2 hours 30 minutes"),
        (600, "10 hours"),
        (1710, "28 hours 30 minutes"),
        (-30, "minus 30 minutes"),
        (-75, "minus 1 hour 15 minutes"),
    ],
)
def test_sentences_say_hours_and_minutes_in_words(minutes: int, words: str) -> None:
    assert hours_in_words(minutes) == words


@pytest.mark.parametrize(
    ("minutes", "cell"),
    [
        (0, "0:00"),
        (15, "0:15"),
        (20, "0:20"),
        (150, "2:30"),
        (1710, "28:30"),
        (5265, "87:45"),
        (-30, "\u22120:30"),
        (-600, "\u221210:00"),
    ],
)
def test_tables_write_hours_as_hours_and_minutes(minutes: int, cell: str) -> None:
    assert hours_in_table(minutes) == cell


def test_a_change_carries_its_sign_in_tables_and_in_words() -> None:
    assert [hours_change_in_table(m) for m in (150, -30, 0)] == ["+2:30", "\u22120:30", "0:00"]
    assert [hours_change_in_words(m) for m in (150, -30, 0)] == [
        "plus 2 hours 30 minutes",
        "minus 30 minutes",
        "no change",
    ]


def test_a_spreadsheet_gets_the_table_style_with_a_plain_minus() -> None:
    assert [hours_for_spreadsheet(m) for m in (150, -30, 0)] == ["2:30", "-0:30", "0:00"]


@pytest.mark.parametrize("minutes", [15, 60, 90, 135, 6000])
def test_a_form_box_shows_what_the_parser_reads_back(minutes: int) -> None:
    assert parse_hours_to_minutes(hours_for_editing(minutes), 15) == minutes
    assert parse_signed_hours_to_minutes(hours_for_editing(-minutes), 15) == -minutes
    assert hours_for_editing(None) == ""


def test_the_table_style_is_explained_in_one_sentence_with_an_example() -> None:
    assert "2:30" in HOURS_IN_TABLES and hours_in_words(150) in HOURS_IN_TABLES


def test_charts_of_hours_label_their_bars_and_table_in_the_table_style() -> None:
    chart = ChartData(title="Hours each month", labels=["May", "June"], values=[28.5, -0.25], unit="hours")
    assert chart.rows == [("May", "28:30"), ("June", "\u22120:15")]
    svg = str(chart.bar_svg("hours"))
    assert ">28:30<" in svg and "28.5" not in svg
    assert "Highest: May, 28 hours 30 minutes." in svg
    members = ChartData(title="Members", labels=["a"], values=[12], unit="members")
    assert members.rows == [("a", "12")]


def _formatting_calls(tree: ast.AST) -> list[str]:
    """Text built from minutes outside timebank/hours.py: dividing by 60 inside an f-string, or
    formatting minutes with a ':02d' spec."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            for value in node.values:
                if not isinstance(value, ast.FormattedValue):
                    continue
                inner = ast.unparse(value.value)
                spec = ast.unparse(value.format_spec) if value.format_spec else ""
                if "/ 60" in inner or "// 60" in inner or ("minutes" in inner and "02d" in spec):
                    found.append(ast.unparse(node))
    return found


def test_no_module_but_the_hours_module_turns_minutes_into_text() -> None:
    offenders = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "hours.py" or "api" in path.relative_to(PACKAGE).parts:
            continue  # the JSON API keeps its own exact numbers (docs/API.md)
        calls = _formatting_calls(ast.parse(path.read_text()))
        if calls:
            offenders[str(path.relative_to(PACKAGE))] = calls
    assert offenders == {}
