"""Patient/$vaccination-forecast on the FHIR face, with real tokens: the treating doctor, the patient and a parent
get the ImmunizationRecommendation; another patient, a doctor outside their care and a pharmacist are refused;
every call and refusal is audited; bad input is an OperationOutcome, never a 500."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from medcity.auth import proxy
from medcity.auth.users import Role, add_user
from medcity.immunization.api import DUE_DATE, LATEST_DATE
from medcity.immunization.calendar import after
from medcity.kit.config import Settings
from medcity.store.repository import Store
from medcity.store.validate import validate
from tests.auth import world as city
from tests.auth.world import Tokens, World, audit_rows
from tests.bearer import bearer
from tests.immunization.history import given

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures
OPERATION = "operation:vaccination-forecast"


def make_child(store: Store, patient: str, months: int) -> date:
    """The attached patient made a child of `months` months, born on the 1st; their birth date."""
    today = datetime.now(UTC).date()
    total = today.year * 12 + today.month - 1 - months
    born = date(total // 12, total % 12 + 1, 1)
    with store.transaction() as tx:
        current = tx.read("Patient", patient).resource
        tx.update({**current, "birthDate": born.isoformat()})
    return born


def by_series(recommendation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert recommendation["resourceType"] == "ImmunizationRecommendation"
    return {r["series"]: r for r in recommendation["recommendation"]}


def criterion(item: dict[str, Any], code: dict[str, str]) -> str | None:
    return next((c["value"] for c in item.get("dateCriterion", []) if c["code"]["coding"][0] == code), None)


def test_the_treating_doctor_gets_the_forecast(api: TestClient, world: World, who: Tokens, engine: Engine,
                                               region: str) -> None:  # fmt: skip
    store = Store(engine, region)
    patient = world.patients["attached"]
    born = make_child(store, patient, 8)
    first = store.create(given("hepb-1", born, patient=patient, rid=None)).id
    answer = api.get(f"/fhir/Patient/{patient}/$vaccination-forecast", headers=who.of("doctor"))
    assert answer.status_code == 200, answer.text
    validate(answer.json())  # a valid R4 ImmunizationRecommendation
    found = by_series(answer.json())
    assert "hib" not in found  # risk groups are not forecast
    hepb = found["hepb"]
    assert hepb["forecastStatus"]["coding"][0]["code"] == "overdue" and hepb["doseNumberPositiveInt"] == 2
    assert hepb["vaccineCode"][0]["coding"][0]["code"] == "hepb-2"
    assert hepb["supportingImmunization"] == [{"reference": f"Immunization/{first}"}]
    assert criterion(hepb, DUE_DATE) == after(born, "1m").isoformat()
    assert criterion(hepb, LATEST_DATE) == after(born, "2m").isoformat()
    mmr = found["mmr"]  # 12 months: not yet
    assert (
        mmr["forecastStatus"]["coding"][0]["code"] == "due"
        and criterion(mmr, DUE_DATE) == after(born, "12m").isoformat()
    )
    rows = audit_rows(engine, region, "doctor-user")
    assert (OPERATION, "Patient", patient, patient, "allowed") in rows


def test_a_complete_series_says_so(api: TestClient, world: World, who: Tokens, engine: Engine, region: str) -> None:
    store = Store(engine, region)
    patient = world.patients["attached"]
    born = make_child(store, patient, 6)
    store.create(given("tb-1", born + timedelta(days=4), patient=patient))
    found = by_series(api.get(f"/fhir/Patient/{patient}/$vaccination-forecast", headers=who.of("nurse")).json())
    assert found["tb"]["forecastStatus"]["coding"][0]["code"] == "complete" and "dateCriterion" not in found["tb"]


def test_the_patient_and_a_parent_get_their_own_and_no_one_elses(
    api: TestClient, world: World, who: Tokens, settings: Settings, engine: Engine, region: str
) -> None:
    store = Store(engine, region)
    own, other = world.patients["attached"], world.patients["stranger"]
    make_child(store, own, 30)
    mine = api.get(f"/fhir/Patient/{own}/$vaccination-forecast", headers=who.of("patient"))
    assert mine.status_code == 200 and by_series(mine.json())["mmr"]["forecastStatus"]["coding"][0]["code"] == "overdue"
    refused = api.get(f"/fhir/Patient/{other}/$vaccination-forecast", headers=who.of("patient"))
    assert refused.status_code in (403, 404) and refused.json()["resourceType"] == "OperationOutcome"
    rows = audit_rows(engine, region, "patient-user")
    assert (OPERATION, "Patient", own, own, "allowed") in rows
    assert any(r[0] == OPERATION and r[2] == other and r[4] != "allowed" for r in rows)
    with store.transaction() as tx:
        parent = add_user(
            tx.conn, region=region, username="parent-user", role=Role.PROXY, password=None, now=datetime.now(UTC)
        )
        proxy.link(tx, proxy=parent, patient=own, now=datetime.now(UTC))
    as_parent = bearer(settings, "parent-user", "proxy", "patient/*.rs", patient=own)
    assert api.get(f"/fhir/Patient/{own}/$vaccination-forecast", headers=as_parent).status_code == 200
    assert api.get(f"/fhir/Patient/{other}/$vaccination-forecast", headers=as_parent).status_code in (403, 404)


def test_a_stranger_doctor_and_a_pharmacist_are_refused(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    stranger = world.patients["stranger"]
    refused = api.get(f"/fhir/Patient/{stranger}/$vaccination-forecast", headers=who.of("doctor"))
    assert refused.status_code in (403, 404) and refused.json()["resourceType"] == "OperationOutcome"
    assert any(
        r[0] == OPERATION and r[2] == stranger and r[4] != "allowed" for r in audit_rows(engine, region, "doctor-user")
    )
    attached = world.patients["attached"]
    for role in ("pharmacist", "analyst"):
        answer = api.get(f"/fhir/Patient/{attached}/$vaccination-forecast", headers=who.of(role))
        assert answer.status_code in (403, 404), (role, answer.text)
    assert any(
        r[0] == OPERATION and r[2] == attached and r[4] != "allowed"
        for r in audit_rows(engine, region, "pharmacist-user")
    )


def test_bad_input_is_an_operation_outcome(api: TestClient, world: World, who: Tokens, engine: Engine,
                                           region: str) -> None:  # fmt: skip
    doctor = who.of("doctor")
    cases = [
        ("/fhir/Patient/$vaccination-forecast", 400, doctor),
        ("/fhir/Patient/no-such-patient/$vaccination-forecast", 403, doctor),
        ("/fhir/Patient/no-such-patient/$vaccination-forecast", 404, who.of("admin")),
    ]
    for path, status, headers in cases:
        answer = api.get(path, headers=headers)
        assert answer.status_code == status, (path, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome"
    patient = world.patients["attached"]
    store = Store(engine, region)
    with store.transaction() as tx:
        current = tx.read("Patient", patient).resource
        tx.update({k: v for k, v in current.items() if k != "birthDate"})
    no_birth = api.get(f"/fhir/Patient/{patient}/$vaccination-forecast", headers=doctor)
    assert no_birth.status_code == 422 and "birth date" in no_birth.text
