"""Timesheet import: a CSV typed up from paper timesheets, previewed row by row with each row's
problems, then committed all together; the same file (or the same rows) never imported twice."""

from __future__ import annotations

import codecs
import io
import os
import re
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from tests.exchange_helpers import Browser, assert_nothing_changed, balance, ledger_ok, snapshot, today
from timebank import ledger
from timebank.coordinator import timesheets
from timebank.coordinator.timesheets_routes import seal, unseal
from timebank.exchanges.service import RecordRequest, record_exchange
from timebank.models import (
    Account,
    AuditEvent,
    Exchange,
    ExchangeStatus,
    Member,
    MemberStatus,
    Role,
    TimesheetImport,
)
from timebank.timebanks.service import organisation_account

IMPORT = "/coordinator/import"
COMMIT = "/coordinator/import/commit"



def upload(browser: Browser, content: bytes, filename: str = "timesheet.csv") -> TestResponse:
    return browser.client.post(
        IMPORT, data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data"
    )


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page)
    assert match, f"no hidden {name} field on the page"
    return match.group(1)


def commit(browser: Browser, preview: TestResponse) -> TestResponse:
    page = preview.get_data(as_text=True)
    return browser.post(
        COMMIT,
        {"upload": hidden(page, "upload"), "expected": hidden(page, "expected"), "ready_lines": ready_lines(page)},
    )


def ready_lines(page: str) -> str:
    match = re.search(r'name="ready_lines" type="hidden" value="([^"]*)"', page)
    return match.group(1) if match else ""


