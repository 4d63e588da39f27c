"""Scheduling's rules on the generic FHIR create/update, called as the FHIR face will call them (in its tx)."""

from __future__ import annotations

import pytest

from medcity.auth.principal import Principal
from medcity.kit.errors import Conflict, Unprocessable
from medcity.scheduling.interceptors import WRITE_INTERCEPTORS
from medcity.scheduling.publish import publish_schedule
from medcity.store.repository import JSON, Store
from tests.scheduling.conftest import City, add_patient, every_day_template

create = WRITE_INTERCEPTORS[("Appointment", "create")]
update = WRITE_INTERCEPTORS[("Appointment", "update")]
REGISTRAR = Principal(kind="user", roles=("registrar",), organization="pc1")  # the slots' polyclinic


def appointment(patient: str, slot: str, status: str = "booked") -> JSON:
    return {
        "resourceType": "Appointment", "status": status, "comment": "first visit",
        "slot": [{"reference": f"Slot/{slot}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
    }  # fmt: skip


@pytest.fixture
def slot(city: City) -> str:
    with city.store.transaction() as tx:
        add_patient(tx, "x1")
        template = every_day_template("gp1", organization="pc1", room="pc1-loc", specialty="general-practitioner")
        return publish_schedule(tx, template=template)[0]


def slot_status(store: Store, slot: str) -> str:
    with store.reader() as tx:
        return str(tx.read("Slot", slot).resource["status"])


def test_a_booked_appointment_on_a_published_slot_is_a_booking(city: City, slot: str) -> None:
    with city.store.transaction() as tx:
        stored = create(tx, appointment("p1", slot), REGISTRAR)
    assert stored is not None
    assert stored.resource["comment"] == "first visit"  # the client's own fields are kept
    assert stored.resource["participant"][1]["actor"] == {"reference": "PractitionerRole/gp1"}
    assert slot_status(city.store, slot) == "busy"
    with pytest.raises(Conflict), city.store.transaction() as tx:
        create(tx, appointment("x1", slot), REGISTRAR)


def test_other_appointments_are_left_to_the_generic_create(city: City, slot: str) -> None:
    with city.store.transaction() as tx:
        assert create(tx, appointment("p1", slot, status="proposed"), REGISTRAR) is None
        assert create(tx, appointment("p1", "elsewhere"), REGISTRAR) is None


def test_an_update_cancels_or_is_refused_when_it_changes_the_booking(city: City, slot: str) -> None:
    with city.store.transaction() as tx:
        stored = create(tx, appointment("p1", slot), REGISTRAR)
    assert stored is not None
    moved = {**stored.resource, "start": "2030-01-01T00:00:00+00:00"}
    with pytest.raises(Unprocessable, match=r"Appointment\.start"), city.store.transaction() as tx:
        update(tx, moved, REGISTRAR)
    with city.store.transaction() as tx:
        assert update(tx, {**stored.resource, "comment": "bring results"}, REGISTRAR) is None
        cancelled = update(tx, {**stored.resource, "status": "cancelled"}, REGISTRAR)
    assert cancelled is not None and cancelled.resource["status"] == "cancelled"
    assert slot_status(city.store, slot) == "free"


def test_published_slots_cannot_be_rewritten(city: City, slot: str) -> None:
    with pytest.raises(Unprocessable), city.store.transaction() as tx:
        WRITE_INTERCEPTORS[("Slot", "update")](tx, {"resourceType": "Slot", "id": slot}, REGISTRAR)


def test_plain_fhir_writes_go_through_the_booking_rules(city: City, slot: str, client) -> None:  # type: ignore[no-untyped-def]
    fhir = {"content-type": "application/fhir+json"}
    first = client.post("/fhir/Appointment", json=appointment("x1", slot), headers=fhir)
    assert first.status_code == 201, first.text
    assert slot_status(city.store, slot) == "busy"
    with city.store.transaction() as tx:
        add_patient(tx, "x2")
    taken = client.post("/fhir/Appointment", json=appointment("x2", slot), headers=fhir)
    assert taken.status_code == 409
    assert taken.json()["resourceType"] == "OperationOutcome"
    assert client.delete(f"/fhir/Slot/{slot}").status_code == 422
    assert client.delete(f"/fhir/Appointment/{first.json()['id']}").status_code == 422
    cancelled = client.put(f"/fhir/Appointment/{first.json()['id']}",
                           json={**first.json(), "status": "cancelled"}, headers=fhir)  # fmt: skip
    assert cancelled.status_code == 200, cancelled.text
    assert slot_status(city.store, slot) == "free"
