"""A private clinic's system writes a visit into the city record through the FHIR API (issue 7): registered as a
system client, it gets a token by private_key_jwt and posts a transaction; the polyclinic's doctor then reads the
visit and the diagnosis in the same record."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from medcity.demo.clinical import ACT_CODE, CONDITION_CLINICAL, CONDITION_VERIFICATION, ICD10
from medcity.kit.config import Settings
from medcity.store.repository import Store
from tests.auth.oauth_helpers import new_key, oauth_client, oauth_settings, public_jwks, register_system, system_token
from tests.bearer import bearer
from tests.fhir.helpers import patient

settings = pytest.fixture(oauth_settings)
client = pytest.fixture(oauth_client)


def _ref(rtype: str, rid: str) -> dict[str, str]:
    return {"reference": f"{rtype}/{rid}"}


def _visit(person: str, clinic: str, role: str) -> dict[str, Any]:
    encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "subject": _ref("Patient", person),
        "participant": [{"individual": _ref("PractitionerRole", role)}],
        "period": {"start": "2025-03-01T10:00:00+03:00", "end": "2025-03-01T10:30:00+03:00"},
        "serviceProvider": _ref("Organization", clinic),
    }
    condition = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "code": {"coding": [{"system": ICD10, "code": "J06.9", "display": "ОРВИ"}]},
        "subject": _ref("Patient", person),
        "encounter": {"reference": "urn:uuid:3f8a1c52-0000-4000-8000-000000000001"},
        "asserter": _ref("PractitionerRole", role),
        "recordedDate": "2025-03-01T10:25:00+03:00",
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:3f8a1c52-0000-4000-8000-000000000001", "resource": encounter,
             "request": {"method": "POST", "url": "Encounter"}},
            {"resource": condition, "request": {"method": "POST", "url": "Condition"}},
        ],
    }  # fmt: skip


def test_private_clinic_writes_a_visit_the_polyclinic_doctor_reads(
    client: TestClient, engine: Engine, region: str, settings: Settings
) -> None:
    store = Store(engine, region)
    polyclinic = store.create({"resourceType": "Organization", "name": "Городская поликлиника № 1"}).id
    clinic = store.create({"resourceType": "Organization", "name": "Частная клиника «Здоровье»"}).id
    therapist = store.create({"resourceType": "Practitioner", "name": [{"family": "Частнова"}]}).id
    role = store.create({"resourceType": "PractitionerRole", "practitioner": _ref("Practitioner", therapist),
                         "organization": _ref("Organization", clinic)}).id  # fmt: skip
    person = store.create({**patient("Иванов"), "managingOrganization": _ref("Organization", polyclinic)}).id

    key = new_key("RS384")
    register_system(client, "zdorovie-his", clinic, "system/Encounter.cru system/Condition.cru system/Patient.rs",
                    public_jwks(key))  # fmt: skip
    token = system_token(client, key, "zdorovie-his", "system/Encounter.cru system/Condition.cru system/Patient.rs")
    clinic_headers = {"authorization": f"Bearer {token}"}
    written = client.post("/fhir", json=_visit(person, clinic, role), headers=clinic_headers)
    assert written.status_code == 200, written.text
    locations = [entry["response"]["location"] for entry in written.json()["entry"]]
    assert locations[0].startswith("Encounter/") and locations[1].startswith("Condition/")
    encounter_id = locations[0].split("/")[1]

    doctor_headers = bearer(settings, "dr-polyclinic", "doctor", "user/*.rs", organization=polyclinic)
    conditions = client.get(f"/fhir/Condition?subject=Patient/{person}", headers=doctor_headers)
    assert conditions.status_code == 200, conditions.text
    [found] = [entry["resource"] for entry in conditions.json()["entry"]]
    assert found["code"]["coding"][0]["code"] == "J06.9"
    assert found["encounter"]["reference"] == f"Encounter/{encounter_id}"
    encounter = client.get(f"/fhir/Encounter/{encounter_id}", headers=doctor_headers)
    assert encounter.status_code == 200 and encounter.json()["serviceProvider"] == _ref("Organization", clinic)


def test_a_system_client_cannot_write_beyond_its_scopes_or_for_another_organisation(
    client: TestClient, engine: Engine, region: str
) -> None:
    store = Store(engine, region)
    clinic = store.create({"resourceType": "Organization", "name": "Частная клиника"}).id
    other = store.create({"resourceType": "Organization", "name": "Другая клиника"}).id
    role = store.create({"resourceType": "PractitionerRole", "organization": _ref("Organization", other)}).id
    person = store.create(patient("Петров")).id
    key = new_key()
    register_system(client, "reader", clinic, "system/*.rs", public_jwks(key))
    register_system(client, "writer", clinic, "system/*.cru", public_jwks(key))
    read_only = {"authorization": f"Bearer {system_token(client, key, 'reader')}"}
    assert client.post("/fhir", json=_visit(person, clinic, role), headers=read_only).status_code == 403
    # Written in the name of another organisation: refused, and nothing of the bundle is saved.
    writer = {"authorization": f"Bearer {system_token(client, key, 'writer', 'system/*.cru')}"}
    refused = client.post("/fhir", json=_visit(person, other, role), headers=writer)
    assert refused.status_code == 403
    with store.transaction() as tx:
        assert tx.search("Encounter", [("subject", f"Patient/{person}")]).matches == []
