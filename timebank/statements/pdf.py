"""Printable statements: large clear type, for members who get their statement on paper at the
day centre. Built on the shared helpers in ``timebank/pdf.py``.

Each statement starts on a page of its own and numbers its own pages ("Page 1 of 2"), also when
a month's statements are printed together, and links to the same statement as a web page (for
a screen reader, or larger text)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from .. import pdf
from ..hours import HOURS_IN_TABLES, hours_change_in_table, hours_in_table
from ..members.service import history_words
from .service import StatementView, month_words, statement_lines


def _day(value: date) -> str:
    return f"{value.day} {value:%B}"  # the year is the statement's


def _footer(statement: StatementView) -> str:
    return f"{statement.account_name}: statement for {statement.month_words}"


def _write(document: pdf.TimebankPDF, statement: StatementView, html_url: str) -> None:
    """One statement from the top of the current page; each page's footer names the member,
    so a page that runs over is still theirs when printed."""
    pdf.title_block(
        document,
        f"Statement for {statement.month_words}",
        f"{statement.timebank_name}, run by {statement.organisation_name}",
    )
    pdf.paragraph(document, f"Name: {statement.account_name}", bold=True)
    pdf.paragraph(document, f"Month: {statement.month_words}")
    pdf.paragraph(document, f"To read this statement on a screen, or larger: {html_url}", link=html_url)
    pdf.table(
        document,
        heading="Your hours this month",
        note=HOURS_IN_TABLES,
        headers=["What", "Hours"],
        rows=[[line.words, line.hours_cell] for line in statement_lines(statement)],
        widths=[5, 2],
        align=["LEFT", "RIGHT"],
    )
    if statement.movements:
        pdf.table(
            document,
            heading="What happened",
            headers=["Date", "What happened", "Change", "Balance after"],
            rows=[
                [
                    _day(line.value_date),
                    history_words(line) + (f" ({line.description})" if line.description else ""),
                    hours_change_in_table(line.change_minutes),
                    hours_in_table(line.balance_after_minutes),
                ]
                for line in statement.movements
            ],
            widths=[2.2, 5, 1.6, 1.8],
            align=["LEFT", "LEFT", "RIGHT", "RIGHT"],
        )
    else:
        pdf.heading(document, "What happened")
        pdf.paragraph(document, f"Nothing was recorded in {statement.month_words}.")
    pdf.paragraph(
        document,
        f"This statement was written when {statement.month_words} was closed. "
        f"It will not change. Questions? Ask {statement.organisation_name}.",
    )


def _document(title: str) -> pdf.TimebankPDF:
    return pdf.new_document(title, large=True, show_title=False, first_page=False)


def _pages(statement: StatementView, html_url: str) -> int:
    """How many pages the statement takes on its own (it starts on a fresh page wherever it is
    printed, so it takes as many in a month's document)."""
    trial = _document(_footer(statement))
    trial.begin_numbered_part(_footer(statement), 0)
    _write(trial, statement, html_url)
    return trial.page_no()


def statement_pdf(statement: StatementView, html_url: str) -> bytes:
    """One statement; ``html_url`` is its web page."""
    document = _document(f"Statement for {statement.month_words}: {statement.account_name}")
    document.begin_numbered_part(_footer(statement), _pages(statement, html_url))
    _write(document, statement, html_url)
    return pdf.finish(document)


def month_pdf(
    statements: list[StatementView], timebank_name: str, month: date, html_url: Callable[[StatementView], str]
) -> bytes:
    """Every statement of the month in one document, each starting on a page of its own with
    its own page numbers; ``html_url`` gives each statement's web page."""
    document = _document(f"Statements for {month_words(month)}: {timebank_name}")
    if not statements:
        document.add_page()
        pdf.title_block(document, f"Statements for {month_words(month)}", timebank_name)
        pdf.paragraph(document, "Nobody had any hours to show this month.")
    for statement in statements:
        url = html_url(statement)
        document.begin_numbered_part(_footer(statement), _pages(statement, url))
        _write(document, statement, url)
    return pdf.finish(document)
