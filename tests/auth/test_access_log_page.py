"""The patient's "who opened my record" page in the portal: staff by name, role and organisation, one line per
look, refusals and break-glass openings marked with the reason given; the patient's own looks left out; nobody
else's log."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient

from medcity.auth.users import Role
from medcity.kit.config import Settings
from tests.auth import world as city
from tests.auth.world import PATIENT_SNILS, SNILS, Tokens, World
from tests.bearer import bearer
from tests.web_login import add_web_user, log_in

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures

REASON = "Доставлен без сознания, нужен анамнез"


def _lines(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_the_patient_sees_who_opened_their_record(api: TestClient, world: World, who: Tokens) -> None:
    stranger = world.patients["stranger"]
    add_web_user(api, "doctor-user", Role.DOCTOR, practitioner=world.doctor, organization=world.polyclinic)
    doctor = who.of("doctor")  # the same login's token
    assert api.get(f"/fhir/Patient/{stranger}", headers=doctor).status_code == 403
    opened = api.get(f"/fhir/Observation/{world.observations['stranger']}",
                     headers={**doctor, "X-Break-Glass-Reason": quote(REASON)})  # fmt: skip
    assert opened.status_code == 200
    add_web_user(api, "pat", Role.PATIENT, patient=stranger)
    log_in(api, "pat")
    assert api.get(f"/portal/{stranger}").status_code == 200  # the patient's own look: not listed
    page = api.get(f"/portal/{stranger}/access-log", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    lines = _lines(page.text)
    assert len(lines) == 2, lines  # newest first: the break-glass look, then the refusal
    opened_line, refused_line = lines
    assert opened_line.startswith(tuple("0123456789"))
    for line in lines:
        assert "Врачова, врач" in line and "Поликлиника 1" in line
    assert "Просмотр карты (результаты и измерения)" in opened_line  # what was opened, as the patient calls it
    assert "Observation" not in opened_line
    assert "Экстренный доступ" in opened_line and f"Указанная причина: «{REASON}»" in opened_line
    assert "доступ запрещён" in refused_line and "Экстренный" not in refused_line
    assert "pat" not in " ".join(lines)


def test_nobody_reads_another_patients_access_log(api: TestClient, world: World) -> None:
    add_web_user(api, "pat", Role.PATIENT, patient=world.patients["attached"])
    log_in(api, "pat")
    other = api.get(f"/portal/{world.patients['stranger']}/access-log")
    assert other.status_code in (403, 404) and "access-log__rows" not in other.text  # as their record itself
    own = api.get(f"/portal/{world.patients['attached']}/access-log", headers={"Accept-Language": "ru"})
    assert own.status_code == 200
    assert "Вашу карту пока никто, кроме вас, не открывал." in own.text


def test_an_account_linked_to_no_practitioner_is_shown_by_its_role_and_login(
    api: TestClient, world: World, who: Tokens
) -> None:
    referred = world.patients["referred"]
    assert api.get(f"/fhir/Observation/{world.lab_observation}", headers=who.of("lab")).status_code == 200
    add_web_user(api, "referred-pat", Role.PATIENT, patient=referred)
    log_in(api, "referred-pat")
    lines = _lines(api.get(f"/portal/{referred}/access-log", headers={"Accept-Language": "ru"}).text)
    assert len(lines) == 1, lines
    assert "Лаборатория (логин lab-user)" in lines[0] and "Лаборатория" in lines[0].split(")", 1)[1]


def test_another_regions_system_is_named_by_its_region(api: TestClient, world: World, settings: Settings) -> None:
    patient = world.patients["attached"]
    spb = bearer(settings, "region-78", "system", "medcity/exchange", organization="region-78")
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "identifier", "valueIdentifier": {"system": SNILS, "value": PATIENT_SNILS["attached"]}}]}  # fmt: skip
    assert api.post("/fhir/Patient/$exchange-summary", json=body, headers=spb).status_code == 200
    add_web_user(api, "pat", Role.PATIENT, patient=patient)
    log_in(api, "pat")
    lines = _lines(api.get(f"/portal/{patient}/access-log", headers={"Accept-Language": "ru"}).text)
    assert any(line.startswith(tuple("0123456789")) and "Санкт-Петербург, информационная система" in line
               for line in lines), lines  # fmt: skip
    assert "region-78" not in " ".join(lines)
