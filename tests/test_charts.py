"""Server-drawn SVG charts: valid XML, named for screen readers, bars in proportion, labels
escaped, and "No data yet" (never a division by zero) when there is nothing to draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from flask import Flask, render_template_string
from markupsafe import Markup

from timebank.charts import ChartData, bar_chart, format_value, horizontal_bar_chart
from timebank.charts.svg import LABEL_SIZE

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ChartData(
    title="Hours exchanged each month",
    labels=["January 2026", "February 2026", "March 2026", "April 2026"],
    values=[2.0, 4.0, 1.0, 0.0],
    unit="hours",
    short_labels=["Jan\n2026", "Feb", "Mar", "Apr"],
)
BUCKETS = ChartData(
    title="Members by balance",
    labels=["Below -5 hours", "-5 to under 0 hours", "0 to under 5 hours"],
    values=[1, 3, 6],
    unit="members",
)


def near(value: float) -> object:
    """Coordinates are written to two decimals."""
    return pytest.approx(value, abs=0.05)


def _parse(markup: Markup) -> ET.Element:
    return ET.fromstring(str(markup))


def _bars(root: ET.Element) -> list[ET.Element]:
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("class") == "chart-bar"]


@pytest.mark.parametrize("draw", [bar_chart, horizontal_bar_chart])
def test_a_chart_is_valid_svg_named_and_described_for_screen_readers(draw):  # type: ignore[no-untyped-def]
    root = _parse(draw(MONTHS, "hours"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox", "").startswith("0 0 ")
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert title.text == "Hours exchanged each month"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "Highest: February 2026, 4 hours" in (desc.text or "")


def test_vertical_bars_are_as_tall_as_their_values_from_one_baseline():
    bars = _bars(_parse(bar_chart(MONTHS, "hours")))
    heights = [float(bar.get("height", "0")) for bar in bars]
    assert len(bars) == 4
    assert heights[1] == near(2 * heights[0])
    assert heights[0] == near(2 * heights[2])
    assert heights[3] == 0
    bottoms = {round(float(bar.get("y", "0")) + float(bar.get("height", "0")), 2) for bar in bars}
    assert len(bottoms) == 1  # every bar stands on the same zero line


def test_horizontal_bars_are_as_long_as_their_values():
    widths = [float(bar.get("width", "0")) for bar in _bars(_parse(horizontal_bar_chart(BUCKETS, "balances")))]
    assert widths[2] == near(2 * widths[1])
    assert widths[1] == near(3 * widths[0])


def test_a_negative_value_hangs_below_the_zero_line_at_its_own_scale():
    data = ChartData(title="Net hours", labels=["a", "b"], values=[3.0, -1.5], unit="hours")
    up, down = _bars(_parse(bar_chart(data, "net")))
    assert float(up.get("height", "0")) == near(2 * float(down.get("height", "0")))
    assert float(down.get("y", "0")) == near(float(up.get("y", "0")) + float(up.get("height", "0")))


def test_long_series_label_only_some_bars_but_draw_every_bar():
    data = ChartData(title="Days", labels=[str(day) for day in range(1, 41)], values=[1.0] * 40, unit="hours")
    root = _parse(bar_chart(data, "days"))
    assert len(_bars(root)) == 40
    texts = root.iter(f"{SVG}text")
    labels = [t for t in texts if t.text and t.text.isdigit() and t.get("font-size") == str(LABEL_SIZE)]
    assert 0 < len(labels) < 40


@pytest.mark.parametrize("draw", [bar_chart, horizontal_bar_chart])
@pytest.mark.parametrize("values", [[], [0, 0, 0]])
def test_no_values_or_only_zeros_say_no_data_yet(draw, values):  # type: ignore[no-untyped-def]
    data = ChartData(title="Nothing", labels=[f"l{i}" for i in range(len(values))], values=values, unit="hours")
    markup = draw(data, "empty")
    assert isinstance(markup, Markup)
    root = _parse(markup)
    assert root.tag == "p"
    assert root.text == "No data yet"


@pytest.mark.parametrize("draw", [bar_chart, horizontal_bar_chart])
def test_labels_and_titles_are_escaped(draw):  # type: ignore[no-untyped-def]
    data = ChartData(
        title='Hours <script>alert("t")</script>',
        labels=["<b>Gardening</b> & more", "Cooking"],
        values=[1.0, 2.0],
        unit="hours",
    )
    markup = str(draw(data, "x"))
    assert "<script>" not in markup and "<b>" not in markup
    root = ET.fromstring(markup)  # still well-formed XML
    # A long label may wrap onto two lines (tspans): read each text whole.
    texts = [" ".join(part.strip() for part in t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "<b>Gardening</b> & more" in texts
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == 'Hours <script>alert("t")</script>'


def test_an_unsafe_chart_id_is_made_a_safe_xml_id():
    root = _parse(bar_chart(MONTHS, '1"><x'))
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.get("id") == "chart-1---x-title"


def test_labels_and_values_must_pair_up():
    with pytest.raises(ValueError):
        ChartData(title="t", labels=["a"], values=[1, 2], unit="hours")
    with pytest.raises(ValueError):
        ChartData(title="t", labels=["a"], values=[float("nan")], unit="hours")


def test_values_read_plainly():
    assert [format_value(v) for v in (12, 1.5, 0.25, -2.0, -0.0, 1 / 3)] == ["12", "1.5", "0.25", "-2", "0", "0.33"]


def test_the_macro_puts_the_chart_beside_a_captioned_table_of_the_same_numbers():
    app = Flask("charts-test", template_folder="../templates", root_path=__file__.rsplit("/", 1)[0])
    with app.app_context():
        html = render_template_string(
            '{% import "_charts.html" as charts %}{{ charts.chart(data, "balances", kind="horizontal", '
            'label_heading="Balance") }}',
            data=ChartData(title="Members by <balance>", labels=["<0", "0+"], values=[2, 5], unit="members"),
        )
    assert html.count("<svg") == 1
    assert "<caption>Members by &lt;balance&gt;</caption>" in html
    assert '<th scope="col">Balance</th>' in html
    assert '<th scope="col" class="num">Members</th>' in html
    assert '<tr><th scope="row">&lt;0</th><td class="num">2</td></tr>' in html
    assert '<tr><th scope="row">0+</th><td class="num">5</td></tr>' in html


def test_the_macro_still_shows_the_table_when_the_chart_has_no_data():
    app = Flask("charts-test", template_folder="../templates", root_path=__file__.rsplit("/", 1)[0])
    with app.app_context():
        html = render_template_string(
            '{% import "_charts.html" as charts %}{{ charts.chart(data, "months") }}',
            data=ChartData(title="Hours", labels=["May"], values=[0], unit="hours"),
        )
    assert "No data yet" in html and "<svg" not in html
    assert '<tr><th scope="row">May</th><td class="num">0:00</td></tr>' in html


# -- readable on a phone: years once, nothing clipped, text of 12 px or more ----------------------


def _texts(markup: str) -> list[ET.Element]:
    return list(ET.fromstring(markup).iter(f"{SVG}text"))


def test_each_year_is_printed_once_under_its_months_never_run_together():
    months = ["Dec", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov"]
    data = ChartData(
        title="Hours each month",
        labels=[f"{m} {2025 if m == 'Dec' else 2026}" for m in months],
        values=[float(i + 1) for i in range(12)],
        unit="hours",
        short_labels=months,
        groups=["2025"] + ["2026"] * 11,
    )
    words = [" ".join(t.itertext()) for t in _texts(str(bar_chart(data, "hours")))]
    # December alone has no room for "2025" beside "2026": the year it shares with nobody is
    # left to the table rather than printed as "20252026".
    assert words.count("2026") == 1 and "2025" not in words
    assert not any("20252026" in word or "\n" in word for word in words)
    two_years = ChartData(
        title="Hours each month",
        labels=[f"{m} 2026" for m in months[1:7]] + [f"{m} 2027" for m in months[1:7]],
        values=[1.0] * 12,
        unit="hours",
        short_labels=months[1:7] * 2,
        groups=["2026"] * 6 + ["2027"] * 6,
    )
    words = [" ".join(t.itertext()) for t in _texts(str(bar_chart(two_years, "hours")))]
    assert words.count("2026") == 1 and words.count("2027") == 1


@pytest.mark.parametrize("draw", [bar_chart, horizontal_bar_chart])
def test_no_label_reaches_past_the_edge_of_the_drawing(draw):  # type: ignore[no-untyped-def]
    from timebank.charts.svg import CHAR_WIDTH, WIDTH

    data = ChartData(
        title="Hours by kind",
        labels=["Between members", "With Riverside Wellbeing Centre and its very long name", "Group activities"],
        values=[12.5, 3.0, 40.0],
        unit="hours",
    )
    for text in _texts(str(draw(data, "kinds"))):
        pieces = list(text) or [text]
        for piece in pieces:
            x = float(piece.get("x") or text.get("x") or 0)
            words = (piece.text or "").strip()
            width = len(words) * float(text.get("font-size") or 16) * CHAR_WIDTH
            anchor = text.get("text-anchor", "start")
            left = x - width if anchor == "end" else x - width / 2 if anchor == "middle" else x
            assert left >= 0 and left + width <= WIDTH, f"{words!r} is cut off ({left:.0f} to {left + width:.0f})"


def test_text_is_at_least_12_px_when_the_chart_is_328_px_wide_on_a_360_px_phone():
    from timebank.charts.svg import LABEL_SIZE, VALUE_SIZE, WIDTH

    scale = 328 / WIDTH
    assert min(LABEL_SIZE, VALUE_SIZE) * scale >= 12
