"""The statement of services (superbill) as a PDF: the content of attendance/statement.html on paper.

US Letter (what US insurers file), margins of 0.6 inch; the table of dates of service repeats
its header on every page it runs onto, and each page is numbered. The PDF core fonts cover Latin-1
alone, and a person's or a clinician's name may be "Łucja Wróbel" or hold a dash, so the text is
set in DejaVu Sans, bundled in fonts/ as a subset (how it was made: fonts/README.md). Nothing on
the machine is needed to render it.
"""

import logging
import unicodedata
from functools import cache
from pathlib import Path

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fontTools.ttLib import TTFont
from fpdf import FPDF, FontFace

from ..foundation import i18n
from .statements import GROUP, INDIVIDUAL, Statement

# fontTools (fpdf2 subsets the fonts with it) reports each glyph it keeps at INFO, the level the
# app logs at: glyph names spell out the letters of the names printed. Its warnings stay.
logging.getLogger("fontTools").setLevel(logging.WARNING)

PDF = "application/pdf"
# The name a browser saves it under: never the person's name or the enrolment's id, which a
# downloads folder or a shared computer's history would keep.
FILENAME = "statement-of-services.pdf"
FONTS = Path(__file__).with_name("fonts")
FACES = {"": FONTS / "DejaVuSans.ttf", "B": FONTS / "DejaVuSans-Bold.ttf"}
FAMILY = "DejaVuSans"
MARGIN = 15.24  # mm: 0.6 inch, room for the seven columns at 8 pt
FOOTER = 12.0  # mm from the bottom edge to the page number's line
SIZE, SMALL = 10, 8  # pt: the text and the table

# In the language being written (the person's on their page, English in the console).
HEADINGS = (_l("Date of service"), _l("Service"), "CPT", _l("Units"), _l("Fee"), _l("Rendering clinician"), "NPI")
SERVICE_NAMES = {GROUP: _l("Group psychotherapy"), INDIVIDUAL: _l("Individual psychotherapy")}
WIDTHS = (51, 39, 13, 11.5, 21.5, 28.5, 21.5)  # mm, in proportion to the width between the margins
ALIGN = ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "LEFT", "LEFT")
BOLD = FontFace(emphasis="BOLD")
HEADING = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
RULE = (153, 153, 153)  # the table's lines, as on the HTML statement


@cache
def _drawable() -> frozenset[int]:
    """The code points both bundled faces draw."""
    maps = [set(TTFont(path, lazy=True)["cmap"].getBestCmap()) for path in FACES.values()]
    return frozenset(set.intersection(*maps))


def _text(value) -> str:
    """Composed (a name typed with combining accents prints as its letters), and any character the
    fonts lack shown as U+FFFD: fpdf2 would leave it out of the page and name it in a warning, and
    a log must not hold pieces of a name."""
    drawable = _drawable()
    text = unicodedata.normalize("NFC", str(value))
    return "".join(c if c == "\n" or ord(c) in drawable else "\ufffd" for c in text)


class _Document(FPDF):
    def footer(self):
        self.set_y(-FOOTER)
        self.set_font(FAMILY, size=SMALL)
        self.set_text_color(90)
        words = _("Statement of services · page %(page)s of %(pages)s", page=self.page_no(), pages="{nb}")
        self.cell(0, 4, words, align="C")


def _document() -> _Document:
    pdf = _Document(format="Letter", unit="mm")
    for style, path in FACES.items():
        pdf.add_font(FAMILY, style, path)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.set_title(_("Statement of services"))
    pdf.set_lang(i18n.page_language())
    pdf.set_creator("the scheduler")
    pdf.add_page()
    return pdf


def _details(s: Statement) -> list[tuple[str, str]]:
    """The heading's pairs, as the HTML statement's <dl>: optional ones only when set."""
    clinic = s.clinic
    address = [line.strip() for line in (clinic["address"] or "").split(",") if line.strip()]
    pairs = [(_("Provider"), "\n".join([clinic["name"], *address]))]
    pairs += [(label, clinic[key]) for label, key in ((_("Tax id"), "tax_id"), ("NPI", "npi")) if clinic[key]]
    pairs += [(_("Patient"), s.enrolment.name or "—"), (_("Program"), s.program_name)]
    if s.diagnosis_codes:
        pairs.append((_("Diagnosis (ICD-10)"), ", ".join(s.diagnosis_codes)))
    if s.period_text:
        pairs.append((_("Period"), s.period_text))
    pairs.append((_("Issued"), s.issued_on))
    return pairs


def _heading(pdf: FPDF, s: Statement) -> None:
    pdf.set_font(FAMILY, "B", 16)
    pdf.cell(0, 10, _("Statement of services"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=SIZE)
    with pdf.table(
        col_widths=(30, 70), first_row_as_headings=False, borders_layout="NONE", text_align="LEFT", v_align="TOP"
    ) as table:
        for label, value in _details(s):
            row = table.row()
            row.cell(_text(label), style=BOLD)
            row.cell(_text(value))


def _lines(pdf: FPDF, s: Statement) -> None:
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", SIZE + 2)
    pdf.cell(0, 8, _("Dates of service"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=SMALL)
    pdf.set_draw_color(*RULE)
    with pdf.table(
        col_widths=WIDTHS,
        text_align=ALIGN,
        v_align="TOP",
        borders_layout="HORIZONTAL_LINES",
        headings_style=HEADING,
        repeat_headings=1,  # on top of every page the table runs onto
        padding=(1.2, 1.5),
    ) as table:
        table.row([str(heading) for heading in HEADINGS])
        for line in s.lines:
            service = str(SERVICE_NAMES.get(line.service, line.service))
            fields = (line.day, service, line.cpt_code, line.units, line.fee, line.clinician, line.npi)
            table.row([_text(value) for value in fields])
        if not s.lines:
            table.row().cell(_("No attended session is recorded in this period."), colspan=len(HEADINGS))
        total = table.row()
        total.cell(_("Total charges"), style=BOLD, colspan=4)
        total.cell(_text(s.total), style=BOLD, align="RIGHT")
        total.cell("", colspan=2)


def _payments(pdf: FPDF, s: Statement) -> None:
    pdf.ln(4)
    pdf.set_font(FAMILY, "B", SIZE + 2)
    pdf.cell(0, 8, _("Payments"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=SIZE)
    for payment in s.payments or [None]:
        text = f"{payment['day']}: {payment['amount']}" if payment else _("No payment is recorded.")
        pdf.multi_cell(0, 5.5, _text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font(FAMILY, "B", SIZE)
    pdf.multi_cell(0, 5.5, _text(_("Total paid: %(amount)s", amount=s.paid)), new_x="LMARGIN", new_y="NEXT")


def render(statement: Statement) -> bytes:
    """The statement as the bytes of a PDF document."""
    pdf = _document()
    _heading(pdf, statement)
    _lines(pdf, statement)
    _payments(pdf, statement)
    return bytes(pdf.output())


def pdf_response(statement: Statement) -> Response:
    """The statement as a PDF a browser shows (and saves as statement-of-services.pdf). The caller
    marks it private, as it does the HTML statement."""
    response = Response(render(statement), mimetype=PDF)
    response.headers["Content-Disposition"] = f'inline; filename="{FILENAME}"'
    return response