def uk(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def csv_bytes(lines: list[str], *, encoding: str = "utf-8", bom: bool = False) -> bytes:
    text = "\r\n".join(lines) + "\r\n"
    return (codecs.BOM_UTF8 if bom else b"") + text.encode(encoding)


def exchange_count(session) -> int:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(select(func.count(Exchange.id))) or 0


def import_count(session) -> int:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(select(func.count(TimesheetImport.id))) or 0


def two_months_back() -> date:
    """A day in a month that can be closed without touching this month or last month."""
    return today().replace(day=1) - timedelta(days=40)


def people(factory, world) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    return SimpleNamespace(
        zoe=factory.member(world.timebank, "Zoë Ní Bhriain"),
        jose=factory.member(world.timebank, "José Álvarez"),
        ann1=factory.member(world.timebank, "Ann Smith"),
        ann2=factory.member(world.timebank, "Ann Smith"),
    )


def messy_file(world, p) -> bytes:  # type: ignore[no-untyped-def]
    d1, d2 = today() - timedelta(days=1), today() - timedelta(days=2)
    closed = two_months_back()
    return csv_bytes(
        [
            " Day , Given by , Received by ,Duration, Notes ",  # 1
            "",  # 2
            f"{uk(d1)},  zoe ni bhriain ,JOSÉ ÁLVAREZ,1h30,Weeding",  # 3 ready
            f"{d2.day} {d2:%b %Y},jose alvarez,{world.alice.email.upper()},90 mins,Shopping",  # 4 ready
            f"{d1.isoformat()},Alice,Riverside Day Service,1.5,Ran the tea bar",  # 5 ready (to the organisation)
            f"{uk(d1)},Nobody Known,Alice,1,",  # 6 unknown member
            f"{uk(d1)},Ann Smith,Bob,2,",  # 7 two Ann Smiths
            f"{uk(d1)},Bob,Alice,lots,",  # 8 bad duration
            f"{uk(closed)},Bob,Alice,1,Old sheet",  # 9 closed month
            f"{uk(today() + timedelta(days=3))},Bob,Alice,1,",  # 10 future
            "31/02/2026,Bob,Alice,1,",  # 11 not a date
            f"{uk(d1)},Bob, bob ,1,",  # 12 both sides
            f"{d1.isoformat()},Zoë Ní Bhriain,jose alvarez,1:30,  weeding ",  # 13 the same as line 3
            "",  # 14
            " , , , , ",  # 15 spaces only: blank
            f"{uk(d2)},Bob,Alice,2 hours,Fixed the gate",  # 16 ready
        ],
        bom=True,
    )


def status_by_line(preview: timesheets.Preview) -> dict[int, timesheets.RowStatus]:
    return {row.line: row.status for row in preview.rows}


def problems_of(preview: timesheets.Preview, line: int) -> str:
    return " ".join(next(row for row in preview.rows if row.line == line).problems)


# -- the messy file ----------------------------------------------------------------------------


def test_the_preview_shows_each_rows_problems_in_a_messy_file(browser, factory, session):
    world = factory.world()
    p = people(factory, world)
    ledger.close_period(session, world.timebank.id, two_months_back())
    session.commit()
    raw = messy_file(world, p)

    preview = timesheets.preview_import(session, world.coordinator, "messy.csv", raw)
    statuses = status_by_line(preview)
    ready, problem = timesheets.RowStatus.READY, timesheets.RowStatus.PROBLEM
    assert statuses == {
        3: ready,
        4: ready,
        5: ready,
        6: problem,
        7: problem,
        8: problem,
        9: problem,
        10: problem,
        11: problem,
        12: problem,
        13: problem,
        16: ready,
    }
    assert preview.sheet.encoding == "UTF-8" and preview.sheet.delimiter == ","
    assert "No member called “Nobody Known”" in problems_of(preview, 6)
    assert "2 members are called “Ann Smith”" in problems_of(preview, 7)
    assert "Write their email address instead" in problems_of(preview, 7)
    assert "“lots”" in problems_of(preview, 8)
    assert "is closed: nothing can be added to it" in problems_of(preview, 9)
    assert "The date is in the future" in problems_of(preview, 10)
    assert "“31/02/2026” is not a date we can read" in problems_of(preview, 11)
    assert "Bob is on both sides" in problems_of(preview, 12)
    assert "The same as line 3 of the file" in problems_of(preview, 13)
    line3 = next(row for row in preview.rows if row.line == 3)
    assert line3.provider is not None and line3.provider.name == "Zoë Ní Bhriain"
    assert line3.recipient is not None and line3.recipient.name == "José Álvarez"
    assert line3.minutes == 90
    line5 = next(row for row in preview.rows if row.line == 5)
    assert line5.recipient is not None and line5.recipient.member is None  # the organisation

    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = upload(browser, raw, "messy.csv")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<strong>4</strong> ready to import" in page
    assert "<strong>8</strong> with problems" in page
    assert "No member called “Nobody Known”" in page
    assert "Import 4 rows" in page
    assert_nothing_changed(session, before)  # a preview writes nothing


def test_committing_the_messy_file_records_exactly_the_ready_rows(browser, factory, session):
    world = factory.world()
    p = people(factory, world)
    ledger.close_period(session, world.timebank.id, two_months_back())
    session.commit()
    browser.sign_in(world.coordinator)
    response = commit(browser, upload(browser, messy_file(world, p), "messy.csv"))
    assert response.status_code == 302
    assert exchange_count(session) == 4
    exchanges = session.scalars(select(Exchange)).all()
    assert all(e.status == ExchangeStatus.APPROVED for e in exchanges)
    assert all(e.request_key and e.request_key.startswith("import-") for e in exchanges)
    assert all(e.entered_by_id == world.coordinator.id for e in exchanges)
    assert balance(session, p.zoe) == 90
    assert balance(session, p.jose) == 0  # received 1h30 from Zoë, gave 90 minutes to Alice
    assert balance(session, world.alice) == -90 + 90 - 120  # got shopping, ran the tea bar, got the gate fixed
    assert balance(session, world.bob) == 120
    assert organisation_account(session, world.timebank.id).balance_minutes == -90
    record = session.scalar(select(TimesheetImport))
    assert record is not None and record.filename == "messy.csv"
    assert record.rows_imported == 4 and record.rows_skipped == 8
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "timesheet.imported"))
    assert event is not None and event.actor_id == world.coordinator.id
    assert event.after["lines_imported"] == [3, 4, 5, 16]
    page = browser.page(IMPORT)
    assert "Imported 4 exchanges from messy.csv. 8 rows with problems left out." in page
    assert "messy.csv" in page  # in the recent imports
    assert ledger_ok(session)


