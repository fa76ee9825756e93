"""Small shared helpers for printable PDFs (statements, reports), on fpdf2.

Every document is A4 portrait, with a title block, clear type and a page footer. Text may be any
Unicode: when a DejaVu TrueType font is installed the document embeds it and prints every name
as typed; on a machine without it the built-in Helvetica (latin-1 only) is used and characters it
lacks are transliterated ("Łukasz" -> "Lukasz", "–" -> "-") or replaced with "?", so a name never
makes the PDF fail. ``TIMEBANK_PDF_FONT_DIR`` points at another folder holding DejaVuSans.ttf.

Text is set flush left (never justified, which opens gaps between words); a table keeps its
rows together on one page when it fits on one, never splits a row, and makes each column at
least as wide as its longest word, so "November" is never broken into "Novembe r". A document
can hold several sections (one statement each) numbered on their own: "Page 1 of 2".

    pdf = new_document("Statement for October 2026", "Riverside Timebank")
    heading(pdf, "Your hours")
    table(pdf, ["What", "Hours"], [["Earned", "3 hours"]], widths=[3, 1])
    data = finish(pdf)
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Sequence
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
    """FPDF with a Unicode-safe font choice, a footer and a house text size. The footer numbers
    the pages of the current part (``begin_numbered_part``), or of the whole document."""

    def __init__(self, *, footer_text: str = "", base_size: float = 11) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.base_size = base_size
        self.section_first_page = 1
        self.section_pages: int | None = None  # None: the whole document's count
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

    def begin_numbered_part(self, footer_text: str, pages: int) -> None:
        """Start a section of ``pages`` pages on a new page: its footer says ``footer_text`` and
        counts its own pages ("Page 1 of 2"), not the document's."""
        self.add_page()
        self.footer_text = footer_text
        self.section_first_page = self.page_no()
        self.section_pages = pages

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(self.body_family, size=max(9.0, self.base_size * 0.7))
        left = f"{self.footer_text}   " if self.footer_text else ""
        if self.section_pages is None:
            numbers = f"Page {self.page_no()} of {{nb}}"
        else:
            numbers = f"Page {self.page_no() - self.section_first_page + 1} of {self.section_pages}"
        self.cell(0, 6, f"{left}{numbers}", align="C")
        self.set_font(self.body_family, size=self.base_size)


def new_document(
    title: str, subtitle: str = "", *, large: bool = False, show_title: bool = True, first_page: bool = True
) -> TimebankPDF:
    """A document with its first page added (unless ``first_page`` is False: the caller adds
    pages, e.g. with ``begin_numbered_part``) and, unless ``show_title`` is False, ``title`` (and
    ``subtitle``) printed at the top. ``large`` gives large print (16 pt body text)."""
    pdf = TimebankPDF(footer_text=title, base_size=16 if large else 11)
    pdf.set_title(title)
    pdf.set_lang("en-GB")
    pdf.set_creator("Timebank")
    if not first_page:
        return pdf
    pdf.add_page()
    if show_title:
        title_block(pdf, title, subtitle)
    return pdf


def title_block(pdf: FPDF, title: str, subtitle: str = "") -> None:
    """The big title at the top of a page (use after ``pdf.add_page()`` for a page of its own)."""
    base = _base_size(pdf)
    pdf.set_font(_family(pdf), "B", base * 1.8)
    pdf.multi_cell(0, base * 0.8, title, align="L", new_x="LMARGIN", new_y="NEXT")
    if subtitle:
        pdf.set_font(_family(pdf), "", base * 1.15)
        pdf.multi_cell(0, base * 0.55, subtitle, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_family(pdf), "", base)
    pdf.ln(base * 0.4)


def heading(pdf: FPDF, text: str) -> None:
    """A section heading; it starts a new page rather than sit alone at the bottom of one."""
    base = _base_size(pdf)
    if pdf.will_page_break(base * 4.5):  # the heading, and room for a few lines under it
        pdf.add_page()
    _heading_text(pdf, text)


def _heading_text(pdf: FPDF, text: str) -> None:
    base = _base_size(pdf)
    pdf.ln(base * 0.2)
    pdf.set_font(_family(pdf), "B", base * 1.3)
    pdf.multi_cell(0, base * 0.6, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_family(pdf), "", base)
    pdf.ln(base * 0.15)


