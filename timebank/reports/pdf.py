"""The monthly report as a printable PDF, built with the shared helpers in ``timebank/pdf.py``.
Tables only: the same numbers the web page draws as charts."""

from __future__ import annotations

from .. import pdf
from ..hours import HOURS_IN_TABLES, hours_in_table
from .service import MonthlyReport, month_name
from .words import (
    change_text,
    measure_text,
    reciprocity_words,
    requests_words,
    self_approval_words,
    self_approved_item_words,
    value_words,
)


def monthly_report_pdf(report: MonthlyReport, html_url: str) -> bytes:
    """The report; ``html_url`` is the same report as a web page (charts, and for a screen reader)."""
    subtitle = f"{report.month_label}{' (so far: the month is not over)' if report.is_partial else ''}"
    document = pdf.new_document(f"Monthly report: {report.timebank_name}", subtitle)
    pdf.paragraph(document, f"This report with its charts, on a screen: {html_url}", link=html_url)
    pdf.paragraph(document, HOURS_IN_TABLES)
    pdf.heading(document, "Summary")
    pdf.table(
        document,
        ["Figure", report.month_label, month_name(report.previous.month), "Change"],
        [
            [m.label, measure_text(m.kind, m.this_month), measure_text(m.kind, m.previous_month), change_text(m)]
            for m in report.comparison
        ],
        widths=[3, 2.2, 2.2, 2.2],
        align=["L", "R", "R", "R"],
    )
    pdf.heading(document, "Hours by kind of exchange")
    pdf.table(
        document,
        ["Kind", "Hours"],
        [[k.name, hours_in_table(k.minutes)] for k in report.kinds],
        widths=[4, 1],
        align=["L", "R"],
    )
    pdf.heading(document, "Hours by category")
    if report.categories:
        pdf.table(
            document,
            ["Category", "Hours"],
            [[c.name, hours_in_table(c.minutes)] for c in report.categories],
            widths=[4, 1],
            align=["L", "R"],
        )
    else:
        pdf.paragraph(document, "No hours were exchanged this month.")
    pdf.heading(document, "Reciprocity")
    pdf.paragraph(document, reciprocity_words(report))
    pdf.heading(document, "Requests for help")
    pdf.paragraph(document, requests_words(report))
    if report.value_pence is not None and report.hour_value_pence is not None:
        pdf.heading(document, "Estimated value (an estimate for funders)")
        pdf.paragraph(document, value_words(report))
    if report.self_approval.mention:
        pdf.heading(document, "Self-approval")
        pdf.paragraph(document, self_approval_words(report))
        for item in report.self_approval.items:
            pdf.paragraph(document, self_approved_item_words(item))
    pdf.heading(document, "The last 12 months")
    pdf.table(
        document,
        ["Month", "Hours exchanged", "Exchanges", "Active participants"],
        [
            [month_name(t.month), hours_in_table(t.minutes), str(t.exchanges), str(t.active_participants)]
            for t in report.trend
        ],
        widths=[3, 2, 2, 2],
        align=["L", "R", "R", "R"],
    )
    return pdf.finish(document)
