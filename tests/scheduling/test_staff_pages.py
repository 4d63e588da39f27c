"""The staff's pages with real logins: the registrar's schedule editor (publish a template, close a period and
move or cancel its appointments, with the patients told), the desk (check-in, walk-in into the emergency
reserve), the kiosk (ОМС number and birth date), the outbox, the doctor's day list and the queue display."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from medcity.auth.users import Role
from medcity.scheduling import inventory, service
from medcity.scheduling.display import ticket
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Store
from tests.scheduling.pages_city import add_doctor, add_insured, login, publish_later_today
from tests.web_login import add_web_user, log_in

Client = Any
RU = {"Accept-Language": "ru"}


def local_date(store: Store, moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(rules_for(store.region).timezone).date().isoformat()


def book(store: Store, patient: str, slot: str, channel: str = "registry") -> str:
    with store.transaction() as tx:
        return service.book(tx, patient=patient, slot_id=slot, channel=channel).id


def test_the_registrar_lands_on_the_schedule_and_publishes_a_template(client: Client, store: Store) -> None:
    with store.transaction() as tx:
        tx.create({"resourceType": "Organization", "name": "Поликлиника 1"}, rid="pc1")
        tx.create({"resourceType": "Location", "name": "Кабинет 5", "managingOrganization": {
            "reference": "Organization/pc1"}}, rid="pc1-loc")  # fmt: skip
    add_doctor(store, "ivanov", role="ivanov-r", organization="pc1", room="pc1-loc", specialty="surgeon")
    add_web_user(client, "reg", Role.REGISTRAR, organization="pc1")
    assert log_in(client, "reg") == "/registry/schedule"
    page = client.get("/registry/schedule").text
    assert 'value="ivanov-r"' in page and 'value="pc1-loc"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token.group(1), "role": "ivanov-r", "room": "pc1-loc", "specialty": "surgeon",
            "weekday": [str(d) for d in range(7)], "start": "08:00", "end": "12:00", "slot_minutes": "30",
            "break_start": "10:00", "break_end": "10:30", "kinds": ["self", "reserve"]}  # fmt: skip
    response = client.post("/registry/schedule/publish", data=form)
    assert response.status_code == 200 and 'role="status"' in response.text
    slots = client.get("/fhir/Slot", params={"_count": "200"}).json()["entry"]
    assert len(slots) >= 6 * 14  # 6 slots a day (the break left out) over the horizon
    kinds = {e["valueCode"] for s in slots for e in s["resource"]["extension"]}
    assert kinds == {"self", "reserve"}
    # The registrar reads the day's slots in the region's language, not the inventory's codes.
    tomorrow = local_date(store, (datetime.now(UTC) + timedelta(days=1)).isoformat())
    day = client.get("/registry/schedule", params={"day": tomorrow}, headers={"Accept-Language": "ru"}).text
    cells = re.findall(r'<tr data-status="free">.*?</tr>', day, re.S)
    assert len(cells) == 7  # 08:00–12:00 by 30 minutes, the 10:00 break left out
    assert all("свободно" in cell for cell in cells)
    assert sum("самозапись" in cell for cell in cells) and sum("неотложный резерв" in cell for cell in cells)
    assert not any(re.search(r"<td>(self|reserve|free)</td>", cell) for cell in cells)


def test_a_registrar_works_on_their_own_organisation_only(client: Client, store: Store, live: Any) -> None:
    token = login(client, "reg", Role.REGISTRAR, organization="pc1")
    form = {"csrf_token": token, "role": "ther2", "room": "pc2-loc", "specialty": "therapist-district",
            "weekday": ["0"], "start": "08:00", "end": "09:00"}  # fmt: skip
    assert client.post("/registry/schedule/publish", data=form).status_code == 403
    close = {"csrf_token": token, "role": "ther2", "first_day": "2030-01-01", "last_day": "2030-01-02"}
    assert client.post("/registry/schedule/close", data=close).status_code == 403
    login(client, "pat", Role.PATIENT, patient="p1")
    assert client.get("/registry/schedule").status_code == 403


def test_sick_days_move_the_appointments_and_tell_the_patients(
    client: Client, store: Store, live: dict[str, list[str]]
) -> None:
    moved = book(store, "p1", live["ther1"][2])
    start = client.get(f"/fhir/Appointment/{moved}").json()["start"]
    token = login(client, "reg", Role.REGISTRAR, organization="pc1")
    day = local_date(store, start)
    response = client.post("/registry/schedule/close",
                           data={"csrf_token": token, "role": "ther1", "first_day": day, "last_day": day,
                                 "move": "true"})  # fmt: skip
    assert response.status_code == 200
    assert client.get(f"/fhir/Appointment/{moved}").json()["status"] == "cancelled"
    with store.reader() as tx:
        [now_booked] = [a for a in service.appointments_of(tx, patient="p1") if a.status == "booked"]
    assert now_booked.status == "booked" and now_booked.organization == "pc1" and now_booked.id != moved
    outbox = client.get("/outbox", headers={"Accept-Language": "ru"}).text
    assert 'data-kind="moved"' in outbox and 'data-kind="booked"' in outbox
    assert "Перенесена: врач отсутствует" in outbox and "Запись на приём" in outbox  # said, not coded


def test_leave_without_moving_cancels_and_the_patient_reads_why(
    client: Client, store: Store, live: dict[str, list[str]]
) -> None:
    cancelled = book(store, "p1", live["ther1"][2])
    day = local_date(store, client.get(f"/fhir/Appointment/{cancelled}").json()["start"])
    token = login(client, "reg", Role.REGISTRAR, organization="pc1")
    client.post("/registry/schedule/close", data={"csrf_token": token, "role": "ther1", "first_day": day,
                                                  "last_day": day})  # fmt: skip
    assert client.get(f"/fhir/Appointment/{cancelled}").json()["status"] == "cancelled"
    client.post("/logout", data={"csrf_token": token})
    login(client, "anna", Role.PATIENT, patient="p1")
    assert "Врач не сможет принять вас" in client.get("/patient/notices").text


def test_kiosk_checks_in_with_the_policy_number_and_birth_date(client: Client, store: Store, live: Any) -> None:
    oms = add_insured(store, "p5", organization="pc1")
    add_doctor(store, "frolov", role="ther9", organization="pc1", room="pc1-loc", specialty="therapist-district")
    [slot, _] = publish_later_today(store, "ther9", organization="pc1", room="pc1-loc", specialty="therapist-district")
    appointment = book(store, "p5", slot, channel="self")
    token = login(client, "kiosk-hall", Role.REGISTRAR, organization="pc1")
    wrong = client.post("/kiosk", data={"csrf_token": token, "oms": oms, "birth_date": "1980-05-18"})
    assert wrong.status_code == 404 and 'role="alert"' in wrong.text
    assert client.get(f"/fhir/Appointment/{appointment}").json()["status"] == "booked"
    done = client.post("/kiosk", data={"csrf_token": token, "oms": oms, "birth_date": "1980-05-17"})
    assert done.status_code == 200 and ticket(appointment) in done.text
    shown = re.sub(r'"[^"]*"', '""', done.text)  # the text, not attribute values such as a random CSRF token
    assert not re.search(r"\bp5\b", shown)  # a public screen shows no name (the patient's family name is "p5")
    assert client.get(f"/fhir/Appointment/{appointment}").json()["status"] == "arrived"


def test_the_desk_books_a_walk_in_into_the_reserve_and_checks_in(client: Client, store: Store, live: Any) -> None:
    oms = add_insured(store, "p6", organization="pc1")
    add_doctor(store, "frolov", role="ther9", organization="pc1", room="pc1-loc", specialty="therapist-district")
    [reserve, _] = publish_later_today(
        store, "ther9", organization="pc1", room="pc1-loc", specialty="therapist-district", kinds=("reserve",)
    )
    token = login(client, "reg", Role.REGISTRAR, organization="pc1")
    desk = client.get("/registry/desk", params={"oms": oms, "birth_date": "1980-05-17"}, headers=RU).text
    assert f'name="slot" value="{reserve}"' in desk and "(неотложный резерв)" in desk  # the kind, in words
    # A slot of another polyclinic put into the form by hand is refused, and stays free.
    forged = client.post("/registry/desk/walk-in", data={"csrf_token": token, "patient": "p6", "slot": live["ther2"][0],
                                                         "oms": oms, "birth_date": "1980-05-17"})  # fmt: skip
    assert forged.status_code == 403
    with store.reader() as tx:
        assert inventory.get_slot(tx, live["ther2"][0]).status == "free"
    response = client.post("/registry/desk/walk-in", data={"csrf_token": token, "patient": "p6", "slot": reserve,
                                                           "oms": oms, "birth_date": "1980-05-17"})  # fmt: skip
    assert response.status_code == 200
    with store.reader() as tx:
        [walked_in] = service.appointments_of(tx, patient="p6", since=datetime.now(UTC).replace(tzinfo=None)
                                              - timedelta(hours=1))  # fmt: skip
    assert walked_in.status == "arrived" and walked_in.channel == "registry" and walked_in.slot == reserve


def test_the_doctor_marks_the_day_and_the_queue_display_follows(client: Client, store: Store) -> None:
    with store.transaction() as tx:
        tx.create({"resourceType": "Organization", "name": "pc1"}, rid="pc1")
        tx.create({"resourceType": "Location", "name": "room"}, rid="pc1-loc")
    add_doctor(store, "petrov", role="petrov-r", organization="pc1", room="pc1-loc", specialty="therapist-district")
    add_insured(store, "p7", organization="pc1", seed=7)
    add_insured(store, "p8", organization="pc1", seed=8)
    first, second = publish_later_today(store, "petrov-r", organization="pc1", room="pc1-loc",
                                        specialty="therapist-district")  # fmt: skip
    one, two = book(store, "p7", first), book(store, "p8", second)
    token = login(client, "dr", Role.DOCTOR, practitioner="petrov", organization="pc1")
    day = client.get("/doctor/day").text
    assert ticket(one) in day and f"/doctor/appointments/{one}/arrived" in day and 'href="/doctor"' in day
    rows = client.get("/queue/petrov/rows").text
    assert 'hx-trigger="every 3s"' in rows and ticket(one) in rows and 'class="next"' not in rows
    client.post(f"/doctor/appointments/{two}/arrived", data={"csrf_token": token})
    client.post(f"/doctor/appointments/{one}/noshow", data={"csrf_token": token})
    rows = client.get("/queue/petrov/rows").text
    assert ticket(one) not in rows
    assert re.search(rf'class="next">\s*<td class="ticket">{ticket(two)}', rows)
    assert client.get("/queue/petrov").status_code == 200
    assert client.get(f"/fhir/Appointment/{one}").json()["status"] == "noshow"
    with store.transaction() as tx:  # the doctor signs the visit of the patient who came
        service.fulfil(tx, appointment_id=two)
    assert ticket(two) not in client.get("/queue/petrov/rows").text  # seen: off the queue display


def test_a_doctor_marks_only_their_own_appointments(client: Client, store: Store, live: Any) -> None:
    appointment = book(store, "p1", live["ther2"][0])
    add_doctor(store, "sidorov", role="sidorov-r", organization="pc1", room="pc1-loc", specialty="surgeon")
    token = login(client, "dr", Role.DOCTOR, practitioner="sidorov", organization="pc1")
    refused = client.post(f"/doctor/appointments/{appointment}/noshow", data={"csrf_token": token})
    assert refused.status_code == 404
    assert client.get(f"/fhir/Appointment/{appointment}").json()["status"] == "booked"


def test_a_bad_template_publishes_nothing(client: Client, store: Store, live: Any) -> None:
    token = login(client, "reg", Role.REGISTRAR, organization="pc1")
    with store.reader() as tx:
        before = len(service.slots_of(tx, organization="pc1", start=datetime(2000, 1, 1), end=datetime(2100, 1, 1)))
    form = {"csrf_token": token, "role": "ther1", "room": "pc1-loc", "specialty": "therapist-district",
            "weekday": ["0"], "start": "12:00", "end": "08:00"}  # fmt: skip
    assert client.post("/registry/schedule/publish", data=form).status_code == 422
    assert client.post("/registry/schedule/publish", data={**form, "start": "noon"}).status_code == 400
    assert client.post("/registry/schedule/publish", data={**form, "end": "13:00", "kinds": ["vip"]}).status_code == 422
    with store.reader() as tx:
        after = len(service.slots_of(tx, organization="pc1", start=datetime(2000, 1, 1), end=datetime(2100, 1, 1)))
    assert after == before


def test_the_desk_finds_a_patient_without_a_policy_by_family_name(client: Client, store: Store, live: Any) -> None:
    for pid in ("p7", "p8"):
        add_insured(store, pid, organization="pc1")
    with store.transaction() as tx:  # two namesakes born the same day
        for pid, family in (("p7", "Кузнецова"), ("p8", "Кузнецова")):
            tx.update({**tx.read("Patient", pid).resource, "name": [{"family": family, "given": [pid]}]})
    login(client, "reg", Role.REGISTRAR, organization="pc1")
    listed = client.get("/registry/desk", params={"family": "кузн", "birth_date": "1980-05-17"}, headers=RU).text
    chosen = re.findall(r'href="/registry/desk\?patient=(p\d)&amp;birth_date=1980-05-17"', listed)
    assert sorted(chosen) == ["p7", "p8"], listed
    page = client.get("/registry/desk", params={"patient": "p7", "birth_date": "1980-05-17"}, headers=RU).text
    assert "Кузнецова p7" in page and "Записи на сегодня" in page  # chosen: the desk works on this patient
    none = client.get("/registry/desk", params={"family": "Кузнецова", "birth_date": "1990-01-01"}, headers=RU)
    assert 'role="alert"' in none.text and "patient=" not in none.text
