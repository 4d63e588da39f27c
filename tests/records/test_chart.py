"""The patient chart page: the whole record across institutions, under the policy and audited, on both engines."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.records.record_data import make_record
from tests.web_login import add_web_user, log_in

from medcity.auth.tables import audit_log
from medcity.auth.users import Role


def _doctor(client: TestClient, organization: str) -> None:
    add_web_user(client, "dr.house", Role.DOCTOR, organization=organization)
    log_in(client, "dr.house")


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert found, f"no section {section_id}"
    return found.group(0)


def test_the_chart_shows_the_record_from_every_institution_with_who_wrote_it(client: TestClient) -> None:
    rec = make_record(client)
    _doctor(client, rec.polyclinic)
    response = client.get(f"/chart/{rec.patient}", headers={"Accept-Language": "en"})
    assert response.status_code == 200, response.text
    html = response.text
    timeline = _section(html, "timeline")
    assert "Outpatient visit" in timeline and "ГП № 12" in timeline
    assert "Hospital stay" in timeline and "ГКБ № 5" in timeline
    problems = _section(html, "problems")
    # Written at the polyclinic visit, so the polyclinic wrote it.
    assert "Эссенциальная гипертензия" in problems and "ГП № 12" in problems
    assert "Острый аппендицит" not in problems  # resolved: a past diagnosis
    past = _section(html, "past-problems")
    assert "Острый аппендицит" in past and "ГКБ № 5" in past  # via the recording surgeon's PractitionerRole
    documents = _section(html, "documents")
    assert "Выписной эпикриз" in documents and "K35.8 Острый аппендицит" in documents and "ГКБ № 5" in documents
    reports = _section(html, "reports")
    assert "Признаки аппендицита" in reports and "Биохимия крови" not in reports  # a lab's report is its results
    assert "Пенициллин" in _section(html, "allergies")
    assert "Грипп, инактивированная" in _section(html, "immunizations")
    assert "Лизиноприл 10 мг" in _section(html, "medications")
    assert "Высокий сердечно-сосудистый риск" in _section(html, "risk-flags")
    assert "Сахарный диабет чужого пациента" not in html


def test_results_show_the_range_the_abnormal_flag_and_a_trend(client: TestClient) -> None:
    rec = make_record(client)
    _doctor(client, rec.polyclinic)
    html = client.get(f"/chart/{rec.patient}", headers={"Accept-Language": "en"}).text
    row = re.search(rf'<tr class="result result--abnormal" data-code="2339-0" data-id="{rec.glucose_high}">.*?</tr>',
                    html, re.S)  # fmt: skip
    assert row, "the latest glucose is not shown as abnormal"
    cells = row.group(0)
    assert "8.4 mmol/L" in cells and "3.9–6.1 mmol/L" in cells and "КДЛ Центр" in cells
    assert 'data-flag="H"' in cells and "above normal" in cells
    assert cells.count("<circle") == 3  # every glucose value on the trend line
    assert "trend__dot--abnormal" in cells


def test_the_opening_is_audited_and_a_stranger_is_sent_to_log_in(client: TestClient) -> None:
    rec = make_record(client)
    response = client.get(f"/chart/{rec.patient}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fchart%2F")
    _doctor(client, rec.polyclinic)
    assert client.get(f"/chart/{rec.patient}").status_code == 200
    app: Any = client.app
    with app.state.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.username, audit_log.c.resource_type, audit_log.c.patient, audit_log.c.outcome).where(
                audit_log.c.partition == app.state.settings.region
            )
        ).all()
    assert ("dr.house", "Patient", rec.patient, "allowed") in {tuple(r) for r in rows}


def test_roles_without_access_to_records_and_unknown_patients_get_no_chart(client: TestClient) -> None:
    rec = make_record(client)
    add_web_user(client, "counter", Role.ANALYST)
    log_in(client, "counter")
    assert client.get(f"/chart/{rec.patient}").status_code == 404  # refused like an unknown id
    _doctor(client, rec.polyclinic)
    assert client.get("/chart/nobody").status_code == 404


def test_the_chart_speaks_russian(client: TestClient) -> None:
    rec = make_record(client)
    _doctor(client, rec.polyclinic)
    html = client.get(f"/chart/{rec.patient}", headers={"Accept-Language": "ru"}).text
    for text in ("Активные проблемы", "Результаты", "Референсный интервал", "Амбулаторный приём", "Госпитализация",
                 "выше нормы", "Аллергии и непереносимости", "Прививки", "Текущие лекарства",
                 "8.4 ммоль/л", "3.9–6.1 ммоль/л"):  # fmt: skip
        assert text in html, text
    assert "mmol/L" not in html  # the unit as a Russian doctor reads it, not as UCUM codes it
