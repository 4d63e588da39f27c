"""How a hospital stay is written in FHIR, so that pages, rules and searches read it the same way."""

from __future__ import annotations

from typing import Any

from medcity.registry.catalogue import BASE

JSON = dict[str, Any]

TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
ACT_CODE = f"{TERMINOLOGY}/v3-ActCode"
INPATIENT = "IMP"
PRIORITY = f"{TERMINOLOGY}/v3-ActPriority"
ADMIT_SOURCE = f"{TERMINOLOGY}/admit-source"
DISCHARGE_DISPOSITION = f"{TERMINOLOGY}/discharge-disposition"
DIAGNOSIS_ROLE = f"{TERMINOLOGY}/diagnosis-role"
PHYSICAL_TYPE = f"{TERMINOLOGY}/location-physical-type"
WARD, BED = "wa", "bd"
# Bed occupancy (HL7 v2 table 0116), kept on the bed's Location.operationalStatus by admissions and discharges.
BED_STATUS = f"{TERMINOLOGY}/v2-0116"
OCCUPIED, UNOCCUPIED = "O", "U"

LOINC = "http://loinc.org"
DISCHARGE_SUMMARY = "18842-5"
DISCHARGE_SUMMARY_TOKEN = f"{LOINC}|{DISCHARGE_SUMMARY}"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CONDITION_CATEGORY = f"{TERMINOLOGY}/condition-category"
CONDITION_CLINICAL = f"{TERMINOLOGY}/condition-clinical"
# Sections of the discharge summary: (key, LOINC code, English title, Russian title).
SECTIONS = (
    ("diagnoses", "11535-2", "Hospital discharge diagnoses", "Диагнозы при выписке"),
    ("procedures", "47519-4", "Procedures", "Проведённые процедуры и операции"),
    ("results", "30954-2", "Relevant diagnostic tests and results", "Результаты обследований"),
    ("recommendations", "18776-5", "Recommendations", "Рекомендации"),
)
DIAGNOSES_SECTION = SECTIONS[0][1]

# The "seen" mark on the polyclinic's follow-up worklist: a completed Task whose focus is the discharge summary.
TASK_KIND = f"{BASE}/CodeSystem/task-kind"
FOLLOWUP_SEEN = "discharge-followup-seen"
FOLLOWUP_DAYS = 30


def has_coding(concept: Any, system: str, code: str) -> bool:
    return isinstance(concept, dict) and any(
        isinstance(c, dict) and c.get("system") == system and c.get("code") == code for c in concept.get("coding") or []
    )


def is_inpatient(data: JSON | None) -> bool:
    klass = (data or {}).get("class")
    return isinstance(klass, dict) and klass.get("code") == INPATIENT and klass.get("system") in (ACT_CODE, None)


def is_discharge_summary(data: JSON) -> bool:
    return has_coding(data.get("type"), LOINC, DISCHARGE_SUMMARY)


def physical_type(location: JSON) -> str | None:
    for coding in (location.get("physicalType") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == PHYSICAL_TYPE:
            return str(coding.get("code"))
    return None


def concept(system: str, code: str, display: str | None = None) -> JSON:
    coding: JSON = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}
