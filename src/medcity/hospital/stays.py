"""The rules of an inpatient stay, applied to every write of an inpatient Encounter (class IMP) and of a discharge
summary, whichever door it comes through: the hospital's pages and plain FHIR writes alike.

- A stay in progress holds a bed of the hospital; a bed held by another stay is a 409. The bed's
  Location.operationalStatus follows (occupied / unoccupied); the bed's row is locked while it changes, so two
  admissions to one bed cannot both win.
- An admission on a referral uses it: a referral already used is a 409 (`medcity.referrals.service`).
- A discharge (in progress → finished) needs a diagnosis (422); it frees the bed and completes the referral.
- A final discharge summary lists at least one diagnosis (a Condition in its diagnoses section).
"""

from __future__ import annotations

from datetime import datetime

from medcity.hospital.codes import (
    BED,
    BED_STATUS,
    DIAGNOSES_SECTION,
    JSON,
    LOINC,
    OCCUPIED,
    UNOCCUPIED,
    has_coding,
    is_discharge_summary,
    is_inpatient,
    physical_type,
)
from medcity.kit.errors import Conflict, Unprocessable
from medcity.kit.i18n import N_
from medcity.referrals import service as referrals
from medcity.scheduling.resources import ref_id, utcnow
from medcity.store.repository import StoredResource, Tx


def in_progress(data: JSON | None) -> bool:
    return is_inpatient(data) and (data or {}).get("status") == "in-progress"


def _location(tx: Tx, lid: str, *, lock: bool = False) -> StoredResource:
    stored = tx.current("Location", lid, for_update=lock)
    if stored is None or stored.deleted:
        raise Unprocessable(N_("Location/%(lid)s is not known"), lid=lid)
    return stored


def beds_of(tx: Tx, data: JSON | None) -> set[str]:
    """The beds a stay holds: the current (not completed) bed locations of an inpatient stay in progress."""
    if not in_progress(data):
        return set()
    held = set()
    for entry in (data or {}).get("location") or []:
        lid = ref_id((entry or {}).get("location"), "Location")
        if lid is None or entry.get("status") == "completed":
            continue
        if physical_type(entry) == BED or physical_type(_location(tx, lid).resource) == BED:
            held.add(lid)
    return held


def _set_bed(tx: Tx, bed: str, status: str, *, hospital: str | None) -> None:
    stored = _location(tx, bed, lock=True)
    data = stored.resource
    if physical_type(data) != BED:
        raise Unprocessable(N_("Location/%(bed)s is not a bed"), bed=bed)
    if status == OCCUPIED:
        if has_coding({"coding": [data.get("operationalStatus") or {}]}, BED_STATUS, OCCUPIED):
            raise Conflict(N_("Bed Location/%(bed)s is occupied"), bed=bed)
        if data.get("status", "active") != "active":
            raise Unprocessable(N_("Bed Location/%(bed)s is not in use"), bed=bed)
        owner = ref_id(data.get("managingOrganization"), "Organization")
        if hospital is not None and owner not in (None, hospital):
            raise Unprocessable(N_("Bed Location/%(bed)s belongs to another hospital"), bed=bed)
    coding = {"system": BED_STATUS, "code": status, "display": "Occupied" if status == OCCUPIED else "Unoccupied"}
    tx.update({**data, "operationalStatus": coding})


def _referral(data: JSON) -> str | None:
    found = [rid for based in data.get("basedOn") or [] if (rid := ref_id(based, "ServiceRequest"))]
    return found[0] if found else None


def apply(tx: Tx, data: JSON, previous: JSON | None, *, now: datetime | None = None) -> None:
    """Check an inpatient Encounter about to be written over `previous` (None for a new one), and make the beds
    and the referral follow it."""
    if not is_inpatient(data) and not is_inpatient(previous):
        return
    now = now or utcnow()
    admitting = in_progress(data) and not in_progress(previous)
    discharging = in_progress(previous) and data.get("status") == "finished"
    patient = ref_id(data.get("subject"), "Patient")
    hospital = ref_id(data.get("serviceProvider"), "Organization")
    if previous is not None and ref_id(previous.get("subject"), "Patient") != patient:
        raise Unprocessable(N_("The patient of a hospital stay cannot be changed"))
    referral = _referral(data)
    if admitting and referral is not None:
        if hospital is None:
            raise Unprocessable(N_("An admission names the hospital (serviceProvider)"))
        referrals.take_for_admission(tx, referral, patient=patient, organization=hospital, now=now)
    if discharging and not data.get("diagnosis"):
        raise Unprocessable(N_("A discharge needs a diagnosis (Encounter.diagnosis)"))
    before, after = beds_of(tx, previous), beds_of(tx, data)
    if in_progress(data) and not after:
        raise Unprocessable(N_("An inpatient stay in progress holds a bed (a Location of physicalType bd)"))
    for bed in sorted(after - before):
        _set_bed(tx, bed, OCCUPIED, hospital=hospital)
    for bed in sorted(before - after):
        _set_bed(tx, bed, UNOCCUPIED, hospital=None)
    if discharging and referral is not None:
        referrals.close_on_discharge(tx, referral)


def check_summary(data: JSON) -> None:
    """A final discharge summary names at least one diagnosis."""
    if not is_discharge_summary(data) or data.get("status") not in ("final", "amended"):
        return
    for section in data.get("section") or []:
        if has_coding((section or {}).get("code"), LOINC, DIAGNOSES_SECTION) and any(
            ref_id(entry, "Condition") for entry in section.get("entry") or []
        ):
            return
    raise Unprocessable(N_("A discharge summary without a diagnosis: its diagnoses section lists no Condition"))


def check_bed_write(tx: Tx, data: JSON) -> JSON:
    """A bed's occupancy follows the stays; a plain write may not set it by hand."""
    rid = data.get("id")
    stored = tx.current("Location", rid) if isinstance(rid, str) else None
    before = (stored.resource if stored is not None and not stored.deleted else {}).get("operationalStatus")
    if physical_type(data) == BED and data.get("operationalStatus") != before:
        occupied = has_coding({"coding": [data.get("operationalStatus") or {}]}, BED_STATUS, OCCUPIED)
        if stored is not None or occupied:
            raise Unprocessable(N_("A bed's occupancy follows admissions and discharges; it is not set by hand"))
    return data


def check_encounter_write(tx: Tx, data: JSON) -> JSON:
    rid = data.get("id")
    stored = tx.current("Encounter", rid) if isinstance(rid, str) else None
    apply(tx, data, stored.resource if stored is not None and not stored.deleted else None)
    return data


def check_composition_write(tx: Tx, data: JSON) -> JSON:
    check_summary(data)
    return data
