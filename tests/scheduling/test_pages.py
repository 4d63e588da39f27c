"""The pages over HTTP: find → choose → confirm, my appointments with cancel and reschedule, the waiting list,
the registrar's and the doctor's day, the kiosk."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from medcity.scheduling.rules import rules_for

Client = Any


def appointment_ids(html: str) -> list[str]:
    return re.findall(r"/patient/appointments/([^/]+)/cancel", html)


def book_first(client: Client, specialty: str = "therapist-district") -> str:
    page = client.get("/patient/booking", params={"patient": "p1", "specialty": specialty}).text
    confirm = re.search(r'href="(/patient/booking/confirm\?[^"]+)"', page)
    assert confirm, page
    slot = re.search(r"slot=([^&]+)", confirm.group(1))
    assert slot
    response = client.post("/patient/booking/confirm", data={"patient": "p1", "slot": slot.group(1)})
    assert response.status_code == 200  # followed the redirect to "my appointments"
    return slot.group(1)


def test_patient_picker_lists_patients(client: Client, live: dict[str, list[str]]) -> None:
    page = client.get("/patient/booking")
    assert page.status_code == 200 and "/patient/booking?patient=p1" in page.text


def test_find_choose_confirm_then_cancel(client: Client, live: dict[str, list[str]]) -> None:
    slot = book_first(client)
    assert slot in live["ther2"]  # p1's own polyclinic (pc2) first
    mine = client.get("/patient/appointments", params={"patient": "p1"}).text
    [appointment] = appointment_ids(mine)
    assert client.get(f"/fhir/Slot/{slot}").json()["status"] == "busy"
    client.post(f"/patient/appointments/{appointment}/cancel", data={"patient": "p1"})
    assert appointment_ids(client.get("/patient/appointments", params={"patient": "p1"}).text) == []
    assert client.get(f"/fhir/Slot/{slot}").json()["status"] == "free"


def test_reschedule_from_my_appointments(client: Client, live: dict[str, list[str]]) -> None:
    book_first(client)
    [old] = appointment_ids(client.get("/patient/appointments", params={"patient": "p1"}).text)
    response = client.post(
        "/patient/booking/confirm", data={"patient": "p1", "slot": live["ther2"][5], "reschedule": old}
    )
    assert response.status_code == 200
    [new] = appointment_ids(response.text)
    assert new != old
    assert client.get(f"/fhir/Appointment/{old}").json()["status"] == "cancelled"


def test_a_refusal_is_explained(client: Client, live: dict[str, list[str]]) -> None:
    response = client.post("/patient/booking/confirm", data={"patient": "p1", "slot": live["card1"][0]})
    assert response.status_code == 422 and "referral" in response.text


def test_waiting_list_shows_the_place(client: Client, live: dict[str, list[str]]) -> None:
    page = client.get("/patient/booking", params={"patient": "p1", "specialty": "neurologist"}).text
    assert 'action="/patient/waiting"' in page
    response = client.post("/patient/waiting", data={"patient": "p1", "specialty": "neurologist"})
    assert '<span class="place">1</span>' in response.text
    assert "/leave" in response.text


def test_staff_pages_and_kiosk(client: Client, live: dict[str, list[str]]) -> None:
    book_first(client)
    [appointment] = appointment_ids(client.get("/patient/appointments", params={"patient": "p1"}).text)
    start = datetime.fromisoformat(client.get(f"/fhir/Appointment/{appointment}").json()["start"])
    local_day = start.astimezone(rules_for("77").timezone).date().isoformat()
    assert "<td>booked</td>" in client.get("/registry/schedule", params={"organization": "pc2", "day": local_day}).text
    doctor = client.get("/doctor/day", params={"role": "ther2", "day": local_day}).text
    assert f"/doctor/appointments/{appointment}/arrived" in doctor
    response = client.post("/kiosk", data={"appointment": appointment})
    assert response.status_code == 200 and 'role="status"' in response.text
    assert client.get(f"/fhir/Appointment/{appointment}").json()["status"] == "arrived"


def test_pages_refuse_when_authentication_is_required(client: Client) -> None:
    client.app.state.settings = client.app.state.settings.model_copy(update={"auth_required": True})
    assert client.get("/patient/booking").status_code == 403
