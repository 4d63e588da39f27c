"""The loop on the pages: a doctor orders, the laboratory receives the sample and enters results, a second member
of the laboratory validates and releases them, the doctor sees the flag and the critical value, the patient is
notified. Each page needs a login and every form its CSRF token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcity.auth.users import Role
from medcity.kit.i18n import SUPPORTED_LANGUAGES
from medcity.orders.service import cancel_order
from medcity.web import render
from tests.lab.city import City
from tests.web_login import add_web_user, csrf_of, log_in


def browser(client: TestClient, username: str, role: Role, **links: Any) -> TestClient:
    """A browser of its own (cookies) logged in as a new user."""
    add_web_user(client, username, role, **links)
    other = TestClient(client.app)
    log_in(other, username)
    return other


@pytest.fixture
def doctor(client: TestClient, city: City) -> TestClient:
    return browser(client, "dr", Role.DOCTOR, practitioner=city.doctor, organization=city.polyclinic)


def lab_user(client: TestClient, city: City, name: str) -> TestClient:
    return browser(client, name, Role.LAB, organization=city.laboratory)


def order_electrolytes_and_ecg(doctor: TestClient, city: City) -> tuple[str, str]:
    """Order from the page; returns the barcode of the sample and the page of placed orders."""
    form = doctor.get("/orders/new", params={"patient": city.patient})
    assert form.status_code == 200, form.text
    assert "Электролиты (калий, натрий)" in form.text
    data = {"csrf_token": csrf_of(form.text), "patient": city.patient, "tests": ["24326-1", "11524-6"],
            "laboratory": city.laboratory, "department": city.department}  # fmt: skip
    placed = doctor.post("/orders/new", data=data)
    assert placed.status_code == 200, placed.text
    assert "ЭКГ" in placed.text
    barcode = re.search(r'class="barcode">(\d{13})<', placed.text)
    assert barcode, placed.text
    return barcode.group(1), placed.text


def test_a_package_per_diagnosis_prechecks_its_tests(doctor: TestClient, city: City) -> None:
    form = doctor.get("/orders/new", params={"patient": city.patient, "package": "I10"}).text
    checked = set(re.findall(r'name="tests" value="([^"]+)" checked', form))
    assert checked == {"58410-2", "57698-3", "14749-6", "14682-9", "11524-6"}


def test_order_form_needs_csrf(doctor: TestClient, city: City) -> None:
    data = {"patient": city.patient, "tests": ["14749-6"], "laboratory": city.laboratory}
    assert doctor.post("/orders/new", data=data, follow_redirects=False).status_code == 403


def test_ordering_nothing_is_refused_on_the_form(doctor: TestClient, city: City) -> None:
    form = doctor.get("/orders/new", params={"patient": city.patient})
    data = {"csrf_token": csrf_of(form.text), "patient": city.patient, "laboratory": city.laboratory}
    answer = doctor.post("/orders/new", data=data)
    assert answer.status_code == 422
    assert 'role="alert"' in answer.text and "Выберите хотя бы один анализ" in answer.text


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/lab", "/orders/results", "/diagnostics"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path


def test_the_lab_loop(client: TestClient, city: City, doctor: TestClient) -> None:
    barcode, _placed = order_electrolytes_and_ecg(doctor, city)
    first = lab_user(client, city, "lab1")
    assert log_in(TestClient(client.app), "lab1") == "/lab"
    worklist = first.get("/lab").text
    assert barcode in worklist and 'data-stage="waiting"' in worklist
    order = re.search(r'href="/lab/orders/([^"]+)"', worklist)
    assert order
    entry = f"/lab/orders/{order.group(1)}"

    # Results before the sample arrived are refused; then the sample is received by its barcode.
    token = csrf_of(worklist)
    early = first.post(f"{entry}/results", data={"csrf_token": token, "value-2823-3": "7"})
    assert early.status_code == 422 and "Сначала примите пробу" in early.text
    received = first.post("/lab/receive", data={"csrf_token": token, "barcode": barcode})
    assert 'data-stage="received"' in received.text

    # A value in an impossible range is refused on the form with the reason, and nothing is kept.
    impossible = first.post(f"{entry}/results", data={"csrf_token": token, "value-2823-3": "70"})
    assert "физически невозможное значение" in impossible.text
    entered = first.post(f"{entry}/results", data={"csrf_token": token, "value-2823-3": "7,0",
                                                   "value-2951-2": "140"})  # fmt: skip
    assert 'data-flag="HH"' in entered.text and 'data-flag="N"' in entered.text
    assert "/release" not in entered.text  # the one who entered does not release

    report = client.get("/fhir/DiagnosticReport", params={"based-on": f"ServiceRequest/{order.group(1)}"}).json()
    report_id = report["entry"][0]["resource"]["id"]
    assert report["entry"][0]["resource"]["status"] == "preliminary"
    own = first.post(f"/lab/reports/{report_id}/release", data={"csrf_token": token})
    assert own.status_code == 422 and "выпускает другой сотрудник" in own.text

    second = lab_user(client, city, "lab2")
    page = second.get(entry).text
    released = second.post(f"/lab/reports/{report_id}/release", data={"csrf_token": csrf_of(page)})
    assert released.status_code == 200 and 'role="status"' in released.text
    assert client.get(f"/fhir/DiagnosticReport/{report_id}").json()["status"] == "final"

    results = doctor.get("/orders/results").text
    alert = re.search(r'<li class="alert" role="alert">(.*?)</li>', results, re.S)
    assert alert and "Калий: 7.0 ммоль/л (HH)" in alert.group(1)  # the doctor's language and units
    assert 'data-stage="released"' in results and 'data-flag="HH"' in results

    notices = client.get("/fhir/Communication", params={"recipient": f"Patient/{city.patient}"}).json()
    assert len(notices["entry"]) == 1


def test_csv_upload_enters_all_or_nothing(client: TestClient, city: City) -> None:
    placed = city.order(client, "24326-1", "14749-6")
    barcode = placed.specimens[0].resource["identifier"][0]["value"]
    first = lab_user(client, city, "lab1")
    token = csrf_of(first.get("/lab").text)
    first.post("/lab/receive", data={"csrf_token": token, "barcode": barcode})
    bad = f"barcode;loinc;value;unit\n{barcode};2823-3;4.1;mmol/L\n{barcode};14749-6;90;mg/dL\n"
    refused = first.post("/lab/upload", data={"csrf_token": token}, files={"file": ("run.csv", bad, "text/csv")})
    assert "mg/dL" in refused.text and 'role="alert"' in refused.text
    assert client.get("/fhir/Observation", params={"patient": city.patient}).json().get("entry", []) == []
    good = f"barcode,loinc,value,unit\n{barcode},2823-3,4.1,mmol/L\n{barcode},14749-6,5.2,mmol/L\n"
    done = first.post("/lab/upload", data={"csrf_token": token}, files={"file": ("run.csv", good, "text/csv")})
    assert done.status_code == 200 and 'role="status"' in done.text
    entered = client.get("/fhir/DiagnosticReport", params={"patient": city.patient, "status": "preliminary"}).json()
    assert len(entered["entry"]) == 2


def test_another_laboratory_does_not_see_the_order(client: TestClient, city: City) -> None:
    placed = city.order(client, "14749-6")
    elsewhere = client.post("/fhir/Organization", json={"resourceType": "Organization", "name": "Другая"}).json()
    other = browser(client, "stranger", Role.LAB, organization=elsewhere["id"])
    assert placed.orders[0].id not in other.get("/lab").text
    assert other.get(f"/lab/orders/{placed.orders[0].id}").status_code == 404


def test_a_diagnostic_report_with_its_document(client: TestClient, city: City) -> None:
    placed = city.order(client, "11524-6")
    add_web_user(client, "fd", Role.DOCTOR, organization=city.department)
    reader = TestClient(client.app)
    log_in(reader, "fd")
    worklist = reader.get("/diagnostics").text
    assert placed.orders[0].id in worklist
    form = reader.get(f"/diagnostics/orders/{placed.orders[0].id}").text
    empty = reader.post(f"/diagnostics/orders/{placed.orders[0].id}", data={"csrf_token": csrf_of(form)})
    assert empty.status_code == 422 and "нужно заключение" in empty.text
    signed = reader.post(
        f"/diagnostics/orders/{placed.orders[0].id}",
        data={"csrf_token": csrf_of(form), "conclusion": "Синусовый ритм, ЧСС 72. Норма."},
        files={"document": ("ecg.pdf", b"%PDF-1.4 test", "application/pdf")},
    )
    assert signed.status_code == 200 and 'role="status"' in signed.text
    found = client.get("/fhir/DiagnosticReport", params={"patient": city.patient, "category": "EC"}).json()
    report = found["entry"][0]["resource"]
    assert report["conclusion"].startswith("Синусовый ритм")
    binary = client.get(f"/fhir/{report['presentedForm'][0]['url']}")
    assert binary.status_code == 200 and binary.json()["contentType"] == "application/pdf"
    assert client.get(f"/fhir/ServiceRequest/{placed.orders[0].id}").json()["status"] == "completed"


def test_a_cancelled_order_says_so_on_the_doctors_results(client: TestClient, city: City, doctor: TestClient) -> None:
    placed = city.order(client, "14749-6", "24326-1")
    with city.store(client).transaction() as tx:
        cancel_order(tx, order=placed.orders[0].id)
    results = doctor.get("/orders/results").text
    cancelled = re.search(rf'data-order="{placed.orders[0].id}" data-stage="(\w+)">.*?</p>', results, re.S)
    assert cancelled and cancelled.group(1) == "cancelled" and "отменена" in cancelled.group(0), results
    assert f'data-order="{placed.orders[1].id}" data-stage="waiting"' in results


def test_an_oversized_analyser_file_is_refused_in_the_readers_language(client: TestClient, city: City) -> None:
    first = lab_user(client, city, "lab1")
    token = csrf_of(first.get("/lab").text)
    big = b"barcode,loinc,value,unit\n" + b"0" * (2 * 1024 * 1024)
    refused = first.post("/lab/upload", data={"csrf_token": token}, files={"file": ("run.csv", big, "text/csv")})
    assert refused.status_code == 413 and "Файл анализатора — не больше 2048 КБ" in refused.text


def test_the_entry_form_renders_before_any_ordering_page(
    client: TestClient, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart the laboratory may open an entry form before anyone opened an ordering page; the lab's
    templates import the orders' macros, so the lab pages must make those templates available themselves."""
    placed = city.order(client, "14749-6")
    first = lab_user(client, city, "lab1")
    without_orders = [loader for loader in render._loader.loaders
                      if getattr(loader, "package_name", "") != "medcity.orders"]  # fmt: skip
    monkeypatch.setattr(render._loader, "loaders", without_orders)
    monkeypatch.setattr(render, "_packages", render._packages - {"medcity.orders"})
    for lang in SUPPORTED_LANGUAGES:  # no template loaded by earlier tests may stand in for the loader
        monkeypatch.setattr(render.environment(lang), "cache", None)
    page = first.get(f"/lab/orders/{placed.orders[0].id}")
    assert page.status_code == 200 and "Глюкоза" in page.text
