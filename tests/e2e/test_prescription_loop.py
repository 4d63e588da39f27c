"""The prescription loop in a real browser, in Russian: a doctor prescribes from the patient's chart, a pharmacist
finds the prescription by its number and the patient's СНИЛС and dispenses it, a second pharmacy is refused with
where and when it was dispensed, and the patient sees it dispensed among their prescriptions. The city is set up
over FHIR, the logins with `medcity users add`."""

from __future__ import annotations

import random
import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.logins import add_user, create
from tests.e2e.server import Server
from tests.e2e.test_lab_loop import as_user

from medcity.registry.catalogue import organization_types
from medcity.registry.identifiers import SNILS_SYSTEM, generate_snils, identifier

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(e2e_server: Server) -> dict[str, str]:
    """A polyclinic with a doctor and a patient holding a СНИЛС, and two pharmacies with a pharmacist each."""
    tag = uuid.uuid4().hex[:6]
    snils = generate_snils(random.Random(tag))
    with httpx.Client(base_url=e2e_server.url) as client:
        polyclinic = create(client, {"resourceType": "Organization", "name": f"Поликлиника {tag}",
                                     "type": organization_types("polyclinic", "public")})  # fmt: skip
        pharmacies = [
            create(
                client,
                {
                    "resourceType": "Organization",
                    "name": f"Аптека {n} {tag}",
                    "type": organization_types("pharmacy", "private"),
                },
            )
            for n in (1, 2)
        ]
        doctor = create(
            client, {"resourceType": "Practitioner", "name": [{"family": "Кардиологова", "given": ["Вера"]}]}
        )
        patient = create(client, {
            "resourceType": "Patient", "name": [{"family": "Кузнецов", "given": ["Пётр"]}], "gender": "male",
            "birthDate": "1955-06-01", "identifier": [identifier(SNILS_SYSTEM, snils)],
            "managingOrganization": {"reference": f"Organization/{polyclinic}"},
        })  # fmt: skip
    return {
        "patient": patient, "snils": snils, "pharmacy": f"Аптека 1 {tag}",
        "doctor": add_user(e2e_server, "doctor", practitioner=doctor, organization=polyclinic),
        "pharmacist1": add_user(e2e_server, "pharmacist", organization=pharmacies[0]),
        "pharmacist2": add_user(e2e_server, "pharmacist", organization=pharmacies[1]),
        "patient_login": add_user(e2e_server, "patient", patient=patient),
    }  # fmt: skip


def test_prescribe_dispense_once_and_the_patient_sees_it(
    browser: Browser, server_url: str, city: dict[str, str]
) -> None:
    doctor = as_user(browser, server_url, city["doctor"])
    doctor.goto(f"/chart/{city['patient']}")
    doctor.get_by_role("link", name="Рецепты").click()
    expect(doctor.get_by_role("heading", level=1)).to_have_text("Рецепты")
    doctor.get_by_label("Лекарство").select_option("C08CA01")
    doctor.get_by_label("Способ приёма").fill("По 1 таблетке утром")
    doctor.get_by_label("Количество (таблеток, капсул, ингаляторов)").fill("30")
    doctor.get_by_role("button", name="Выписать рецепт").click()
    status = doctor.get_by_role("status")
    expect(status).to_contain_text("выписан")
    number = re.search(r"Рецепт (\d{12})", status.inner_text())
    assert number, status.inner_text()
    expect(doctor.locator('tr[data-state="active"]')).to_contain_text("Амлодипин 5 мг, таблетки")

    def found_at_the_counter(username: str) -> Page:
        pharmacist = as_user(browser, server_url, username)
        expect(pharmacist.get_by_role("heading", level=1)).to_have_text("Отпуск по рецептам")
        pharmacist.get_by_label("Номер рецепта").fill(number.group(1))
        pharmacist.get_by_label("Документ пациента").select_option(SNILS_SYSTEM)
        pharmacist.get_by_label("Номер документа").fill(city["snils"])
        pharmacist.get_by_role("button", name="Найти рецепт").click()
        expect(pharmacist.locator("section.prescription .medicine")).to_have_text("Амлодипин 5 мг, таблетки")
        return pharmacist

    # Both pharmacies have the prescription on screen; the first hands it over, the second then tries too.
    first, second = found_at_the_counter(city["pharmacist1"]), found_at_the_counter(city["pharmacist2"])
    first.get_by_role("button", name="Отпустить").click()
    expect(first.locator("#dispensed")).to_contain_text("Отпущено: Амлодипин 5 мг, таблетки, 30 таблеток.")
    second.get_by_role("button", name="Отпустить").click()
    today = datetime.now(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y")  # the region's day
    expect(second.get_by_role("alert")).to_contain_text(f"уже отпущен {today}")
    expect(second.get_by_role("alert")).to_contain_text(city["pharmacy"])
    expect(second.locator("table.dispenses")).to_contain_text("Ничего не отпущено.")

    patient = as_user(browser, server_url, city["patient_login"])
    patient.get_by_role("link", name="Мои рецепты").click()
    row = patient.locator('tr[data-state="dispensed"]')
    expect(row).to_contain_text("Амлодипин 5 мг, таблетки")
    expect(row).to_contain_text("Отпущен")
    expect(row).to_contain_text(city["pharmacy"])