def test_a_semicolon_separated_windows_1252_export_imports(browser, factory, session):
    world = factory.world()
    p = people(factory, world)
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(
        [
            "DATE;Helper;Helped;Time;Description",
            f"{uk(d1)};José Álvarez;Zoë Ní Bhriain;1,5;Café trip",
            f"{d1:%d %B %Y};Zoë Ní Bhriain;Bob;45 mins;Phone call",
        ],
        encoding="cp1252",
    )
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really Windows-1252
    browser.sign_in(world.coordinator)
    preview = upload(browser, raw, "export.csv")
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Windows-1252, separated by semicolons" in page
    assert "<strong>2</strong> ready to import" in page
    assert commit(browser, preview).status_code == 302
    assert exchange_count(session) == 2
    assert balance(session, p.jose) == 90
    assert balance(session, p.zoe) == -90 + 45
    descriptions = {e.description for e in session.scalars(select(Exchange))}
    assert descriptions == {"Café trip", "Phone call"}
    assert ledger_ok(session)


def test_a_tab_separated_utf16_file_with_a_minutes_column_reads(factory, session):
    world = factory.world()
    d1 = today() - timedelta(days=1)
    text = f"Date\tProvider\tRecipient\tMinutes\n{d1.isoformat()}\tAlice\tBob\t90\n"
    raw = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    preview = timesheets.preview_import(session, world.coordinator, "unicode.txt", raw)
    assert preview.sheet.encoding == "UTF-16" and preview.sheet.delimiter == "\t"
    (row,) = preview.rows
    assert row.ready and row.minutes == 90  # a "minutes" column: 90 is 90 minutes, not 90 hours


# -- twice, overlapping, and already recorded --------------------------------------------------


def test_importing_the_same_file_twice_creates_nothing_new(browser, factory, session):
    world = factory.world()
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(["date,provider,recipient,hours,description", f"{uk(d1)},Alice,Bob,2,Garden"])
    browser.sign_in(world.coordinator)
    first_preview = upload(browser, raw)
    assert commit(browser, first_preview).status_code == 302
    assert exchange_count(session) == 1
    before = snapshot(session)

    again = upload(browser, raw, "same-file-other-name.csv")
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert "This file was already imported on" in page and "by Cora Coordinator" in page
    assert "Already imported" in page
    assert "Import 1 row" not in page  # no button
    # Sending the first preview's form again (a double click, or the back button) adds nothing.
    replay = commit(browser, first_preview)
    assert replay.status_code == 409
    assert "This file was already imported on" in replay.get_data(as_text=True)
    assert_nothing_changed(session, before)
    assert import_count(session) == 1


def test_an_overlapping_file_imports_only_the_new_rows(browser, factory, session):
    world = factory.world()
    d1, d2 = today() - timedelta(days=1), today() - timedelta(days=2)
    first = csv_bytes(
        [
            "date,provider,recipient,hours,description",
            f"{uk(d1)},Alice,Bob,2,Garden",
            f"{uk(d2)},Bob,Alice,1,Lift to town",
        ]
    )
    # The second file repeats the lift, typed differently, and adds one new row.
    second = csv_bytes(
        [
            "Date;Helper;Helped;Hours;Notes",
            f"{d2.isoformat()};BOB;alice;1:00;lift to  town",
            f"{uk(d1)};Bob;Alice;1.5;Ironing",
        ]
    )
    browser.sign_in(world.coordinator)
    assert commit(browser, upload(browser, first, "week1.csv")).status_code == 302
    assert exchange_count(session) == 2

    preview = upload(browser, second, "week2.csv")
    page = preview.get_data(as_text=True)
    assert "<strong>1</strong> ready to import" in page
    assert "<strong>1</strong> already imported before" in page
    response = commit(browser, preview)
    assert response.status_code == 302
    assert exchange_count(session) == 3
    assert balance(session, world.alice) == 120 - 60 - 90
    assert "1 row was already imported" in browser.page(IMPORT)
    record = session.scalar(select(TimesheetImport).where(TimesheetImport.filename == "week2.csv"))
    assert record is not None and record.rows_imported == 1 and record.rows_skipped == 1
    assert ledger_ok(session)


