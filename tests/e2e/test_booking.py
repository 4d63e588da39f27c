"""Booking in a real browser with real logins: a patient finds a free time, confirms it and cancels it; moves an
appointment (the new time is secured before the old one is released); waits in line and takes the time that was
freed for them; checks in at the kiosk, and the queue display in the hall follows without a reload.

The city is set up over FHIR (the e2e server runs without required authentication for the API), schedules are
published with `Schedule/$publish`, and the logins are made with `medcity users add` against the server's
database, as an administrator would."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from tests.e2e.logins import add_user, create, log_in
from tests.e2e.server import Server

from medcity.registry.identifiers import OMS_SYSTEM, generate_oms

pytestmark = pytest.mark.e2e
MOSCOW = ZoneInfo("Europe/Moscow")
BIRTH_DATE = "1984-03-09"


@dataclass
class City:
    api: httpx.Client
    server: Server
    organization: str
    room: str
    tag: str

    def create(self, resource: dict[str, object]) -> str:
        return create(self.api, resource)

    def doctor(self, family: str) -> tuple[str, str]:
        """A practitioner and their role at the polyclinic; returns (practitioner, role)."""
        practitioner = self.create({"resourceType": "Practitioner", "name": [{"family": family, "given": ["Иван"]}]})
        role = self.create({
            "resourceType": "PractitionerRole", "practitioner": {"reference": f"Practitioner/{practitioner}"},
            "organization": {"reference": f"Organization/{self.organization}"},
        })  # fmt: skip
        return practitioner, role

    def publish(self, role: str, specialty: str, sessions: list[tuple[int, str, str]], minutes: int) -> None:
        parts = [
            {"name": "session", "part": [
                {"name": "weekday", "valueInteger": day}, {"name": "start", "valueTime": start},
                {"name": "end", "valueTime": end},
                {"name": "room", "valueReference": {"reference": f"Location/{self.room}"}}]}
            for day, start, end in sessions
        ]  # fmt: skip
        self.api.post("/fhir/Schedule/$publish", json={"resourceType": "Parameters", "parameter": [
            {"name": "role", "valueReference": {"reference": f"PractitionerRole/{role}"}},
            {"name": "organization", "valueReference": {"reference": f"Organization/{self.organization}"}},
            {"name": "specialty", "valueCode": specialty}, {"name": "slotMinutes", "valueInteger": minutes},
            *parts]}).raise_for_status()  # fmt: skip

    def patient(self, family: str) -> tuple[str, str]:
        """A patient of the polyclinic with an ОМС policy; returns (patient id, policy number)."""
        oms = generate_oms(random.Random(uuid.uuid4().int))
        pid = self.create({
            "resourceType": "Patient", "name": [{"family": family, "given": ["Анна"]}], "birthDate": BIRTH_DATE,
            "identifier": [{"system": OMS_SYSTEM, "value": oms}],
            "managingOrganization": {"reference": f"Organization/{self.organization}"},
        })  # fmt: skip
        return pid, oms

    def user(self, role: str, **links: str) -> str:
        return add_user(self.server, role, **links)


@pytest.fixture
def city(e2e_server: Server) -> Iterator[City]:
    tag = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=e2e_server.url, timeout=30) as api:
        built = City(api, e2e_server, "", "", tag)
        built.organization = built.create({"resourceType": "Organization", "name": f"Поликлиника {tag}"})
        built.room = built.create(
            {
                "resourceType": "Location",
                "name": "Кабинет 101",
                "managingOrganization": {"reference": f"Organization/{built.organization}"},
            }
        )
        yield built


def find_times(page: Page, specialty: str) -> None:
    page.goto("/patient/booking")
    page.locator("select#specialty").select_option(specialty)
    page.get_by_role("button", name="Найти свободное время").click()


def confirm_first_time(page: Page, specialty: str, doctor: str, *, index: int = 0) -> None:
    find_times(page, specialty)
    doctors = page.locator("section.doctor-times").filter(has_text=doctor)
    expect(doctors).to_have_count(1)
    doctors.locator("a.slot").nth(index).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Подтверждение записи")
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Мои записи")


def every_day(start: str = "08:00:00", end: str = "20:00:00") -> list[tuple[int, str, str]]:
    return [(day, start, end) for day in range(7)]


def test_find_choose_confirm_and_cancel(page: Page, city: City) -> None:
    _practitioner, role = city.doctor("Хирургов")
    city.publish(role, "surgeon", every_day(), 60)
    patient, _oms = city.patient("Петрова")
    log_in(page, city.user("patient", patient=patient))
    confirm_first_time(page, "surgeon", "Хирургов Иван")
    booked = page.locator('ul.appointments li[data-status="booked"]')
    expect(booked).to_have_count(1)
    booked.get_by_role("button", name="Отменить").click()
    expect(page.locator('ul.appointments li[data-status="booked"]')).to_have_count(0)
    expect(page.locator('ul.appointments li[data-status="cancelled"]')).to_have_count(1)
    page.get_by_role("link", name="Уведомления").click()
    expect(page.locator("ul.notices li")).to_have_count(2)


def test_reschedule_keeps_exactly_one_appointment(page: Page, city: City) -> None:
    _practitioner, role = city.doctor("Окулистов")
    city.publish(role, "ophthalmologist", every_day(), 60)
    patient, _oms = city.patient("Сидорова")
    log_in(page, city.user("patient", patient=patient))
    confirm_first_time(page, "ophthalmologist", "Окулистов Иван")
    old = page.locator('ul.appointments li[data-status="booked"]').get_attribute("data-id")
    page.locator('ul.appointments li[data-status="booked"]').get_by_role("link", name="Перенести").click()
    chosen = page.locator("a.slot").nth(2)
    chosen.click()
    expect(page.get_by_text("Текущая запись будет освобождена")).to_be_visible()
    page.get_by_role("button", name="Подтвердить").click()
    booked = page.locator('ul.appointments li[data-status="booked"]')
    expect(booked).to_have_count(1)
    assert booked.get_attribute("data-id") != old
    expect(page.locator(f'ul.appointments li[data-id="{old}"]')).to_have_attribute("data-status", "cancelled")


def test_a_freed_time_is_offered_to_the_first_in_line(browser: Browser, server_url: str, city: City) -> None:
    _practitioner, role = city.doctor("Лоров")
    tomorrow = (datetime.now(MOSCOW) + timedelta(days=1)).weekday()
    city.publish(role, "otorhinolaryngologist", [(tomorrow, "08:00:00", "09:00:00")], 60)
    found = city.api.get(
        "/fhir/Appointment/$find",
        params={"specialty": "otorhinolaryngologist", "organization": city.organization, "count": "50"},
    )
    slots = [entry["resource"]["id"] for entry in found.json()["entry"]]
    appointments = []
    for slot in slots:  # every time taken, by other patients
        other, _oms = city.patient("Занятова")
        booked = city.api.post("/fhir/Appointment/$book", json={"resourceType": "Parameters", "parameter": [
            {"name": "patient", "valueReference": {"reference": f"Patient/{other}"}},
            {"name": "slot", "valueReference": {"reference": f"Slot/{slot}"}}]})  # fmt: skip
        booked.raise_for_status()
        appointments.append(booked.json())
    patient, _oms = city.patient("Ждущева")
    context = browser.new_context(base_url=server_url, locale="ru-RU")
    page = context.new_page()
    try:
        log_in(page, city.user("patient", patient=patient))
        find_times(page, "otorhinolaryngologist")
        page.get_by_role("button", name="Встать в лист ожидания").click()
        expect(page.locator("ul.waiting .place")).to_have_text("1")
        freed = {**appointments[0], "status": "cancelled"}
        city.api.put(f"/fhir/Appointment/{freed['id']}", json=freed).raise_for_status()
        page.reload()
        expect(page.locator("ul.waiting li .offer")).to_contain_text("Лоров Иван")
        page.get_by_role("button", name="Записаться").click()
        expect(page.locator('ul.appointments li[data-status="booked"]')).to_have_count(1)
        expect(page.locator("ul.waiting")).to_have_count(0)
    finally:
        context.close()


def test_check_in_at_the_kiosk_and_the_queue_display_follows(
    browser: Browser, server_url: str, page: Page, city: City
) -> None:
    start = datetime.now(MOSCOW).replace(second=0, microsecond=0) + timedelta(minutes=3)
    end = start + timedelta(minutes=20)
    if end.date() != datetime.now(MOSCOW).date():
        pytest.skip("too close to midnight for an appointment later today")
    practitioner, role = city.doctor("Дантистов")
    city.publish(role, "dentist", [(start.weekday(), start.strftime("%H:%M:00"), end.strftime("%H:%M:00"))], 10)
    patient, oms = city.patient("Пришедшая")
    log_in(page, city.user("patient", patient=patient))
    confirm_first_time(page, "dentist", "Дантистов Иван")

    hall = browser.new_context(base_url=server_url, locale="ru-RU")
    try:
        display, kiosk = hall.new_page(), hall.new_page()
        log_in(kiosk, city.user("registrar", organization=city.organization))
        display.goto(f"/queue/{practitioner}")
        expect(display.locator("#queue-rows tr.next")).to_have_count(0)
        kiosk.goto("/kiosk")
        kiosk.get_by_label("Номер полиса ОМС").fill(oms)
        kiosk.get_by_label("Дата рождения").fill(BIRTH_DATE)
        kiosk.get_by_role("button", name="Отметиться о приходе").click()
        expect(kiosk.get_by_role("status")).to_contain_text("Вы отмечены. Ожидайте вызова.")
        number = kiosk.locator("strong.ticket").inner_text()
        expect(kiosk.get_by_text("Пришедшая")).to_have_count(0)  # a public screen shows no names
        expect(display.locator("#queue-rows tr.next td.ticket")).to_have_text(number, timeout=15_000)
    finally:
        hall.close()
