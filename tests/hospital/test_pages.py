"""The hospital pages end to end over HTTP: the hospital admits a referred patient from its worklist into a bed,
sees the ward, transfers, refuses a discharge without a diagnosis, discharges with a summary; the polyclinic sees
it on its follow-up worklist and marks it seen."""

from __future__ import annotations

import random
import re
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from medcity.auth.users import Role
from medcity.registry.catalogue import organization_types
from medcity.registry.identifiers import OMS_SYSTEM, generate_oms, identifier
from medcity.store.repository import Store
from tests.referrals.city import City, build_city, refer_to_hospital
from tests.web_login import add_web_user, csrf_of, log_in


@pytest.fixture
def city(client: TestClient) -> City:
    app: Any = client.app
    built = build_city(app.state.store)
    add_web_user(client, "dr.poly", Role.DOCTOR, practitioner=built.doctor, organization=built.polyclinic)
    add_web_user(client, "dr.hosp", Role.DOCTOR, practitioner=built.surgeon, organization=built.hospital)
    return built


def admit_from_referral(client: TestClient, city: City) -> str:
    app: Any = client.app
    referral = refer_to_hospital(app.state.store, city)
    log_in(client, "dr.hosp")
    page = client.get(f"/hospital/admit?referral={referral}").text
    assert "Петрова Анна" in page and f"DiagnosticReport/{city.report}" in page
    admitted = client.post("/hospital/admit", data={"csrf_token": csrf_of(page), "referral": referral,
                                                    "bed": city.beds[0]}, follow_redirects=False)  # fmt: skip
    assert admitted.status_code == 303, admitted.text
    return str(admitted.headers["location"]).split("done=")[1]


