"""A patient's record for the risk tests, written through the store as the visit, the laboratory and the
prescriptions would write it: a 55-year-old man with blood pressure, lipid results, glucose, BMI and waist."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from medcity.store.repository import Store

JSON = dict[str, Any]
LOINC = "http://loinc.org"
TODAY = datetime.now(UTC).date()


def ref(rtype: str, rid: str) -> JSON:
    return {"reference": f"{rtype}/{rid}"}


def ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def born(years: int) -> str:
    """The birth date of someone `years` old today (their birthday a month ago)."""
    past = TODAY - timedelta(days=31)
    return date(past.year - years, past.month, min(past.day, 28)).isoformat()


def result(patient: str, loinc: str, value: float, unit: str, *, days_ago: int, **extra: Any) -> JSON:
    return {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": LOINC, "code": loinc}]},
            "subject": ref("Patient", patient), "effectiveDateTime": ago(days_ago),
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
            **extra}  # fmt: skip


def pressure(patient: str, systolic: int, diastolic: int, *, days_ago: int) -> JSON:
    def part(code: str, value: int) -> JSON:
        return {"code": {"coding": [{"system": LOINC, "code": code}]},
                "valueQuantity": {"value": value, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org",
                                  "code": "mm[Hg]"}}  # fmt: skip

    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "85354-9"}]}, "subject": ref("Patient", patient),
            "effectiveDateTime": ago(days_ago),
            "component": [part("8480-6", systolic), part("8462-4", diastolic)]}  # fmt: skip


def smoking(patient: str, snomed: str, *, days_ago: int) -> JSON:
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "72166-2"}]}, "subject": ref("Patient", patient),
            "effectiveDateTime": ago(days_ago),
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": snomed}]}}  # fmt: skip


def patient(store: Store, *, gender: str = "male", age: int = 55, **extra: Any) -> str:
    return store.create({"resourceType": "Patient", "name": [{"family": "Рисков", "given": ["Пётр"]}],
                         "gender": gender, "birthDate": born(age), **extra}).id  # fmt: skip


def full_record(store: Store, *, age: int = 55) -> dict[str, str]:
    """A patient whose record answers every input SCORE2 and Framingham need; the ids of what was written."""
    pid = patient(store, age=age)
    written = {
        "patient": pid,
        "old_pressure": store.create(pressure(pid, 170, 100, days_ago=400)).id,
        "pressure": store.create(pressure(pid, 140, 90, days_ago=30)).id,
        "cholesterol": store.create(result(pid, "14647-2", 6.3, "mmol/L", days_ago=60)).id,
        "hdl": store.create(result(pid, "14646-4", 1.4, "mmol/L", days_ago=60)).id,
        "smoking": store.create(smoking(pid, "77176002", days_ago=30)).id,
    }
    return written
