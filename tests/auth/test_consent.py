"""A patient restricts sensitive categories: such Conditions are then seen only by the organisation that wrote them
(and by break-glass), in searches as in reads."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from medcity.auth.consent import categories_of, consent_resource, three_character_codes
from medcity.kit.errors import InvalidRequest
from medcity.store.repository import Store
from tests.auth import world as city
from tests.auth.world import Tokens, World, condition, day, ids, ref

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures
RANGES = ("F00-F99", "A50-A64")


@pytest.fixture
def conditions(world: World, engine: object, region: str) -> dict[str, str]:
    store = Store(engine, region)  # type: ignore[arg-type]
    patient = world.patients["attached"]

    def encounter(provider: str) -> str:
        return store.create({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                             "subject": ref("Patient", patient), "period": {"start": day(-5)},
                             "serviceProvider": ref("Organization", provider)}).id  # fmt: skip

    ours, theirs = encounter(world.polyclinic), encounter(world.other_clinic)
    return {
        "ours_f32": store.create(condition(patient, "F32.1", encounter=ref("Encounter", ours))).id,
        "theirs_f20": store.create(condition(patient, "F20", encounter=ref("Encounter", theirs))).id,
        "theirs_a51": store.create(condition(patient, "A51.0", encounter=ref("Encounter", theirs))).id,
        "theirs_j06": store.create(condition(patient, "J06.9", encounter=ref("Encounter", theirs))).id,
    }


def _conditions(api: TestClient, headers: dict[str, str]) -> tuple[set[str], int]:
    found = api.get("/fhir/Condition?_count=2", headers=headers).json()
    everything = api.get("/fhir/Condition?_count=100", headers=headers).json()
    return ids(everything), found["total"]


def test_consent_hides_sensitive_conditions_from_other_organisations(
    api: TestClient, world: World, who: Tokens, conditions: dict[str, str]
) -> None:
    patient_id = world.patients["attached"]
    doctor = who.of("doctor")
    assert _conditions(api, doctor) == (set(conditions.values()), 4)
    everything = api.get(f"/fhir/Patient/{patient_id}/$everything", headers=doctor).json()
    assert set(conditions.values()) <= ids(everything)
    me = who("patient", "patient/*.rs patient/Consent.cru", patient=patient_id)
    body = consent_resource(patient_id, list(RANGES), RANGES, day(0))
    created = api.post("/fhir/Consent", json=body, headers=me)
    assert created.status_code == 201, created.text
    visible = {conditions["ours_f32"], conditions["theirs_j06"]}
    assert _conditions(api, doctor) == (visible, 2)  # totals and pages agree: the rule is in SQL
    hidden = api.get(f"/fhir/Condition/{conditions['theirs_f20']}", headers=doctor)
    assert hidden.status_code == 403
    everything = api.get(f"/fhir/Patient/{patient_id}/$everything", headers=doctor).json()
    assert ids(everything) & set(conditions.values()) == visible  # a whole-record read hides the same
    # The patient sees all of their own; break-glass opens the rest to the doctor.
    assert _conditions(api, me)[0] == set(conditions.values())
    reason = {"X-Break-Glass-Reason": quote("Подбор терапии, нужен полный анамнез")}
    assert api.get(f"/fhir/Condition/{conditions['theirs_f20']}", headers={**doctor, **reason}).status_code == 200
    assert _conditions(api, doctor) == (set(conditions.values()), 4)


def test_withdrawn_consent_and_who_may_write_one(
    api: TestClient, world: World, who: Tokens, conditions: dict[str, str]
) -> None:
    patient_id = world.patients["attached"]
    me = who("patient", "patient/*.rs patient/Consent.cru", patient=patient_id)
    consent = api.post("/fhir/Consent", json=consent_resource(patient_id, ["F00-F99"], RANGES, day(0)), headers=me)
    assert len(_conditions(api, who.of("doctor"))[0]) == 3
    withdrawn = {**consent_resource(patient_id, [], RANGES, day(0)), "id": consent.json()["id"]}
    assert api.put(f"/fhir/Consent/{withdrawn['id']}", json=withdrawn, headers=me).status_code == 200
    assert len(_conditions(api, who.of("doctor"))[0]) == 4
    # Only the patient writes their consent: not the doctor, not another patient.
    assert api.post("/fhir/Consent", json=withdrawn, headers=who.of("doctor")).status_code == 403
    stranger = who("patient", "patient/*.rs patient/Consent.cru", patient=world.patients["stranger"])
    assert api.put(f"/fhir/Consent/{withdrawn['id']}", json=withdrawn, headers=stranger).status_code == 403


def test_categories_are_checked_ranges() -> None:
    assert three_character_codes("A50-A64")[:2] == ["A50", "A51"] and len(three_character_codes("F00-F99")) == 100
    assert categories_of("F00-F99, b20-b24") == ("F00-F99", "B20-B24")
    with pytest.raises(ValueError, match="ICD-10 range"):
        categories_of("F00-G99")
    with pytest.raises(InvalidRequest):
        consent_resource("p1", ["Z00-Z99"], RANGES, day(0))
