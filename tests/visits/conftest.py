"""A small polyclinic for visit tests: a doctor (Practitioner, PractitionerRole, web login), a patient attached to
the polyclinic with an appointment with the doctor, and a second doctor of another polyclinic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcity.auth.users import Role
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Store, Tx
from tests.web_login import add_web_user, csrf_of, log_in


@dataclass
class Clinic:
    client: TestClient
    store: Store
    org: str
    practitioner: str
    role: str
    patient: str
    appointment: str
    day: date
    other_org: str
    other_practitioner: str
    stranger: str  # a patient attached to the other polyclinic, with no appointment here

    def visit(self) -> str:
        """Start the visit of the appointment as the logged-in doctor; the Encounter id."""
        page = self.client.get(f"/doctor?day={self.day.isoformat()}")
        response = self.client.post(f"/doctor/queue/{self.appointment}/visit", data={"csrf_token": csrf_of(page.text)},
                                    follow_redirects=False)  # fmt: skip
        assert response.status_code == 303, response.text
        return str(response.headers["location"]).rsplit("/", 1)[1]

    def post(self, path: str, data: dict[str, str], **kwargs: Any) -> Any:
        token = csrf_of(self.client.get(f"/doctor?day={self.day.isoformat()}").text)
        return self.client.post(path, data={"csrf_token": token, **data}, follow_redirects=False, **kwargs)

    def resources(self, rtype: str, params: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        """The patient's resources of a type (or those matching `params`)."""
        with self.store.reader() as tx:
            found = tx.search(rtype, [*(params or [("patient", f"Patient/{self.patient}")]), ("_count", "100")])
        return [s.resource for s in found.matches]


def _ref(rtype: str, rid: str) -> dict[str, str]:
    return {"reference": f"{rtype}/{rid}"}


def _polyclinic(tx: Tx, name: str, family: str) -> tuple[str, str, str]:
    org = tx.create({"resourceType": "Organization", "name": name}).stored.id
    doctor = {"resourceType": "Practitioner", "name": [{"family": family, "given": ["Анна"]}]}
    practitioner = tx.create(doctor).stored.id
    role = tx.create({
        "resourceType": "PractitionerRole", "practitioner": _ref("Practitioner", practitioner),
        "organization": _ref("Organization", org),
        "specialty": [{"coding": [{"system": "https://medcity.example/fhir/CodeSystem/specialty",
                                   "code": "therapist-district"}]}],
    }).stored.id  # fmt: skip
    return org, practitioner, role


def _patient(tx: Tx, family: str, org: str, *, gender: str = "female") -> str:
    patient = {"resourceType": "Patient", "name": [{"family": family, "given": ["Мария"]}], "gender": gender,
               "birthDate": "1980-03-04", "managingOrganization": _ref("Organization", org)}  # fmt: skip
    return tx.create(patient).stored.id


@pytest.fixture
def clinic(client: TestClient) -> Clinic:
    app: Any = client.app
    store: Store = app.state.store
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    with store.transaction() as tx:
        org, practitioner, role = _polyclinic(tx, "Поликлиника № 1", "Терапевтова")
        other_org, other_practitioner, _other_role = _polyclinic(tx, "Поликлиника № 9", "Чужая")
        patient = _patient(tx, "Иванова", org)
        stranger = _patient(tx, "Петрова", other_org)
        hospital = tx.create({"resourceType": "Organization", "name": "Городская больница № 5"}).stored.id
        tx.create({"resourceType": "Encounter", "status": "finished",
                   "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                   "subject": _ref("Patient", patient), "serviceProvider": _ref("Organization", hospital),
                   "period": {"start": "2025-02-01T10:00:00+03:00", "end": "2025-02-08T10:00:00+03:00"},
                   "reasonCode": [{"text": "пневмония"}]})  # fmt: skip
        appointment = tx.create({
            "resourceType": "Appointment", "status": "booked",
            "start": start.isoformat(), "end": (start + timedelta(minutes=15)).isoformat(),
            "participant": [{"actor": _ref("Patient", patient), "status": "accepted"},
                            {"actor": _ref("PractitionerRole", role), "status": "accepted"}],
        }).stored.id  # fmt: skip
    add_web_user(client, "dr.t", Role.DOCTOR, practitioner=practitioner, organization=org)
    add_web_user(client, "dr.other", Role.DOCTOR, practitioner=other_practitioner, organization=other_org)
    day = start.astimezone(rules_for(store.region).timezone).date()
    return Clinic(client=client, store=store, org=org, practitioner=practitioner, role=role, patient=patient,
                  appointment=appointment, day=day, other_org=other_org, other_practitioner=other_practitioner,
                  stranger=stranger)  # fmt: skip


@pytest.fixture
def doctor(clinic: Clinic) -> Clinic:
    """The clinic with its doctor logged in."""
    assert log_in(clinic.client, "dr.t") == "/doctor"
    return clinic


GOOD_PROTOCOL = {
    "complaints": "Кашель, насморк, температура 37,8 три дня",
    "anamnesis": "Болеет 3 дня, контакт с больным ОРВИ",
    "examination": "Зев гиперемирован, дыхание везикулярное",
    "recommendations": "Обильное питьё, явка через 5 дней",
    "diagnosis": "J06.9",
    "systolic": "124",
    "diastolic": "78",
    "pulse": "76",
    "temperature": "37,8",
    "height": "170",
    "weight": "70",
    "spo2": "97",
}
