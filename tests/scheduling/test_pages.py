"""The patient's pages over HTTP with a real web login: find → choose → confirm, my appointments with cancel and
reschedule, the waiting list and its offer, the notices; a proxy books for the child; nobody acts for another."""

from __future__ import annotations

import re
from typing import Any

from medcity.auth.users import Role
from medcity.referrals import service as referrals
from medcity.referrals.codes import BOOKED, SPECIALIST
from medcity.scheduling.publish import publish_schedule
from medcity.scheduling.resources import utcnow
from medcity.store.repository import Store
from tests.scheduling.conftest import add_patient, add_role, every_day_template
from tests.scheduling.pages_city import login

Client = Any


def appointment_ids(html: str) -> list[str]:
    return re.findall(r"/patient/appointments/([^/]+)/cancel", html)


def book_first(client: Client, token: str, specialty: str = "therapist-district") -> str:
    page = client.get("/patient/booking", params={"specialty": specialty}).text
    confirm = re.search(r'href="(/patient/booking/confirm\?[^"]+)"', page)
    assert confirm, page
    slot = re.search(r"slot=([^&]+)", confirm.group(1))
    assert slot
    assert client.get(confirm.group(1).replace("&amp;", "&")).status_code == 200
    response = client.post("/patient/booking/confirm", data={"slot": slot.group(1), "csrf_token": token})
    assert response.status_code == 200, response.text  # followed the redirect to "my appointments"
    return slot.group(1)


