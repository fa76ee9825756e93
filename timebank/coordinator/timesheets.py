"""Timesheet import: exchanges from paper timesheets, typed into a spreadsheet and saved as CSV.

Two steps, both here as plain functions over a Session and the acting coordinator:

1. ``preview_import`` reads the file and says, row by row, what would happen: ready, already
   imported, or the problems that keep the row out (an unknown or ambiguous name, with the closest
   names as "did you mean", a duration or date that cannot be read, a negative time, a date in the
   future or in a closed month, the same person on both sides, the same help already recorded,
   the same row twice in the file, and a floor or cap the row would break after the rows above
   it). It applies every rule the commit applies, limits included, in file order, so a row it
   calls Ready is recorded by the commit.
2. ``commit_import`` does the whole preview again with the accounts locked (nothing from the
   browser is trusted) and checks it still matches what the coordinator saw. If the records
   changed since (another coordinator recorded hours, say), nothing is written and the message
   names the rows that changed; the page then offers a fresh preview, never the old import.
   Otherwise it records every ready row in ONE write transaction, through the exchanges
   service's own recording step (a coordinator's record of other people's time is approved at
   once; their own waits for another coordinator, ``duties``).

Importing twice creates nothing: the file's SHA-256 is unique per timebank (``TimesheetImport``),
and each row's exchange has the request key ``import-<sha256 of the row's normalised content>``,
so a second file that overlaps the first skips the rows already imported.

Reading is forgiving, because real files are messy: UTF-8 with or without a BOM, UTF-16 (Excel's
"Unicode text"), Windows-1252 otherwise; commas, semicolons or tabs; a title or a date above the
column names (found in the first ``HEADER_SEARCH_LINES`` lines); blank lines and stray spaces;
header names in any case with common synonyms; names matched without regard to case or accents,
against display names and email addresses (and the organisation by its name); hours as people
write them (``forms_common.parse_hours_to_minutes``); dates as ISO, UK day-first or "3 Nov 2026".
"""

from __future__ import annotations

import codecs
import csv
import difflib
import hashlib
import io
import re
import unicodedata
from collections.abc import Collection, Iterable
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
from ..ledger.limits import check_credit, check_debit
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
SUGGESTIONS = 3  # "did you mean" names for a name nobody has
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
    # Lines above the column names (a title, a date, a blank "Name:" line...), skipped: (line, text).
    skipped_above: tuple[tuple[int, str], ...] = ()

    @property
    def delimiter_name(self) -> str:
        return {",": "commas", ";": "semicolons", "\t": "tabs"}.get(self.delimiter, repr(self.delimiter))


# Spreadsheet exports often put a title, a date or a name above the column names: they are found
# in the first lines of the file.
HEADER_SEARCH_LINES = 10
_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class _Header:
    delimiter: str
    line: int  # the file's line the column names end on
    cells: list[str]
    score: int  # how many of the cells name a column we know
    skipped: tuple[tuple[int, str], ...]


def _find_header(text: str) -> _Header | None:
    """The line among the first ``HEADER_SEARCH_LINES`` that names the most known columns (the
    earliest, and the most used separator, on a tie); None if none names any."""
    head = "".join(text.splitlines(keepends=True)[: HEADER_SEARCH_LINES * 4])
    ordered = sorted(_DELIMITERS, key=lambda d: -head.count(d))
    best: _Header | None = None
    for delimiter in ordered:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        above: list[tuple[int, str]] = []
        try:
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                if len(above) >= HEADER_SEARCH_LINES:
                    break
                score = _header_score(cells)
                if score and (best is None or score > best.score):
                    best = _Header(delimiter, reader.line_num, cells, score, tuple(above))
                above.append((reader.line_num, delimiter.join(c.strip() for c in cells if c.strip())))
        except csv.Error:
            continue
    return best


def _header_score(cells: list[str]) -> int:
    return sum(1 for cell in cells if _column_key(cell) in _SYNONYM_LOOKUP)


