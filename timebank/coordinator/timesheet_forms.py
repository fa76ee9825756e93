"""Timesheet import forms: the upload, and the confirmation that carries the previewed file back."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired


class UploadForm(FlaskForm):
    file = FileField("Your CSV file", validators=[FileRequired("Choose the CSV file to upload.")])


class CommitForm(FlaskForm):
    # The previewed file, signed by the server (see timesheets_routes.seal), and a digest of the
    # rows the preview said were ready. The commit reads and checks everything again.
    upload = HiddenField(validators=[DataRequired("The preview is missing its file. Upload the file again.")])
    expected = HiddenField(validators=[DataRequired("The preview is missing its file. Upload the file again.")])
    # The lines the preview showed as ready ("3,4,7"): only to name what changed if it did.
    ready_lines = HiddenField()

    def ready_line_numbers(self) -> list[int]:
        return [int(part) for part in (self.ready_lines.data or "").split(",") if part.strip().isdigit()][:5000]


class RecheckForm(FlaskForm):
    """After a commit was refused: the same signed file, previewed again (never imported from here)."""

    upload = HiddenField(validators=[DataRequired("The preview is missing its file. Upload the file again.")])
