"""Timesheet import pages: upload a CSV, see a preview of every row, import the ready rows.

Between the preview and the commit the file travels back with the confirmation form, in a hidden
field signed by the server (itsdangerous ``TimestampSigner``, keyed by SECRET_KEY, salted for this
use, naming the coordinator and timebank, valid for a day). Why this rather than keeping it on the
server: nothing to store or clean up, it works with several app processes, and the cookie session
(4 KB) could never hold a file. The signature means the commit gets exactly the bytes that were
previewed, by the same coordinator; and the commit still reads and checks every row again
(``timesheets.commit_import``), so it trusts nothing from the browser. The upload limit
(``timesheets.MAX_FILE_BYTES``, 256 KB) keeps even an incompressible file's signed copy under
Werkzeug's 500 KB limit for form fields.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, TimestampSigner
from werkzeug.datastructures import FileStorage

from ..auth.decorators import coordinator_required
from ..clock import today_in
from ..extensions import db
from ..models import Member, Timebank
from ..timebanks.service import organisation_account
from ..web import signed_in_member
from . import timesheets
from .routes import bp
from .timesheet_forms import CommitForm, RecheckForm, UploadForm

SIGNED_FOR_SECONDS = 24 * 60 * 60
_SALT = "timesheet-import-preview"


def _signer() -> TimestampSigner:
    return TimestampSigner(current_app.config["SECRET_KEY"], salt=_SALT)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def seal(coordinator: Member, filename: str, raw: bytes) -> str:
    """The previewed file, compressed and signed for this coordinator and timebank."""
    payload = ":".join(
        [str(coordinator.timebank_id), str(coordinator.id), _b64(filename.encode()), _b64(zlib.compress(raw, 9))]
    )
    return _signer().sign(payload).decode("ascii")


def unseal(coordinator: Member, token: str) -> tuple[str, bytes] | None:
    """The file the preview showed, if the token is genuine, recent and this coordinator's."""
    try:
        payload = _signer().unsign(token, max_age=SIGNED_FOR_SECONDS).decode("ascii")
        timebank_id, member_id, name, data = payload.split(":")
        if timebank_id != str(coordinator.timebank_id) or member_id != str(coordinator.id):
            return None
        return base64.urlsafe_b64decode(name).decode(), zlib.decompress(base64.urlsafe_b64decode(data))
    except (BadSignature, ValueError, binascii.Error, zlib.error, UnicodeDecodeError):
        return None


def _filename(upload: FileStorage) -> str:
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or "timesheet.csv"


def _upload_page(form: UploadForm, status: int = 200) -> ResponseReturnValue:
    coordinator = signed_in_member()
    return (
        render_template(
            "coordinator/import.html",
            form=form,
            imports=timesheets.recent_imports(db.session(), coordinator),
            max_kb=timesheets.MAX_FILE_BYTES // 1024,
        ),
        status,
    )


def _upload_again(message: str, status: int) -> ResponseReturnValue:
    """The upload page saying why the file must be uploaded again."""
    upload_form = UploadForm(formdata=None)
    upload_form.form_errors.append(message)
    return _upload_page(upload_form, status)


def _preview_page(preview: timesheets.Preview, raw: bytes, problem: str = "", status: int = 200) -> ResponseReturnValue:
    """The preview. After a refused commit (``problem``) it shows the rows as they are now but
    offers no import: only "check again", which makes a fresh preview to import from."""
    form = CommitForm(formdata=None)
    form.upload.data = seal(signed_in_member(), preview.filename, raw)
    form.expected.data = preview.digest
    form.ready_lines.data = ",".join(str(row.line) for row in preview.ready_rows)
    recheck = RecheckForm(formdata=None)
    recheck.upload.data = form.upload.data
    return (
        render_template(
            "coordinator/import_preview.html",
            preview=preview,
            form=form,
            recheck_form=recheck,
            problem=problem,
            already_imported=timesheets.already_imported_message(preview) if preview.previous_import else "",
            statuses=timesheets.RowStatus,
        ),
        status,
    )


