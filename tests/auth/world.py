"""A small city for the access-policy tests: two polyclinics, a laboratory and a pharmacy; a doctor of the first
polyclinic; and patients with every kind of relationship to that doctor (attached, booked, referred, seen long
ago, a stranger), each with an Observation, so every role and access path can be tried against each of them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from medcity.app import create_app
from medcity.auth.tables import audit_log
from medcity.kit.config import Settings
from medcity.prescriptions.rules import NUMBER_SYSTEM, new_number
from medcity.store.repository import Store
from tests.bearer import bearer

JSON = dict[str, Any]
SNILS = "urn:oid:1.2.643.100.3"
# Valid СНИЛС (numbers this low carry no control number), as a pharmacy types them.
PATIENT_SNILS = {"attached": "00000000100", "booked": "00000000200", "referred": "00000000300",
                 "seen_long_ago": "00000000400", "stranger": "00000000500"}  # fmt: skip
ICD10 = "http://hl7.org/fhir/sid/icd-10"


def ref(rtype: str, rid: str) -> JSON:
    return {"reference": f"{rtype}/{rid}"}


def day(offset: int) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class World:
    polyclinic: str
    other_clinic: str
    lab: str
    pharmacy: str
    doctor: str  # Practitioner at the polyclinic
    doctor_role: str
    other_role: str  # a PractitionerRole at the other clinic
    patients: dict[str, str]  # attached, booked, referred, seen_long_ago, stranger
    observations: dict[str, str]  # one per patient, same keys
    lab_observation: str  # written by the laboratory, for the referred patient
    specimen: str
    referral: str  # the ServiceRequest to the laboratory
    prescription: str  # a MedicationRequest of the attached patient
    prescription_number: str  # its number, as a prescription form prints it
    dispense: str  # a MedicationDispense by the pharmacy
    schedule: str  # the doctor's Schedule
    other_schedule: str


def build(store: Store) -> World:
    def make(data: JSON) -> str:
        return store.create(data).id

    def org(name: str) -> str:
        return make({"resourceType": "Organization", "name": name})

    polyclinic, other, lab, pharmacy = org("Поликлиника 1"), org("Поликлиника 2"), org("Лаборатория"), org("Аптека")
    doctor = make({"resourceType": "Practitioner", "name": [{"family": "Врачова"}]})
    doctor_role = make(
        {
            "resourceType": "PractitionerRole",
            "practitioner": ref("Practitioner", doctor),
            "organization": ref("Organization", polyclinic),
        }
    )
    other_doctor = make({"resourceType": "Practitioner", "name": [{"family": "Другой"}]})
    other_role = make(
        {
            "resourceType": "PractitionerRole",
            "practitioner": ref("Practitioner", other_doctor),
            "organization": ref("Organization", other),
        }
    )

    def person(family: str, clinic: str, snils: str) -> str:
        return make(
            {
                "resourceType": "Patient",
                "name": [{"family": family}],
                "gender": "female",
                "identifier": [{"system": SNILS, "value": snils}],
                "managingOrganization": ref("Organization", clinic),
            }
        )

    patients = {
        "attached": person("Прикреплённая", polyclinic, PATIENT_SNILS["attached"]),
        "booked": person("Записанная", other, PATIENT_SNILS["booked"]),
        "referred": person("Направленная", other, PATIENT_SNILS["referred"]),
        "seen_long_ago": person("Давняя", other, PATIENT_SNILS["seen_long_ago"]),
        "stranger": person("Чужая", other, PATIENT_SNILS["stranger"]),
    }
    make(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "start": day(7),
            "end": day(7),
            "participant": [
                {"actor": ref("Patient", patients["booked"]), "status": "accepted"},
                {"actor": ref("PractitionerRole", doctor_role), "status": "accepted"},
            ],
        }
    )
    referral = make(
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "code": {"text": "Общий анализ крови"},
            "subject": ref("Patient", patients["referred"]),
            "authoredOn": day(-10),
            "requester": ref("Practitioner", doctor),
            "performer": [ref("Organization", lab)],
        }
    )
    make(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": ref("Patient", patients["seen_long_ago"]),
            "participant": [{"individual": ref("PractitionerRole", doctor_role)}],
            "period": {"start": day(-800), "end": day(-800)},
            "serviceProvider": ref("Organization", polyclinic),
        }
    )
    observations = {key: make(observation(pid)) for key, pid in patients.items()}
    lab_observation = make(
        {
            **observation(patients["referred"]),
            "performer": [ref("Organization", lab)],
            "basedOn": [ref("ServiceRequest", referral)],
        }
    )
    specimen = make(
        {
            "resourceType": "Specimen",
            "subject": ref("Patient", patients["referred"]),
            "request": [ref("ServiceRequest", referral)],
        }
    )
    prescription_number = new_number()
    prescription = make(
        {
            "resourceType": "MedicationRequest",
            "identifier": [{"system": NUMBER_SYSTEM, "value": prescription_number}],
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Метформин"},
            "subject": ref("Patient", patients["attached"]),
            "requester": ref("Practitioner", doctor),
        }
    )
    dispense = make(
        {
            "resourceType": "MedicationDispense",
            "status": "completed",
            "medicationCodeableConcept": {"text": "Метформин"},
            "subject": ref("Patient", patients["attached"]),
            "performer": [{"actor": ref("Organization", pharmacy)}],
        }
    )
    schedule = make({"resourceType": "Schedule", "actor": [ref("PractitionerRole", doctor_role)]})
    other_schedule = make({"resourceType": "Schedule", "actor": [ref("PractitionerRole", other_role)]})
    return World(
        polyclinic,
        other,
        lab,
        pharmacy,
        doctor,
        doctor_role,
        other_role,
        patients,
        observations,
        lab_observation,
        specimen,
        referral,
        prescription,
        prescription_number,
        dispense,
        schedule,
        other_schedule,
    )


def observation(patient: str) -> JSON:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Пульс"},
        "subject": ref("Patient", patient),
        "effectiveDateTime": day(-1),
        "valueQuantity": {"value": 70},
    }


def condition(patient: str, code: str, **extra: Any) -> JSON:
    return {
        "resourceType": "Condition",
        "subject": ref("Patient", patient),
        "code": {"coding": [{"system": ICD10, "code": code}]},
        **extra,
    }


@pytest.fixture
def settings(engine: Engine, region: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        region=region,
        base_url="http://testserver",
        secret_dir=tmp_path / "keys",
    )


@pytest.fixture
def api(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine=engine)) as test_client:
        yield test_client


@pytest.fixture
def world(engine: Engine, region: str) -> World:
    return build(Store(engine, region))


class Tokens:
    """Bearer headers for a role, linked as the world's users are."""

    def __init__(self, settings: Settings, world: World) -> None:
        self.settings = settings
        self.world = world

    def __call__(self, role: str, scope: str = "user/*.cruds", **claims: Any) -> dict[str, str]:
        return bearer(self.settings, f"{role}-user", role, scope, **claims)

    def of(self, role: str) -> dict[str, str]:
        """The world's user of `role`: the doctor and nurse of the polyclinic, its registrar, the laboratory's
        technician, the pharmacy's pharmacist, an analyst, the polyclinic's system, and the attached patient."""
        w = self.world
        links: dict[str, dict[str, Any]] = {
            "doctor": {"fhir_user": f"Practitioner/{w.doctor}", "organization": w.polyclinic},
            "nurse": {"organization": w.polyclinic},
            "registrar": {"organization": w.polyclinic},
            "lab": {"organization": w.lab},
            "pharmacist": {"organization": w.pharmacy},
            "analyst": {},
            "admin": {},
            "system": {"organization": w.polyclinic},
            "patient": {"patient": w.patients["attached"]},
        }
        scope = {"system": "system/*.cruds", "patient": "patient/*.rs"}.get(role, "user/*.cruds")
        return self(role, scope, **links[role])


@pytest.fixture
def who(settings: Settings, world: World) -> Tokens:
    return Tokens(settings, world)


def ids(bundle: JSON) -> set[str]:
    return {entry["resource"]["id"] for entry in bundle.get("entry", [])}


def audit_rows(engine: Engine, region: str, username: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                select(
                    audit_log.c.action,
                    audit_log.c.resource_type,
                    audit_log.c.resource_id,
                    audit_log.c.patient,
                    audit_log.c.outcome,
                )
                .where(audit_log.c.partition == region, audit_log.c.username == username)
                .order_by(audit_log.c.recorded)
            )
        ]
