"""A small city for prescription tests: a polyclinic with a doctor and two attached patients (each with a СНИЛС and
an ОМС policy), two pharmacies, and a prescription written through the service."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from medcity.prescriptions import rules, service
from medcity.registry.identifiers import OMS_SYSTEM, SNILS_SYSTEM, generate_oms, generate_snils, identifier
from medcity.store.repository import JSON, Store, Tx


def ref(rtype: str, rid: str) -> JSON:
    return {"reference": f"{rtype}/{rid}"}


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class City:
    polyclinic: str
    pharmacies: tuple[str, str]
    doctor: str  # Practitioner at the polyclinic
    patient: str
    other_patient: str
    snils: str  # of `patient`
    oms: str  # of `patient`
    other_snils: str


def _create(tx: Tx, data: JSON) -> str:
    return tx.create(data).stored.id


def build_city(store: Store, seed: int = 1) -> City:
    rng = random.Random(seed)
    snils, oms, other_snils = generate_snils(rng), generate_oms(rng), generate_snils(rng)
    with store.transaction() as tx:
        polyclinic = _create(tx, {"resourceType": "Organization", "name": "Городская поликлиника № 1"})
        pharmacies = (_create(tx, {"resourceType": "Organization", "name": "Аптека № 7"}),
                      _create(tx, {"resourceType": "Organization", "name": "Аптека «Здоровье»"}))  # fmt: skip
        doctor = _create(tx, {"resourceType": "Practitioner", "name": [{"family": "Терапевтова", "given": ["Ольга"]}]})
        _create(tx, {"resourceType": "PractitionerRole", "practitioner": ref("Practitioner", doctor),
                     "organization": ref("Organization", polyclinic)})  # fmt: skip
        patient = _create(tx, {
            "resourceType": "Patient", "name": [{"family": "Петрова", "given": ["Анна"]}],
            "identifier": [identifier(SNILS_SYSTEM, snils), identifier(OMS_SYSTEM, oms)],
            "managingOrganization": ref("Organization", polyclinic),
        })  # fmt: skip
        other = _create(tx, {
            "resourceType": "Patient", "name": [{"family": "Сидорова", "given": ["Мария"]}],
            "identifier": [identifier(SNILS_SYSTEM, other_snils)],
            "managingOrganization": ref("Organization", polyclinic),
        })  # fmt: skip
    return City(polyclinic, pharmacies, doctor, patient, other, snils, oms, other_snils)


def prescribe(store: Store, city: City, *, patient: str | None = None, quantity: int = 30) -> tuple[str, str]:
    """(id, number) of a new amlodipine prescription."""
    draft = service.Draft(patient=patient or city.patient, medicine="C08CA01", dosage="По 1 таблетке утром",
                          quantity=quantity, requester=city.doctor, reason="I10")  # fmt: skip
    with store.transaction() as tx:
        stored = service.prescribe(tx, draft, now=now())
    return stored.id, rules.number_of(stored.resource) or ""


def dispense(store: Store, city: City, number: str, *, pharmacy: int = 0, snils: str | None = None,
             quantity: int | None = None) -> str:  # fmt: skip
    """Dispense as the pharmacy's page does; returns the MedicationDispense id."""
    with store.transaction() as tx:
        found = service.find(tx, number=number, system=SNILS_SYSTEM, value=snils or city.snils)
        body = service.dispense_body(tx, found, pharmacy=city.pharmacies[pharmacy], pharmacist=None, quantity=quantity,
                                     now=now())  # fmt: skip
        return service.dispense(tx, body).id
