"""The record as a PDF a patient can keep or take to a doctor elsewhere (fpdf2, with DejaVu Sans embedded so that
Cyrillic prints; the font ships in ``records/fonts`` with its licence, nothing is fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

from medcity.kit.i18n import N_, gettext
from medcity.records import portal
from medcity.records.chart import Chart, Item

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"
LINE = 5.5


class _Document(FPDF):
    def __init__(self, lang: str) -> None:
        super().__init__(format="A4")
        self.lang = lang
        self.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title(gettext("Health record", lang))
        self.set_creator("medcity")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "", 8)
        self.cell(0, 6, f"medcity · {self.page_no()}", align="C")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font(FAMILY, "B", 12)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font(FAMILY, "", 9.5)

    def line_of(self, text: str) -> None:
        self.multi_cell(0, LINE, text, new_x="LMARGIN", new_y="NEXT")

    def items(self, title: str, items: Sequence[Item], empty: str) -> None:
        self.heading(gettext(title, self.lang))
        if not items:
            self.line_of(gettext(empty, self.lang))
        for item in items:
            parts = [item.day, f"{item.code} {item.title}".strip(), item.detail, item.institution or ""]
            self.line_of(" · ".join(p for p in parts if p))


def _results(doc: _Document, chart: Chart) -> None:
    doc.heading(gettext("Results", doc.lang))
    if not chart.results:
        doc.line_of(gettext("No results yet.", doc.lang))
    range_word = gettext("reference range", doc.lang)
    for result in chart.results:
        m = result.latest
        reference = f"{range_word} {m.range_in(doc.lang)}" if m.range_text else ""
        parts = [m.day, f"{result.title}: {m.value_in(doc.lang)}", reference,
                 portal.flag_label(m.flag_kind, doc.lang), m.institution or ""]  # fmt: skip
        doc.line_of(" · ".join(p for p in parts if p))
        if m.flag:
            doc.set_font(FAMILY, "", 8.5)
            doc.line_of(f"    {portal.flag_note(m.flag_kind, doc.lang)}")
            doc.set_font(FAMILY, "", 9.5)


def _visits(doc: _Document, chart: Chart) -> None:
    doc.heading(gettext("Visits", doc.lang))
    if not chart.visits:
        doc.line_of(gettext("No visits recorded.", doc.lang))
    for v in chart.visits:
        parts = [v.day, portal.visit_kind(v.kind, doc.lang), v.institution or "", v.title, "; ".join(v.diagnoses)]
        doc.line_of(" · ".join(p for p in parts if p))


def record_pdf(chart: Chart, *, lang: str) -> bytes:
    """The record of ``chart`` as PDF bytes, in ``lang``."""
    doc = _Document(lang)
    doc.add_page()
    doc.set_font(FAMILY, "B", 16)
    doc.line_of(gettext("Health record", lang))
    doc.set_font(FAMILY, "", 10)
    born = f"{gettext('Born', lang)} {chart.born}" if chart.birth_date else ""
    doc.line_of(" · ".join(p for p in (chart.name, born) if p))
    doc.line_of(f"{gettext('Printed', lang)} {datetime.now(UTC):%d.%m.%Y %H:%M} UTC")
    doc.items(N_("Active problems"), chart.problems, N_("No active problems."))
    doc.items(N_("Allergies and intolerances"), chart.allergies, N_("No known allergies."))
    doc.items(N_("Current medications"), chart.medications, N_("No current medications."))
    _results(doc, chart)
    doc.items(N_("Vaccinations"), chart.immunizations, N_("No vaccinations recorded."))
    _visits(doc, chart)
    doc.items(N_("Past diagnoses"), chart.past_problems, N_("No past diagnoses."))
    doc.items(N_("Documents"), chart.documents, N_("No documents."))
    return bytes(doc.output())
