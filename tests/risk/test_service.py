"""The inputs as the record holds them: the latest value wins, an old one is flagged stale, a missing one is
named, diabetes and blood-pressure medicines come from the diagnoses and prescriptions, smoking from a signed
visit; and the scores computed from them in the region's risk region."""

from __future__ import annotations

from medcity.risk import scores, service
from medcity.store.repository import Store
from tests.risk.record import TODAY, full_record, patient, pressure, ref, result, smoking


def assess(store: Store, pid: str) -> service.Assessment:
    with store.reader() as tx:
        return service.assess(tx, patient=tx.read("Patient", pid), restrict=None, region="77", today=TODAY)


def test_the_latest_values_make_score2_in_the_very_high_risk_region(store: Store) -> None:
    written = full_record(store, age=50)
    assessment = assess(store, written["patient"])
    found = assessment.findings
    assert found["systolic"].value == 140.0  # the newer panel, not the older and higher one
    assert found["systolic"].source and found["systolic"].source.reference == f"Observation/{written['pressure']}"
    assert 29 <= (found["systolic"].source.age_days or 0) <= 31
    assert found["total_cholesterol"].value == 6.3 and found["hdl"].value == 1.4 and found["smoker"].value is True
    assert found["diabetes"].value is False and found["bp_treated"].value is False
    assert assessment.risk_region == "very_high"
    # the supplement's worked example (a man of 50), very high risk region
    assert round(assessment.score2.probability or 0, 4) == 0.1506 and assessment.score2.category == "very-high"
    assert set(assessment.basis(assessment.score2)) == {
        f"Patient/{written['patient']}", f"Observation/{written['pressure']}",
        f"Observation/{written['cholesterol']}", f"Observation/{written['hdl']}", f"Observation/{written['smoking']}",
    }  # fmt: skip
    assert assessment.framingham.computed and not assessment.stale


def test_a_missing_input_is_named_and_an_old_one_flagged(store: Store) -> None:
    pid = patient(store, gender="female", age=60)
    store.create(pressure(pid, 150, 90, days_ago=3 * 365))
    store.create(result(pid, "14647-2", 5.0, "mmol/L", days_ago=10))
    assessment = assess(store, pid)
    assert assessment.score2.missing == ("smoker", "hdl") and assessment.score2.probability is None
    assert [f.name for f in assessment.stale] == ["systolic"]
    assert "hdl" in assessment.missing and "waist" in assessment.missing


def test_a_value_in_another_unit_is_not_taken_for_mmol(store: Store) -> None:
    pid = patient(store)
    store.create(result(pid, "14647-2", 5.0, "mmol/L", days_ago=100))
    store.create({**result(pid, "14647-2", 240, "mg/dL", days_ago=1), "status": "preliminary"})
    assert assess(store, pid).findings["total_cholesterol"].value == 5.0  # a preliminary result is not read


def test_diabetes_and_blood_pressure_medicines_come_from_the_record(store: Store) -> None:
    written = full_record(store)
    pid = written["patient"]
    icd10 = "http://hl7.org/fhir/sid/icd-10"
    active = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
    diabetes = store.create({"resourceType": "Condition", "clinicalStatus": active, "subject": ref("Patient", pid),
                             "code": {"coding": [{"system": icd10, "code": "E11.9"}]}}).id  # fmt: skip
    store.create({"resourceType": "Condition", "clinicalStatus": active, "subject": ref("Patient", pid),
                  "code": {"coding": [{"system": icd10, "code": "E78.0"}]}})  # fmt: skip
    amlodipine = {"coding": [{"system": "http://www.whocc.no/atc", "code": "C08CA01"}]}
    metformin = {"coding": [{"system": "http://www.whocc.no/atc", "code": "A10BA02"}]}
    for medicine, status in ((metformin, "active"), (amlodipine, "active")):
        store.create({"resourceType": "MedicationRequest", "status": status, "intent": "order",
                      "subject": ref("Patient", pid), "medicationCodeableConcept": medicine})  # fmt: skip
    assessment = assess(store, pid)
    assert assessment.findings["diabetes"].value is True
    assert assessment.findings["diabetes"].source and assessment.findings["diabetes"].source.reference == (
        f"Condition/{diabetes}"
    )
    assert assessment.findings["bp_treated"].value is True and assessment.findings["bp_medication_ever"].value is True
    assert assessment.findrisc.not_applicable  # screening is for diabetes not yet known
    assert assessment.score2.caveat and not assess(store, full_record(store)["patient"]).score2.caveat
    with_dm = assessment.score2.probability or 0
    assert with_dm > assess(store, full_record(store)["patient"]).score2.probability  # type: ignore[operator]


