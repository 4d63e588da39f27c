"""Hospital workflows: admit, transfer, discharge with a signed discharge summary; the ward view and the
polyclinic's follow-up worklist. Each write workflow is one transaction (the caller's `Tx`); the stay rules of
`medcity.hospital.stays` run on every Encounter it writes, exactly as they do on plain FHIR writes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from medcity.hospital import stays
from medcity.hospital.codes import (
    ACT_CODE,
    ADMIT_SOURCE,
    BED,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    DIAGNOSIS_ROLE,
    DISCHARGE_DISPOSITION,
    DISCHARGE_SUMMARY,
    DISCHARGE_SUMMARY_TOKEN,
    FOLLOWUP_DAYS,
    FOLLOWUP_SEEN,
    ICD10,
    INPATIENT,
    JSON,
    LOINC,
    PHYSICAL_TYPE,
    PRIORITY,
    SECTIONS,
    TASK_KIND,
    WARD,
    concept,
    is_discharge_summary,
    physical_type,
)
from medcity.kit.errors import NotFound, Unprocessable
from medcity.kit.i18n import N_
from medcity.referrals import service as referrals
from medcity.scheduling.resources import instant, ref, ref_id
from medcity.store.repository import Restriction, StoredResource, Tx
from medcity.terminology import service as icd10


def _bed_entries(tx: Tx, bed: str, *, now: datetime) -> list[JSON]:
    """The ward and bed entries of Encounter.location for a bed (the ward is the bed's partOf)."""
    stored = tx.current("Location", bed)
    if stored is None or stored.deleted or physical_type(stored.resource) != BED:
        raise Unprocessable(N_("Location/%(bed)s is not a bed"), bed=bed)
    entries = []
    ward = ref_id(stored.resource.get("partOf"), "Location")
    if ward is not None:
        entries.append({"location": ref("Location", ward), "status": "active",
                        "physicalType": concept(PHYSICAL_TYPE, WARD), "period": {"start": instant(now)}})  # fmt: skip
    entries.append({"location": ref("Location", bed), "status": "active",
                    "physicalType": concept(PHYSICAL_TYPE, BED), "period": {"start": instant(now)}})  # fmt: skip
    return entries


def admit(
    tx: Tx,
    *,
    hospital: str,
    bed: str,
    now: datetime,
    referral: str | None = None,
    patient: str | None = None,
    reason: str | None = None,
    practitioner: str | None = None,
) -> StoredResource:
    """Open an inpatient stay in `bed`: on a referral (planned) or, without one, by emergency."""
    if referral is not None:
        patient = ref_id(referrals.get(tx, referral).resource.get("subject"), "Patient")
    if not patient:
        raise Unprocessable(N_("An emergency admission names the patient"))
    known = tx.current("Patient", patient)
    if known is None or known.deleted:
        raise Unprocessable(N_("Patient/%(patient)s is not known"), patient=patient)
    data: JSON = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": ACT_CODE, "code": INPATIENT, "display": "inpatient encounter"},
        "priority": concept(PRIORITY, "EL" if referral else "EM"),
        "subject": ref("Patient", patient),
        "serviceProvider": ref("Organization", hospital),
        "period": {"start": instant(now)},
        "hospitalization": {"admitSource": concept(ADMIT_SOURCE, "gp" if referral else "emd")},
        "location": _bed_entries(tx, bed, now=now),
    }
    if referral is not None:
        data["basedOn"] = [ref("ServiceRequest", referral)]
    if practitioner:
        data["participant"] = [{"individual": ref("Practitioner", practitioner)}]
    if reason:
        data["reasonCode"] = [_icd10(reason)]
    stays.apply(tx, data, None, now=now)
    return tx.create(data).stored


def _stay(tx: Tx, encounter: str) -> StoredResource:
    stored = tx.current("Encounter", encounter, for_update=True)
    if stored is None or stored.deleted or not stays.in_progress(stored.resource):
        raise NotFound(N_("Encounter/%(encounter)s is not an inpatient stay in progress"), encounter=encounter)
    return stored


def _ended(locations: list[JSON], now: datetime) -> list[JSON]:
    return [
        {**entry, "status": "completed", "period": {**(entry.get("period") or {}), "end": instant(now)}}
        if entry.get("status") != "completed" else entry
        for entry in locations
    ]  # fmt: skip


def transfer(tx: Tx, *, encounter: str, bed: str, now: datetime) -> StoredResource:
    """Move a patient to another bed (and ward): the new bed is taken first, the old one freed, in one write."""
    stored = _stay(tx, encounter)
    previous = stored.resource
    data = {**previous, "location": [*_ended(previous.get("location") or [], now), *_bed_entries(tx, bed, now=now)]}
    stays.apply(tx, data, previous, now=now)
    return tx.update(data).stored


