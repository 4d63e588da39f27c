"""Words for people who are not doctors: what a result's flag means and what kind of visit an encounter was.

Shared by the portal page and the PDF of the record; the texts are English sources, translated when shown.
"""

from __future__ import annotations

from medcity.kit.i18n import N_, gettext

# The flag kinds of ``medcity.records.chart.flag_kind``.
FLAG_NOTES = {
    "high": N_(
        "Above the reference range: higher than in most healthy people. One such value is often not a disease; "
        "your doctor will judge it together with your other results."
    ),
    "low": N_(
        "Below the reference range: lower than in most healthy people. One such value is often not a disease; "
        "your doctor will judge it together with your other results."
    ),
    "abnormal": N_("Outside the usual: the laboratory marked this result as not normal. Discuss it with your doctor."),
    "critical": N_(
        "Far outside the reference range. If your doctor has not contacted you about it yet, call your polyclinic."
    ),
}
FLAG_LABELS = {"high": N_("above normal"), "low": N_("below normal"), "abnormal": N_("not normal"),
               "critical": N_("far from normal")}  # fmt: skip

# Encounter classes (v3 ActCode) as people name them.
VISIT_KINDS = {
    "AMB": N_("Outpatient visit"),
    "IMP": N_("Hospital stay"),
    "ACUTE": N_("Hospital stay"),
    "NONAC": N_("Hospital stay"),
    "SS": N_("Day hospital"),
    "EMER": N_("Emergency care"),
    "HH": N_("Home visit"),
    "VR": N_("Remote consultation"),
}


def flag_note(kind: str, lang: str) -> str:
    return gettext(FLAG_NOTES[kind], lang) if kind in FLAG_NOTES else ""


def flag_label(kind: str, lang: str) -> str:
    return gettext(FLAG_LABELS[kind], lang) if kind in FLAG_LABELS else ""


def visit_kind(code: str, lang: str) -> str:
    return gettext(VISIT_KINDS.get(code, N_("Visit")), lang)