def read_sheet(raw: bytes) -> Sheet:
    """Parse the uploaded bytes into rows keyed by what each column holds. The column names may
    come after a few lines of title (``HEADER_SEARCH_LINES``); those lines are skipped."""
    if not raw.strip():
        raise InvalidTimesheet("The file is empty.")
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidTimesheet(f"The file is larger than {MAX_FILE_BYTES // 1024} KB. Split it into smaller files.")
    text, encoding = decode(raw)
    if "\x00" in text:
        raise InvalidTimesheet("This does not look like a CSV file. Save the spreadsheet as CSV and try again.")
    header = _find_header(text)
    if header is None:
        raise InvalidTimesheet(
            f"None of the first {HEADER_SEARCH_LINES} lines names the columns. One line should, separated by "
            "commas or semicolons, for example: date,provider,recipient,hours,description."
        )
    columns, ignored = _columns(header.cells)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=header.delimiter)
    rows: list[SheetRow] = []
    try:
        for cells in reader:
            if reader.line_num <= header.line or not any(c.strip() for c in cells):
                continue
            rows.append(
                SheetRow(
                    line=reader.line_num,
                    cells={name: (cells[i].strip() if i < len(cells) else "") for name, i in columns.items()},
                )
            )
            if len(rows) > MAX_ROWS:
                raise InvalidTimesheet(f"The file has more than {MAX_ROWS} rows. Split it into smaller files.")
    except csv.Error as error:
        raise InvalidTimesheet(f"Line {reader.line_num} of the file cannot be read: {error}.") from error
    if not rows:
        raise InvalidTimesheet("The file has column names but no rows of hours.")
    return Sheet(
        rows=tuple(rows),
        delimiter=header.delimiter,
        encoding=encoding,
        ignored_columns=tuple(ignored),
        skipped_above=header.skipped,
    )


_SYNONYM_LOOKUP = {synonym: name for name, synonyms in COLUMN_SYNONYMS.items() for synonym in synonyms}


def _columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    lookup = _SYNONYM_LOOKUP
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
            + ". Name them in one line above the rows, as in the template: date, provider, recipient, hours, "
            "description."
        )
    return columns, ignored


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


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

    def _did_you_mean(self, key: str) -> str:
        """" Did you mean Bob Smith or Rob Smith?" for a name typed a little wrong: the closest
        names of members who can take part (difflib's ratio, as a spelling checker would)."""
        # The closest first; names as close as each other in alphabetical order.
        close = sorted(
            difflib.get_close_matches(key, list(self.by_name), n=SUGGESTIONS, cutoff=0.6),
            key=lambda name: (-difflib.SequenceMatcher(None, key, name).ratio(), name),
        )
        if not close and " " not in key:  # a first name alone: "Priya" for "Priya Shah"
            close = [name for name in self.by_name if name.split(" ")[0] == key][:SUGGESTIONS]
        names: list[str] = []
        for name in close:
            for party in self.by_name[name]:
                usable = party.member is None or party.member.status == MemberStatus.APPROVED
                if usable and party.name not in names:
                    names.append(party.name)
        if not names:
            return ""
        return " Did you mean " + _or(names[:SUGGESTIONS]) + "?"

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
            return None, f"No member called “{text.strip()}” ({role}).{self._did_you_mean(key)}"
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
    # Said beside "Ready" when it matters: the coordinator's own time waits for someone else.
    note: str = ""

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
    session: Session,
    coordinator: Member,
    filename: str,
    raw: bytes,
    *,
    today: date | None = None,
    lock: bool = False,
) -> Preview:
    """What importing the file would do, row by row: every rule the commit applies, limits
    included, row after row in file order as the commit records them. Writes nothing. ``lock``
    (the commit, inside its write transaction): the accounts are locked first, so what the
    preview found is what the recording finds."""
    timebank_id = require_coordinator(coordinator)
    timebank = session.get(Timebank, timebank_id)
    assert timebank is not None
    sheet = read_sheet(raw)
    sha = file_sha256(raw)
    today = today or today_in(timebank.time_zone)
    directory = Directory(session, timebank)
    rows = [_check_row(session, timebank, directory, row, today) for row in sheet.rows]
    _mark_duplicates(session, timebank, rows)
    _check_limits_in_file_order(session, timebank, coordinator, rows, lock=lock)
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


_NEGATIVE = re.compile(r"^\s*(?:[-\u2212\u2013]|\(.*\)\s*$)")


def _minutes(cells: dict[str, str], timebank: Timebank, problems: list[str]) -> int | None:
    in_minutes = "minutes" in cells
    text = cells.get("minutes" if in_minutes else "hours", "")
    if not text:
        problems.append("How long is blank.")
        return None
    if _NEGATIVE.match(text):
        # "-2" or "(2)": someone correcting hours already recorded. The ledger never edits or
        # subtracts: a reversal of the exchange takes its credits back.
        problems.append(
            f"“{text}” is a negative time. Negative hours are not imported: to correct hours already "
            "recorded, reverse that exchange (open it from the member’s page) and, if needed, record the right time."
        )
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