@dataclass(frozen=True)
class Summary:
    """What the discharging doctor writes: ICD-10 diagnoses (the first is the main one) and the narrative."""

    diagnoses: tuple[str, ...]
    procedures: str = ""
    results: str = ""
    recommendations: str = ""
    disposition: str = "home"


def _icd10(text: str) -> JSON:
    code = icd10.normalize_code(text)
    if code is None:
        raise Unprocessable(N_("'%(typed)s' is not an ICD-10 code"), typed=text[:20])
    return concept(ICD10, code, icd10.display(code) or code)


def _narrative(text: str) -> JSON:
    paragraphs = "".join(f"<p>{escape(line)}</p>" for line in text.splitlines() if line.strip()) or "<p>—</p>"
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{paragraphs}</div>'}


def discharge(
    tx: Tx, *, encounter: str, summary: Summary, hospital: str, practitioner: str | None, now: datetime
) -> StoredResource:
    """Discharge: the diagnoses become Conditions, the stay ends (the bed is freed, the referral completed) and
    the hospital signs the discharge summary (Composition, LOINC 18842-5) — all in the caller's one transaction.
    Returns the summary."""
    codes = [c for c in summary.diagnoses if c.strip()]
    if not codes:
        raise Unprocessable(N_("A discharge needs at least one diagnosis (an ICD-10 code)"))
    diagnoses = [_icd10(code) for code in codes]
    stored = _stay(tx, encounter)
    previous = stored.resource
    conditions = [
        tx.create({
            "resourceType": "Condition",
            "clinicalStatus": concept(CONDITION_CLINICAL, "active"),
            "category": [concept(CONDITION_CATEGORY, "encounter-diagnosis")],
            "code": code, "subject": previous["subject"], "encounter": ref("Encounter", encounter),
            "recordedDate": instant(now),
            **({"recorder": ref("Practitioner", practitioner)} if practitioner else {}),
        }).stored.id
        for code in diagnoses
    ]  # fmt: skip
    data = {
        **previous,
        "status": "finished",
        "period": {**(previous.get("period") or {}), "end": instant(now)},
        "location": _ended(previous.get("location") or [], now),
        "diagnosis": [
            {"condition": ref("Condition", cid), "rank": rank, "use": concept(DIAGNOSIS_ROLE, "DD")}
            for rank, cid in enumerate(conditions, start=1)
        ],
        "hospitalization": {
            **(previous.get("hospitalization") or {}),
            "dischargeDisposition": concept(DISCHARGE_DISPOSITION, summary.disposition),
        },
    }
    stays.apply(tx, data, previous, now=now)
    tx.update(data)
    composition = _summary(tx, data, conditions, diagnoses, summary, hospital=hospital, practitioner=practitioner,
                           now=now)  # fmt: skip
    stays.check_summary(composition)
    return tx.create(composition).stored


def _summary(
    tx: Tx,
    stay: JSON,
    conditions: list[str],
    diagnoses: list[JSON],
    summary: Summary,
    *,
    hospital: str,
    practitioner: str | None,
    now: datetime,
) -> JSON:
    reports = tx.search("DiagnosticReport", [("encounter", f"Encounter/{stay['id']}"), ("_count", "100")]).matches
    texts = {
        "diagnoses": "\n".join(f"{d['coding'][0]['code']} {d['coding'][0].get('display', '')}" for d in diagnoses),
        "procedures": summary.procedures,
        "results": summary.results,
        "recommendations": summary.recommendations,
    }
    entries = {"diagnoses": [ref("Condition", cid) for cid in conditions],
               "results": [ref("DiagnosticReport", r.id) for r in reports]}  # fmt: skip
    author = ref("Practitioner", practitioner) if practitioner else ref("Organization", hospital)
    return {
        "resourceType": "Composition",
        "status": "final",
        "type": concept(LOINC, DISCHARGE_SUMMARY, "Discharge summary"),
        "subject": stay["subject"],
        "encounter": ref("Encounter", stay["id"]),
        "date": instant(now),
        "author": [author],
        "title": "Выписной эпикриз",
        "attester": [{"mode": "legal", "time": instant(now), "party": author}],
        "custodian": ref("Organization", hospital),
        "section": [
            {"title": ru, "code": concept(LOINC, code, en), "text": _narrative(texts[key]),
             **({"entry": entries[key]} if entries.get(key) else {})}
            for key, code, en, ru in SECTIONS
        ],
    }  # fmt: skip


# ---- views ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bed:
    id: str
    name: str
    stay: StoredResource | None


@dataclass(frozen=True)
class Ward:
    id: str
    name: str
    beds: list[Bed]


