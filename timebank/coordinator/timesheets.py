"""Timesheet import: exchanges from paper timesheets, typed into a spreadsheet and saved as CSV.

Two steps, both here as plain functions over a Session and the acting coordinator:

1. ``preview_import`` reads the file and says, row by row, what would happen: ready, already
   imported, or the problems that keep the row out (an unknown or ambiguous name, a duration or
   date that cannot be read, a date in the future or in a closed month, the same person on both
   sides, the same help already recorded, the same row twice in the file).
2. ``commit_import`` does the whole preview again (nothing from the browser is trusted), checks it
   still matches what the coordinator saw, and records every ready row in ONE write transaction,
   through the exchanges service's own recording step (a coordinator's record is approved at
   once). If any row is refused then (a floor reached since, say), nothing is written.

Importing twice creates nothing: the file's SHA-256 is unique per timebank (``TimesheetImport``),
and each row's exchange has the request key ``import-<sha256 of the row's normalised content>``,
so a second file that overlaps the first skips the rows already imported.

Reading is forgiving, because real files are messy: UTF-8 with or without a BOM, UTF-16 (Excel's
"Unicode text"), Windows-1252 otherwise; commas, semicolons or tabs; blank lines and stray spaces;
header names in any case with common synonyms; names matched without regard to case or accents,
against display names and email addresses (and the organisation by its name); hours as people
write them (``forms_common.parse_hours_to_minutes``); dates as ISO, UK day-first or "3 Nov 2026".
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import ledger
from ..audit.service import record as audit
from ..clock import local_datetime, today_in
from ..exchanges import service as exchanges
from ..exchanges.errors import ExchangeError
from ..forms_common import HoursInputError, parse_hours_to_minutes
from ..models import (
    Account,
    AccountKind,
    Exchange,
    ExchangeStatus,
    Member,
    MemberStatus,
    Timebank,
    TimesheetImport,
)
from .errors import CoordinatorError
from .service import require_coordinator

MAX_FILE_BYTES = 256 * 1024  # thousands of rows; see timesheets_routes for why not more
MAX_ROWS = 2000
MAX_MINUTES_PER_ROW = 24 * 60
MAX_DESCRIPTION = 2000
DEFAULT_DESCRIPTION = "From a paper timesheet"
KEY_PREFIX = "import-"

# Exchanges that never moved credits (or were undone): the same help may be imported again.
_NOT_RECORDED = (
    ExchangeStatus.DECLINED,
    ExchangeStatus.REJECTED,
    ExchangeStatus.CANCELLED,
    ExchangeStatus.EXPIRED,
    ExchangeStatus.REVERSED,
)


# -- errors ------------------------------------------------------------------------------------


class TimesheetError(CoordinatorError):
    pass


class InvalidTimesheet(TimesheetError):
    """The file as a whole cannot be used: empty, not text, columns missing, too big (422)."""

    code = "invalid"


class TimesheetAlreadyImported(TimesheetError):
    """This very file was imported before (409)."""

    code = "conflict"


class TimesheetChanged(TimesheetError):
    """Something changed between the preview and the commit; look again (409)."""

    code = "conflict"


class TimesheetRowRefused(TimesheetError):
    """A row could not be recorded when committing, so nothing was (409)."""

    code = "conflict"


# -- reading the file --------------------------------------------------------------------------

# Column name (normalised: lower case, no accents, letters and spaces) -> what it holds.
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "date": ("date", "day", "when", "date of help", "date helped", "date of exchange"),
    "provider": (
        "provider",
        "helper",
        "given by",
        "giver",
        "helped by",
        "who helped",
        "volunteer",
        "provided by",
    ),
    "recipient": (
        "recipient",
        "helped",
        "received by",
        "receiver",
        "who was helped",
        "person helped",
        "received",
    ),
    "hours": ("hours", "duration", "time", "hrs", "how long", "time given", "hours given", "length"),
    "minutes": ("minutes", "mins"),
    "description": (
        "description",
        "what",
        "notes",
        "note",
        "details",
        "what was done",
        "activity",
        "comments",
        "comment",
        "task",
    ),
}
REQUIRED_COLUMNS = ("date", "provider", "recipient")
COLUMN_WORDS = {
    "date": "the date",
    "provider": "who helped (provider)",
    "recipient": "who was helped (recipient)",
    "hours": "how long (hours)",
}
TEMPLATE_HEADER = ("date", "provider", "recipient", "hours", "description")


def fold(text: str) -> str:
    """Text compared without case, accents or extra spaces: "  Zoë  NÍ Bhriain" -> "zoe ni bhriain"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(plain.casefold().split())


