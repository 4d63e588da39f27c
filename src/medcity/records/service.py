"""Workflows over a patient's record."""

from __future__ import annotations

from typing import Any

from medcity.store.repository import Restriction, StoredResource, Tx
from medcity.store.search import SearchResult, compartment_refs, save_snapshot

# Resources outside the compartment that its resources point at and a receiving system needs to read them.
REFERENCED_TYPES = ("Practitioner", "PractitionerRole", "Organization", "Location", "Medication")
EVERYTHING_CAP = 50_000

JSON = dict[str, Any]


def everything(
    tx: Tx,
    *,
    patient_id: str,
    count: int,
    types: list[str] | None = None,
    since: str | None = None,
    restrict: Restriction | None = None,
) -> SearchResult:
    """The first page of the patient's whole record; later pages come from the kept snapshot."""
    tx.read("Patient", patient_id)
    refs = compartment_refs(
        tx, patient_id, types=types, since=since, restrict=restrict, referenced_types=REFERENCED_TYPES
    )[:EVERYTHING_CAP]
    page = tx.read_many(refs[:count], restrict)
    result = SearchResult(resource_type="Patient", matches=page, total=len(refs), count=count)
    used = [("_count", str(count))]
    result.params_used = used
    if len(refs) > count:
        result.snapshot = save_snapshot(tx, "Patient", [f"{t}/{i}" for t, i in refs], used)
        result.has_next = True
    return result


def _coding(resource: JSON, element: str) -> tuple[str | None, str | None]:
    concept = resource.get(element) or {}
    coding = (concept.get("coding") or [{}])[0]
    return coding.get("code"), coding.get("display") or concept.get("text")


def _status_is(resource: JSON, element: str, wanted: set[str]) -> bool:
    code, _ = _coding(resource, element)
    return code is None or code in wanted


SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    # (LOINC code of the section, title, resource type, IPS section name)
    ("11450-4", "Active problems", "Condition", "problems"),
    ("48765-2", "Allergies and intolerances", "AllergyIntolerance", "allergies"),
    ("10160-0", "Medications", "MedicationRequest", "medications"),
    ("30954-2", "Results", "Observation", "results"),
    ("11369-6", "Immunizations", "Immunization", "immunizations"),
)
RESULTS_PER_CODE = 1
MAX_RESULTS = 50


def _keep(rtype: str, resource: JSON) -> bool:
    if rtype == "Condition":
        return _status_is(resource, "clinicalStatus", {"active", "recurrence", "relapse"})
    if rtype == "AllergyIntolerance":
        return _status_is(resource, "clinicalStatus", {"active"})
    if rtype == "MedicationRequest":
        return resource.get("status") in ("active", "on-hold")
    if rtype == "Immunization":
        return resource.get("status") == "completed"
    return resource.get("status") in ("final", "amended", "corrected")


def _latest_per_code(observations: list[StoredResource]) -> list[StoredResource]:
    """The newest result of each test: a summary, not the history."""
    seen: dict[str | None, int] = {}
    kept = []
    for stored in observations:  # newest first
        code, _ = _coding(stored.resource, "code")
        if seen.get(code, 0) < RESULTS_PER_CODE:
            seen[code] = seen.get(code, 0) + 1
            kept.append(stored)
    return kept[:MAX_RESULTS]


def summary(tx: Tx, *, patient_id: str, restrict: Restriction | None, base: str, now: str) -> JSON:
    """A patient summary document in the spirit of the International Patient Summary: a Composition with the
    sections problems, allergies, medications, results and immunizations, and the resources it cites."""
    patient = tx.read("Patient", patient_id)
    types = [s[2] for s in SECTIONS]
    refs = compartment_refs(tx, patient_id, types=types, restrict=restrict)
    stored = [s for s in tx.read_many(refs[1:], restrict) if _keep(s.type, s.resource)]
    by_type: dict[str, list[StoredResource]] = {}
    for item in stored:
        by_type.setdefault(item.type, []).append(item)
    by_type["Observation"] = _latest_per_code(by_type.get("Observation", []))
    sections = []
    cited: list[StoredResource] = []
    for loinc, title, rtype, _name in SECTIONS:
        items = by_type.get(rtype, [])
        section: JSON = {
            "title": title,
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        }
        if items:
            section["entry"] = [{"reference": f"{s.type}/{s.id}"} for s in items]
            cited.extend(items)
        else:
            section["emptyReason"] = {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "unavailable"}]
            }
        sections.append(section)
    composition = {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "60591-5", "display": "Patient summary"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": now,
        "author": [{"display": "medcity"}],
        "title": "Patient summary",
        "section": sections,
    }
    entries = [{"fullUrl": "urn:uuid:summary", "resource": composition},
               {"fullUrl": f"{base}/Patient/{patient_id}", "resource": patient.resource}]  # fmt: skip
    entries += [{"fullUrl": f"{base}/{s.type}/{s.id}", "resource": s.resource} for s in cited]
    return {
        "resourceType": "Bundle",
        "type": "document",
        "timestamp": now,
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:medcity:summary:{patient_id}:{now}"},
        "entry": entries,
    }
