"""The visit protocol as a document: its text sections, default texts per specialty (to cut typing), and the
FHIR Composition that holds the signed protocol."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape
from typing import Any

from medcity.kit.i18n import N_

JSON = dict[str, Any]
LOINC = "http://loinc.org"


@dataclass(frozen=True)
class Section:
    field: str
    label: str  # msgid
    loinc: str
    display: str


SECTIONS = (
    Section("complaints", N_("Complaints"), "10154-3", "Chief complaint Narrative"),
    Section("anamnesis", N_("Anamnesis"), "10164-2", "History of Present illness Narrative"),
    Section("examination", N_("Examination"), "29545-1", "Physical findings Narrative"),
    Section("diagnosis", N_("Diagnosis"), "29548-5", "Diagnosis Narrative"),
    Section("recommendations", N_("Recommendations"), "18776-5", "Plan of care note"),
)
TEXT_FIELDS = tuple(s.field for s in SECTIONS if s.field != "diagnosis")
MAX_TEXT = 20_000  # characters per section: a protocol, not a book
DOCUMENT_TYPE = {"system": LOINC, "code": "34108-1", "display": "Outpatient Note"}

_GENERAL_EXAM = {
    "ru": "Общее состояние удовлетворительное. Кожные покровы обычной окраски. Дыхание везикулярное, хрипов нет. "
    "Тоны сердца ясные, ритмичные. Живот мягкий, безболезненный.",
    "en": "General condition satisfactory. Skin of normal colour. Vesicular breathing, no rales. Heart sounds clear, "
    "rhythmic. Abdomen soft, non-tender.",
}
_GENERAL_PLAN = {
    "ru": "Режим амбулаторный. Обильное питьё. Повторный приём при ухудшении.",
    "en": "Outpatient regimen. Plenty of fluids. Return if worse.",
}
# Default texts by specialty (registry catalogue codes): what a doctor of that specialty writes most days.
TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "therapist-district": {"examination": _GENERAL_EXAM, "recommendations": _GENERAL_PLAN},
    "general-practitioner": {"examination": _GENERAL_EXAM, "recommendations": _GENERAL_PLAN},
    "paediatrician": {
        "examination": {
            "ru": "Состояние удовлетворительное. Зев не гиперемирован. Лимфоузлы не увеличены. Дыхание пуэрильное. "
            "Живот мягкий.",
            "en": "Condition satisfactory. Throat not inflamed. Lymph nodes not enlarged. Puerile breathing. "
            "Abdomen soft.",
        },
        "recommendations": {
            "ru": "Домашний режим, обильное питьё. Контроль температуры. Повторный осмотр через 3 дня.",
            "en": "Stay at home, plenty of fluids. Check the temperature. Review in 3 days.",
        },
    },
    "cardiologist": {
        "examination": {
            "ru": "Тоны сердца ритмичные, шумов нет. Отёков нет. Пульсация на периферических артериях сохранена.",
            "en": "Heart sounds rhythmic, no murmurs. No oedema. Peripheral pulses present.",
        },
        "recommendations": {
            "ru": "Контроль АД дважды в день с ведением дневника. Ограничение соли. ЭКГ, липидограмма. Повторный "
            "приём через 2 недели.",
            "en": "Blood pressure twice a day with a diary. Less salt. ECG, lipid profile. Review in 2 weeks.",
        },
    },
    "neurologist": {
        "examination": {
            "ru": "Сознание ясное. Черепные нервы без особенностей. Сухожильные рефлексы живые, D=S. Менингеальных "
            "знаков нет.",
            "en": "Alert. Cranial nerves intact. Tendon reflexes brisk, symmetric. No meningeal signs.",
        },
        "recommendations": {
            "ru": "Лечебная физкультура. Избегать переохлаждения. Повторный приём через 10 дней.",
            "en": "Exercise therapy. Avoid getting cold. Review in 10 days.",
        },
    },
    "otorhinolaryngologist": {
        "examination": {
            "ru": "Слизистая носа розовая, носовое дыхание свободное. Зев спокоен. Барабанные перепонки серые.",
            "en": "Nasal mucosa pink, nasal breathing free. Throat calm. Eardrums grey.",
        },
        "recommendations": {
            "ru": "Промывание носа солевым раствором. Повторный осмотр через 7 дней.",
            "en": "Saline nasal rinse. Review in 7 days.",
        },
    },
    "surgeon": {
        "examination": {
            "ru": "Местно: отёка и гиперемии нет, пальпация безболезненна, движения в полном объёме.",
            "en": "Locally: no swelling or redness, painless on palpation, full range of movement.",
        },
        "recommendations": {
            "ru": "Перевязки через день. Ограничение нагрузки. Повторный приём через 5 дней.",
            "en": "Dressings every other day. Limit load. Review in 5 days.",
        },
    },
}


def template(specialty: str | None, lang: str) -> dict[str, str]:
    """Default section texts for a specialty in `lang` (ru or en); {} for a specialty without a template."""
    texts = TEMPLATES.get(specialty or "", {})
    return {field: by_lang.get(lang, by_lang["ru"]) for field, by_lang in texts.items()}


def narrative(text: str) -> JSON:
    """An XHTML narrative of plain text, one paragraph per line."""
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip()) or "<p>—</p>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{paragraphs}</div>'}


def composition(
    *,
    texts: dict[str, str],
    diagnosis_text: str,
    conditions: list[JSON],
    subject: JSON,
    encounter: JSON,
    author: JSON,
    custodian: JSON | None,
    when: str,
    status: str = "final",
) -> JSON:
    """The protocol document. Sections keep the doctor's texts; the diagnosis section points at the Conditions."""
    sections: list[JSON] = []
    for section in SECTIONS:
        text = diagnosis_text if section.field == "diagnosis" else texts.get(section.field, "")
        entry: JSON = {
            "title": section.label,
            "code": {"coding": [{"system": LOINC, "code": section.loinc, "display": section.display}]},
            "text": narrative(text),
        }
        if section.field == "diagnosis" and conditions:
            entry["entry"] = conditions
        sections.append(entry)
    data: JSON = {
        "resourceType": "Composition",
        "status": status,
        "type": {"coding": [DOCUMENT_TYPE], "text": "Протокол приёма"},
        "subject": subject,
        "encounter": encounter,
        "date": when,
        "author": [author],
        "title": "Протокол приёма",
        "confidentiality": "N",
        "section": sections,
    }
    if custodian:
        data["custodian"] = custodian
    return data


def section_texts(document: JSON) -> dict[str, str]:
    """The plain texts back from a stored protocol's narrative, by section field (for showing and correcting)."""
    by_code = {s.loinc: s.field for s in SECTIONS}
    out: dict[str, str] = {}
    for section in document.get("section") or []:
        code = ((section.get("code") or {}).get("coding") or [{}])[0].get("code")
        div = (section.get("text") or {}).get("div", "")
        lines = [unescape(p) for p in re.findall(r"<p>(.*?)</p>", div, flags=re.S)]
        if code in by_code:
            out[by_code[code]] = "\n".join(line for line in lines if line != "—")
    return out