def test_admit_transfer_and_discharge_back_to_the_polyclinic(client: TestClient, city: City) -> None:
    stay = admit_from_referral(client, city)
    ward = client.get("/hospital/ward").text
    assert re.search(rf'data-bed="{city.beds[0]}" data-state="occupied"', ward) and "Петрова Анна" in ward
    moved = client.post(f"/hospital/stays/{stay}/transfer", data={"csrf_token": csrf_of(ward), "bed": city.beds[1]},
                        follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303
    assert f'data-bed="{city.beds[1]}" data-state="occupied"' in client.get("/hospital/ward").text
    form = client.get(f"/hospital/stays/{stay}/discharge").text
    empty = client.post(f"/hospital/stays/{stay}/discharge", data={"csrf_token": csrf_of(form), "diagnoses": ""},
                        headers={"Accept-Language": "en"})  # fmt: skip
    assert empty.status_code == 422 and "diagnosis" in empty.text
    signed = client.post(
        f"/hospital/stays/{stay}/discharge",
        data={"csrf_token": csrf_of(form), "diagnoses": "K40.9", "procedures": "Герниопластика",
              "recommendations": "Осмотр хирурга через 7 дней"},
        follow_redirects=False,
    )  # fmt: skip
    assert signed.status_code == 303, signed.text
    assert 'data-state="occupied"' not in client.get("/hospital/ward").text
    log_in(client, "dr.poly")
    worklist = client.get("/followup").text
    assert "Петрова Анна" in worklist and "Осмотр хирурга через 7 дней" in worklist and 'data-seen="no"' in worklist
    summary = re.search(r'data-summary="([^"]+)"', worklist)
    assert summary is not None
    client.post(f"/followup/{summary.group(1)}/seen", data={"csrf_token": csrf_of(worklist)})
    assert 'data-seen="yes"' in client.get("/followup").text


def test_an_emergency_admission_finds_the_patient_by_policy_and_opens_their_record(
    client: TestClient, city: City
) -> None:
    """The patient brought in is attached elsewhere (outside the hospital's care): the doctor names them by ОМС
    policy number and birth date, and the admission opens their record as a break-glass would, shown to them."""
    store: Store = client.app.state.store  # type: ignore[attr-defined]
    oms = generate_oms(random.Random(5))
    with store.transaction() as tx:
        brought_in = tx.read("Patient", city.other_patient).resource
        tx.update({**brought_in, "birthDate": "1960-04-02", "identifier": [identifier(OMS_SYSTEM, oms)]})
    log_in(client, "dr.hosp")
    form = client.get("/hospital/admit").text
    fields = {"csrf_token": csrf_of(form), "oms": oms, "bed": city.beds[0], "reason": "I21.0"}
    wrong = client.post("/hospital/admit", data={**fields, "birth_date": "1960-04-03"})
    assert wrong.status_code == 422 and "Пациента с таким номером полиса и датой рождения нет." in wrong.text
    with store.reader() as tx:
        assert not tx.search("Encounter", [("subject", f"Patient/{city.other_patient}")]).matches
    admitted = client.post("/hospital/admit", data={**fields, "birth_date": "1960-04-02"}, follow_redirects=False)
    assert admitted.status_code == 303, admitted.text
    assert "Сидорова Анна" in client.get("/hospital/ward").text
    with store.reader() as tx:
        stay = tx.search("Encounter", [("subject", f"Patient/{city.other_patient}")]).matches
        opened = tx.search("AuditEvent", [("patient", city.other_patient)]).matches
    assert [s.resource["hospitalization"]["admitSource"]["coding"][0]["code"] for s in stay] == ["emd"]
    assert [e.resource["entity"][0]["description"] for e in opened] == ["Экстренная госпитализация: I21.0"]


def test_an_occupied_bed_is_refused_on_the_form(client: TestClient, city: City) -> None:
    admit_from_referral(client, city)
    app: Any = client.app
    second = refer_to_hospital(app.state.store, city)
    page = client.get(f"/hospital/admit?referral={second}").text
    refused = client.post("/hospital/admit", data={"csrf_token": csrf_of(page), "referral": second,
                                                   "bed": city.beds[0]}, headers={"Accept-Language": "en"})  # fmt: skip
    assert refused.status_code == 409
    assert "occupied" in refused.text


def test_staff_of_no_organisation_are_refused(client: TestClient, city: City) -> None:
    add_web_user(client, "dr.none", Role.DOCTOR)
    log_in(client, "dr.none")
    assert client.get("/hospital/ward").status_code == 403


def test_refusals_are_said_in_the_readers_language(client: TestClient, city: City) -> None:
    """The rules are worded in English for the FHIR face; a Russian reader of the page gets them in Russian."""
    stay = admit_from_referral(client, city)
    form = client.get(f"/hospital/stays/{stay}/discharge").text
    empty = client.post(f"/hospital/stays/{stay}/discharge", data={"csrf_token": csrf_of(form), "diagnoses": ""},
                        headers={"Accept-Language": "ru"})  # fmt: skip
    assert empty.status_code == 422
    assert "Для выписки укажите хотя бы один диагноз (код МКБ-10)" in empty.text
    assert "needs at least one diagnosis" not in empty.text
    app: Any = client.app
    second = refer_to_hospital(app.state.store, city)
    page = client.get(f"/hospital/admit?referral={second}").text
    fields = {"csrf_token": csrf_of(page), "referral": second, "bed": city.beds[0]}
    occupied = client.post("/hospital/admit", data=fields, headers={"Accept-Language": "ru"})
    assert occupied.status_code == 409 and f"Койка Location/{city.beds[0]} занята" in occupied.text
    assert "is occupied" not in occupied.text


def test_a_hospitals_doctor_lands_on_the_ward_a_polyclinics_on_the_day_list(client: TestClient, city: City) -> None:
    store: Store = cast(Any, client.app).state.store
    with store.transaction() as tx:  # the city's hospital, as the registry records its kind
        data = tx.read("Organization", city.hospital).resource
        tx.update({**data, "type": organization_types("hospital", "public")})
    add_web_user(client, "nurse.hosp", Role.NURSE, organization=city.hospital)
    assert log_in(client, "dr.hosp") == "/hospital/ward"
    assert log_in(client, "nurse.hosp") == "/hospital/ward"
    assert log_in(client, "dr.poly") == "/doctor"  # a polyclinic's doctor: their day
    assert log_in(client, "dr.hosp", next_path="/referrals/incoming") == "/referrals/incoming"  # asked for: kept
