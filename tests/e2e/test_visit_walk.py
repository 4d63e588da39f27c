"""The whole visit in a real browser, in the demo city: a doctor logs in and sees the day, opens a patient with
history from several institutions, writes the protocol, takes one of the top-3 suggested diagnoses, enters vital
signs and signs; then the patient logs in and sees the visit and its diagnosis in the portal.

The demo seed has no appointments, so one is booked first through the FHIR API (`Schedule/$publish`, then
`Appointment/$find` and `$book`), for a patient attached to the demo doctor's polyclinic whose record holds visits
from at least two institutions; the patient gets a login of their own (`medcity users add`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.conftest import medcity

pytestmark = pytest.mark.e2e

MOSCOW = ZoneInfo("Europe/Moscow")
PATIENT_LOGIN = "walk.patient"


def _choose_patient(database: Path) -> tuple[str, str, str, str]:
    """(doctor's PractitionerRole, organization, location, patient) from the seeded database."""
    with sqlite3.connect(database) as db:
        practitioner, organization = db.execute(
            "SELECT practitioner, organization FROM app_user WHERE username = 'doctor'"
        ).fetchone()
        role, location = db.execute(
            "SELECT id, json_extract(content, '$.location[0].reference') FROM resource WHERE type = 'PractitionerRole'"
            " AND json_extract(content, '$.practitioner.reference') = ?",
            (f"Practitioner/{practitioner}",),
        ).fetchone()
        (patient,) = db.execute(
            "SELECT p.id FROM resource p WHERE p.type = 'Patient' AND p.partition = '77'"
            " AND json_extract(p.content, '$.managingOrganization.reference') = ?"
            " AND json_extract(p.content, '$.birthDate') < '2000-01-01'"
            " AND (SELECT count(DISTINCT json_extract(e.content, '$.serviceProvider.reference')) FROM resource e"
            "      WHERE e.type = 'Encounter' AND e.patient = p.id) >= 2"
            " ORDER BY p.id LIMIT 1",
            (f"Organization/{organization}",),
        ).fetchone()
    return role, organization, location.split("/")[1], patient


def _book(url: str, *, role: str, organization: str, location: str, patient: str) -> datetime:
    """Publish the doctor's schedule and book the first free time for the patient; the appointment's start."""
    sessions = [
        {"name": "session", "part": [
            {"name": "weekday", "valueInteger": day}, {"name": "start", "valueTime": "00:00:00"},
            {"name": "end", "valueTime": "23:45:00"},
            {"name": "room", "valueReference": {"reference": f"Location/{location}"}}]}
        for day in range(7)
    ]  # fmt: skip
    with httpx.Client(base_url=url, timeout=60) as client:
        published = client.post("/fhir/Schedule/$publish", json={"resourceType": "Parameters", "parameter": [
            {"name": "role", "valueReference": {"reference": f"PractitionerRole/{role}"}},
            {"name": "organization", "valueReference": {"reference": f"Organization/{organization}"}},
            {"name": "specialty", "valueCode": "therapist-district"}, {"name": "slotMinutes", "valueInteger": 15},
            *sessions]})  # fmt: skip
        published.raise_for_status()
        found = client.post("/fhir/Appointment/$find", json={"resourceType": "Parameters", "parameter": [
            {"name": "specialty", "valueCode": "therapist-district"},
            {"name": "organization", "valueReference": {"reference": f"Organization/{organization}"}},
            {"name": "patient", "valueReference": {"reference": f"Patient/{patient}"}},
            {"name": "count", "valueInteger": 1}]})  # fmt: skip
        found.raise_for_status()
        slot = found.json()["entry"][0]["resource"]
        booked = client.post("/fhir/Appointment/$book", json={"resourceType": "Parameters", "parameter": [
            {"name": "patient", "valueReference": {"reference": f"Patient/{patient}"}},
            {"name": "slot", "valueReference": {"reference": f"Slot/{slot['id']}"}}]})  # fmt: skip
        booked.raise_for_status()
    return datetime.fromisoformat(slot["start"].replace("Z", "+00:00")).astimezone(MOSCOW)


def _log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Имя пользователя").fill(username)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()


def test_a_doctor_signs_a_visit_and_the_patient_sees_it(
    browser: Browser, demo_city: tuple[str, dict[str, str], Path]
) -> None:
    url, env, workdir = demo_city
    role, organization, location, patient = _choose_patient(workdir / "demo.db")
    start = _book(url, role=role, organization=organization, location=location, patient=patient)
    done = medcity(env, workdir, "users", "add", "--username", PATIENT_LOGIN, "--role", "patient",
                   "--patient", patient, input_text="walk-patient-password\n")  # fmt: skip
    assert done.returncode == 0

    context = browser.new_context(base_url=url, locale="ru-RU")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        # The doctor's day.
        _log_in(page, "doctor", "doctor-demo")
        expect(page).to_have_url(f"{url}/doctor")
        if start.date() != datetime.now(MOSCOW).date():  # booked late in the evening: the first time is tomorrow
            page.goto(f"/doctor?day={start.date().isoformat()}")
        row = page.locator("table.day-list tbody tr", has_text=start.strftime("%H:%M"))
        expect(row).to_have_attribute("data-status", "booked")
        row.get_by_role("button", name="Начать приём").click()

        # The patient, with history from several institutions, here and in the chart.
        expect(page.get_by_role("heading", level=1)).to_have_text("Протокол приёма")
        institutions = page.locator(".visit-patient .institutions")
        expect(institutions).to_contain_text(",")
        visit_url = page.url
        page.get_by_role("link", name="Вся медицинская карта").click()
        expect(page).to_have_url(f"{url}/chart/{patient}")
        page.goto(visit_url)

        # The protocol: complaints, one click on a suggestion, vital signs, sign.
        page.get_by_label("Жалобы").fill("Кашель, насморк, боль в горле, температура 37,8 второй день")
        suggestions = page.locator("#suggestions button.suggestion")
        expect(suggestions).to_have_count(3)
        chosen = suggestions.first.get_attribute("data-code")
        assert chosen
        suggestions.first.click()
        expect(page.locator("#diagnosis-code")).to_have_value(chosen)
        diagnosis = page.locator("#diagnosis .diagnosis__name").inner_text().strip()
        assert diagnosis
        for label, value in (("Систолическое давление", "125"), ("Диастолическое давление", "80"),
                             ("Пульс", "72"), ("Температура тела", "37,8"), ("Рост", "168"), ("Вес", "64"),
                             ("Сатурация кислорода (SpO₂)", "98")):  # fmt: skip
            page.get_by_label(label).fill(value)
        page.get_by_role("button", name="Подписать протокол").click()
        expect(page.get_by_role("status")).to_have_text("Протокол подписан.")
        expect(page.locator("article.protocol--signed")).to_have_attribute("data-status", "final")
        expect(page.locator("ul.diagnoses")).to_contain_text(chosen)
        expect(page.locator("ul.vitals")).to_contain_text("125/80")

        # The patient sees the visit and the diagnosis in the portal.
        page.get_by_role("button", name="Выйти").click()
        _log_in(page, PATIENT_LOGIN, "walk-patient-password")
        expect(page).to_have_url(f"{url}/portal/{patient}")
        visit = page.locator("#timeline li", has_text="Кашель, насморк, боль в горле")
        expect(visit).to_contain_text(diagnosis)
    finally:
        context.close()
