"""The FHIR operations over HTTP (as the anonymous local operator: the `api` channel), on real time."""

from __future__ import annotations

from typing import Any

import pytest

from medcity.scheduling.publish import publish_schedule
from medcity.store.repository import Store
from tests.scheduling.conftest import add_organization, add_patient, add_role, every_day_template

Client = Any


@pytest.fixture
def slots(store: Store) -> dict[str, list[str]]:
    """Every day 08:00-20:00, hourly slots, from now on: a therapist at pc1 and at pc2, a cardiologist at pc1."""
    published = {}
    with store.transaction() as tx:
        rooms = {oid: add_organization(tx, oid) for oid in ("pc1", "pc2")}
        add_patient(tx, "p1", organization="pc2")
        for rid, org, spec in (("ther1", "pc1", "therapist-district"), ("ther2", "pc2", "therapist-district"),
                               ("card1", "pc1", "cardiologist")):  # fmt: skip
            add_role(tx, rid, organization=org, location=rooms[org], specialty=spec)
            template = every_day_template(rid, organization=org, room=rooms[org], specialty=spec)
            published[rid] = publish_schedule(tx, template=template)
    return published


def parameters(**values: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": k, **v} for k, v in values.items()]}


def test_find_by_get_lists_free_slots(client: Client, slots: dict[str, list[str]]) -> None:
    response = client.get("/fhir/Appointment/$find", params={"specialty": "therapist-district", "count": "3"})
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 3
    assert {e["resource"]["status"] for e in bundle["entry"]} == {"free"}
    assert [e["resource"]["start"] for e in bundle["entry"]] == sorted(e["resource"]["start"] for e in bundle["entry"])


def test_find_by_post_puts_the_patients_polyclinic_first(client: Client, slots: dict[str, list[str]]) -> None:
    body = parameters(
        specialty={"valueCoding": {"code": "therapist-district"}},
        patient={"valueReference": {"reference": "Patient/p1"}},
        count={"valueInteger": 5},
    )
    bundle = client.post("/fhir/Appointment/$find", json=body).json()
    assert {e["resource"]["id"] for e in bundle["entry"]} <= set(slots["ther2"])


def test_book_then_the_same_slot_is_409(client: Client, slots: dict[str, list[str]]) -> None:
    body = parameters(slot={"valueReference": {"reference": f"Slot/{slots['ther1'][0]}"}},
                      patient={"valueReference": {"reference": "Patient/p1"}})  # fmt: skip
    response = client.post("/fhir/Appointment/$book", json=body)
    assert response.status_code == 200, response.text
    appointment = response.json()
    assert appointment["resourceType"] == "Appointment" and appointment["status"] == "booked"
    assert client.get(f"/fhir/Slot/{slots['ther1'][0]}").json()["status"] == "busy"
    again = client.post("/fhir/Appointment/$book", json=body)
    assert again.status_code == 409
    assert again.json()["resourceType"] == "OperationOutcome"
    assert again.json()["issue"][0]["code"] == "conflict"


def test_book_refuses_a_specialist_without_referral(client: Client, slots: dict[str, list[str]]) -> None:
    body = parameters(slot={"valueString": f"Slot/{slots['card1'][0]}"}, patient={"valueString": "p1"})
    response = client.post("/fhir/Appointment/$book", json=body)
    assert response.status_code == 422
    assert "referral" in response.json()["issue"][0]["diagnostics"]


def test_book_needs_slot_and_patient_and_post(client: Client, slots: dict[str, list[str]]) -> None:
    assert client.post("/fhir/Appointment/$book", json=parameters(patient={"valueString": "p1"})).status_code == 400
    assert client.get("/fhir/Appointment/$book", params={"patient": "p1"}).status_code == 405
