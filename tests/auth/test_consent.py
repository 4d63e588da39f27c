"""A patient restricts sensitive categories: such Conditions are then seen only by the organisation that wrote them
(and by break-glass), in searches as in reads."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from medcity.auth.consent import categories_of, consent_resource
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
    assert categories_of("F00-F99, b20-b24") == ("F00-F99", "B20-B24")
    with pytest.raises(ValueError, match="ICD-10 range"):
        categories_of("F00-G99")
    with pytest.raises(InvalidRequest):
        consent_resource("p1", ["Z00-Z99"], RANGES, day(0))


@pytest.fixture
def visits(world: World, engine: object, region: str) -> dict[str, str]:
    """The attached patient's records around two diagnoses written elsewhere (a psychiatric visit, a cold) and one
    written by the doctor's own polyclinic, with what each visit wrote, an order and a discharge summary."""
    store = Store(engine, region)  # type: ignore[arg-type]
    patient = world.patients["attached"]
    subject = ref("Patient", patient)

    def visit(provider: str, code: str) -> dict[str, str]:
        encounter = store.create({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                                  "subject": subject, "period": {"start": day(-5)},
                                  "serviceProvider": ref("Organization", provider)}).id  # fmt: skip
        at = ref("Encounter", encounter)
        diagnosis = store.create(condition(patient, code, encounter=at)).id
        vital = store.create({"resourceType": "Observation", "status": "final", "code": {"text": "Пульс"},
                              "subject": subject, "encounter": at, "valueQuantity": {"value": 72}}).id  # fmt: skip
        protocol = store.create({"resourceType": "Composition", "status": "final", "type": {"text": "Осмотр"},
                                 "subject": subject, "encounter": at, "date": day(-5), "title": "Протокол осмотра",
                                 "author": [ref("Organization", provider)]}).id  # fmt: skip
        return {"encounter": encounter, "condition": diagnosis, "vital": vital, "protocol": protocol}

    psychiatric, cold = visit(world.other_clinic, "F20.0"), visit(world.other_clinic, "J06.9")
    own = visit(world.polyclinic, "F32.1")
    order = store.create({"resourceType": "ServiceRequest", "status": "active", "intent": "order", "subject": subject,
                          "code": {"text": "Консультация психиатра"},
                          "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F20.0"}]}],
                          "requester": ref("Organization", world.other_clinic),
                          "encounter": ref("Encounter", psychiatric["encounter"])}).id  # fmt: skip
    f20 = {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "F20.0"}]}
    elsewhere = ref("Organization", world.other_clinic)
    # Written without a visit: what tells of the diagnosis is the order's or prescription's reason, or a report's
    # conclusion.
    unlinked = {
        "psy_order_reason": {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                             "subject": subject, "code": {"text": "Консультация психиатра"}, "reasonCode": [f20],
                             "requester": elsewhere},
        "psy_order_reference": {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                                "subject": subject, "code": {"text": "ЭЭГ"}, "requester": elsewhere,
                                "reasonReference": [ref("Condition", psychiatric["condition"])]},
        "psy_prescription": {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                             "subject": subject, "medicationCodeableConcept": {"text": "Рисперидон"},
                             "reasonCode": [f20], "requester": elsewhere},
        "psy_report": {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Заключение"},
                       "subject": subject, "conclusionCode": [f20], "performer": [elsewhere]},
    }  # fmt: skip
    unlinked_ids = {key: store.create(body).id for key, body in unlinked.items()}
    summary = store.create({"resourceType": "Composition", "status": "final", "type": {"text": "Выписной эпикриз"},
                            "subject": subject, "date": day(-3), "title": "Выписной эпикриз",
                            "author": [ref("Organization", world.other_clinic)],
                            "section": [{"title": "Диагнозы",
                                         "entry": [ref("Condition", psychiatric["condition"])]}]}).id  # fmt: skip
    return {**{f"psy_{k}": v for k, v in psychiatric.items()}, **{f"cold_{k}": v for k, v in cold.items()},
            **{f"own_{k}": v for k, v in own.items()}, "psy_order": order, "psy_summary": summary,
            **unlinked_ids}  # fmt: skip


def test_consent_hides_what_tells_of_the_diagnosis_not_only_the_condition(
    api: TestClient, world: World, who: Tokens, visits: dict[str, str]
) -> None:
    patient_id = world.patients["attached"]
    doctor = who.of("doctor")

    def seen() -> set[str]:
        everything = ids(api.get(f"/fhir/Patient/{patient_id}/$everything?_count=1000", headers=doctor).json())
        for rtype in (
            "Encounter",
            "Observation",
            "Composition",
            "ServiceRequest",
            "Condition",
            "MedicationRequest",
            "DiagnosticReport",
        ):
            found = ids(api.get(f"/fhir/{rtype}?patient={patient_id}&_count=100", headers=doctor).json())
            assert found <= everything, rtype  # searches and the whole-record read hide alike
        return everything & set(visits.values())

    assert seen() == set(visits.values())
    me = who("patient", "patient/*.rs patient/Consent.cru", patient=patient_id)
    assert api.post("/fhir/Consent", json=consent_resource(patient_id, ["F00-F99"], RANGES, day(0)),
                    headers=me).status_code == 201  # fmt: skip
    hidden = {key for key in visits if key.startswith("psy_")}
    leaked = seen() - {visits[key] for key in visits if key not in hidden}
    assert not leaked, [key for key in visits if visits[key] in leaked]
    for key in ("psy_encounter", "psy_vital", "psy_summary"):
        rtype = {"psy_encounter": "Encounter", "psy_vital": "Observation", "psy_summary": "Composition"}[key]
        assert api.get(f"/fhir/{rtype}/{visits[key]}", headers=doctor).status_code == 403
    # The patient sees all of it; the other clinic, which wrote it, does too; break-glass opens it.
    mine = ids(api.get(f"/fhir/Patient/{patient_id}/$everything?_count=1000", headers=me).json())
    assert set(visits.values()) <= mine
    other = who("doctor", organization=world.other_clinic, fhir_user=f"Practitioner/{world.doctor}-elsewhere")
    encounter = api.get(f"/fhir/Encounter/{visits['psy_encounter']}", headers=other)
    assert encounter.status_code == 200, encounter.text
    reason = {"X-Break-Glass-Reason": quote("Острое состояние, нужен полный анамнез")}
    assert api.get(f"/fhir/Encounter/{visits['psy_encounter']}", headers={**doctor, **reason}).status_code == 200
    assert seen() == set(visits.values())