def test_help_already_recorded_by_hand_is_flagged_as_a_duplicate(browser, factory, session):
    world = factory.world()
    d1 = today() - timedelta(days=1)
    assert world.alice.account is not None and world.bob.account is not None
    record_exchange(
        session,
        world.coordinator,
        RecordRequest(
            provider_account_id=world.alice.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=120,
            performed_on=d1,
            description="Gardening",
            request_key="typed-by-hand",
        ),
    )
    raw = csv_bytes(["date,provider,recipient,hours", f"{uk(d1)},Alice,Bob,2"])
    preview = timesheets.preview_import(session, world.coordinator, "t.csv", raw)
    (row,) = preview.rows
    assert row.status == timesheets.RowStatus.PROBLEM
    assert "This help is already recorded" in " ".join(row.problems)
    assert not preview.can_commit


# -- all or nothing at commit ------------------------------------------------------------------


def _floor(session, member: Member, minutes: int) -> None:  # type: ignore[no-untyped-def]
    session.rollback()
    account = session.scalar(select(Account).where(Account.member_id == member.id))
    account.floor_minutes = minutes
    session.commit()


def test_the_preview_applies_the_limits_in_file_order_so_a_ready_row_never_fails_at_commit(
    browser, factory, session
):
    """Issue 12, point 7: the preview said Ready, then the commit refused the whole file because one
    member would go past their floor. The preview now checks the limits row after row, as the commit
    records them; the row that would break Bob's floor is left out, with why, and the rest import."""
    world = factory.world()
    _floor(session, world.bob, -30)
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(
        [
            "date,provider,recipient,hours,description",
            f"{uk(d1)},Bob,Alice,1,Shopping",
            f"{uk(d1)},Alice,Bob,2,Painting",  # Bob: +1 hour, then -2 hours: below his floor of -30 minutes
            f"{uk(d1)},Alice,Bob,0.5,Tea",  # still fits after line 2 is left out: -30 minutes... from +1 hour
        ]
    )
    browser.sign_in(world.coordinator)
    preview = upload(browser, raw)
    page = preview.get_data(as_text=True)
    assert "<strong>2</strong> ready to import" in page
    assert "Bob does not have enough time credits for this: 1 hour 30 minutes can be spent, 2 hours was asked." in page
    assert "(counting the rows above it in this file)" in page
    assert "Import 2 rows" in page

    response = commit(browser, preview)
    assert response.status_code == 302
    assert import_count(session) == 1
    assert balance(session, world.bob) == 60 - 30
    assert balance(session, world.alice) == -60 + 30
    assert ledger_ok(session)


def test_the_limits_count_hours_already_waiting_for_approval(browser, factory, session):
    """Pending hours count pessimistically, as the ledger counts them: Bob's 45 minutes waiting
    leave him 15 minutes above a floor of -1 hour."""
    world = factory.world()
    _floor(session, world.bob, -60)
    assert world.alice.account is not None and world.bob.account is not None
    record_exchange(
        session,
        world.alice,
        RecordRequest(
            provider_account_id=world.alice.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=45,
            performed_on=today() - timedelta(days=2),
            description="Waiting for Bob to confirm",
            request_key="waiting-1",
        ),
    )
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(["date,provider,recipient,hours", f"{uk(d1)},Alice,Bob,0.5"])
    browser.sign_in(world.coordinator)
    page = upload(browser, raw).get_data(as_text=True)
    assert "<strong>0</strong> ready to import" in page
    assert "Bob does not have enough time credits for this: 15 minutes can be spent, 30 minutes was asked." in page


def test_a_change_in_the_records_since_the_preview_refuses_the_commit_naming_the_row_and_offers_a_fresh_preview(
    browser, factory, session
):
    world = factory.world()
    carol = factory.member(world.timebank, "Carol")
    _floor(session, world.bob, -30)
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(["date,provider,recipient,hours", f"{uk(d1)},Carol,Alice,1", f"{uk(d1)},Alice,Bob,0.5"])
    browser.sign_in(world.coordinator)
    preview = upload(browser, raw)
    assert "<strong>2</strong> ready to import" in preview.get_data(as_text=True)
    # Meanwhile another coordinator records 15 minutes Bob received: line 3 would now take him past his floor.
    assert carol.account is not None and world.bob.account is not None
    record_exchange(
        session,
        world.coordinator,
        RecordRequest(
            provider_account_id=carol.account.id,
            recipient_account_id=world.bob.account.id,
            minutes=15,
            performed_on=d1,
            description="Fed the cat",
            request_key="meanwhile-1",
        ),
    )
    before = snapshot(session)

    response = commit(browser, preview)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "Line 3 (Alice helped Bob) is not ready any more: Bob does not have enough time credits for this" in page
    assert "Import " not in page  # no import from an error page: only a fresh preview
    assert "Check the file again" in page
    assert_nothing_changed(session, before)
    assert import_count(session) == 0

    fresh = browser.post("/coordinator/import/recheck", {"upload": hidden(page, "upload")})
    assert fresh.status_code == 200
    fresh_page = fresh.get_data(as_text=True)
    assert "Nothing was imported" not in fresh_page
    assert "<strong>1</strong> ready to import" in fresh_page and "Import 1 row" in fresh_page
    assert commit(browser, fresh).status_code == 302
    assert import_count(session) == 1
    assert balance(session, world.bob) == -15
    assert ledger_ok(session)


