"""Printable statements: large clear type, every figure in words, for members who get their
statement on paper at the day centre. Built on the shared helpers in ``timebank/pdf.py``."""

from __future__ import annotations

from datetime import date

from .. import pdf
from ..hours import hours_in_table
from ..members.service import history_words
from .service import StatementView, month_words, statement_lines


def _day(value: date) -> str:
    return f"{value.day} {value:%B}"  # the year is the statement's


def _write(document: pdf.TimebankPDF, statement: StatementView) -> None:
    """One statement from the top of the current page; each page's footer names the member,
    so a page that runs over is still theirs when printed."""
    document.footer_text = f"{statement.account_name}: statement for {statement.month_words}"
    pdf.title_block(
        document,
        f"Statement for {statement.month_words}",
        f"{statement.timebank_name}, run by {statement.organisation_name}",
    )
    pdf.paragraph(document, f"Name: {statement.account_name}", bold=True)
    pdf.paragraph(document, f"Month: {statement.month_words}")
    pdf.heading(document, "Your hours this month")
    pdf.table(
        document,
        ["What", "Hours"],
        [[line.words, line.hours_cell] for line in statement_lines(statement)],
        widths=[5, 3],
        align=["LEFT", "RIGHT"],
    )
    pdf.heading(document, "What happened")
    if statement.movements:
        pdf.table(
            document,
            ["Date", "What happened", "Balance after"],
            [
                [
                    _day(line.value_date),
                    history_words(line) + (f" ({line.description})" if line.description else ""),
                    hours_in_table(line.balance_after_minutes),
                ]
                for line in statement.movements
            ],
            widths=[1.5, 4.5, 1.5],
            align=["LEFT", "LEFT", "RIGHT"],
        )
    else:
        pdf.paragraph(document, f"Nothing was recorded in {statement.month_words}.")
    pdf.paragraph(
        document,
        f"This statement was written when {statement.month_words} was closed. "
        f"It will not change. Questions? Ask {statement.organisation_name}.",
    )


def statement_pdf(statement: StatementView) -> bytes:
    document = pdf.new_document(
        f"Statement for {statement.month_words}: {statement.account_name}", large=True, show_title=False
    )
    _write(document, statement)
    return pdf.finish(document)


def month_pdf(statements: list[StatementView], timebank_name: str, month: date) -> bytes:
    """Every statement of the month in one document, each starting on a page of its own."""
    document = pdf.new_document(f"Statements for {month_words(month)}: {timebank_name}", large=True, show_title=False)
    if not statements:
        pdf.title_block(document, f"Statements for {month_words(month)}", timebank_name)
        pdf.paragraph(document, "Nobody had any hours to show this month.")
    for number, statement in enumerate(statements):
        if number:
            document.add_page()
        _write(document, statement)
    return pdf.finish(document)
