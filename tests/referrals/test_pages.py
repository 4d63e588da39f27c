"""The referral pages: the doctor refers from a form (CSRF, clear errors, nothing half-saved), follows the
referral on the sent list and can cancel it; the receiving organisation sees it on its worklist; the patient sees
their own referrals and where each stands."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medcity.auth.users import Role
from tests.referrals.city import City, build_city, refer_to_hospital
from tests.web_login import add_web_user, csrf_of, log_in


@pytest.fixture
def city(client: TestClient) -> City:
    app: Any = client.app
    built = build_city(app.state.store)
    add_web_user(client, "dr.poly", Role.DOCTOR, practitioner=built.doctor, organization=built.polyclinic)
    add_web_user(client, "dr.hosp", Role.DOCTOR, practitioner=built.surgeon, organization=built.hospital)
    add_web_user(client, "anna", Role.PATIENT, patient=built.patient)
    return built


def count_referrals(client: TestClient) -> int:
    app: Any = client.app
    with app.state.store.reader() as tx:
        return len(tx.search("ServiceRequest", [("_count", "100")]).matches)


def form(city: City, page: str, **changes: Any) -> dict[str, Any]:
    data = {"csrf_token": csrf_of(page), "patient": city.patient, "kind": "hospitalisation",
            "organization": city.hospital, "reasons": "K40.9", "note": "Плановая операция",
            "documents": [f"DiagnosticReport/{city.report}"]}  # fmt: skip
    return {**data, **changes}


def test_the_doctor_refers_and_the_hospital_sees_it(client: TestClient, city: City) -> None:
    log_in(client, "dr.poly")
    page = client.get(f"/referrals/new?patient={city.patient}", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    assert "Петрова Анна" in page.text and f"DiagnosticReport/{city.report}" in page.text
    assert 'value="cardiologist"' in page.text and 'value="pharmacist"' not in page.text
    sent = client.post("/referrals/new", data=form(city, page.text), follow_redirects=False)
    assert sent.status_code == 303, sent.text
    listed = client.get("/referrals/sent", headers={"Accept-Language": "ru"}).text
    assert 'data-state="issued"' in listed and "Городская больница № 5" in listed
    assert re.search(r"<td>\d\d\.\d\d\.\d{4}</td>", listed), "the validity is not dated as the pages date"
    log_in(client, "dr.hosp")
    worklist = client.get("/referrals/incoming", headers={"Accept-Language": "en"}).text
    assert "Петрова Анна" in worklist and "/hospital/admit?referral=" in worklist
    log_in(client, "anna")
    assert 'data-state="issued"' in client.get("/referrals/mine").text


def test_a_wrong_form_is_shown_again_with_the_reason_and_saves_nothing(client: TestClient, city: City) -> None:
    log_in(client, "dr.poly")
    page = client.get(f"/referrals/new?patient={city.patient}").text
    before = count_referrals(client)
    wrong = client.post("/referrals/new", data=form(city, page, organization=""), headers={"Accept-Language": "en"})
    assert wrong.status_code == 422 and "receiving Organization" in wrong.text
    bad_code = client.post("/referrals/new", data=form(city, page, reasons="Q99.99.9"))
    assert bad_code.status_code == 422 and "«Q99.99.9» — не код МКБ-10" in bad_code.text
    no_csrf = client.post("/referrals/new", data=form(city, page, csrf_token="forged"))
    assert no_csrf.status_code == 403
    assert count_referrals(client) == before


def test_the_sender_cancels_from_the_sent_list(client: TestClient, city: City) -> None:
    app: Any = client.app
    referral = refer_to_hospital(app.state.store, city)
    log_in(client, "dr.poly")
    page = client.get("/referrals/sent").text
    assert f"/referrals/{referral}/cancel" in page
    done = client.post(f"/referrals/{referral}/cancel", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert done.status_code == 303
    assert 'data-state="cancelled"' in client.get("/referrals/sent").text
    again = client.post(f"/referrals/{referral}/cancel", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 422
    # The refusal on the error page is in the reader's language, the state named as the sent list names it.
    assert "Отменить можно только выданное направление; статус этого направления: «отменена»" in again.text
    english = client.post(f"/referrals/{referral}/cancel", data={"csrf_token": csrf_of(page)},
                          headers={"Accept-Language": "en"})  # fmt: skip
    assert "Only an issued referral can be cancelled; this one is cancelled" in english.text


def test_a_referral_used_twice_is_refused_in_the_readers_language(client: TestClient, city: City) -> None:
    app: Any = client.app
    referral = refer_to_hospital(app.state.store, city)
    log_in(client, "dr.hosp")
    page = client.get("/referrals/incoming").text
    done = client.post(f"/referrals/{referral}/complete", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert done.status_code == 303, done.text
    twice = client.post(f"/referrals/{referral}/complete", data={"csrf_token": csrf_of(page)})
    assert twice.status_code == 409
    assert (f"Направление ServiceRequest/{referral} уже исполнено: направление используется только один раз"
            in twice.text)  # fmt: skip


def test_pages_need_a_login(client: TestClient, city: City) -> None:
    for path in ("/referrals/sent", "/referrals/incoming", f"/referrals/new?patient={city.patient}"):
        assert client.get(path, follow_redirects=False).headers["location"].startswith("/login?next=")