def test_a_change_since_the_preview_stops_the_import(browser, factory, session):
    world = factory.world()
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(["date,provider,recipient,hours", f"{uk(d1)},Alice,Bob,1", f"{uk(d1)},Bob,Alice,1"])
    browser.sign_in(world.coordinator)
    preview = upload(browser, raw)
    session.rollback()
    bob = session.get(Member, world.bob.id)
    assert bob is not None
    bob.status = MemberStatus.SUSPENDED
    session.commit()
    before = snapshot(session)
    response = commit(browser, preview)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The records changed since the preview, so nothing was imported." in page
    assert "Line 2 (Alice helped " not in page  # Bob is not found any more: the row names who it can
    assert "Line 2 is not ready any more: Bob (who was helped) cannot take part at the moment" in page
    assert "Import " not in page
    assert_nothing_changed(session, before)
    assert import_count(session) == 0


def test_a_title_line_above_the_column_names_is_skipped(browser, factory, session):
    """The usual spreadsheet export: a title (and a blank line) above the header."""
    world = factory.world()
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(
        [
            "Riverside timesheet: March,,,,",
            ",,,,",
            "Date,Helper,Helped,Hours,Notes",
            f"{uk(d1)},Alice,Bob,1,Shopping",
        ]
    )
    browser.sign_in(world.coordinator)
    preview = upload(browser, raw)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "<strong>1</strong> ready to import" in page
    assert "Line 1 (“Riverside timesheet: March”) is above the column names, so it was skipped." in page
    assert '<th scope="row" class="num">4</th>' in page  # the row keeps its line number in the file
    assert commit(browser, preview).status_code == 302
    assert balance(session, world.alice) == 60


@pytest.mark.parametrize("hours", ["-1", "−1.5", "(2)"])
def test_a_negative_time_says_negative_hours_are_not_imported_and_a_reversal_corrects(
    browser, factory, session, hours
):
    world = factory.world()
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(["date,provider,recipient,hours", f"{uk(d1)},Alice,Bob,{hours}"])
    browser.sign_in(world.coordinator)
    page = upload(browser, raw).get_data(as_text=True)
    assert "<strong>0</strong> ready to import" in page
    assert "is a negative time. Negative hours are not imported" in page
    assert "reverse that exchange" in page


def test_an_unknown_name_suggests_the_closest_members(browser, factory, session):
    world = factory.world()
    factory.member(world.timebank, "Priya Shah")
    factory.member(world.timebank, "Priya Shaw")
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(
        [
            "date,provider,recipient,hours",
            f"{uk(d1)},Alise,Bob,1",
            f"{uk(d1)},Priya Sha,Bob,1",
            f"{uk(d1)},Zebedee,Bob,1",
        ]
    )
    browser.sign_in(world.coordinator)
    page = upload(browser, raw).get_data(as_text=True)
    assert "No member called “Alise” (who helped). Did you mean Alice?" in page
    assert "No member called “Priya Sha” (who helped). Did you mean Priya Shah or Priya Shaw?" in page
    assert "No member called “Zebedee” (who helped).</li>" in page  # nobody close: no guess


