"""Who gets the aggregate figures: `Condition/$morbidity`, `Appointment/$booking-situation` and
`Condition/$suggest-accuracy`, and their pages, answer analysts and the region's administrators (and other systems)
through the access policy, never the roles that work with patients; the answers name no patient; bad input is a
clear 4xx."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from medcity.auth.users import Role
from medcity.store.repository import Store
from tests.analytics.city import END, START, build
from tests.auth import world as city
from tests.auth.world import Tokens, World
from tests.scheduling.pages_city import login

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures
URL = "/fhir/Condition/$morbidity"
Client = Any


AGGREGATES = (URL, "/fhir/Appointment/$booking-situation", "/fhir/Condition/$suggest-accuracy")


def test_the_operations_are_for_analysts_and_name_no_patient(api: TestClient, world: World, who: Tokens) -> None:
    for url in AGGREGATES:
        for role in ("analyst", "admin", "system"):
            answer = api.get(url, headers=who.of(role))
            assert answer.status_code == 200, (url, role)
            assert answer.json()["resourceType"] == "Parameters"
            assert "Patient/" not in answer.text
        for role in ("doctor", "nurse", "registrar", "lab", "pharmacist", "patient"):
            refused = api.get(url, headers=who.of(role))
            assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome", (url, role)
    figures = api.get(URL, headers=who.of("analyst")).json()  # the last 28 days, where the world's records are
    assert "Patient/" not in str(figures)
    assert any(p["name"] == "population" and p["valueInteger"] >= len(world.patients) for p in figures["parameter"])


def test_bad_input_is_a_400_with_what_is_wrong(api: TestClient, world: World, who: Tokens) -> None:
    analyst = who.of("analyst")
    for asked, said in (({"start": "yesterday"}, "date"), ({"code": "J06.9"}, "rubric"),
                        ({"start": "2026-03-01", "end": "2026-02-01"}, "starts after"),
                        ({"start": "2020-01-01", "end": "2026-01-01"}, "at most a year")):  # fmt: skip
        refused = api.get(URL, params=asked, headers=analyst)
        assert refused.status_code == 400, asked
        assert said in refused.json()["issue"][0]["diagnostics"]
    # A doctor's own accuracy is not the region's figure; a period of no days is no period.
    by_doctor = api.get(AGGREGATES[2], params={"group-by": "specialty,practitioner"}, headers=analyst)
    assert by_doctor.status_code == 400 and "practitioner" in by_doctor.text
    assert api.get(AGGREGATES[1], params={"period-days": "0"}, headers=analyst).status_code == 400


def test_the_operation_reports_the_figures_with_suppressed_counts(api: TestClient, who: Tokens, world: World) -> None:
    build_store = api.app.state.store  # type: ignore[attr-defined]
    build(build_store)
    answer = api.post(URL, headers=who.of("analyst"), json={"resourceType": "Parameters", "parameter": [
        {"name": "start", "valueDate": START.isoformat()}, {"name": "end", "valueDate": END.isoformat()},
        {"name": "code", "valueCode": "I10"}, {"name": "displayLanguage", "valueCode": "en"}]}).json()  # fmt: skip
    rubrics = {p["part"][0]["valueCoding"]["code"]: {q["name"]: q for q in p["part"]}
               for p in answer["parameter"] if p["name"] == "rubric"}  # fmt: skip
    assert rubrics["J06"]["count"]["valueInteger"] == 11 and rubrics["J06"]["rising"]["valueBoolean"] is True
    assert "acute upper respiratory" in rubrics["J06"]["code"]["valueCoding"]["display"].lower()
    assert rubrics["I10"]["countSuppressed"]["valueBoolean"] is True and "count" not in rubrics["I10"]
    assert {"name": "diagnosedSuppressed", "valueBoolean": True} in answer["parameter"]


def test_the_page_shows_analysts_the_figures_in_russian(client: Client, store: Store) -> None:
    build(store)
    login(client, "doc", Role.DOCTOR, organization="pc1")
    assert client.get("/analytics/morbidity").status_code == 403
    login(client, "stat", Role.ANALYST)
    page = client.get("/analytics/morbidity", params={"start": START.isoformat(), "end": END.isoformat(),
                                                      "code": "J06"}, headers={"Accept-Language": "ru"})  # fmt: skip
    assert page.status_code == 200
    assert "Заболеваемость" in page.text and "растёт" in page.text
    assert 'data-code="J06"' in page.text and 'data-organization="pc2"' in page.text
    assert "Детская поликлиника № 2" in page.text and "1000,00" in page.text  # four of four boys
    assert "&lt;3" in page.text  # I10, and the patient without a polyclinic
    for name in ("w0", "b0", "u0"):
        assert f">{name}<" not in page.text and f"Patient/{name}" not in page.text
    wrong = client.get("/analytics/morbidity", params={"code": "ZZZ"}, headers={"Accept-Language": "ru"})
    assert wrong.status_code == 400 and "ZZZ" in wrong.text and 'role="alert"' in wrong.text