def test_a_stranger_is_sent_to_the_login(client: Client) -> None:
    response = client.get("/patient/booking", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_find_choose_confirm_then_cancel(client: Client, live: dict[str, list[str]]) -> None:
    token = login(client, "anna", Role.PATIENT, patient="p1")
    slot = book_first(client, token)
    assert slot in live["ther2"]  # p1's own polyclinic (pc2) first
    [appointment] = appointment_ids(client.get("/patient/appointments").text)
    assert client.get(f"/fhir/Slot/{slot}").json()["status"] == "busy"
    client.post(f"/patient/appointments/{appointment}/cancel", data={"csrf_token": token})
    assert appointment_ids(client.get("/patient/appointments").text) == []
    assert client.get(f"/fhir/Slot/{slot}").json()["status"] == "free"


def test_the_patient_sees_which_specialties_need_a_referral(client: Client, live: dict[str, list[str]]) -> None:
    login(client, "anna", Role.PATIENT, patient="p1")
    page = client.get("/patient/booking", headers={"Accept-Language": "ru"}).text
    groups = dict(re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', page, re.S))
    assert list(groups) == ["Без направления", "По направлению врача"]
    on_their_own = re.findall(r'value="([^"]+)"', groups["Без направления"])
    referred = re.findall(r'value="([^"]+)"', groups["По направлению врача"])
    assert "therapist-district" in on_their_own and "cardiologist" in referred
    assert not set(on_their_own) & set(referred)
    # Nobody books the laboratory's physician or the pharmacist: they see no patients.
    assert not {"pharmacist", "clinical-laboratory"} & set(on_their_own + referred)


def test_every_form_needs_the_session_csrf_token(client: Client, live: dict[str, list[str]]) -> None:
    login(client, "anna", Role.PATIENT, patient="p1")
    response = client.post("/patient/booking/confirm", data={"slot": live["ther2"][0]})
    assert response.status_code == 403
    assert client.get(f"/fhir/Slot/{live['ther2'][0]}").json()["status"] == "free"


def test_reschedule_from_my_appointments(client: Client, live: dict[str, list[str]]) -> None:
    token = login(client, "anna", Role.PATIENT, patient="p1")
    book_first(client, token)
    [old] = appointment_ids(client.get("/patient/appointments").text)
    response = client.post(
        "/patient/booking/confirm", data={"slot": live["ther2"][5], "reschedule": old, "csrf_token": token}
    )
    assert response.status_code == 200
    [new] = appointment_ids(response.text)
    assert new != old
    assert client.get(f"/fhir/Appointment/{old}").json()["status"] == "cancelled"
    notices = client.get("/patient/notices").text
    assert "Ваша запись перенесена" in notices and "Вы записаны" in notices


def test_a_refusal_is_explained(client: Client, live: dict[str, list[str]]) -> None:
    token = login(client, "anna", Role.PATIENT, patient="p1")
    response = client.post("/patient/booking/confirm", data={"slot": live["card1"][0], "csrf_token": token})
    assert response.status_code == 422 and "К специалисту «Кардиолог» записывают только по направлению" in response.text


def test_a_second_appointment_in_the_same_specialty_is_refused_in_the_patients_language(
    client: Client, live: dict[str, list[str]]
) -> None:
    token = login(client, "anna", Role.PATIENT, patient="p1")
    booked = book_first(client, token)
    other = next(slot for slot in live["ther2"] if slot != booked)
    refused = client.post("/patient/booking/confirm", data={"slot": other, "csrf_token": token},
                          headers={"Accept-Language": "ru"})  # fmt: skip
    assert refused.status_code == 422
    assert ("У пациента уже есть действующая запись к специалисту «Участковый терапевт»; перенесите её"
            in refused.text)  # fmt: skip
    assert "reschedule it instead" not in refused.text
    english = client.post("/patient/booking/confirm", data={"slot": other, "csrf_token": token},
                          headers={"Accept-Language": "en"})  # fmt: skip
    assert "already has an active appointment for District therapist; reschedule it instead" in english.text


def test_nobody_cancels_or_moves_another_patients_appointment(
    client: Client, store: Store, live: dict[str, list[str]]
) -> None:
    token = login(client, "anna", Role.PATIENT, patient="p1")
    book_first(client, token)
    [theirs] = appointment_ids(client.get("/patient/appointments").text)
    client.post("/logout", data={"csrf_token": token})
    with store.transaction() as tx:
        add_patient(tx, "p9", organization="pc1")
    token = login(client, "boris", Role.PATIENT, patient="p9")
    assert client.post(f"/patient/appointments/{theirs}/cancel", data={"csrf_token": token}).status_code == 404
    moved = client.post(
        "/patient/booking/confirm", data={"slot": live["ther1"][3], "reschedule": theirs, "csrf_token": token}
    )
    assert moved.status_code == 404
    assert client.get(f"/fhir/Appointment/{theirs}").json()["status"] == "booked"


def test_a_proxy_books_for_the_child_they_represent(client: Client, live: dict[str, list[str]]) -> None:
    token = login(client, "mother", Role.PROXY, patient="p1")
    book_first(client, token)
    [appointment] = appointment_ids(client.get("/patient/appointments").text)
    participants = client.get(f"/fhir/Appointment/{appointment}").json()["participant"]
    assert {"reference": "Patient/p1"} in [p["actor"] for p in participants]


def test_staff_do_not_use_the_patient_pages(client: Client, live: dict[str, list[str]]) -> None:
    login(client, "reg", Role.REGISTRAR, organization="pc1")
    assert client.get("/patient/booking").status_code == 403


def test_waiting_list_place_offer_and_acceptance(client: Client, store: Store, live: dict[str, list[str]]) -> None:
    token = login(client, "anna", Role.PATIENT, patient="p1")
    page = client.get("/patient/booking", params={"specialty": "surgeon"}).text  # nobody publishes for it yet
    assert 'action="/patient/waiting"' in page
    response = client.post("/patient/waiting", data={"specialty": "surgeon", "csrf_token": token})
    assert '<span class="place">1</span>' in response.text and "/leave" in response.text
    with store.transaction() as tx:
        add_role(tx, "surg1", organization="pc1", location="pc1-loc", specialty="surgeon")
        publish_schedule(tx, template=every_day_template("surg1", organization="pc1", room="pc1-loc",
                                                          specialty="surgeon"))  # fmt: skip
    mine = client.get("/patient/appointments").text
    assert 'class="offer"' in mine
    assert "Для вас освободилось время" in client.get("/patient/notices").text
    entry = re.search(r'action="/patient/waiting/([^/]+)/accept"', mine)
    assert entry
    accepted = client.post(f"/patient/waiting/{entry.group(1)}/accept", data={"csrf_token": token})
    assert accepted.status_code == 200
    [appointment] = appointment_ids(accepted.text)
    assert client.get(f"/fhir/Appointment/{appointment}").json()["status"] == "booked"


def test_bad_input_is_a_clear_refusal(client: Client, live: dict[str, list[str]]) -> None:
    token = login(client, "anna", Role.PATIENT, patient="p1")
    assert client.get("/patient/booking/confirm", params={"slot": "no-such-slot"}).status_code == 404
    assert client.post("/patient/booking/confirm", data={"slot": "no-such", "csrf_token": token}).status_code == 404
    joined = client.post("/patient/waiting", data={"specialty": "astrologer", "csrf_token": token})
    assert joined.status_code == 422 and "astrologer" in joined.text
    assert client.post("/patient/waiting/nope/accept", data={"csrf_token": token}).status_code == 404
    assert client.post("/patient/waiting/nope/bribe", data={"csrf_token": token}).status_code == 404


def _confirm_page(client: Client, slot: str) -> str:
    page = client.get("/patient/booking/confirm", params={"slot": slot}, headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    return page.text


def test_a_specialist_is_booked_with_a_referral_chosen_not_typed(
    client: Client, store: Store, live: dict[str, list[str]]
) -> None:
    token = login(client, "anna", Role.PATIENT, patient="p1")
    slot = live["card1"][0]
    refused = _confirm_page(client, slot)  # no referral yet: told why, and nothing to press
    assert 'id="no-referral"' in refused and "участковому терапевту" in refused
    assert ">Подтвердить</button>" not in refused

    with store.transaction() as tx:
        tx.create({"resourceType": "Practitioner", "name": [{"family": "Терапевтова"}]}, rid="ther-doc")
        draft = referrals.Draft(patient="p1", kind=SPECIALIST, requester="ther-doc", specialty="cardiologist",
                                reasons=("I10",))  # fmt: skip
        referral = referrals.issue(tx, draft, now=utcnow()).id
    offered = _confirm_page(client, slot)
    assert re.search(rf'name="referral" value="{referral}" checked', offered), offered
    assert "Терапевтова" in offered and "I10" in offered and ">Подтвердить</button>" in offered
    booked = client.post("/patient/booking/confirm", data={"slot": slot, "referral": referral, "csrf_token": token})
    assert booked.status_code == 200 and len(appointment_ids(booked.text)) == 1
    with store.reader() as tx:
        assert referrals.state_of(tx, referrals.get(tx, referral), now=utcnow()) == BOOKED
    # Used now: the next cardiologist's time offers it no more.
    assert 'id="no-referral"' in _confirm_page(client, live["card1"][1])


def test_free_times_are_listed_by_doctor_and_day_own_polyclinic_first(
    client: Client, live: dict[str, list[str]]
) -> None:
    login(client, "anna", Role.PATIENT, patient="p1")
    page = client.get("/patient/booking", params={"specialty": "therapist-district"},
                      headers={"Accept-Language": "ru"}).text  # fmt: skip
    doctors = re.findall(r'<section class="doctor-times" data-role="([^"]+)">(.*?)</section>', page, re.S)
    assert doctors and doctors[0][0] == "ther2"  # p1 is attached to pc2
    for _role, section in doctors:
        days = re.findall(r'<span class="day-times__day">(\S+) (\d\d\.\d\d\.\d{4})</span>(.*?)</p>', section, re.S)
        assert days and [d for _w, d, _t in days] == sorted(
            {d for _w, d, _t in days}, key=lambda d: d[6:] + d[3:5] + d[:2]
        )
        assert all(w in ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс") for w, _d, _t in days)
        for _w, _d, times in days:
            clock = re.findall(r'class="slot" href="[^"]+">(\d\d:\d\d)</a>', times)
            assert clock and clock == sorted(clock)
