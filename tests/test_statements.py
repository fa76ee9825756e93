"""Statements of closed months: the member's page, CSV and PDF read back; the coordinator's
months page, the close button and every statement of a month in one PDF; who may see what.

The month is built through the services with known answers (tests/ledger/test_close.py:
``build_service_month``), closed through the coordinator's page, then read back.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import AuthActions, Factory
from tests.ledger.test_close import ServiceMonth, build_service_month
from timebank import pdf
from timebank.clock import today_in
from timebank.ledger.periods import month_start
from timebank.models import AuditEvent, Period, Role

# The app closes months by the timebank's own calendar (Europe/London), so the test does too.
TODAY = today_in("Europe/London")
LAST_MONTH = month_start(TODAY) - timedelta(days=1)
CODE = f"{LAST_MONTH:%Y-%m}"
WORDS = f"{LAST_MONTH:%B %Y}"


def pdf_text(data: bytes) -> list[str]:
    """The text of each page, whitespace squeezed."""
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]


def pdf_links(data: bytes) -> set[str]:
    """Every web address the PDF links to."""
    links = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                links.add(str(action["/URI"]))
    return links


def closed_month(session: Session, factory: Factory, client: FlaskClient, auth: AuthActions) -> ServiceMonth:
    built = build_service_month(session, factory, LAST_MONTH)
    auth.login(built.world.coordinator)
    response = client.post("/coordinator/months/close", data={"month": CODE})
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith(f"/coordinator/months/{CODE}")
    auth.logout()
    return built


def test_a_member_reads_their_closed_month_on_the_page_as_csv_and_as_pdf(
    session: Session, factory: Factory, client: FlaskClient, auth: AuthActions
):
    built = closed_month(session, factory, client, auth)
    alice = built.world.alice
    auth.login(alice)

    listing = client.get("/statements")
    assert listing.status_code == 200
    assert f"Statement for {WORDS}" in listing.text and f"/members/{alice.id}/statements/{CODE}" in listing.text

    page = client.get(f"/members/{alice.id}/statements/{CODE}")
    assert page.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", page.text).split())
    # Alice: earned 2 h + 1.5 h, spent 1 h, gave 30 min to the pool, 1 h given back by a correction.
    for figure in (
        f"Balance at the start of {WORDS} 0:00",
        "Earned by giving time +3:30",
        "Spent on time received −1:00",
        "Given to the community pool −0:30",
        "Received from the community pool 0:00",
        "Corrections: hours given back +1:00",
        f"Balance at the end of {WORDS} 3:00",
    ):
        assert figure in text
    assert "You gave 30 minutes to the community pool" in text and "You earned 1 hour 30 minutes helping" in text

    download = client.get(f"/members/{alice.id}/statements/{CODE}/csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert f"statement-alice-{CODE}.csv" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert ["Statement for", "Alice"] in rows and ["Month", WORDS] in rows
    figures = {row[0]: (row[1], row[2]) for row in rows if len(row) == 3}
    assert figures["Earned by giving time"] == ("3:30", "210")
    assert figures["Spent on time received"] == ("-1:00", "-60")
    assert figures["Given to the community pool"] == ("-0:30", "-30")
    assert figures[f"Balance at the end of {WORDS}"] == ("3:00", "180")
    movements = [row for row in rows if len(row) == 5 and row[0] != "Date"]
    assert len(movements) == 5  # gave 2 h, got 1 h, 1 h back, gave to the pool, the garden day
    assert movements[-1][-1] == "3:00"  # the running balance ends at the closing balance

    printable = client.get(f"/members/{alice.id}/statements/{CODE}/pdf")
    assert printable.status_code == 200 and printable.mimetype == "application/pdf"
    (first, *_) = pages = pdf_text(printable.data)
    whole = " ".join(pages)
    for expected in (
        f"Statement for {WORDS}",
        "Name: Alice",
        "Riverside, run by Riverside Day Service",
        "so 2:30 means 2 hours 30 minutes",
        "Earned by giving time +3:30",
        "Spent on time received −1:00",
        "Given to the community pool −0:30",
        "Corrections: hours given back +1:00",
        f"Balance at the end of {WORDS} 3:00",
        "Date What happened Change Balance after",
    ):
        assert expected in whole
    assert first.startswith(f"Statement for {WORDS}")
    # The accessible web page of the same statement is named and linked from the PDF.
    web_page = f"http://localhost/members/{alice.id}/statements/{CODE}"
    assert web_page in whole and web_page in pdf_links(printable.data)
    assert re.search(r"Page 1 of \d$", first)


def test_an_open_month_says_its_statement_appears_once_closed_and_shows_the_balance_now(
    factory: Factory, client: FlaskClient, auth: AuthActions
):
    world = factory.world()
    auth.login(world.alice)
    this_month = f"{TODAY:%Y-%m}"
    page = client.get(f"/members/{world.alice.id}/statements/{this_month}")
    assert page.status_code == 200
    assert "appears once the month is closed" in page.text and "0 hours" in page.text
    assert client.get(f"/members/{world.alice.id}/statements/{this_month}/pdf").status_code == 302
    listing = client.get("/statements")
    assert "No month has been closed yet" in listing.text and "appears here once the month is closed" in listing.text
    assert client.get(f"/members/{world.alice.id}/statements/2026-13").status_code == 404
    assert client.get(f"/members/{10**30}/statements").status_code == 404


def test_only_the_member_and_their_own_coordinators_see_a_statement(
    session: Session, factory: Factory, client: FlaskClient, auth: AuthActions
):
    built = closed_month(session, factory, client, auth)
    world = built.world
    other_coordinator = factory.member(world.other_timebank, "Oscar", role=Role.COORDINATOR)
    urls = [
        f"/members/{world.bob.id}/statements",
        f"/members/{world.bob.id}/statements/{CODE}",
        f"/members/{world.bob.id}/statements/{CODE}/csv",
        f"/members/{world.bob.id}/statements/{CODE}/pdf",
    ]
    for visitor, status in ((world.alice, 404), (other_coordinator, 404), (world.coordinator, 200)):
        auth.login(visitor)
        assert [client.get(url).status_code for url in urls] == [status] * 4, visitor.display_name
        auth.logout()
    auth.login(other_coordinator)
    assert client.get(f"/coordinator/months/{CODE}").status_code == 404  # timebank B closed nothing
    assert client.get(f"/coordinator/months/{CODE}/pdf").status_code == 404


def test_the_coordinator_closes_months_in_order_and_prints_every_statement_in_one_pdf(
    session: Session, factory: Factory, client: FlaskClient, auth: AuthActions
):
    built = build_service_month(session, factory, LAST_MONTH)
    world = built.world
    # A name the PDF's font may lack, and one a spreadsheet would run as a formula.
    factory.member(world.timebank, "Zoë Łukasz 李")
    formula = factory.member(world.timebank, "=SUM(1+1)")
    auth.login(world.coordinator)

    months = client.get("/coordinator/months")
    assert months.status_code == 200 and f"Close {WORDS}" in months.text
    assert client.post("/coordinator/months/close", data={"month": f"{TODAY:%Y-%m}"}).status_code == 409
    refused = client.post("/coordinator/months/close", data={"month": f"{TODAY:%Y-%m}"})
    assert "is not over yet" in refused.text
    assert client.post("/coordinator/months/close", data={}).status_code == 422
    assert session.scalar(select(func.count(Period.id))) == 0

    assert client.post("/coordinator/months/close", data={"month": CODE}).status_code == 302
    period = session.scalars(select(Period)).one()
    assert period.closed_by_id == world.coordinator.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "period.closed")).one()
    assert (event.actor_id, event.subject_id, event.after) == (
        world.coordinator.id,
        period.id,
        {"month": CODE, "checksum": period.checksum},
    )
    months = client.get("/coordinator/months")
    assert f"Close {WORDS}" not in months.text
    assert period.checksum is not None and period.checksum[:12] in months.text
    assert "by Cora Coordinator" in months.text

    exported = client.get(f"/members/{formula.id}/statements/{CODE}/csv").get_data(as_text=True)
    assert ["Statement for", "'=SUM(1+1)"] in list(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))

    month_page = client.get(f"/coordinator/months/{CODE}")
    assert month_page.status_code == 200 and "Zoë Łukasz 李" in month_page.text

    printed = client.get(f"/coordinator/months/{CODE}/pdf")
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    pages = [page for page in pdf_text(printed.data)]
    names = [re.search(r"Name: (.+?) Month:", page) for page in pages]
    # One page each for the accounts with hours (Cora and Zoë had none): members by name, then
    # the organisation and the pool.
    assert [match.group(1) for match in names if match] == [
        "Alice",
        "Bob",
        "Riverside Day Service",
        "Riverside community pool",
    ]
    starts = [page for page in pages if "Name: " in page]
    assert len(starts) == 4 and all(page.startswith(f"Statement for {WORDS}") for page in starts)
    assert all("Riverside, run by Riverside Day Service" in page for page in starts)
    # Each statement numbers its own pages, so a member's pages say "Page 1 of 2", not "of 9".
    numbers = [re.search(r": statement for .+ Page (\d+) of (\d+)$", page) for page in pages]
    assert all(numbers)
    counted = [(int(match.group(1)), int(match.group(2))) for match in numbers if match]
    for page, (number, total) in zip(pages, counted, strict=True):
        assert (number == 1) == ("Name: " in page)
        assert number <= total
    assert sum(total for number, total in counted if number == 1) == len(pages)
    # Each statement links to its own web page; the organisation's and the pool's, to the month's.
    links = pdf_links(printed.data)
    assert f"http://localhost/members/{world.alice.id}/statements/{CODE}" in links
    assert f"http://localhost/coordinator/months/{CODE}" in links


@pytest.mark.parametrize("fonts", ["DejaVu", "none"])
def test_pdf_helpers_print_any_name_with_or_without_a_unicode_font(fonts: str, monkeypatch: pytest.MonkeyPatch):
    if fonts == "none":
        monkeypatch.setattr(pdf, "FONT_DIRS", ())
        monkeypatch.delenv("TIMEBANK_PDF_FONT_DIR", raising=False)
    names = ["Zoë Ñúñez", "Łukasz Wójcik", "李小龙", "Ahmed محمد", "Smile 😀", "“Quoted” – dash", "nul\x00here"]
    document = pdf.new_document("Names", "Every kind of name", large=True)
    pdf.heading(document, "People")
    pdf.table(document, ["Name", "Hours"], [[name, "1.5"] for name in names], widths=[3, 1], align=["LEFT", "RIGHT"])
    text = " ".join(pdf_text(pdf.finish(document)))
    assert "Zoë Ñúñez" in text and "Every kind of name" in text
    assert ("Łukasz Wójcik" if document.unicode_font else "Lukasz Wójcik") in text
    assert document.unicode_font == (fonts == "DejaVu" and pdf.font_files() is not None)


def _content(data: bytes) -> bytes:
    return b"".join(page.get_contents().get_data() for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_text_is_flush_left_and_a_table_never_splits_a_word_or_a_short_table():
    document = pdf.new_document("Statement for November 2026 and a long title that wraps", large=True)
    pdf.paragraph(document, "A paragraph long enough to wrap onto a second line, which justified text would stretch.")
    while document.y < document.page_break_trigger - 30:  # leave room for a row or two, not three
        pdf.paragraph(document, "Filler")
    rows = [["30 November", "You earned 2 hours helping", "+2:00"] for _ in range(3)]
    pdf.table(document, ["Date", "What happened", "Change"], rows, widths=[0.6, 5, 1], heading="What happened")
    data = pdf.finish(document)
    # Justified lines are drawn with gaps between their words (a TJ array with offsets); none here.
    assert not re.search(rb"\)\s*-?\d+(?:\.\d+)?\s*[(<]", _content(data))
    pages = pdf_text(data)
    # The short table went whole onto the next page with its heading, and kept "November" whole
    # although its column was asked to be narrow.
    assert len(pages) == 2 and "30 November" not in pages[0] and "What happened" not in pages[0]
    assert pages[1].count("30 November") == 3 and "Novembe r" not in pages[1]
