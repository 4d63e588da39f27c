"""Bad input on the protocol: a clear refusal in Russian naming what is wrong, and nothing half-saved."""

from __future__ import annotations

import pytest

from tests.visits.conftest import Clinic
from tests.visits.test_signing import sign
from tests.web_login import csrf_of


def assert_nothing_written(clinic: Clinic, encounter: str) -> None:
    for rtype in ("Condition", "Observation", "Composition", "QuestionnaireResponse"):
        assert clinic.resources(rtype) == [], rtype
    [visit] = [e for e in clinic.resources("Encounter") if e["id"] == encounter]
    assert visit["status"] == "in-progress" and visit["meta"]["versionId"] == "1"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"diagnosis": "J00-J06"}, "diagnosis", "не диагноз"),
        ({"diagnosis": "XYZ"}, "diagnosis", "не код МКБ-10"),
        ({"diagnosis": ""}, "diagnosis", "Выберите диагноз"),
        ({"systolic": "500", "diastolic": "20"}, "systolic", "Систолическое"),
        ({"height": "500"}, "height", "Рост"),
        ({"spo2": "120"}, "spo2", "SpO₂"),
        ({"pulse": "много"}, "pulse", "Пульс"),
        ({"systolic": "80", "diastolic": "120"}, "systolic", "выше диастолического"),
        ({"complaints": ""}, "complaints", "жалобы"),
    ],
)
def test_a_bad_protocol_is_refused_and_nothing_is_saved(
    doctor: Clinic, changes: dict[str, str], field: str, words: str
) -> None:
    encounter = doctor.visit()
    refused = sign(doctor, encounter, **changes)
    assert refused.status_code == 422
    assert f'data-field="{field}"' in refused.text
    assert words in refused.text
    assert_nothing_written(doctor, encounter)


def test_unusual_vitals_are_signed_only_after_confirmation(doctor: Clinic) -> None:
    encounter = doctor.visit()
    warned = sign(doctor, encounter, systolic="210", diastolic="85")
    assert warned.status_code == 200
    assert "необычное значение" in warned.text
    assert 'value="210"' in warned.text  # what was typed is kept
    assert_nothing_written(doctor, encounter)
    assert sign(doctor, encounter, systolic="210", diastolic="85", confirm="yes").status_code == 303


def test_another_doctor_cannot_sign_the_visit(doctor: Clinic) -> None:
    from tests.web_login import log_in

    encounter = doctor.visit()
    log_in(doctor.client, "dr.other")
    refused = sign(doctor, encounter)
    assert refused.status_code in (403, 404)  # 404 when the policy hides the patient outside the care relationship
    assert_nothing_written(doctor, encounter)


def test_no_visit_for_a_patient_outside_the_care_relationship(doctor: Clinic) -> None:
    refused = doctor.post(f"/doctor/walk-in/{doctor.stranger}", {}, headers={"Accept-Language": "ru"})
    assert refused.status_code == 403
    assert "не прикреплён" in refused.text
    with doctor.store.reader() as tx:
        found = tx.search("Encounter", [("patient", f"Patient/{doctor.stranger}")]).matches
    assert found == []
    # An attached patient who came without an appointment: the doctor starts the visit from the chart.
    chart = doctor.client.get(f"/chart/{doctor.patient}", headers={"Accept-Language": "ru"}).text
    assert f'action="/doctor/walk-in/{doctor.patient}"' in chart and "Начать приём без записи" in chart
    attached = doctor.client.post(f"/doctor/walk-in/{doctor.patient}", data={"csrf_token": csrf_of(chart)},
                                  follow_redirects=False)  # fmt: skip
    assert attached.status_code == 303 and attached.headers["location"].startswith("/doctor/visits/")


def test_an_appointment_with_another_doctor_is_not_opened(doctor: Clinic) -> None:
    from tests.web_login import log_in

    log_in(doctor.client, "dr.other")
    refused = doctor.post(f"/doctor/queue/{doctor.appointment}/visit", {}, headers={"Accept-Language": "ru"})
    assert refused.status_code == 403
    assert doctor.resources("Encounter")[0]["class"]["code"] == "IMP"  # only the old hospital stay
