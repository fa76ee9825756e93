"""Drawing a ``ChartData`` as SVG markup.

Every chart:

- is an ``<svg role="img">`` whose ``<title>`` names what it shows and whose ``<desc>`` sums it
  up in words, both referenced by ``aria-labelledby``;
- scales with its container (``viewBox``, ``width="100%"``), with text large enough to read at
  its natural width and dark-on-white colours well above the contrast minimums;
- escapes every label, so a member's words can never become markup;
- draws nothing when there is nothing to draw: "No data yet", never a division by zero.

Bars are proportional to their values, measured from a zero line, so negative values (a month
in which reversals outweighed new hours) go the other way instead of breaking the scale.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from ..hours import hours_in_table, hours_in_words

# Colours: the site's link blue for bars (8:1 on white), its error red for negative bars, and
# the body text colour for text and the zero line.
BAR_COLOUR = "#0b4f9c"
NEGATIVE_COLOUR = "#b3261e"
TEXT_COLOUR = "#1b1b1b"
FONT = "system-ui, -apple-system, 'Segoe UI', Arial, sans-serif"

# Sizes in viewBox units. The stylesheet shows a chart at most at its viewBox width, and on a
# 360 px phone at 328 px: at that scale (0.82) these sizes still draw text of 12 px or more.
WIDTH = 400
LABEL_SIZE = 16
VALUE_SIZE = 15
CHAR_WIDTH = 0.56  # a character's average width, as a share of the font size (for fitting labels)

EMPTY = Markup('<p class="chart-empty">No data yet</p>')


@dataclass(frozen=True)
class ChartData:
    """What a chart shows. ``labels`` and ``values`` pair up; ``unit`` names the values
    ("hours", "members"). ``short_labels`` (optional) are drawn under the bars where the full
    labels would not fit; a newline in one starts a second line. ``groups`` (optional) name the
    group of each bar (the year of a month): each group's name is drawn once, on a line under
    the labels, at the start of its run of bars. The table beside the chart always uses the
    full labels."""

    title: str
    labels: Sequence[str]
    values: Sequence[float]
    unit: str
    short_labels: Sequence[str] | None = None
    groups: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.values):
            raise ValueError("A chart needs exactly one value per label.")
        if self.short_labels is not None and len(self.short_labels) != len(self.labels):
            raise ValueError("A chart needs exactly one short label per label.")
        if self.groups is not None and len(self.groups) != len(self.labels):
            raise ValueError("A chart needs exactly one group per label.")
        if any(not math.isfinite(v) for v in self.values):
            raise ValueError("Chart values must be finite numbers.")

    @property
    def is_empty(self) -> bool:
        """Nothing to draw: no values, or every value zero."""
        return not any(self.values)

    @property
    def rows(self) -> list[tuple[str, str]]:
        """(label, value as text) for the table beside the chart."""
        return [(label, self.value_text(value)) for label, value in zip(self.labels, self.values, strict=True)]

    def value_text(self, value: float) -> str:
        """A value as the chart and its table write it: hours as every table does ("28:30"),
        anything else as a plain number."""
        if self.unit == "hours":
            return hours_in_table(round(value * 60))
        return format_value(value)

    @property
    def axis_labels(self) -> Sequence[str]:
        return self.short_labels if self.short_labels is not None else self.labels

    def bar_svg(self, chart_id: str) -> Markup:
        return bar_chart(self, chart_id)

    def horizontal_svg(self, chart_id: str) -> Markup:
        return horizontal_bar_chart(self, chart_id)


def format_value(value: float) -> str:
    """'12', '1.5', '0.25', '-2': whole numbers without decimals, others to two places at most."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def describe(data: ChartData) -> str:
    """The chart in one or two sentences, for its ``<desc>``."""
    count = len(data.values)
    if data.is_empty:
        return f"No data yet for {data.title}."
    highest = max(range(count), key=lambda i: data.values[i])
    first, last = data.labels[0], data.labels[-1]
    span = f" from {first} to {last}" if count > 1 else f" for {first}"
    return (
        f"{count} bar{'s' if count != 1 else ''}{span}. "
        f"Highest: {data.labels[highest]}, {_described_value(data, data.values[highest])}. "
        "The table beside the chart lists every value."
    )


