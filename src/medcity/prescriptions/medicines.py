"""The medicine catalogue shipped with medcity (`data/medicines.json`, written for this project: see its `_about`):
what a doctor can prescribe, one WHO ATC code with one strength and dosage form each, named in Russian and English.

It is data rather than code so that a region can extend it to its own formulary.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ATC_SYSTEM = "http://www.whocc.no/atc"
_DATA = Path(__file__).parent / "data" / "medicines.json"


@dataclass(frozen=True)
class Medicine:
    atc: str
    en: str
    ru: str
    strength: dict[str, str]
    form: dict[str, str]
    unit: dict[str, str]  # what one counted item is (a tablet, a capsule, an inhaler)

    def name(self, lang: str) -> str:
        """Name, strength and form, as a prescription reads: "Амлодипин 5 мг, таблетки"."""
        key = "en" if lang == "en" else "ru"
        return f"{self.en if key == 'en' else self.ru} {self.strength[key]}, {self.form[key]}"

    def concept(self) -> dict[str, Any]:
        """medicationCodeableConcept: the ATC coding with its English display, the Russian name as text."""
        return {
            "coding": [{"system": ATC_SYSTEM, "code": self.atc, "display": self.name("en")}],
            "text": self.name("ru"),
        }


@cache
def medicines() -> dict[str, Medicine]:
    """The catalogue by ATC code."""
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    return {
        m["atc"]: Medicine(m["atc"], m["en"], m["ru"], m["strength"], m["form"], m["unit"]) for m in data["medicines"]
    }


def atc_of(concept: Any) -> str | None:
    """The ATC code of a medicationCodeableConcept, if it has one."""
    codings = concept.get("coding") if isinstance(concept, dict) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, dict) and coding.get("system") == ATC_SYSTEM and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def medicine_name(concept: Any, lang: str) -> str:
    """A prescribed medicine in `lang`: from the catalogue when it is one of ours, else as the record says it."""
    known = medicines().get(atc_of(concept) or "")
    if known is not None:
        return known.name(lang)
    if not isinstance(concept, dict):
        return ""
    coding = next((c for c in concept.get("coding") or [] if isinstance(c, dict)), {})
    return str(concept.get("text") or coding.get("display") or coding.get("code") or "")