@bp.route("/import", methods=["GET", "POST"])
@coordinator_required
def import_timesheet() -> ResponseReturnValue:
    form = UploadForm()
    if request.method == "GET":
        return _upload_page(form)
    if not form.validate_on_submit():
        return _upload_page(form, 422)
    upload: FileStorage = form.file.data
    raw = upload.stream.read(timesheets.MAX_FILE_BYTES + 1)
    if len(raw) > timesheets.MAX_FILE_BYTES:
        form.file.errors = [
            f"The file is larger than {timesheets.MAX_FILE_BYTES // 1024} KB. "
            "Split it into smaller files and import them one by one."
        ]
        return _upload_page(form, 413)
    try:
        preview = timesheets.preview_import(db.session(), signed_in_member(), _filename(upload), raw)
    except timesheets.InvalidTimesheet as error:
        form.file.errors = [error.message]
        return _upload_page(form, 422)
    return _preview_page(preview, raw)


@bp.post("/import/commit")
@coordinator_required
def commit_timesheet() -> ResponseReturnValue:
    coordinator = signed_in_member()
    session = db.session()
    form = CommitForm()
    sealed = unseal(coordinator, form.upload.data or "") if form.validate_on_submit() else None
    if sealed is None:
        return _upload_again("This preview has expired or could not be read. Upload the file again.", 400)
    filename, raw = sealed
    try:
        result = timesheets.commit_import(
            session,
            coordinator,
            filename,
            raw,
            expected_digest=form.expected.data or "",
            expected_ready_lines=form.ready_line_numbers(),
        )
    except timesheets.InvalidTimesheet as error:
        session.rollback()
        try:
            preview = timesheets.preview_import(session, coordinator, filename, raw)
        except timesheets.InvalidTimesheet:
            return _upload_again(error.message, 422)
        return _preview_page(preview, raw, error.message, 422)
    except (timesheets.TimesheetChanged, timesheets.TimesheetRowRefused, timesheets.TimesheetAlreadyImported) as error:
        session.rollback()
        preview = timesheets.preview_import(session, coordinator, filename, raw)
        return _preview_page(preview, raw, error.message, 409)
    parts = [f"Imported {result.imported} {'exchange' if result.imported == 1 else 'exchanges'} from {filename}."]
    if result.already_imported:
        were = "row was" if result.already_imported == 1 else "rows were"
        parts.append(f"{result.already_imported} {were} already imported.")
    if result.left_out:
        parts.append(f"{result.left_out} {'row' if result.left_out == 1 else 'rows'} with problems left out.")
    flash(" ".join(parts), "success")
    return redirect(url_for("coordinator.import_timesheet"))


@bp.post("/import/recheck")
@coordinator_required
def recheck_timesheet() -> ResponseReturnValue:
    """A fresh preview of the file a refused commit was about (nothing is imported here)."""
    coordinator = signed_in_member()
    form = RecheckForm()
    sealed = unseal(coordinator, form.upload.data or "") if form.validate_on_submit() else None
    if sealed is None:
        return _upload_again("This preview has expired or could not be read. Upload the file again.", 400)
    filename, raw = sealed
    try:
        preview = timesheets.preview_import(db.session(), coordinator, filename, raw)
    except timesheets.InvalidTimesheet as error:
        return _upload_again(error.message, 422)
    return _preview_page(preview, raw)


@bp.get("/import/template.csv")
@coordinator_required
def timesheet_template() -> ResponseReturnValue:
    coordinator = signed_in_member()
    timebank = db.session.get(Timebank, coordinator.timebank_id)
    assert timebank is not None
    organisation_name = organisation_account(db.session(), timebank.id).name
    text = timesheets.template_csv(organisation_name, today_in(timebank.time_zone))
    return Response(
        "\ufeff" + text,  # a BOM, so spreadsheet programs read accented names correctly
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="timesheet-template.csv"'},
    )
