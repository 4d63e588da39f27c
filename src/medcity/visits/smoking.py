"""Tobacco smoking status as the doctor asks it at a visit, written as an Observation (LOINC 72166-2) with the
SNOMED CT answer the US Core and IPS profiles use; SCORE2 and Framingham (medcity.risk) read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medcity.kit.i18n import N_, gettext
from medcity.visits.rules import unprocessable
from medcity.visits.vitals import LOINC, OBS_CATEGORY

JSON = dict[str, Any]
SNOMED = "http://snomed.info/sct"
CODE = "72166-2"
DISPLAY = "Tobacco smoking status"
FIELD = "smoking"
LABEL = N_("Smoking")


@dataclass(frozen=True)
class Answer:
    value: str  # the form field's and Parameters' value
    snomed: str
    display: str  # SNOMED CT's
    label: str  # msgid


ANSWERS = (
    Answer("current", "77176002", "Smoker", N_("Smokes")),
    Answer("ex", "8517006", "Ex-smoker", N_("Smoked before, has quit")),
    Answer("never", "266919005", "Never smoked tobacco", N_("Never smoked")),
)
BY_VALUE = {a.value: a for a in ANSWERS}
BY_SNOMED = {a.snomed: a for a in ANSWERS}


def check(raw: str | None) -> Answer | None:
    """The answer chosen, or None when the question was not asked; anything else is refused (422)."""
    value = (raw or "").strip()
    if not value:
        return None
    if value not in BY_VALUE:
        raise unprocessable(N_("Smoking status must be one of: %(answers)s"), field=FIELD,
                            answers=", ".join(BY_VALUE))  # fmt: skip
    return BY_VALUE[value]


def observation(answer: Answer, *, subject: JSON, encounter: JSON, performer: JSON, when: str) -> JSON:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "social-history", "display": "Social History"}]}],
        "code": {"coding": [{"system": LOINC, "code": CODE, "display": DISPLAY}], "text": "Статус курения"},
        "subject": subject,
        "encounter": encounter,
        "effectiveDateTime": when,
        "performer": [performer],
        # The record's words are the region's (as its diagnoses' names are): a chart shows the text.
        "valueCodeableConcept": {
            "coding": [{"system": SNOMED, "code": answer.snomed, "display": answer.display}],
            "text": gettext(answer.label, "ru"),
        },
    }


def answer_of(observation: JSON) -> Answer | None:
    """The answer a smoking status Observation records, if it is one of ours (SNOMED CT)."""
    for coding in (observation.get("valueCodeableConcept") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == SNOMED and coding.get("code") in BY_SNOMED:
            return BY_SNOMED[coding["code"]]
    return None
