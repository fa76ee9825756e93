"""Charts drawn on the server as SVG, always shown beside a table of the same numbers.

No Flask here: a chart is a ``ChartData`` (what it shows) and a function that draws it
(``bar_chart`` for a series such as hours per month, ``horizontal_bar_chart`` for buckets such
as a balance distribution). Templates use the ``_charts.html`` macro, which puts the drawing and
its table side by side; the table is the accessible source of truth, the drawing a picture of it.
"""

from .svg import ChartData, bar_chart, format_value, horizontal_bar_chart

__all__ = ["ChartData", "bar_chart", "format_value", "horizontal_bar_chart"]
