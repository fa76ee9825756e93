"""Statement pages: a member's own (and, for a coordinator, any member's of their timebank) as a
page, CSV and PDF; the coordinator's months with the close button and the month's statements.

Thin: who may see what, the figures and the close are in ``service.py``; the PDF in ``pdf.py``.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from ..auth.decorators import coordinator_required
from ..extensions import db
from ..ledger import LedgerError
from ..web import signed_in_member
from . import service
from .errors import InvalidMonth
from .pdf import month_pdf, statement_pdf

bp = Blueprint("statements", __name__)


def _download(data: bytes | str, mimetype: str, filename: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _list_page(member_id: int | None) -> ResponseReturnValue:
    viewer = signed_in_member()
    found = service.statements_of(db.session(), viewer, member_id)
    return render_template("statements/index.html", found=found, own=found.member.id == viewer.id)


@bp.get("/statements")
@login_required
def mine() -> ResponseReturnValue:
    return _list_page(None)


@bp.get("/members/<int:member_id>/statements")
@login_required
def member_statements(member_id: int) -> ResponseReturnValue:
    return _list_page(member_id)


def _statement(member_id: int, month: str) -> service.StatementView | service.OpenMonth:
    return service.statement_for(db.session(), signed_in_member(), member_id, service.parse_month(month))


@bp.get("/members/<int:member_id>/statements/<month>")
@login_required
def show(member_id: int, month: str) -> ResponseReturnValue:
    statement = _statement(member_id, month)
    return render_template(
        "statements/show.html",
        statement=statement,
        member_id=member_id,
        own=member_id == signed_in_member().id,
        closed=isinstance(statement, service.StatementView),
        lines=service.statement_lines(statement) if isinstance(statement, service.StatementView) else [],
    )


def _closed_statement(member_id: int, month: str) -> service.StatementView | None:
    statement = _statement(member_id, month)
    return statement if isinstance(statement, service.StatementView) else None


@bp.get("/members/<int:member_id>/statements/<month>/csv")
@login_required
def csv(member_id: int, month: str) -> ResponseReturnValue:
    statement = _closed_statement(member_id, month)
    if statement is None:  # the page says the statement appears once the month is closed
        return redirect(url_for(".show", member_id=member_id, month=month))
    return _download(service.statement_csv(statement), "text/csv", service.statement_filename(statement, "csv"))


@bp.get("/members/<int:member_id>/statements/<month>/pdf")
@login_required
def pdf(member_id: int, month: str) -> ResponseReturnValue:
    statement = _closed_statement(member_id, month)
    if statement is None:
        return redirect(url_for(".show", member_id=member_id, month=month))
    web_page = url_for(".show", member_id=member_id, month=month, _external=True)
    return _download(
        statement_pdf(statement, web_page), "application/pdf", service.statement_filename(statement, "pdf")
    )


# -- the coordinator's months ---------------------------------------------------------------------


def _months_page(error: str | None = None, status: int = 200) -> ResponseReturnValue:
    overview = service.months_overview(db.session(), signed_in_member())
    return render_template("statements/months.html", overview=overview, error=error), status


@bp.get("/coordinator/months")
@coordinator_required
def months() -> ResponseReturnValue:
    return _months_page()


@bp.post("/coordinator/months/close")
@coordinator_required
def close() -> ResponseReturnValue:
    try:
        period = service.close_for_coordinator(db.session(), signed_in_member(), request.form.get("month"))
    except InvalidMonth as error:
        return _months_page(error.message, 422)
    except LedgerError as error:  # MonthNotOver, EarlierMonthOpen: 409, shown on the page
        db.session.rollback()
        return _months_page(error.message, 409)
    flash(f"{service.month_words(period.month)} is closed. Its statements are ready.", "success")
    return redirect(url_for(".month", month=service.month_code(period.month)))


@bp.get("/coordinator/months/<month>")
@coordinator_required
def month(month: str) -> ResponseReturnValue:
    viewer = signed_in_member()
    chosen = service.parse_month(month)
    statements = service.month_statements(db.session(), viewer, chosen)
    return render_template(
        "statements/month.html",
        statements=statements,
        month=chosen,
        month_words=service.month_words(chosen),
        code=service.month_code(chosen),
    )


@bp.get("/coordinator/months/<month>/pdf")
@coordinator_required
def month_statements_pdf(month: str) -> ResponseReturnValue:
    viewer = signed_in_member()
    chosen = service.parse_month(month)
    statements = service.printable_statements(db.session(), viewer, chosen)
    timebank = viewer.timebank
    assert timebank is not None
    code = service.month_code(chosen)

    def web_page(statement: service.StatementView) -> str:
        """A member's statement page; the organisation's and the pool's are on the month's page."""
        if statement.member_id is None:
            return url_for(".month", month=code, _external=True)
        return url_for(".show", member_id=statement.member_id, month=code, _external=True)

    data = month_pdf(statements, timebank.name, chosen, web_page)
    return _download(data, "application/pdf", f"statements-{service.month_code(chosen)}.pdf")