def _column_key(header: str) -> str:
    text = re.sub(r"\(.*?\)", " ", fold(header))  # "Hours (decimal)" -> "hours"
    return " ".join(re.sub(r"[^a-z ]+", " ", text).split())


def decode(raw: bytes) -> tuple[str, str]:
    """The file's text and the name of its encoding."""
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8"
        except UnicodeDecodeError as error:
            raise InvalidTimesheet("The file says it is UTF-8 but is not. Save it again as CSV (UTF-8).") from error
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as error:
            raise InvalidTimesheet("The file cannot be read. Save it again as CSV (UTF-8).") from error
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "Latin-1"


@dataclass(frozen=True)
class SheetRow:
    line: int  # the line in the file where the row starts (the header is line 1 or later)
    cells: dict[str, str]  # field ("date", "provider", ...) -> the cell, stripped


@dataclass(frozen=True)
class Sheet:
    rows: tuple[SheetRow, ...]
    delimiter: str
    encoding: str
    ignored_columns: tuple[str, ...]

    @property
    def delimiter_name(self) -> str:
        return {",": "commas", ";": "semicolons", "\t": "tabs"}.get(self.delimiter, repr(self.delimiter))


def read_sheet(raw: bytes) -> Sheet:
    """Parse the uploaded bytes into rows keyed by what each column holds."""
    if not raw.strip():
        raise InvalidTimesheet("The file is empty.")
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidTimesheet(f"The file is larger than {MAX_FILE_BYTES // 1024} KB. Split it into smaller files.")
    text, encoding = decode(raw)
    if "\x00" in text:
        raise InvalidTimesheet("This does not look like a CSV file. Save the spreadsheet as CSV and try again.")
    lines = text.splitlines(keepends=True)
    header_line = next((line for line in lines if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=header_line.count)
    if header_line.count(delimiter) == 0:
        raise InvalidTimesheet(
            "The first line should name the columns, separated by commas or semicolons, "
            "for example: date,provider,recipient,hours,description."
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    columns: dict[str, int] = {}
    ignored: list[str] = []
    rows: list[SheetRow] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = cells
                columns, ignored = _columns(header)
                continue
            line = reader.line_num
            rows.append(
                SheetRow(
                    line=line,
                    cells={name: (cells[i].strip() if i < len(cells) else "") for name, i in columns.items()},
                )
            )
            if len(rows) > MAX_ROWS:
                raise InvalidTimesheet(f"The file has more than {MAX_ROWS} rows. Split it into smaller files.")
    except csv.Error as error:
        raise InvalidTimesheet(f"Line {reader.line_num} of the file cannot be read: {error}.") from error
    if not rows:
        raise InvalidTimesheet("The file has column names but no rows of hours.")
    return Sheet(rows=tuple(rows), delimiter=delimiter, encoding=encoding, ignored_columns=tuple(ignored))


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    lookup = {synonym: name for name, synonyms in COLUMN_SYNONYMS.items() for synonym in synonyms}
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        name = lookup.get(_column_key(title))
        if name is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if name in columns:
            raise InvalidTimesheet(
                f"Two columns look like {COLUMN_WORDS.get(name, name)}: "
                f"“{header[columns[name]].strip()}” and “{title.strip()}”. Keep one of them."
            )
        columns[name] = index
    if "hours" in columns and "minutes" in columns:
        raise InvalidTimesheet("The file has both an hours column and a minutes column. Keep one of them.")
    missing = [COLUMN_WORDS[name] for name in REQUIRED_COLUMNS if name not in columns]
    if "hours" not in columns and "minutes" not in columns:
        missing.append(COLUMN_WORDS["hours"])
    if missing:
        raise InvalidTimesheet(
            "The file needs a column for "
            + _and(missing)
            + ". Name them in the first line, as in the template: date, provider, recipient, hours, description."
        )
    return columns, ignored


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%Y/%m/%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d %b %y",
    "%d %B %y",
    "%d-%b-%Y",
    "%d-%b-%y",
)
_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+")
_TIME_OF_DAY = re.compile(r"[ t]\d{1,2}:\d{2}(:\d{2})?$")
_ORDINAL = re.compile(r"(\d)(st|nd|rd|th)\b")


def parse_date(text: str) -> date | None:
    """ "2026-11-03", "03/11/2026" (day first, as in the UK), "3 Nov 2026", "Tue 3rd November 2026"."""
    cleaned = " ".join(text.strip().lower().replace(",", " ").split())
    cleaned = _WEEKDAY.sub("", cleaned)
    cleaned = _TIME_OF_DAY.sub("", cleaned)
    cleaned = _ORDINAL.sub(r"\1", cleaned).replace("sept", "sep")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


# -- who is who --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    account_id: int
    name: str
    member: Member | None  # None: the organisation


class Directory:
    """The coordinator's timebank's people (and the organisation), found by name or email."""

    def __init__(self, session: Session, timebank: Timebank) -> None:
        self.by_name: dict[str, list[Party]] = {}
        self.by_email: dict[str, Party] = {}
        rows = session.execute(
            select(Member, Account)
            .join(Account, Account.member_id == Member.id)
            .where(Member.timebank_id == timebank.id, Account.timebank_id == timebank.id)
        ).all()
        for member, account in rows:
            party = Party(account_id=account.id, name=member.display_name, member=member)
            self.by_name.setdefault(fold(member.display_name), []).append(party)
            if member.email:
                self.by_email[fold(member.email)] = party
        organisation = session.scalar(
            select(Account).where(Account.timebank_id == timebank.id, Account.kind == AccountKind.ORGANISATION)
        )
        if organisation is not None:
            party = Party(account_id=organisation.id, name=organisation.name, member=None)
            for name in {fold(organisation.name), fold(timebank.organisation_name)}:
                self.by_name.setdefault(name, []).append(party)

    def find(self, text: str, role: str) -> tuple[Party | None, str | None]:
        """The party, or the problem with the name."""
        if not text.strip():
            return None, f"{role.capitalize()} is blank."
        key = fold(text)
        if "@" in key:
            party = self.by_email.get(key)
            candidates = [party] if party else []
        else:
            candidates = self.by_name.get(key, [])
        if not candidates:
            return None, f"No member called “{text.strip()}” ({role})."
        if len(candidates) > 1:
            return None, (
                f"{len(candidates)} members are called “{text.strip()}” ({role}). "
                "Write their email address instead, so we know who it is."
            )
        party = candidates[0]
        if party.member is not None and party.member.status != MemberStatus.APPROVED:
            return None, f"{party.name} ({role}) cannot take part at the moment, so their hours cannot be imported."
        return party, None


# -- the preview -------------------------------------------------------------------------------


class RowStatus(StrEnum):
    READY = "ready"
    ALREADY_IMPORTED = "already_imported"
    PROBLEM = "problem"


@dataclass
class PreviewRow:
    line: int
    cells: dict[str, str]
    problems: list[str] = field(default_factory=list)
    provider: Party | None = None
    recipient: Party | None = None
    performed_on: date | None = None
    minutes: int | None = None
    description: str = ""
    key: str | None = None
    status: RowStatus = RowStatus.PROBLEM

    @property
    def ready(self) -> bool:
        return self.status == RowStatus.READY


@dataclass
class Preview:
    filename: str
    sha256: str
    sheet: Sheet
    rows: list[PreviewRow]
    previous_import: TimesheetImport | None
    previous_importer: Member | None
    time_zone: str

    @property
    def ready_rows(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.ready]

    def count(self, status: RowStatus) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def digest(self) -> str:
        """What the commit must find again: the rows that are ready, by their keys."""
        keys = "\n".join(row.key or "" for row in self.ready_rows)
        return hashlib.sha256(f"{self.sha256}\n{keys}".encode()).hexdigest()

    @property
    def can_commit(self) -> bool:
        return self.previous_import is None and bool(self.ready_rows)


def file_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def row_key(provider_account_id: int, recipient_account_id: int, day: date, minutes: int, description: str) -> str:
    """The row's request key: the same help always gets the same key, however it was typed."""
    content = f"{provider_account_id}|{recipient_account_id}|{day.isoformat()}|{minutes}|{fold(description)}"
    return KEY_PREFIX + hashlib.sha256(content.encode()).hexdigest()


def preview_import(
    session: Session, coordinator: Member, filename: str, raw: bytes, *, today: date | None = None
) -> Preview:
    """What importing the file would do, row by row. Writes nothing."""
    timebank_id = require_coordinator(coordinator)
    timebank = session.get(Timebank, timebank_id)
    assert timebank is not None
    sheet = read_sheet(raw)
    sha = file_sha256(raw)
    today = today or today_in(timebank.time_zone)
    directory = Directory(session, timebank)
    rows = [_check_row(session, timebank, directory, row, today) for row in sheet.rows]
    _mark_duplicates(session, timebank, rows)
    previous = session.scalar(
        select(TimesheetImport).where(TimesheetImport.timebank_id == timebank_id, TimesheetImport.file_sha256 == sha)
    )
    return Preview(
        filename=filename,
        sha256=sha,
        sheet=sheet,
        rows=rows,
        previous_import=previous,
        previous_importer=session.get(Member, previous.imported_by_id) if previous else None,
        time_zone=timebank.time_zone,
    )


def _check_row(session: Session, timebank: Timebank, directory: Directory, row: SheetRow, today: date) -> PreviewRow:
    cells = row.cells
    checked = PreviewRow(line=row.line, cells=cells)
    problems = checked.problems

    checked.performed_on = parse_date(cells.get("date", ""))
    if not cells.get("date"):
        problems.append("The date is blank.")
    elif checked.performed_on is None:
        problems.append(f"“{cells['date']}” is not a date we can read. Write it like 03/11/2026 or 3 Nov 2026.")
    elif checked.performed_on > today:
        problems.append("The date is in the future.")
    elif ledger.is_closed(session, timebank.id, checked.performed_on):
        problems.append(f"{checked.performed_on:%B %Y} is closed: nothing can be added to it.")

    checked.provider, problem = directory.find(cells.get("provider", ""), "who helped")
    if problem:
        problems.append(problem)
    checked.recipient, problem = directory.find(cells.get("recipient", ""), "who was helped")
    if problem:
        problems.append(problem)
    if checked.provider and checked.recipient and checked.provider.account_id == checked.recipient.account_id:
        problems.append(f"{checked.provider.name} is on both sides. Who helped, and who was helped?")

    checked.minutes = _minutes(cells, timebank, problems)

    description = " ".join(cells.get("description", "").split())
    if len(description) > MAX_DESCRIPTION:
        problems.append(f"The description is longer than {MAX_DESCRIPTION} characters.")
    checked.description = description or DEFAULT_DESCRIPTION

    if not problems:
        assert checked.provider and checked.recipient and checked.performed_on and checked.minutes
        checked.key = row_key(
            checked.provider.account_id,
            checked.recipient.account_id,
            checked.performed_on,
            checked.minutes,
            checked.description,
        )
        checked.status = RowStatus.READY
    return checked


def _minutes(cells: dict[str, str], timebank: Timebank, problems: list[str]) -> int | None:
    in_minutes = "minutes" in cells
    text = cells.get("minutes" if in_minutes else "hours", "")
    if not text:
        problems.append("How long is blank.")
        return None
    if in_minutes and re.fullmatch(r"\d+", text):
        text += " mins"  # a "minutes" column: 90 means 90 minutes, not 90 hours
    try:
        return parse_hours_to_minutes(text, timebank.granularity_minutes, maximum_minutes=MAX_MINUTES_PER_ROW)
    except HoursInputError as error:
        problems.append(f"“{cells.get('minutes' if in_minutes else 'hours')}”: {error.message}")
        return None


def _mark_duplicates(session: Session, timebank: Timebank, rows: list[PreviewRow]) -> None:
    """Rows already imported (an exchange has their key), the same help already recorded by
    hand, and rows that repeat an earlier row of the file."""
    keyed = [row for row in rows if row.key]
    imported: set[str | None] = set()
    keys = [row.key for row in keyed if row.key]
    for start in range(0, len(keys), 500):
        imported.update(
            session.scalars(
                select(Exchange.request_key).where(
                    Exchange.timebank_id == timebank.id, Exchange.request_key.in_(keys[start : start + 500])
                )
            )
        )
    recorded = _recorded_by_day(session, timebank, {row.performed_on for row in keyed if row.performed_on})
    seen: dict[str, int] = {}
    for row in keyed:
        assert row.key and row.provider and row.recipient and row.performed_on
        if row.key in seen:
            row.problems.append(f"The same as line {seen[row.key]} of the file, so it is left out.")
            row.status = RowStatus.PROBLEM
            continue
        seen[row.key] = row.line
        if row.key in imported:
            row.status = RowStatus.ALREADY_IMPORTED
            continue
        same = (row.provider.account_id, row.recipient.account_id, row.performed_on, row.minutes)
        if same in recorded:
            row.problems.append(
                f"This help is already recorded (exchange {recorded[same]}: the same people, date and time). "
                "If it was different help, record it by hand."
            )
            row.status = RowStatus.PROBLEM


def _recorded_by_day(
    session: Session, timebank: Timebank, days: Iterable[date]
) -> dict[tuple[int, int, date, int | None], int]:
    days = sorted(days)
    if not days:
        return {}
    found = session.execute(
        select(
            Exchange.id,
            Exchange.provider_account_id,
            Exchange.recipient_account_id,
            Exchange.performed_on,
            Exchange.minutes,
        ).where(
            Exchange.timebank_id == timebank.id,
            Exchange.performed_on.in_(days),
            Exchange.status.not_in(_NOT_RECORDED),
        )
    ).all()
    return {(p, r, d, m): i for i, p, r, d, m in found if d is not None}


# -- committing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    record: TimesheetImport
    imported: int
    already_imported: int
    left_out: int


def commit_import(
    session: Session,
    coordinator: Member,
    filename: str,
    raw: bytes,
    *,
    expected_digest: str,
    today: date | None = None,
) -> ImportResult:
    """Record every ready row, all in one transaction, or nothing."""
    timebank_id = require_coordinator(coordinator)
    filename = (filename or "timesheet.csv").strip()[:255] or "timesheet.csv"
    with ledger.write_transaction(session):
        preview = preview_import(session, coordinator, filename, raw, today=today)
        if preview.previous_import is not None:
            raise TimesheetAlreadyImported(already_imported_message(preview))
        if preview.digest != expected_digest:
            raise TimesheetChanged(
                "Something changed since the preview (a member, a closed month or another import). "
                "Nothing was imported. Check the rows below again, then import."
            )
        ready = preview.ready_rows
        if not ready:
            raise InvalidTimesheet("No row is ready to import, so nothing was imported.")
        for row in ready:
            assert row.provider and row.recipient and row.performed_on and row.minutes and row.key
            request = exchanges.RecordRequest(
                provider_account_id=row.provider.account_id,
                recipient_account_id=row.recipient.account_id,
                minutes=row.minutes,
                performed_on=row.performed_on,
                description=row.description,
                request_key=row.key,
            )
            try:
                exchanges.record_exchange_in_transaction(session, coordinator, request, today=today)
            except (ledger.LedgerError, ExchangeError) as error:
                message = getattr(error, "message", str(error))
                raise TimesheetRowRefused(
                    f"Line {row.line} ({row.provider.name} helped {row.recipient.name}) could not be recorded: "
                    f"{message} Nothing was imported. Fix that line, or take it out, and upload the file again."
                ) from error
        left_out = preview.count(RowStatus.PROBLEM)
        already = preview.count(RowStatus.ALREADY_IMPORTED)
        record = TimesheetImport(
            timebank_id=timebank_id,
            filename=filename,
            file_sha256=preview.sha256,
            rows_imported=len(ready),
            rows_skipped=left_out + already,
            imported_by_id=coordinator.id,
        )
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError as error:  # the same file, imported at the same moment elsewhere
            raise TimesheetAlreadyImported("This file was imported a moment ago. Nothing more was imported.") from error
        audit(
            session,
            action="timesheet.imported",
            subject_type="timesheet_import",
            subject_id=record.id,
            actor=coordinator,
            timebank_id=timebank_id,
            after={
                "filename": filename,
                "file_sha256": preview.sha256,
                "rows_imported": len(ready),
                "rows_already_imported": already,
                "rows_left_out": left_out,
                "lines_imported": [row.line for row in ready],
            },
        )
    return ImportResult(record=record, imported=len(ready), already_imported=already, left_out=left_out)


def already_imported_message(preview: Preview) -> str:
    previous = preview.previous_import
    assert previous is not None
    who = f" by {preview.previous_importer.display_name}" if preview.previous_importer else ""
    local = local_datetime(previous.created_at, preview.time_zone)
    when = f"{local:%A} {local.day} {local:%B %Y}"
    return f"This file was already imported on {when}{who}, so nothing new will be imported from it."


def recent_imports(
    session: Session, coordinator: Member, limit: int = 20
) -> list[tuple[TimesheetImport, Member | None]]:
    timebank_id = require_coordinator(coordinator)
    found = session.scalars(
        select(TimesheetImport)
        .where(TimesheetImport.timebank_id == timebank_id)
        .order_by(TimesheetImport.created_at.desc(), TimesheetImport.id.desc())
        .limit(limit)
    ).all()
    return [(record, session.get(Member, record.imported_by_id)) for record in found]


# -- the template ------------------------------------------------------------------------------


def template_csv(organisation_name: str, today: date) -> str:
    """The header and two example rows: help between two members, and help to the organisation."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADER)
    day = today.strftime("%d/%m/%Y")
    writer.writerow([day, "Sam Jones", "Priya Shah", "1.5", "Helped with the shopping"])
    writer.writerow([day, "Priya Shah", organisation_name, "2", "Ran the Friday garden session"])
    return out.getvalue()