def wards_of(tx: Tx, *, hospital: str, restrict: Restriction | None = None) -> list[Ward]:
    """The hospital's wards with their beds and who lies in each."""
    places = tx.search("Location", [("organization", f"Organization/{hospital}"), ("_count", "1000")]).matches
    stays_now = tx.search(
        "Encounter",
        [("class", f"{ACT_CODE}|{INPATIENT}"), ("status", "in-progress"),
         ("service-provider", f"Organization/{hospital}"), ("_count", "1000")],
        restrict=restrict,
    ).matches  # fmt: skip
    bed_ids = {place.id for place in places if physical_type(place.resource) == BED}
    # A stay's beds are its current locations among the hospital's beds: no read per stay.
    by_bed = {
        bed: stay
        for stay in stays_now
        for entry in stay.resource.get("location") or []
        if entry.get("status") != "completed" and (bed := ref_id(entry.get("location"), "Location")) in bed_ids
    }
    beds: dict[str, list[Bed]] = {}
    for place in places:
        data = place.resource
        if physical_type(data) == BED:
            ward = ref_id(data.get("partOf"), "Location") or ""
            beds.setdefault(ward, []).append(Bed(place.id, str(data.get("name") or place.id), by_bed.get(place.id)))
    wards = [
        Ward(p.id, str(p.resource.get("name") or p.id), sorted(beds.get(p.id, []), key=lambda b: _in_order(b.name)))
        for p in places
        if physical_type(p.resource) == WARD
    ]
    return sorted(wards, key=lambda w: w.name)


def _in_order(name: str) -> list[Any]:
    """Beds as people count them: "Койка 2" before "Койка 10"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _place(name: str, kind: str, hospital: str) -> JSON:
    return {"resourceType": "Location", "name": name, "status": "active", "mode": "instance",
            "managingOrganization": ref("Organization", hospital),
            "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": kind}]}}  # fmt: skip


def add_ward(tx: Tx, *, hospital: str, name: str, beds: int) -> str:
    """Create a ward of the hospital and its numbered beds (Locations); returns the ward's id."""
    found = tx.current("Organization", hospital)
    if found is None or found.deleted:
        raise NotFound(N_("Organization/%(id)s is not known"), id=hospital[:64])
    ward = tx.create(_place(name, WARD, hospital)).stored.id
    for number in range(1, beds + 1):
        tx.create({**_place(f"Койка {number}", BED, hospital), "partOf": ref("Location", ward)})
    return ward


def free_beds(tx: Tx, *, hospital: str) -> list[tuple[Ward, Bed]]:
    return [(ward, bed) for ward in wards_of(tx, hospital=hospital) for bed in ward.beds if bed.stay is None]


@dataclass(frozen=True)
class FollowUp:
    summary: StoredResource
    seen: bool


def followup(
    tx: Tx, *, organization: str, now: datetime, restrict: Restriction | None = None, days: int = FOLLOWUP_DAYS
) -> list[FollowUp]:
    """Discharge summaries of the organisation's attached patients from the last `days` days, newest first, each
    with whether someone there has marked it seen."""
    since = (now - timedelta(days=days)).date().isoformat()
    found = tx.search(
        "Composition",
        [("type", DISCHARGE_SUMMARY_TOKEN), ("patient.organization", f"Organization/{organization}"),
         ("date", f"ge{since}"), ("_sort", "-date"), ("_count", "200")],
        restrict=restrict,
    ).matches  # fmt: skip
    seen = _seen(tx, organization, ("authored-on", f"ge{since}")) if found else set()
    return [FollowUp(summary=s, seen=s.id in seen) for s in found]


def _seen(tx: Tx, organization: str, narrowed: tuple[str, str]) -> set[str]:
    """The summaries the organisation has marked seen, among the marks `narrowed` selects (made since the window
    opened, or on one summary): a search by the organisation, not by a long list of summaries."""
    marks = tx.search(
        "Task",
        [("code", f"{TASK_KIND}|{FOLLOWUP_SEEN}"), ("requester", f"Organization/{organization}"), narrowed,
         ("_count", "1000")],
    ).matches  # fmt: skip
    return {cid for mark in marks if (cid := ref_id(mark.resource.get("focus"), "Composition"))}


def mark_seen(
    tx: Tx, *, summary: str, organization: str, practitioner: str | None, now: datetime
) -> StoredResource | None:
    """Mark a discharge summary seen by the polyclinic (once; marking it again changes nothing)."""
    stored = tx.current("Composition", summary)
    if stored is None or stored.deleted or not is_discharge_summary(stored.resource):
        raise NotFound(N_("Composition/%(summary)s is not a discharge summary"), summary=summary)
    if _seen(tx, organization, ("focus", f"Composition/{summary}")):
        return None
    task: JSON = {
        "resourceType": "Task",
        "status": "completed",
        "intent": "order",
        "code": concept(TASK_KIND, FOLLOWUP_SEEN, "Discharge summary seen by the polyclinic"),
        "focus": ref("Composition", summary),
        "for": stored.resource["subject"],
        "authoredOn": instant(now),
        "lastModified": instant(now),
        "owner": ref("Practitioner", practitioner) if practitioner else ref("Organization", organization),
        "requester": ref("Organization", organization),
    }
    return tx.create(task).stored
