"""The patient portal: a patient sees their own record, a parent their child's, nobody anyone else's."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.records.record_data import make_record
from tests.web_login import add_web_user, log_in

from medcity.auth.tables import audit_log
from medcity.auth.users import Role


def _audit(client: TestClient) -> set[tuple[str, str, str]]:
    app: Any = client.app
    with app.state.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.username, audit_log.c.resource_id, audit_log.c.outcome).where(
                audit_log.c.partition == app.state.settings.region
            )
        ).all()
    return {(r.username, r.resource_id, r.outcome) for r in rows}


def test_a_patient_lands_on_their_own_record_with_plain_words_on_flags(client: TestClient) -> None:
    rec = make_record(client)
    add_web_user(client, "anna", Role.PATIENT, patient=rec.patient)
    assert log_in(client, "anna") == "/portal"
    response = client.get("/portal", headers={"Accept-Language": "ru"})
    assert response.status_code == 200
    assert str(response.url).endswith(f"/portal/{rec.patient}")
    html = response.text
    assert "Моя медицинская карта" in html
    assert "Эссенциальная гипертензия" in html and "Острый аппендицит" in html  # current and past diagnoses
    assert "Выписной эпикриз" in html and "Грипп, инактивированная" in html
    assert "ГП № 12" in html and "ГКБ № 5" in html
    assert "Выше референсного интервала" in html  # what the high glucose means, in plain words
    assert f'href="/patient/appointments?patient={rec.patient}"' in html
    assert "Сахарный диабет чужого пациента" not in html
    assert ("anna", rec.patient, "allowed") in _audit(client)


def test_another_patients_record_is_refused_and_audited(client: TestClient) -> None:
    rec = make_record(client)
    add_web_user(client, "anna", Role.PATIENT, patient=rec.patient)
    log_in(client, "anna")
    for path in (f"/portal/{rec.other}", f"/portal/{rec.other}/record.pdf"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Сахарный диабет" not in response.text
    assert ("anna", rec.other, "refused") in _audit(client)


def test_a_parent_sees_the_childs_record(client: TestClient) -> None:
    rec = make_record(client)
    add_web_user(client, "mother", Role.PROXY, patient=rec.patient)
    assert log_in(client, "mother") == "/portal"
    html = client.get("/portal", headers={"Accept-Language": "en"}).text
    assert 'id="represented"' in html and "Петрова Анна" in html
    assert "Health record of Петрова Анна" in html
    assert "Эссенциальная гипертензия" in html
    assert client.get(f"/portal/{rec.other}").status_code == 404


def test_staff_and_strangers_have_no_portal(client: TestClient) -> None:
    rec = make_record(client)
    response = client.get("/portal", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fportal"
    add_web_user(client, "dr.house", Role.DOCTOR, organization=rec.polyclinic)
    log_in(client, "dr.house")
    assert client.get("/portal").status_code == 403


def test_a_patient_sees_a_result_only_once_it_is_released(client: TestClient) -> None:
    rec = make_record(client)
    pending: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "preliminary",  # entered, awaiting the second person's validation
        "code": {"text": "Ферритин"},
        "subject": {"reference": f"Patient/{rec.patient}"},
        "effectiveDateTime": "2026-11-30T09:00:00+03:00",
        "valueQuantity": {"value": 5, "unit": "ng/mL"},
    }
    created = client.post("/fhir/Observation", json=pending)
    assert created.status_code == 201, created.text
    add_web_user(client, "anna", Role.PATIENT, patient=rec.patient)
    log_in(client, "anna")
    assert "Ферритин" not in client.get("/portal", headers={"Accept-Language": "ru"}).text
    released = {**created.json(), "status": "final"}
    assert client.put(f"/fhir/Observation/{released['id']}", json=released).status_code == 200
    assert "Ферритин" in client.get("/portal", headers={"Accept-Language": "ru"}).text
