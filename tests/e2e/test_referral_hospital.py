"""Referral → hospital stay → discharge summary back at the polyclinic, in a real browser with real logins.

A polyclinic doctor refers an attached patient for planned hospitalisation with a laboratory report attached; the
hospital's doctor admits the patient from the incoming worklist into a bed, sees the ward, and discharges with a
signed summary; the polyclinic doctor finds it on the follow-up worklist and in the patient's record. The city is
set up over FHIR (the e2e server does not require authentication for the API); the logins are made with
`medcity users add` against the server's database, as an administrator would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.e2e.logins import add_user, create, log_in
from tests.e2e.server import Server

pytestmark = pytest.mark.e2e
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"


@dataclass
class City:
    api: httpx.Client
    server: Server
    tag: str

    def create(self, resource: dict[str, Any]) -> str:
        return create(self.api, resource)

    def place(self, name: str, kind: str, hospital: str, part_of: str | None = None) -> str:
        data: dict[str, Any] = {"resourceType": "Location", "name": name, "status": "active",
                                "managingOrganization": {"reference": f"Organization/{hospital}"},
                                "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": kind}]}}  # fmt: skip
        if part_of:
            data["partOf"] = {"reference": f"Location/{part_of}"}
        return self.create(data)

    def user(self, role: str, **links: str) -> str:
        return add_user(self.server, role, **links)


@pytest.fixture
def city(e2e_server: Server) -> Iterator[City]:
    with httpx.Client(base_url=e2e_server.url, timeout=30) as api:
        yield City(api, e2e_server, uuid.uuid4().hex[:6])


def test_referral_hospital_stay_and_discharge_summary_back_at_the_polyclinic(page: Page, city: City) -> None:
    polyclinic = city.create({"resourceType": "Organization", "name": f"Поликлиника {city.tag}"})
    hospital = city.create({"resourceType": "Organization", "name": f"Больница {city.tag}"})
    doctor = city.create({"resourceType": "Practitioner", "name": [{"family": "Терапевтова", "given": ["Ольга"]}]})
    surgeon = city.create({"resourceType": "Practitioner", "name": [{"family": "Хирургов", "given": ["Пётр"]}]})
    patient = city.create({"resourceType": "Patient", "name": [{"family": "Петрова", "given": ["Анна"]}],
                           "managingOrganization": {"reference": f"Organization/{polyclinic}"}})  # fmt: skip
    city.create({"resourceType": "DiagnosticReport", "status": "final", "subject": {"reference": f"Patient/{patient}"},
                 "code": {"text": "Общий анализ крови"}, "effectiveDateTime": "2026-11-20"})  # fmt: skip
    ward = city.place("Хирургическое отделение", "wa", hospital)
    bed = city.place("Койка 3", "bd", hospital, ward)
    polyclinic_doctor = city.user("doctor", practitioner=doctor, organization=polyclinic)
    hospital_doctor = city.user("doctor", practitioner=surgeon, organization=hospital)

    # The polyclinic doctor refers the patient for planned hospitalisation, with the blood count attached.
    log_in(page, polyclinic_doctor)
    page.goto(f"/referrals/new?patient={patient}")
    expect(page.locator(".patient-name")).to_have_text("Петрова Анна")
    page.get_by_label("Вид направления").select_option("hospitalisation")
    page.get_by_label("Принимающая организация").select_option(hospital)
    page.get_by_label("Диагнозы (МКБ-10, через запятую)").fill("K40.9")
    page.get_by_label("Общий анализ крови 20.11.2026").check()
    page.get_by_role("button", name="Отправить направление").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Отправленные направления")
    expect(page.locator("tr[data-state] .state")).to_have_text("выдано")

    # The hospital admits the patient from its incoming worklist into a bed.
    log_in(page, hospital_doctor)
    page.goto("/referrals/incoming")
    page.get_by_role("link", name="Госпитализировать").click()
    expect(page.locator(".patient-name")).to_have_text("Петрова Анна")
    page.get_by_label("Койка").select_option(bed)
    page.get_by_role("button", name="Госпитализировать").click()
    occupied = page.locator(f'tr[data-bed="{bed}"]')
    expect(occupied).to_have_attribute("data-state", "occupied")
    expect(occupied.locator(".patient-name")).to_have_text("Петрова Анна")

    # Discharge with a summary: first without a diagnosis (refused), then properly.
    occupied.get_by_role("link", name="Выписка").click()
    page.get_by_role("button", name="Подписать и выписать").click()
    expect(page.get_by_role("alert")).to_contain_text("Для выписки укажите хотя бы один диагноз")
    page.get_by_label("Диагнозы при выписке").fill("K40.9")
    page.get_by_label("Процедуры и операции").fill("Герниопластика по Лихтенштейну")
    page.get_by_label("Рекомендации").fill("Осмотр хирурга поликлиники через 7 дней")
    page.get_by_role("button", name="Подписать и выписать").click()
    expect(page.locator(f'tr[data-bed="{bed}"]')).to_have_attribute("data-state", "free")

    # Back at the polyclinic: the follow-up worklist, the seen mark, and the patient's record.
    log_in(page, polyclinic_doctor)
    page.goto("/followup")
    item = page.locator("ul.followup li[data-summary]")
    expect(item).to_have_attribute("data-seen", "no")
    expect(item.locator(".patient-name")).to_have_text("Петрова Анна")
    item.get_by_text("Выписной эпикриз").click()
    expect(item).to_contain_text("Осмотр хирурга поликлиники через 7 дней")
    item.get_by_role("button", name="Отметить просмотренным").click()
    expect(page.locator("ul.followup li[data-summary]")).to_have_attribute("data-seen", "yes")
    page.goto("/referrals/sent")
    expect(page.locator("tr[data-state] .state")).to_have_text("выполнено")
    record = city.api.get(f"/fhir/Patient/{patient}/$everything").json()
    documents = [e["resource"] for e in record["entry"] if e["resource"]["resourceType"] == "Composition"]
    assert [d["type"]["coding"][0]["code"] for d in documents] == ["18842-5"]
    page.goto(f"/chart/{patient}")
    expect(page.get_by_text("Выписной эпикриз").first).to_be_visible()