def test_a_tampered_or_borrowed_preview_is_refused(browser, factory, session):
    world = factory.world()
    oscar = factory.member(world.other_timebank, "Oscar Other", role=Role.COORDINATOR)
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(["date,provider,recipient,hours", f"{uk(d1)},Alice,Bob,1"])
    browser.sign_in(world.coordinator)
    page = upload(browser, raw).get_data(as_text=True)
    token, expected = hidden(page, "upload"), hidden(page, "expected")
    before = snapshot(session)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for data in ({"upload": forged, "expected": expected}, {"upload": "", "expected": expected}, {}):
        response = browser.post(COMMIT, data)
        assert response.status_code == 400
        assert "Upload the file again" in response.get_data(as_text=True)
    # Another timebank's coordinator cannot use Cora's preview.
    browser.sign_in(oscar)
    response = browser.post(COMMIT, {"upload": token, "expected": expected})
    assert response.status_code == 400
    assert_nothing_changed(session, before)
    assert import_count(session) == 0


def test_the_signed_copy_of_the_largest_file_fits_in_a_form_field(app):
    coordinator: Any = SimpleNamespace(timebank_id=1, id=2)
    raw = os.urandom(timesheets.MAX_FILE_BYTES)  # incompressible: the worst case
    with app.test_request_context():
        token = seal(coordinator, "big.csv", raw)
        assert len(token) < 500_000  # Werkzeug's default limit for a form field
        assert unseal(coordinator, token) == ("big.csv", raw)
        assert unseal(SimpleNamespace(timebank_id=1, id=3), token) is None  # type: ignore[arg-type]


# -- bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"\n\n  \n", "The file is empty"),
        (b"date,provider,recipient,hours\n", "no rows of hours"),
        (b"when,who,hours\n2026-01-01,Alice,1\n", "needs a column for who helped (provider) and who was helped"),
        (b"date,provider,recipient\n2026-01-01,Alice,Bob\n", "needs a column for how long (hours)"),
        (b"date,day,provider,recipient,hours\n", "Two columns look like the date"),
        (b"just some words\nmore words\n", "None of the first 10 lines names the columns"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR,,,", "does not look like a CSV file"),
    ],
)
def test_a_file_that_cannot_be_used_is_refused_with_a_reason(browser, factory, session, content, message):
    world = factory.world()
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = upload(browser, content)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page and message in page
    assert_nothing_changed(session, before)


def test_no_file_or_a_file_too_large_is_refused(browser, factory, session):
    world = factory.world()
    browser.sign_in(world.coordinator)
    before = snapshot(session)
    response = browser.client.post(IMPORT, data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose the CSV file to upload" in response.get_data(as_text=True)
    big = b"date,provider,recipient,hours\n" + b"2026-01-01,Alice,Bob,1\n" * 20_000
    response = upload(browser, big)
    assert response.status_code == 413
    assert "The file is larger than 256 KB" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)


def test_committing_a_file_with_no_ready_rows_is_refused(browser, factory, session):
    world = factory.world()
    raw = csv_bytes(["date,provider,recipient,hours", f"{uk(today())},Nobody,Bob,1"])
    browser.sign_in(world.coordinator)
    preview = upload(browser, raw)
    page = preview.get_data(as_text=True)
    assert "No row is ready to import" in page
    assert 'name="upload"' not in page
    before = snapshot(session)
    response = browser.post(COMMIT, {"upload": seal_for(browser, world.coordinator, raw), "expected": "x"})
    assert response.status_code in (409, 422)
    assert "Nothing was imported" in response.get_data(as_text=True)
    assert_nothing_changed(session, before)
    assert import_count(session) == 0


def seal_for(browser: Browser, coordinator: Member, raw: bytes) -> str:
    with browser.client.application.test_request_context():
        return seal(coordinator, "t.csv", raw)


# -- who may ------------------------------------------------------------------------------------


def test_participants_cannot_import(browser, factory, session):
    world = factory.world()
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(["date,provider,recipient,hours", f"{uk(d1)},Bob,Alice,3"])
    browser.sign_in(world.coordinator)
    token_page = upload(browser, raw).get_data(as_text=True)
    browser.sign_in(world.alice)
    before = snapshot(session)
    assert browser.get(IMPORT).status_code == 403
    assert browser.get("/coordinator/import/template.csv").status_code == 403
    assert upload(browser, raw).status_code == 403
    response = browser.post(
        COMMIT, {"upload": hidden(token_page, "upload"), "expected": hidden(token_page, "expected")}
    )
    assert response.status_code == 403
    assert_nothing_changed(session, before)
    assert import_count(session) == 0
    with pytest.raises(timesheets.CoordinatorError):
        timesheets.preview_import(session, world.alice, "t.csv", raw)