def _described_value(data: ChartData, value: float) -> str:
    """'28 hours 30 minutes', '12 members'."""
    if data.unit == "hours":
        return hours_in_words(round(value * 60))
    return f"{format_value(value)} {data.unit}"


def bar_chart(data: ChartData, chart_id: str) -> Markup:
    """Vertical bars, one per label, left to right (e.g. hours per month for 12 months)."""
    if data.is_empty:
        return EMPTY
    chart_id = _safe_id(chart_id)
    count = len(data.values)
    lines = max(len(label.split("\n")) for label in data.axis_labels) + (1 if data.groups else 0)
    top, bottom, side = 24, 12 + lines * (LABEL_SIZE + 4), 4
    height = 240 + (lines - 1) * (LABEL_SIZE + 4)
    plot_height = height - top - bottom
    plot_width = WIDTH - 2 * side
    low, high = _range(data.values)
    span = high - low
    zero_y = top + plot_height * high / span
    slot = plot_width / count
    bar_width = slot * 0.7
    # Too many bars for every label to fit: label every n-th bar (the table has them all).
    widest = max(len(line) for label in data.axis_labels for line in label.split("\n"))
    label_every = max(1, math.ceil((widest * LABEL_SIZE * CHAR_WIDTH + 6) / slot))
    values_fit = max(len(data.value_text(v)) for v in data.values) * VALUE_SIZE * CHAR_WIDTH <= slot

    parts = [_open_svg(chart_id, height, data)]
    for index, (value, label) in enumerate(zip(data.values, data.axis_labels, strict=True)):
        centre = side + slot * index + slot / 2
        bar_height = plot_height * abs(value) / span
        y = zero_y - bar_height if value >= 0 else zero_y
        colour = BAR_COLOUR if value >= 0 else NEGATIVE_COLOUR
        parts.append(
            f'<rect class="chart-bar" x="{_n(centre - bar_width / 2)}" y="{_n(y)}" '
            f'width="{_n(bar_width)}" height="{_n(bar_height)}" fill="{colour}" '
            f'data-value="{escape(data.value_text(value))}"/>'
        )
        if value != 0 and values_fit:
            value_y = y - 5 if value >= 0 else y + bar_height + VALUE_SIZE + 2
            parts.append(
                f'<text x="{_n(centre)}" y="{_n(value_y)}" text-anchor="middle" '
                f'font-size="{VALUE_SIZE}">{escape(data.value_text(value))}</text>'
            )
        if index % label_every == 0:
            parts.append(_label(label, centre, height - bottom + LABEL_SIZE + 6))
    if data.groups:
        parts += _group_labels(data.groups, side, slot, height - 8)
    parts.append(
        f'<line x1="{side}" x2="{WIDTH - side}" y1="{_n(zero_y)}" y2="{_n(zero_y)}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="1.5"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _group_labels(groups: Sequence[str], side: float, slot: float, y: float) -> list[str]:
    """Each group's name once, at the start of its run of bars ("2025" under December, "2026"
    under January). A name with no room before the next one is left out (the table has it)."""
    runs: list[tuple[str, int]] = []  # (name, index of its first bar)
    for index, group in enumerate(groups):
        if not runs or runs[-1][0] != group:
            runs.append((group, index))
    parts = []
    for number, (name, first) in enumerate(runs):
        start = side + slot * first
        room_until = side + slot * runs[number + 1][1] if number + 1 < len(runs) else WIDTH - side
        if len(name) * LABEL_SIZE * CHAR_WIDTH + 8 > room_until - start:
            continue
        parts.append(
            f'<text x="{_n(start + 2)}" y="{_n(y)}" font-size="{LABEL_SIZE}" font-weight="600">{escape(name)}</text>'
        )
    return parts


def horizontal_bar_chart(data: ChartData, chart_id: str) -> Markup:
    """Horizontal bars, one row per label, top to bottom (e.g. members per balance bucket).
    Long labels wrap onto two lines, and are shortened with "…" past that (the table beside the
    chart has them in full): a label is never cut off by the edge of the drawing."""
    if data.is_empty:
        return EMPTY
    chart_id = _safe_id(chart_id)
    value_room = max(len(data.value_text(v)) for v in data.values) * VALUE_SIZE * CHAR_WIDTH + 12
    label_width = WIDTH * 0.45
    per_line = max(4, int((label_width - 10) / (LABEL_SIZE * CHAR_WIDTH)))
    wrapped = [_wrap(label.replace("\n", " "), per_line) for label in data.labels]
    row_height = 40 if any(len(lines) > 1 for lines in wrapped) else 30
    gap, top = 8, 6
    count = len(data.values)
    height = top * 2 + count * row_height + (count - 1) * gap
    plot_left = label_width
    plot_width = WIDTH - plot_left - value_room
    low, high = _range(data.values)
    span = high - low
    zero_x = plot_left + plot_width * -low / span

    parts = [_open_svg(chart_id, height, data)]
    for index, (value, lines) in enumerate(zip(data.values, wrapped, strict=True)):
        y = top + index * (row_height + gap)
        middle = y + row_height / 2
        bar_length = plot_width * abs(value) / span
        x = zero_x if value >= 0 else zero_x - bar_length
        colour = BAR_COLOUR if value >= 0 else NEGATIVE_COLOUR
        first_y = middle + LABEL_SIZE * 0.35 - (len(lines) - 1) * (LABEL_SIZE + 2) / 2
        if len(lines) == 1:
            parts.append(
                f'<text x="{_n(plot_left - 8)}" y="{_n(first_y)}" text-anchor="end" '
                f'font-size="{LABEL_SIZE}">{escape(lines[0])}</text>'
            )
        else:
            spans = "".join(
                f'<tspan x="{_n(plot_left - 8)}" y="{_n(first_y + i * (LABEL_SIZE + 2))}">{escape(line)}</tspan>'
                for i, line in enumerate(lines)
            )
            parts.append(f'<text text-anchor="end" font-size="{LABEL_SIZE}">{spans}</text>')
        parts.append(
            f'<rect class="chart-bar" x="{_n(x)}" y="{_n(y)}" width="{_n(bar_length)}" '
            f'height="{row_height}" fill="{colour}" data-value="{escape(data.value_text(value))}"/>'
        )
        value_x = x + bar_length + 6 if value >= 0 else zero_x + 6
        parts.append(
            f'<text x="{_n(value_x)}" y="{_n(middle + VALUE_SIZE * 0.35)}" '
            f'font-size="{VALUE_SIZE}">{escape(data.value_text(value))}</text>'
        )
    parts.append(
        f'<line x1="{_n(zero_x)}" x2="{_n(zero_x)}" y1="{top - 4}" y2="{height - top + 4}" '
        f'stroke="{TEXT_COLOUR}" stroke-width="1.5"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _wrap(label: str, per_line: int) -> list[str]:
    """A label in at most two lines of ``per_line`` characters, broken between words; past two
    lines it is shortened with "…"."""
    lines = textwrap.wrap(label, per_line, break_long_words=True) or [""]
    if len(lines) <= 2:
        return lines
    second = " ".join(lines[1:])
    return [lines[0], second[: per_line - 1].rstrip() + "…"]


def _open_svg(chart_id: str, height: float, data: ChartData) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" viewBox="0 0 {WIDTH} {_n(height)}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="{FONT}" fill="{TEXT_COLOUR}">'
        f'<title id="{chart_id}-title">{escape(data.title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(describe(data))}</desc>'
    )


def _label(label: str, x: float, y: float) -> str:
    lines = label.split("\n")
    if len(lines) == 1:
        return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="middle" font-size="{LABEL_SIZE}">{escape(label)}</text>'
    spans = "".join(
        f'<tspan x="{_n(x)}" dy="{0 if i == 0 else LABEL_SIZE + 4}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="middle" font-size="{LABEL_SIZE}">{spans}</text>'


def _range(values: Sequence[float]) -> tuple[float, float]:
    """The scale always includes zero, so bars grow from a zero line; never an empty span."""
    low = min(0.0, *values)
    high = max(0.0, *values)
    return low, high


def _safe_id(chart_id: str) -> str:
    """An id usable in both HTML and XML: letters, digits, '-' and '_', starting with a letter."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", chart_id)
    return cleaned if cleaned[:1].isalpha() else f"chart-{cleaned}"


def _n(number: float) -> str:
    """Coordinates to two decimals, without trailing zeros."""
    text = f"{number:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
