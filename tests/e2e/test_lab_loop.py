"""The laboratory loop in a real browser, in Russian: a doctor orders the hypertension package, the laboratory
receives the sample by its barcode and enters a critical glucose, a second laboratory member validates and releases
it, the doctor sees the critical value among their results and alerts, and the patient sees the result in the
portal. The city is set up over FHIR, the logins with `medcity users add`."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.logins import add_user, create, log_in
from tests.e2e.server import Server

from medcity.registry.catalogue import organization_types

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(e2e_server: Server) -> dict[str, str]:
    """A polyclinic with a doctor, a laboratory with two staff, and a patient of the polyclinic with a login."""
    tag = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=e2e_server.url) as client:
        polyclinic = create(
            client,
            {
                "resourceType": "Organization",
                "name": f"Поликлиника {tag}",
                "type": organization_types("polyclinic", "public"),
            },
        )
        laboratory = create(
            client,
            {
                "resourceType": "Organization",
                "name": f"Лаборатория {tag}",
                "type": organization_types("laboratory", "public"),
            },
        )
        doctor = create(
            client, {"resourceType": "Practitioner", "name": [{"family": "Терапевтова", "given": ["Анна"]}]}
        )
        patient = create(
            client,
            {
                "resourceType": "Patient",
                "name": [{"family": "Смирнов", "given": ["Иван"]}],
                "gender": "male",
                "birthDate": "1961-03-14",
                "managingOrganization": {"reference": f"Organization/{polyclinic}"},
            },
        )
    return {
        "patient": patient,
        "doctor": add_user(e2e_server, "doctor", practitioner=doctor, organization=polyclinic),
        "lab1": add_user(e2e_server, "lab", organization=laboratory),
        "lab2": add_user(e2e_server, "lab", organization=laboratory),
        "patient_login": add_user(e2e_server, "patient", patient=patient),
    }  # fmt: skip


def as_user(browser: Browser, server_url: str, username: str) -> Page:
    context = browser.new_context(base_url=server_url, locale="ru-RU")
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, username)
    return page


def test_order_result_flag_and_portal(browser: Browser, server_url: str, city: dict[str, str]) -> None:
    doctor = as_user(browser, server_url, city["doctor"])
    doctor.goto(f"/orders/new?patient={city['patient']}")
    expect(doctor.locator("#patient-name")).to_have_text("Смирнов Иван")
    doctor.get_by_label("Набор анализов по диагнозу").select_option("I10")
    doctor.get_by_role("button", name="Выбрать набор").click()
    expect(doctor.get_by_label("Липидный профиль")).to_be_checked()
    expect(doctor.get_by_label("ЭКГ")).to_be_checked()
    doctor.get_by_role("button", name="Назначить").click()
    expect(doctor.get_by_role("heading", level=1)).to_have_text("Направления оформлены")
    barcode = doctor.locator("tr", has_text="Глюкоза").locator("td.barcode").inner_text()
    assert re.fullmatch(r"\d{13}", barcode), barcode

    lab = as_user(browser, server_url, city["lab1"])
    expect(lab.get_by_role("heading", level=1)).to_have_text("Рабочий список лаборатории")
    lab.get_by_label("Штрихкод пробы").fill(barcode)
    lab.get_by_role("button", name="Принять пробу").click()
    expect(lab.get_by_role("status")).to_have_text("Проба принята.")
    lab.get_by_role("link", name="Глюкоза").click()
    lab.get_by_label("Глюкоза").fill("30,5")
    lab.get_by_role("button", name="Сохранить результаты").click()
    expect(lab.locator('tr[data-flag="HH"]')).to_contain_text("30.5")
    expect(lab.get_by_role("button", name="Проверить и выпустить")).to_have_count(0)
    entry = lab.url

    validator = as_user(browser, server_url, city["lab2"])
    validator.goto(entry)
    validator.get_by_role("button", name="Проверить и выпустить").click()
    expect(validator.get_by_role("status")).to_have_text("Результаты выпущены: их видят врач и пациент.")

    doctor.goto("/orders/results")
    alert = doctor.locator("#alerts li.alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Смирнов Иван")
    expect(alert).to_contain_text("Глюкоза")
    expect(doctor.locator('article[data-stage="released"] tr[data-flag="HH"]')).to_contain_text("30.5")

    patient = as_user(browser, server_url, city["patient_login"])
    expect(patient).to_have_url(re.compile(r"/portal/"))
    expect(patient.locator("#results")).to_contain_text("Глюкоза")
    expect(patient.locator("#results")).to_contain_text("30.5")