def test_smoking_the_latest_answer_counts(store: Store) -> None:
    written = full_record(store)
    store.create(smoking(written["patient"], "8517006", days_ago=1))  # quit since
    assessment = assess(store, written["patient"])
    assert assessment.findings["smoker"].value is False


def test_findrisc_from_the_record_and_the_answered_questions(store: Store) -> None:
    pid = patient(store, age=58)
    store.create(result(pid, "39156-5", 31.2, "kg/m2", days_ago=5))
    store.create(result(pid, "8280-0", 103, "cm", days_ago=5))
    store.create(result(pid, "14749-6", 6.8, "mmol/L", days_ago=400))  # above the 3.9–6.1 range
    store.create(result(pid, "14749-6", 5.0, "mmol/L", days_ago=5))
    partial = assess(store, pid)
    assert partial.findrisc.missing == ("activity", "vegetables", "family_history")
    assert partial.findings["high_glucose_ever"].value is True
    # age 3, BMI 3, waist 4, no blood-pressure medicine 0, high glucose 5
    assert partial.findrisc.points == 15 and not partial.findrisc.computed
    body = service.answers(patient=pid, author=ref("Patient", pid), activity=False, vegetables=True,
                           family_history="second_degree", when="2026-01-01T10:00:00Z")  # fmt: skip
    store.create(body)
    assessment = assess(store, pid)
    assert assessment.findrisc.computed and assessment.findrisc.points == 15 + 2 + 0 + 3
    assert assessment.findrisc.category == "high"
    assert assessment.findings["activity"].source is not None


def test_an_unknown_region_gets_the_default_and_moscow_is_very_high() -> None:
    assert service.risk_region("77") == "very_high" and service.risk_region("t00001") == "very_high"
    assert set(scores.RISK_REGIONS) >= {service.risk_region("78")}


def test_answers_the_form_does_not_take_do_not_count(store: Store) -> None:
    pid = patient(store, age=50)
    body = service.answers(patient=pid, author=None, activity=True, vegetables=True, family_history="none",
                           when="2026-01-01T10:00:00Z")  # fmt: skip
    body["item"] = [{"linkId": "activity", "answer": [{"valueInteger": 1}]},
                    {"linkId": "vegetables", "answer": [{"valueBoolean": False}]},
                    {"linkId": "family_history", "answer": [{"valueString": "aunt"}]}]  # fmt: skip
    store.create(body)
    found = assess(store, pid).findings
    assert found["activity"].value is None and found["family_history"].value is None
    assert found["vegetables"].value is False and found["vegetables"].source is not None


def test_a_refuted_diagnosis_and_a_cancelled_prescription_do_not_count(store: Store) -> None:
    pid = full_record(store)["patient"]
    active = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
    refuted = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                           "code": "refuted"}]}  # fmt: skip
    store.create({"resourceType": "Condition", "clinicalStatus": active, "verificationStatus": refuted,
                  "subject": ref("Patient", pid),
                  "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "E10.9"}]}})  # fmt: skip
    store.create({"resourceType": "MedicationRequest", "status": "cancelled", "intent": "order",
                  "subject": ref("Patient", pid),
                  "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc",
                                                            "code": "C09AA02"}]}})  # fmt: skip
    found = assess(store, pid).findings
    assert found["diabetes"].value is False
    assert found["bp_treated"].value is False and found["bp_medication_ever"].value is False
