"""Small shared helpers for printable PDFs (statements, reports), on fpdf2.

Every document is A4 portrait, with a title block, clear type and a page footer. Text may be any
Unicode: when a DejaVu TrueType font is installed the document embeds it and prints every name
as typed; on a machine without it the built-in Helvetica (latin-1 only) is used and characters it
lacks are transliterated ("Łukasz" -> "Lukasz", "–" -> "-") or replaced with "?", so a name never
makes the PDF fail. ``TIMEBANK_PDF_FONT_DIR`` points at another folder holding DejaVuSans.ttf.

    pdf = new_document("Statement for October 2026", "Riverside Timebank")
    heading(pdf, "Your hours")
    table(pdf, ["What", "Hours"], [["Earned", "3 hours"]], widths=[3, 1])
    data = finish(pdf)
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
)
BODY_FONT = "tbbody"
CORE_FONT = "helvetica"

# Characters the latin-1 core font lacks that have a plain equivalent.
_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u2022": "*",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u0141": "L",
        "\u0142": "l",
        "\u0110": "D",
        "\u0111": "d",
        "\u0152": "OE",
        "\u0153": "oe",
        "\u0131": "i",
        "\u20ac": "EUR",
    }
)


# Control and format characters (NUL, zero-width space ...) print as nothing; drop them.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}


def font_files() -> tuple[Path, Path] | None:
    """(regular, bold) DejaVu Sans files, or None when the machine has none."""
    dirs = [os.environ.get("TIMEBANK_PDF_FONT_DIR", ""), *FONT_DIRS]
    for folder in filter(None, dirs):
        regular = Path(folder) / "DejaVuSans.ttf"
        bold = Path(folder) / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            return regular, bold if bold.is_file() else regular
    return None


def latin1_text(text: str) -> str:
    """``text`` with only characters the core PDF fonts can print: accents kept where latin-1
    has them, other letters reduced to their base letter, anything else a "?"."""
    out: list[str] = []
    for char in text.translate(_PLAIN):
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


class TimebankPDF(FPDF):
    """FPDF with a Unicode-safe font choice, a footer and a house text size."""

    def __init__(self, *, footer_text: str = "", base_size: float = 11) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.base_size = base_size
        files = font_files()
        self.unicode_font = files is not None
        if files is not None:
            self.add_font(BODY_FONT, "", str(files[0]))
            self.add_font(BODY_FONT, "B", str(files[1]))
            self.body_family = BODY_FONT
        else:
            self.body_family = CORE_FONT
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=20)
        self.set_font(self.body_family, size=base_size)

    def normalize_text(self, text: str) -> str:
        text = "".join(c for c in text if c == "\n" or unicodedata.category(c) not in _INVISIBLE)
        if not self.is_ttf_font:
            text = latin1_text(text)
        else:
            cmap = getattr(self.current_font, "cmap", None)
            if isinstance(cmap, dict):
                text = "".join(c if ord(c) in cmap or c == "\n" else "?" for c in text)
        return super().normalize_text(text)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.body_family, size=9)
        left = f"{self.footer_text}   " if self.footer_text else ""
        self.cell(0, 6, f"{left}Page {self.page_no()} of {{nb}}", align="C")
        self.set_font(self.body_family, size=self.base_size)


def new_document(title: str, subtitle: str = "", *, large: bool = False, show_title: bool = True) -> TimebankPDF:
    """A document with its first page added and, unless ``show_title`` is False, ``title``
    (and ``subtitle``) printed at the top. ``large`` gives large print (16 pt body text)."""
    pdf = TimebankPDF(footer_text=title, base_size=16 if large else 11)
    pdf.set_title(title)
    pdf.set_creator("Timebank")
    pdf.add_page()
    if show_title:
        title_block(pdf, title, subtitle)
    return pdf


def title_block(pdf: FPDF, title: str, subtitle: str = "") -> None:
    """The big title at the top of a page (use after ``pdf.add_page()`` for a page of its own)."""
    base = _base_size(pdf)
    pdf.set_font(_family(pdf), "B", base * 1.8)
    pdf.multi_cell(0, base * 0.8, title, new_x="LMARGIN", new_y="NEXT")
    if subtitle:
        pdf.set_font(_family(pdf), "", base * 1.15)
        pdf.multi_cell(0, base * 0.55, subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_family(pdf), "", base)
    pdf.ln(base * 0.4)


def heading(pdf: FPDF, text: str) -> None:
    """A section heading; it starts a new page rather than sit alone at the bottom of one."""
    base = _base_size(pdf)
    if pdf.will_page_break(base * 4.5):  # the heading, and room for a few lines under it
        pdf.add_page()
    pdf.ln(base * 0.2)
    pdf.set_font(_family(pdf), "B", base * 1.3)
    pdf.multi_cell(0, base * 0.6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_family(pdf), "", base)
    pdf.ln(base * 0.15)


def paragraph(pdf: FPDF, text: str, *, bold: bool = False) -> None:
    base = _base_size(pdf)
    pdf.set_font(_family(pdf), "B" if bold else "", base)
    pdf.multi_cell(0, base * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_family(pdf), "", base)
    pdf.ln(base * 0.15)


def table(
    pdf: FPDF,
    headers: list[str],
    rows: Sequence[Sequence[str]],
    widths: list[float] | None = None,
    *,
    align: Sequence[str] | None = None,
) -> None:
    """A table with a bold header row repeated on each page. ``widths`` are relative
    (``[3, 1]``: the first column three times the second); ``align`` per column, "L" or "R"."""
    base = _base_size(pdf)
    pdf.set_font(_family(pdf), "", base)
    text_align = tuple(align) if align else "LEFT"
    with pdf.table(
        col_widths=tuple(widths) if widths else None,
        text_align=text_align,
        headings_style=FontFace(emphasis="BOLD"),
        line_height=base * 0.47,
        padding=(base * 0.07, base * 0.2),
        first_row_as_headings=True,
        repeat_headings=1,
    ) as grid:
        grid.row(list(headers))
        for values in rows:
            grid.row([str(value) for value in values])
    pdf.ln(base * 0.3)


def finish(pdf: FPDF) -> bytes:
    """The document as bytes, ready to send as application/pdf."""
    return bytes(pdf.output())


def _family(pdf: FPDF) -> str:
    return str(getattr(pdf, "body_family", CORE_FONT))


def _base_size(pdf: FPDF) -> float:
    return float(getattr(pdf, "base_size", 11))