@dataclass
class _Planned:
    """What the rows above have done to one account, not yet in its cached totals."""

    credits_posted: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    debits_pending: int = 0

    @property
    def lowers_lowest(self) -> int:
        """How much lower the account's lowest possible balance is (ledger.limits counts it)."""
        return self.debits_posted + self.debits_pending - self.credits_posted

    @property
    def raises_highest(self) -> int:
        return self.credits_posted + self.credits_pending - self.debits_posted


def _check_limits_in_file_order(
    session: Session, timebank: Timebank, coordinator: Member, rows: list[PreviewRow], *, lock: bool
) -> None:
    """The floors and caps, as the commit will meet them: each ready row, in file order, reserves
    its hours (``ledger.limits``' own checks, pending counted pessimistically) after everything
    the rows above it did, and is approved at once or waits exactly as the recording step decides
    (``exchanges.approved_when_recorded``). A row that would break a limit is left out, so a Ready
    row never fails at commit."""
    ready = [row for row in rows if row.ready]
    if not ready:
        return
    ids = sorted({party.account_id for row in ready for party in (row.provider, row.recipient) if party})
    if lock:
        ledger.lock_timebank(session, timebank.id)
        accounts = ledger.lock_accounts(session, ids)
    else:
        accounts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids)))}
    planned: dict[int, _Planned] = {i: _Planned() for i in ids}
    for row in ready:
        assert row.provider and row.recipient and row.minutes
        provider, recipient = accounts[row.provider.account_id], accounts[row.recipient.account_id]
        given, taken = planned[provider.id], planned[recipient.id]
        try:
            check_debit(recipient, timebank, row.minutes, reserved=taken.lowers_lowest)
            check_credit(provider, timebank, row.minutes, reserved=given.raises_highest)
        except (ledger.ExceedsFloor, ledger.ExceedsCap) as error:
            earlier = taken.lowers_lowest if isinstance(error, ledger.ExceedsFloor) else given.raises_highest
            row.problems.append(error.message + (" (counting the rows above it in this file)" if earlier else ""))
            row.status = RowStatus.PROBLEM
            continue
        parties = {p.member.id for p in (row.provider, row.recipient) if p.member is not None}
        if exchanges.approved_when_recorded(coordinator, timebank, parties):
            taken.debits_posted += row.minutes
            given.credits_posted += row.minutes
        else:
            taken.debits_pending += row.minutes
            given.credits_pending += row.minutes
            row.note = "It is your own time, so it is not approved at once: another coordinator decides it."


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
    expected_ready_lines: Collection[int] | None = None,
    today: date | None = None,
) -> ImportResult:
    """Record every ready row, all in one transaction, or nothing. The preview is made again,
    with the accounts locked: if a row is not as the coordinator saw it (``expected_digest``; the
    lines that were ready, ``expected_ready_lines``, name what changed), nothing is imported and
    ``TimesheetChanged`` says which rows changed and why."""
    timebank_id = require_coordinator(coordinator)
    filename = (filename or "timesheet.csv").strip()[:255] or "timesheet.csv"
    with ledger.write_transaction(session):
        preview = preview_import(session, coordinator, filename, raw, today=today, lock=True)
        if preview.previous_import is not None:
            raise TimesheetAlreadyImported(already_imported_message(preview))
        if preview.digest != expected_digest:
            raise TimesheetChanged(changed_message(preview, expected_ready_lines))
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
                # The preview just checked the same rules with the accounts locked, so only
                # something the preview does not foresee gets here; it is named all the same.
                message = getattr(error, "message", str(error))
                raise TimesheetRowRefused(
                    f"Line {row.line} ({row.provider.name} helped {row.recipient.name}) could not be recorded: "
                    f"{message} Nothing was imported. Check the rows below again before importing."
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


def changed_message(preview: Preview, ready_before: Collection[int] | None) -> str:
    """Why the commit refused: the rows that were ready in the preview and are not now (with
    their problems), and those ready now that were not."""
    start = "The records changed since the preview, so nothing was imported."
    if not ready_before:
        return f"{start} Check the rows below again before importing."
    before = set(ready_before)
    rows = {row.line: row for row in preview.rows}
    parts = []
    for line in sorted(before - {row.line for row in preview.ready_rows}):
        row = rows.get(line)
        if row is None:
            continue
        who = f" ({row.provider.name} helped {row.recipient.name})" if row.provider and row.recipient else ""
        why = " ".join(row.problems) or "It was imported in the meantime."
        parts.append(f"Line {line}{who} is not ready any more: {why}")
    newly = sorted({row.line for row in preview.ready_rows} - before)
    if newly:
        lines = ", ".join(str(line) for line in newly)
        parts.append(f"Line {lines} {'is' if len(newly) == 1 else 'are'} ready now.")
    return " ".join([start, *parts, "Check the rows below again before importing."])


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