def test_signed_out_visitors_are_sent_to_sign_in(client, factory, session):
    factory.world()
    before = snapshot(session)
    for method, url in (
        ("GET", IMPORT),
        ("GET", "/coordinator/import/template.csv"),
        ("POST", IMPORT),
        ("POST", COMMIT),
    ):
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert_nothing_changed(session, before)


def test_another_timebanks_coordinator_cannot_reach_our_members(browser, factory, session):
    world = factory.world()
    oscar = factory.member(world.other_timebank, "Oscar Other", role=Role.COORDINATOR)
    d1 = today() - timedelta(days=1)
    raw = csv_bytes(
        [
            "date,provider,recipient,hours",
            f"{uk(d1)},Alice,Olive Outsider,1",
            f"{uk(d1)},{world.bob.email},Olive Outsider,1",
            f"{uk(d1)},Riverside Day Service,Olive Outsider,1",
        ]
    )
    browser.sign_in(oscar)
    before = snapshot(session)
    preview = upload(browser, raw)
    page = preview.get_data(as_text=True)
    assert "<strong>0</strong> ready to import" in page
    assert page.count("No member called") == 3
    assert_nothing_changed(session, before)


# -- the template ------------------------------------------------------------------------------


def test_the_template_downloads_and_imports_cleanly(browser, factory, session):
    world = factory.world()
    factory.member(world.timebank, "Sam Jones")
    factory.member(world.timebank, "Priya Shah")
    browser.sign_in(world.coordinator)
    response = browser.get("/coordinator/import/template.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith(codecs.BOM_UTF8)
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0] == "date,provider,recipient,hours,description"
    assert len(text.splitlines()) == 3
    assert "Riverside Day Service" in text

    preview = upload(browser, raw, "timesheet-template.csv")
    assert "<strong>2</strong> ready to import" in preview.get_data(as_text=True)
    assert commit(browser, preview).status_code == 302
    assert exchange_count(session) == 2
    assert ledger_ok(session)


# -- reading, without a database ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-03", date(2026, 11, 3)),
        ("03/11/2026", date(2026, 11, 3)),
        ("3/11/26", date(2026, 11, 3)),
        ("3 Nov 2026", date(2026, 11, 3)),
        ("3 november 2026", date(2026, 11, 3)),
        ("Tue 3rd Nov 2026", date(2026, 11, 3)),
        ("3 Sept 2026", date(2026, 9, 3)),
        ("03/11/2026 00:00", date(2026, 11, 3)),
        ("03.11.2026", date(2026, 11, 3)),
        ("11/23/2026", None),  # American month-first: not read as a UK date
        ("yesterday", None),
        ("", None),
    ],
)
def test_dates_are_read_as_people_write_them(text, expected):
    assert timesheets.parse_date(text) == expected


def test_names_are_compared_without_case_accents_or_extra_spaces():
    assert timesheets.fold("  Zoë   NÍ Bhriain ") == timesheets.fold("zoe ni bhriain") == "zoe ni bhriain"
    assert timesheets.fold("José Álvarez") == "jose alvarez"
    assert timesheets.fold("O’Brien") == timesheets.fold("o'brien")


def test_encodings_are_recognised():
    assert timesheets.decode(codecs.BOM_UTF8 + "Zoë".encode()) == ("Zoë", "UTF-8")
    assert timesheets.decode("Zoë".encode()) == ("Zoë", "UTF-8")
    assert timesheets.decode("Zoë".encode("cp1252")) == ("Zoë", "Windows-1252")
    assert timesheets.decode(codecs.BOM_UTF16_LE + "Zoë".encode("utf-16-le")) == ("Zoë", "UTF-16")


def test_row_keys_ignore_how_the_description_was_typed():
    day = date(2026, 11, 3)
    assert timesheets.row_key(1, 2, day, 90, "Lift to  town") == timesheets.row_key(1, 2, day, 90, " lift to town")
    assert timesheets.row_key(1, 2, day, 90, "Lift") != timesheets.row_key(2, 1, day, 90, "Lift")
    assert timesheets.row_key(1, 2, day, 90, "Lift").startswith("import-")