def paragraph(pdf: FPDF, text: str, *, bold: bool = False, link: str | None = None) -> None:
    """A paragraph, flush left; with ``link``, the whole paragraph links to that address."""
    base = _base_size(pdf)
    pdf.set_font(_family(pdf), "B" if bold else "", base)
    if link:
        pdf.set_text_color(11, 79, 156)  # the site's link blue
    pdf.multi_cell(0, base * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT", link=link)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(_family(pdf), "", base)
    pdf.ln(base * 0.15)


def table(
    pdf: FPDF,
    headers: list[str],
    rows: Sequence[Sequence[str]],
    widths: list[float] | None = None,
    *,
    align: Sequence[str] | None = None,
    heading: str = "",
    note: str = "",
) -> None:
    """A table with a bold header row repeated on each page, after its ``heading`` and ``note``
    when given (they stay on the page with it). ``widths`` are relative (``[3, 1]``: the first
    column three times the second), widened where a column's longest word would not fit;
    ``align`` per column, "L" or "R". A table that fits on one page starts on a new page rather
    than run over onto the next; a longer one starts on a new page when less than a quarter of
    it would fit here. Rows are never split."""
    base = _base_size(pdf)
    pdf.set_font(_family(pdf), "", base)
    cells = [list(headers), *([str(value) for value in values] for values in rows)]
    column_widths = _fitted_widths(pdf, cells, widths or [1.0] * len(headers), padding=base * 0.2)

    def draw(target: FPDF) -> None:
        if heading:
            _heading_text(target, heading)
        if note:
            paragraph(target, note)
        with target.table(
            col_widths=tuple(column_widths),
            width=pdf.epw,
            text_align=tuple(align) if align else "LEFT",
            headings_style=FontFace(emphasis="BOLD"),
            line_height=base * 0.47,
            padding=(base * 0.07, base * 0.2),
            first_row_as_headings=True,
            repeat_headings=1,
        ) as grid:
            for row in cells:
                grid.row(row)

    height = _height(pdf, draw)
    room = pdf.page_break_trigger - pdf.y
    full_page = pdf.page_break_trigger - pdf.t_margin
    if height > room and (height <= full_page or room < min(height, full_page) / 4):
        pdf.add_page()
    draw(pdf)
    pdf.ln(base * 0.3)


def _height(pdf: FPDF, draw: Callable[[FPDF], None]) -> float:
    """How tall ``draw`` makes, tried out and undone (fpdf2's offset rendering)."""
    start_page, start_y = pdf.page, pdf.y
    with pdf.offset_rendering() as trial:
        draw(trial)  # type: ignore[arg-type]  # the recorder stands in for the document
        height = float(trial.y - start_y + (trial.page - start_page) * pdf.eph)
    return height


def _fitted_widths(pdf: FPDF, cells: list[list[str]], relative: Sequence[float], *, padding: float) -> list[float]:
    """Column widths in mm across the page, in the ``relative`` proportions where they allow
    every column its longest word (headings in bold); what a column needs more is taken from
    the others in proportion."""
    family, size = _family(pdf), _base_size(pdf)

    def widest_word(column: int) -> float:
        widest = 0.0
        for index, row in enumerate(cells):
            pdf.set_font(family, "B" if index == 0 else "", size)
            for word in row[column].split():
                widest = max(widest, pdf.get_string_width(word))
        pdf.set_font(family, "", size)
        return widest + 2 * padding + 1  # a millimetre to spare for rounding

    needed = [widest_word(column) for column in range(len(relative))]
    total = float(sum(relative))
    widths = [pdf.epw * share / total for share in relative]
    fixed: set[int] = set()
    while True:
        short = [i for i in range(len(widths)) if i not in fixed and widths[i] < needed[i]]
        if not short:
            return widths
        fixed.update(short)
        free = [i for i in range(len(widths)) if i not in fixed]
        spare = pdf.epw - sum(needed[i] for i in fixed)
        if not free or spare <= 0:  # the words cannot all fit: share the page by need
            return [pdf.epw * n / sum(needed) for n in needed]
        free_share = sum(relative[i] for i in free)
        widths = [needed[i] if i in fixed else spare * relative[i] / free_share for i in range(len(widths))]


def finish(pdf: FPDF) -> bytes:
    """The document as bytes, ready to send as application/pdf."""
    return bytes(pdf.output())


def _family(pdf: FPDF) -> str:
    return str(getattr(pdf, "body_family", CORE_FONT))


def _base_size(pdf: FPDF) -> float:
    return float(getattr(pdf, "base_size", 11))
