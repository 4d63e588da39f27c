"""Booking in a real browser: a patient finds a free time, confirms it, sees it among their appointments (in
Russian), cancels it; then checks in at the kiosk for another. The city is set up over FHIR, its schedule
published with `Schedule/$publish`. The patient is chosen by the query parameter of the development stand-in."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def create(client: httpx.Client, resource: dict[str, object]) -> str:
    response = client.post(f"/fhir/{resource['resourceType']}", json=resource)
    response.raise_for_status()
    return str(response.json()["id"])


@pytest.fixture
def patient(server_url: str) -> str:
    """A polyclinic with a surgeon who sees patients every day 08:00-20:00, and one patient of it."""
    tag = uuid.uuid4().hex[:8]
    with httpx.Client(base_url=server_url) as client:
        org = create(client, {"resourceType": "Organization", "name": f"Поликлиника {tag}"})
        room = create(client, {"resourceType": "Location", "name": "Кабинет 101"})
        doctor = create(client, {"resourceType": "Practitioner", "name": [{"family": "Хирургов", "given": ["Иван"]}]})
        role = create(client, {"resourceType": "PractitionerRole",
                               "practitioner": {"reference": f"Practitioner/{doctor}"},
                               "organization": {"reference": f"Organization/{org}"}})  # fmt: skip
        sessions = [
            {"name": "session", "part": [
                {"name": "weekday", "valueInteger": day}, {"name": "start", "valueTime": "08:00:00"},
                {"name": "end", "valueTime": "20:00:00"},
                {"name": "room", "valueReference": {"reference": f"Location/{room}"}}]}
            for day in range(7)
        ]  # fmt: skip
        published = client.post("/fhir/Schedule/$publish", json={"resourceType": "Parameters", "parameter": [
            {"name": "role", "valueReference": {"reference": f"PractitionerRole/{role}"}},
            {"name": "organization", "valueReference": {"reference": f"Organization/{org}"}},
            {"name": "specialty", "valueCode": "surgeon"}, {"name": "slotMinutes", "valueInteger": 60},
            *sessions]})  # fmt: skip
        published.raise_for_status()
        return create(client, {"resourceType": "Patient", "name": [{"family": "Петрова", "given": ["Анна"]}],
                               "managingOrganization": {"reference": f"Organization/{org}"}})  # fmt: skip


def book_first_time(page: Page, patient: str) -> None:
    page.goto(f"/patient/booking?patient={patient}")
    page.locator("select#specialty").select_option("surgeon")
    page.get_by_role("button", name="Найти свободное время").click()
    first = page.locator("a.slot").first
    expect(first).to_contain_text("Хирургов Иван")
    first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Подтверждение записи")
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Мои записи")


def test_find_choose_confirm_and_cancel(page: Page, patient: str) -> None:
    book_first_time(page, patient)
    booked = page.locator('ul.appointments li[data-status="booked"]')
    expect(booked).to_have_count(1)
    booked.get_by_role("button", name="Отменить").click()
    expect(page.locator('ul.appointments li[data-status="booked"]')).to_have_count(0)
    expect(page.locator('ul.appointments li[data-status="cancelled"]')).to_have_count(1)


def test_check_in_at_the_kiosk(page: Page, patient: str) -> None:
    book_first_time(page, patient)
    number = page.locator('ul.appointments li[data-status="booked"] form').get_attribute("action")
    assert number is not None
    page.goto("/kiosk")
    page.get_by_label("Номер записи").fill(number.split("/")[3])
    page.get_by_role("button", name="Отметиться о приходе").click()
    expect(page.get_by_role("status")).to_have_text("Вы отмечены. Ожидайте вызова.")
