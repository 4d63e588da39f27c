"""The prescription pages: the doctor prescribes from a form and may cancel; the pharmacy finds a prescription by
its number and the patient's identifier and dispenses it once (a second pharmacy is told where and when); the
patient follows their prescriptions. In Russian, with CSRF, and a refused form writes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcity.auth.users import Role
from medcity.registry.identifiers import SNILS_SYSTEM
from tests.prescriptions.city import City, build_city, prescribe
from tests.web_login import add_web_user, csrf_of, log_in

RU = {"Accept-Language": "ru"}


@pytest.fixture
def city(client: TestClient) -> City:
    app: Any = client.app
    built = build_city(app.state.store)
    add_web_user(client, "dr.olga", Role.DOCTOR, practitioner=built.doctor, organization=built.polyclinic)
    add_web_user(client, "apteka7", Role.PHARMACIST, organization=built.pharmacies[0])
    add_web_user(client, "zdorovie", Role.PHARMACIST, organization=built.pharmacies[1])
    add_web_user(client, "anna", Role.PATIENT, patient=built.patient)
    return built


def count(client: TestClient, rtype: str) -> int:
    app: Any = client.app
    with app.state.store.reader() as tx:
        return len(tx.search(rtype, [("_count", "100")]).matches)


def lookup(number: str, page: str, snils: str, **more: str) -> dict[str, str]:
    return {"csrf_token": csrf_of(page), "number": number, "system": SNILS_SYSTEM, "value": snils, **more}


def test_prescribed_dispensed_once_and_seen_by_the_patient(client: TestClient, city: City) -> None:
    assert log_in(client, "dr.olga") == "/doctor"
    assert f'href="/prescriptions?patient={city.patient}"' in client.get(f"/chart/{city.patient}").text
    form = client.get(f"/prescriptions?patient={city.patient}", headers=RU)
    assert form.status_code == 200 and "Петрова Анна" in form.text and "Амлодипин 5 мг, таблетки" in form.text
    sent = client.post("/prescriptions", data={"csrf_token": csrf_of(form.text), "patient": city.patient,
                       "medicine": "C08CA01", "dosage": "По 1 таблетке утром", "quantity": "30", "reason": "I10"},
                       headers=RU)  # fmt: skip
    assert sent.status_code == 200 and "Рецепт" in sent.text, sent.text
    number = re.search(r"Рецепт (\d{12}) выписан", sent.text)
    assert number, sent.text
    assert 'data-state="active"' in sent.text and "Действует" in sent.text
    chart = client.get(f"/chart/{city.patient}", headers=RU).text
    medications = re.search(r'id="medications".*?</section>', chart, re.S)
    assert medications and "Амлодипин" in medications.group(0)
    assert "Городская поликлиника № 1" in medications.group(0)  # where it was prescribed, through the doctor's role

    assert log_in(client, "apteka7") == "/pharmacy"
    counter = client.get("/pharmacy", headers=RU).text
    grouped = " ".join(number.group(1)[i : i + 4] for i in (0, 4, 8))
    found = client.post("/pharmacy/find", data=lookup(grouped, counter, city.snils), headers=RU)
    assert found.status_code == 200 and "Амлодипин 5 мг, таблетки" in found.text and "Терапевтова Ольга" in found.text
    assert "По 1 таблетке утром" in found.text and "30 таблеток" in found.text
    done = client.post("/pharmacy/dispense", data=lookup(grouped, counter, city.snils), headers=RU)
    assert done.status_code == 200 and 'id="dispensed"' in done.text and "Отпущено" in done.text
    assert count(client, "MedicationDispense") == 1

    log_in(client, "zdorovie")
    counter = client.get("/pharmacy", headers=RU).text
    assert "Ничего не отпущено" in counter  # another pharmacy's dispenses are not on this counter
    shown = client.post("/pharmacy/find", data=lookup(number.group(1), counter, city.snils), headers=RU)
    assert "Отпущен" in shown.text and "в аптеке «Аптека № 7»" in shown.text
    assert 'action="/pharmacy/dispense"' not in shown.text
    again = client.post("/pharmacy/dispense", data=lookup(number.group(1), counter, city.snils), headers=RU)
    assert again.status_code == 409 and "уже отпущен" in again.text and "Аптека № 7" in again.text
    assert count(client, "MedicationDispense") == 1

    log_in(client, "anna")
    mine = client.get("/patient/prescriptions", headers=RU).text
    assert grouped in mine and 'data-state="dispensed"' in mine and "Отпущен" in mine and "Аптека № 7" in mine


def test_a_course_is_collected_in_parts_at_two_pharmacies(client: TestClient, city: City) -> None:
    app: Any = client.app
    _rid, number = prescribe(app.state.store, city)  # 30 tablets
    log_in(client, "apteka7")
    counter = client.get("/pharmacy", headers=RU).text
    done = client.post("/pharmacy/dispense", data=lookup(number, counter, city.snils, quantity="10"), headers=RU)
    assert done.status_code == 200 and "Отпущено: Амлодипин 5 мг, таблетки, 10 таблеток." in done.text

    log_in(client, "zdorovie")
    counter = client.get("/pharmacy", headers=RU).text
    shown = client.post("/pharmacy/find", data=lookup(number, counter, city.snils), headers=RU).text
    assert 'data-state="active"' in shown and 'action="/pharmacy/dispense"' in shown
    assert "Отпущен частично, последний раз" in shown and "в аптеке «Аптека № 7»; осталось 20 таблеток" in shown
    too_much = client.post("/pharmacy/dispense", data=lookup(number, counter, city.snils, quantity="25"), headers=RU)
    assert too_much.status_code == 422 and "осталось к отпуску (20 из выписанных 30)" in too_much.text
    assert count(client, "MedicationDispense") == 1
    rest = client.post("/pharmacy/dispense", data=lookup(number, counter, city.snils), headers=RU)
    assert "Отпущено: Амлодипин 5 мг, таблетки, 20 таблеток." in rest.text

    log_in(client, "anna")
    mine = client.get("/patient/prescriptions", headers=RU).text
    assert 'data-state="dispensed"' in mine and "Аптека «Здоровье»" in mine


def test_the_pharmacy_learns_nothing_from_a_wrong_identifier(client: TestClient, city: City) -> None:
    app: Any = client.app
    _rid, number = prescribe(app.state.store, city)
    log_in(client, "apteka7")
    counter = client.get("/pharmacy", headers=RU).text
    wrong = client.post("/pharmacy/dispense", data=lookup(number, counter, city.other_snils), headers=RU)
    unknown = client.post("/pharmacy/find", data=lookup("1" * 12, counter, city.snils), headers=RU)
    assert wrong.status_code == unknown.status_code == 404
    assert "не найден" in wrong.text and "не найден" in unknown.text
    forged = client.post("/pharmacy/dispense", data=lookup(number, counter, city.snils, csrf_token="forged"))
    assert forged.status_code == 403
    assert count(client, "MedicationDispense") == 0


def test_the_doctor_cancels_and_only_pharmacists_open_the_counter(client: TestClient, city: City) -> None:
    app: Any = client.app
    rid, _number = prescribe(app.state.store, city)
    log_in(client, "dr.olga")
    assert client.get("/pharmacy").status_code == 403
    page = client.get(f"/prescriptions?patient={city.patient}").text
    assert f"/prescriptions/{rid}/cancel" in page
    done = client.post(f"/prescriptions/{rid}/cancel", data={"csrf_token": csrf_of(page)}, headers=RU)
    assert done.status_code == 200 and 'data-state="cancelled"' in done.text and "Отменён" in done.text
    again = client.post(f"/prescriptions/{rid}/cancel", data={"csrf_token": csrf_of(page)}, headers=RU)
    assert again.status_code == 409 and "отменён врачом" in again.text
    bad = client.post("/prescriptions", data={"csrf_token": csrf_of(page), "patient": city.patient,
                      "medicine": "C08CA01", "dosage": "", "quantity": "30"}, headers=RU)  # fmt: skip
    assert bad.status_code == 422 and "как принимать" in bad.text
    assert count(client, "MedicationRequest") == 1
    log_in(client, "anna")
    assert client.get("/pharmacy").status_code == 403
    assert client.get(f"/prescriptions?patient={city.other_patient}").status_code == 404


def test_a_pharmacy_annuls_its_own_mistaken_dispense_and_not_anothers(client: TestClient, city: City) -> None:
    app: Any = client.app
    rid, number = prescribe(app.state.store, city)
    log_in(client, "apteka7")
    counter = client.get("/pharmacy", headers=RU).text
    handed = client.post("/pharmacy/dispense", data=lookup(number, counter, city.snils), headers=RU)
    assert handed.status_code == 200 and "Аннулировать отпуск" in handed.text
    dispense = handed.url.params["dispensed"]
    form = {"csrf_token": csrf_of(handed.text), "dispense": dispense}
    # Another pharmacy cannot take back what this one handed over.
    log_in(client, "zdorovie")
    theirs = client.post("/pharmacy/annul", data={**form, "csrf_token": csrf_of(client.get("/pharmacy").text),
                                                  "reason": "чужой"}, headers=RU)  # fmt: skip
    assert theirs.status_code == 403
    log_in(client, "apteka7")
    form["csrf_token"] = csrf_of(client.get("/pharmacy").text)
    assert client.post("/pharmacy/annul", data={**form, "reason": " "}, headers=RU).status_code == 422
    done = client.post("/pharmacy/annul", data={**form, "reason": "выдан не тому пациенту"}, headers=RU)
    assert done.status_code == 200 and 'id="annulled"' in done.text
    assert "аннулирован: выдан не тому пациенту" in done.text
    assert client.get(f"/fhir/MedicationRequest/{rid}").json()["status"] == "active"
    again = client.post("/pharmacy/dispense", data=lookup(number, done.text, city.snils), headers=RU)
    assert again.status_code == 200 and 'id="dispensed"' in again.text
