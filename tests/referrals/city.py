"""A small city for referral and hospital tests: a polyclinic with a doctor and an attached patient, a hospital
with a doctor, one ward and two beds, and a laboratory report of the patient to attach to a referral."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from medcity.hospital.codes import BED, PHYSICAL_TYPE, WARD
from medcity.referrals import service as referrals
from medcity.referrals.codes import HOSPITALISATION
from medcity.store.repository import JSON, Store, Tx


def ref(rtype: str, rid: str) -> JSON:
    return {"reference": f"{rtype}/{rid}"}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class City:
    polyclinic: str
    hospital: str
    doctor: str  # Practitioner at the polyclinic
    surgeon: str  # Practitioner at the hospital
    patient: str
    other_patient: str
    ward: str
    beds: tuple[str, str]
    report: str  # DiagnosticReport of `patient`


def _create(tx: Tx, data: JSON) -> str:
    return tx.create(data).stored.id


def _place(tx: Tx, name: str, kind: str, hospital: str, part_of: str | None = None) -> str:
    data: JSON = {"resourceType": "Location", "name": name, "status": "active", "managingOrganization": ref(
        "Organization", hospital), "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": kind}]}}  # fmt: skip
    if part_of:
        data["partOf"] = ref("Location", part_of)
    return _create(tx, data)


def build_city(store: Store) -> City:
    with store.transaction() as tx:
        polyclinic = _create(tx, {"resourceType": "Organization", "name": "Городская поликлиника № 1"})
        hospital = _create(tx, {"resourceType": "Organization", "name": "Городская больница № 5"})
        doctor = _create(tx, {"resourceType": "Practitioner", "name": [{"family": "Терапевтова", "given": ["Ольга"]}]})
        surgeon = _create(tx, {"resourceType": "Practitioner", "name": [{"family": "Хирургов", "given": ["Пётр"]}]})
        patient, other = (
            _create(tx, {"resourceType": "Patient", "name": [{"family": family, "given": ["Анна"]}],
                         "managingOrganization": ref("Organization", polyclinic)})
            for family in ("Петрова", "Сидорова")
        )  # fmt: skip
        ward = _place(tx, "Хирургическое отделение", WARD, hospital)
        beds = (_place(tx, "Койка 1", BED, hospital, ward), _place(tx, "Койка 2", BED, hospital, ward))
        report = _create(tx, {"resourceType": "DiagnosticReport", "status": "final", "subject": ref("Patient", patient),
                              "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}]}})  # fmt: skip
    return City(polyclinic, hospital, doctor, surgeon, patient, other, ward, beds, report)


def refer_to_hospital(store: Store, city: City, *, now: datetime | None = None) -> str:
    draft = referrals.Draft(
        patient=city.patient, kind=HOSPITALISATION, requester=city.doctor, organization=city.hospital,
        reasons=("K40.9",), documents=(f"DiagnosticReport/{city.report}",), note="Плановая герниопластика",
    )  # fmt: skip
    with store.transaction() as tx:
        return referrals.issue(tx, draft, now=now or utcnow()).id
