"""The FHIR operations over HTTP (as the anonymous local operator: the `api` channel), on real time."""

from __future__ import annotations

from typing import Any

from medcity.kit.config import Settings
from tests.bearer import bearer

Client = Any


def parameters(**values: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [{"name": k, **v} for k, v in values.items()]}


def test_find_by_get_lists_free_slots(client: Client, live: dict[str, list[str]]) -> None:
    response = client.get("/fhir/Appointment/$find", params={"specialty": "therapist-district", "count": "3"})
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 3
    assert {e["resource"]["status"] for e in bundle["entry"]} == {"free"}
    assert [e["resource"]["start"] for e in bundle["entry"]] == sorted(e["resource"]["start"] for e in bundle["entry"])


def test_find_by_post_puts_the_patients_polyclinic_first(client: Client, live: dict[str, list[str]]) -> None:
    body = parameters(
        specialty={"valueCoding": {"code": "therapist-district"}},
        patient={"valueReference": {"reference": "Patient/p1"}},
        count={"valueInteger": 5},
    )
    bundle = client.post("/fhir/Appointment/$find", json=body).json()
    assert {e["resource"]["id"] for e in bundle["entry"]} <= set(live["ther2"])


def test_book_then_the_same_slot_is_409(client: Client, live: dict[str, list[str]]) -> None:
    body = parameters(slot={"valueReference": {"reference": f"Slot/{live['ther1'][0]}"}},
                      patient={"valueReference": {"reference": "Patient/p1"}})  # fmt: skip
    response = client.post("/fhir/Appointment/$book", json=body)
    assert response.status_code == 200, response.text
    appointment = response.json()
    assert appointment["resourceType"] == "Appointment" and appointment["status"] == "booked"
    assert client.get(f"/fhir/Slot/{live['ther1'][0]}").json()["status"] == "busy"
    again = client.post("/fhir/Appointment/$book", json=body)
    assert again.status_code == 409
    assert again.json()["resourceType"] == "OperationOutcome"
    assert again.json()["issue"][0]["code"] == "conflict"


def test_book_refuses_a_specialist_without_referral(client: Client, live: dict[str, list[str]]) -> None:
    body = parameters(slot={"valueString": f"Slot/{live['card1'][0]}"}, patient={"valueString": "p1"})
    response = client.post("/fhir/Appointment/$book", json=body)
    assert response.status_code == 422
    assert "referral" in response.json()["issue"][0]["diagnostics"]


def test_book_needs_slot_and_patient_and_post(client: Client, live: dict[str, list[str]]) -> None:
    assert client.post("/fhir/Appointment/$book", json=parameters(patient={"valueString": "p1"})).status_code == 400
    assert client.get("/fhir/Appointment/$book", params={"patient": "p1"}).status_code == 405


def publish_parameters(role: str, room: str) -> dict[str, Any]:
    sessions = [
        {"name": "session", "part": [
            {"name": "weekday", "valueInteger": day}, {"name": "start", "valueTime": "09:00:00"},
            {"name": "end", "valueTime": "11:00:00"},
            {"name": "room", "valueReference": {"reference": f"Location/{room}"}},
            {"name": "kind", "valueCode": "self"}, {"name": "kind", "valueCode": "reserve"},
        ]}
        for day in range(7)
    ]  # fmt: skip
    return {"resourceType": "Parameters", "parameter": [
        {"name": "role", "valueReference": {"reference": f"PractitionerRole/{role}"}},
        {"name": "organization", "valueReference": {"reference": "Organization/pc1"}},
        {"name": "specialty", "valueCode": "surgeon"}, {"name": "slotMinutes", "valueInteger": 30},
        {"name": "break", "part": [{"name": "start", "valueTime": "10:00:00"},
                                   {"name": "end", "valueTime": "10:30:00"}]},
        *sessions,
    ]}  # fmt: skip


def test_publish_a_template_then_find_its_self_booking_slots(client: Client, live: dict[str, list[str]]) -> None:
    response = client.post("/fhir/Schedule/$publish", json=publish_parameters("surg1", "pc1-loc"))
    assert response.status_code == 200, response.text
    published = response.json()["parameter"][0]["valueInteger"]
    # Three slots a day (a break) over a horizon of exactly 14 × 24 h from now: each slot time falls in it 13 or
    # 14 times, depending on the hour the test runs at.
    assert 13 * 3 <= published <= 14 * 3
    bundle = client.get("/fhir/Appointment/$find", params={"specialty": "surgeon", "count": "100"}).json()
    kinds = {e["resource"]["extension"][0]["valueCode"] for e in bundle["entry"]}
    assert kinds == {"self", "reserve"}  # the anonymous operator books as `api`, which may take reserve slots


def test_publish_refuses_a_bad_template(client: Client, live: dict[str, list[str]]) -> None:
    bad = publish_parameters("surg1", "pc1-loc")
    bad["parameter"][3] = {"name": "slotMinutes", "valueInteger": 1}
    assert client.post("/fhir/Schedule/$publish", json=bad).status_code == 422


def test_a_registrar_books_their_own_organisations_slots_only(
    client: Client, live: dict[str, list[str]], settings: Settings
) -> None:
    registrar = bearer(settings, "reg-pc1", "registrar", organization="pc1")

    def book(slot: str) -> Any:
        body = parameters(slot={"valueString": f"Slot/{slot}"}, patient={"valueString": "p1"})
        return client.post("/fhir/Appointment/$book", json=body, headers=registrar)

    assert book(live["ther1"][0]).status_code == 200
    refused = book(live["ther2"][0])  # the other polyclinic's therapist
    assert refused.status_code == 403
    assert "another organisation" in refused.json()["issue"][0]["diagnostics"]
    assert client.get(f"/fhir/Slot/{live['ther2'][0]}").json()["status"] == "free"  # nothing half-done
