"""The year's check-ups on both engines: a polyclinic doctor sees how many attached adults are due a
диспансеризация and how many had it, lists the others (the oldest first, no child, nobody of another polyclinic,
a refuted check-up not counted), invites them once a year each; the patient sees their own in the portal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcity.auth.users import Role
from medcity.prescriptions.rules import local_today
from medcity.store.repository import Store
from tests.web_login import add_web_user, csrf_of, log_in

RU = {"Accept-Language": "ru"}
ICD10 = "http://hl7.org/fhir/sid/icd-10"


def ref(rtype: str, rid: str) -> dict[str, str]:
    return {"reference": f"{rtype}/{rid}"}


@pytest.fixture
def city(client: TestClient) -> dict[str, str]:
    app: Any = client.app
    store: Store = app.state.store
    year = local_today(store.region, datetime.now(UTC)).year
    today = local_today(store.region, datetime.now(UTC)).isoformat()

    def patient(family: str, age: int, org: str) -> str:
        person = {"resourceType": "Patient", "name": [{"family": family, "given": ["Тест"]}],
                  "birthDate": f"{year - age}-06-15", "managingOrganization": ref("Organization", org)}  # fmt: skip
        return store.create(person).id

    def checkup(pid: str, verification: str = "confirmed") -> None:
        store.create({"resourceType": "Condition", "subject": ref("Patient", pid), "recordedDate": today,
                      "code": {"coding": [{"system": ICD10, "code": "Z00.0"}]},
                      "verificationStatus": {"coding": [{"code": verification}]}})  # fmt: skip

    ours = store.create({"resourceType": "Organization", "name": "Поликлиника № 1"}).id
    theirs = store.create({"resourceType": "Organization", "name": "Поликлиника № 2"}).id
    doctor = store.create({"resourceType": "Practitioner", "name": [{"family": "Терапевтова"}]}).id
    people = {
        "senior": patient("Старшая", 66, ours), "forty_five": patient("Средняя", 45, ours),
        "done": patient("Прошедшая", 39, ours), "off_year": patient("Межгодовая", 35, ours),
        "child": patient("Ребёнок", 11, ours), "elsewhere": patient("Чужая", 70, theirs),
    }  # fmt: skip
    checkup(people["done"])
    checkup(people["forty_five"], "refuted")
    add_web_user(client, "dr", Role.DOCTOR, practitioner=doctor, organization=ours)
    add_web_user(client, "desk", Role.REGISTRAR, organization=ours)
    add_web_user(client, "senior", Role.PATIENT, patient=people["senior"])
    add_web_user(client, "done", Role.PATIENT, patient=people["done"])
    return people


def listed(html: str, people: dict[str, str]) -> list[str]:
    at = {key: html.find(f'data-patient="{pid}"') for key, pid in people.items()}
    return [key for key, where in sorted(at.items(), key=lambda kv: kv[1]) if where >= 0]


def test_the_doctor_sees_the_years_checkups_and_invites_once(client: TestClient, city: dict[str, str]) -> None:
    app: Any = client.app
    log_in(client, "dr")
    page = client.get("/checkups", headers=RU)
    assert page.status_code == 200, page.text
    assert "положена диспансеризация: 3; прошли: 1 (33%)" in page.text
    assert listed(page.text, city) == ["senior", "forty_five"]  # the oldest first; the refuted check-up not counted
    assert 'data-invited="no"' in page.text and 'data-invited="yes"' not in page.text

    sent = client.post("/checkups/invite", data={"csrf_token": csrf_of(page.text)}, headers=RU)
    assert sent.status_code == 200 and "Отправлено приглашений: 2." in sent.text
    assert 'data-invited="no"' not in sent.text
    again = client.post("/checkups/invite", data={"csrf_token": csrf_of(sent.text)}, headers=RU)
    assert "Отправлено приглашений: 0." in again.text
    with app.state.store.reader() as tx:
        notices = tx.search("Communication", [("subject", f"Patient/{city['senior']}")]).matches
    texts = [n.resource["payload"][0]["contentString"] for n in notices]
    assert len(texts) == 1 and "вам положена диспансеризация" in texts[0]
    assert "Check-ups of" in client.get("/checkups", headers={"Accept-Language": "en"}).text

    assert client.post("/checkups/invite", data={"csrf_token": "forged"}).status_code in (400, 403)
    log_in(client, "desk")
    assert client.get("/checkups", headers=RU).status_code == 403


def test_the_patient_sees_their_own_checkup_of_the_year(client: TestClient, city: dict[str, str]) -> None:
    log_in(client, "senior")
    due = client.get(f"/portal/{city['senior']}", headers=RU).text
    assert 'data-done="no"' in due and "В этом году вам положено бесплатно по полису ОМС: диспансеризация." in due
    assert 'href="/patient/booking"' in due
    log_in(client, "done")
    done = client.get(f"/portal/{city['done']}", headers=RU).text
    assert 'data-done="yes"' in done and "Пройдено в этом году (" in done
