"""The doctor's risk pages: the chart's panel shows SCORE2 from a signed visit's smoking status and pressure and
the laboratory's lipids; the risk page shows where each input came from, what is missing and what to order, and
records FINDRISC's questions; another polyclinic's doctor sees and writes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from medcity.auth.tables import audit_log
from medcity.auth.users import Role
from medcity.risk import scores, views
from medcity.visits.service import patient_age
from tests.risk.record import result
from tests.visits.conftest import GOOD_PROTOCOL, Clinic
from tests.web_login import add_web_user, csrf_of, log_in

RU = {"Accept-Language": "ru"}


def signed_smoker_with_lipids(doctor: Clinic) -> dict[str, str]:
    encounter = doctor.visit()
    signed = doctor.post(f"/doctor/visits/{encounter}/protocol",
                         {**GOOD_PROTOCOL, "action": "sign", "smoking": "current"}, headers=RU)  # fmt: skip
    assert signed.status_code == 303, signed.text
    return {
        "cholesterol": doctor.store.create(result(doctor.patient, "14647-2", 6.3, "mmol/L", days_ago=10)).id,
        "hdl": doctor.store.create(result(doctor.patient, "14646-4", 1.4, "mmol/L", days_ago=10)).id,
    }


def age_of(doctor: Clinic) -> int:
    with doctor.store.reader() as tx:
        age = patient_age(tx.read("Patient", doctor.patient).resource)
    assert age is not None
    return age


def expected_score2(doctor: Clinic) -> float:
    """The visit's 124 mm Hg and smoker, the lipids, in Russia's very high risk region."""
    inputs = scores.Inputs(sex="female", age=age_of(doctor), smoker=True, systolic=124, total_cholesterol=6.3,
                           hdl=1.4, diabetes=False)  # fmt: skip
    return scores.score2(inputs, "very_high").probability or 0.0


def test_the_chart_shows_score2_from_the_signed_visit_and_the_lipids(doctor: Clinic) -> None:
    signed_smoker_with_lipids(doctor)
    page = doctor.client.get(f"/chart/{doctor.patient}", headers=RU)
    assert page.status_code == 200
    figure = views.percent(expected_score2(doctor), "ru")
    panel = page.text.split('id="risk"')[1].split("</section>")[0]
    assert figure in panel and "," in figure  # the Russian decimal comma
    category = scores.score2_category(age_of(doctor), expected_score2(doctor))
    assert f'data-category="{category}"' in panel
    # FINDRISC waits for the waist and the questions; the panel says what is missing and what to do.
    assert 'data-input="waist"' in panel and "Окружность талии" in panel
    english = doctor.client.get(f"/chart/{doctor.patient}", headers={"Accept-Language": "en"}).text
    assert views.percent(expected_score2(doctor), "en") in english and "Risk" in english


def test_the_risk_page_names_sources_and_records_the_questions(doctor: Clinic) -> None:
    written = signed_smoker_with_lipids(doctor)
    page = doctor.client.get(f"/risk/{doctor.patient}", headers=RU)
    assert page.status_code == 200
    assert f"Observation/{written['hdl']}" in page.text and f"Observation/{written['cholesterol']}" in page.text
    assert "курит" in page.text
    token = csrf_of(page.text)
    refused = doctor.client.post(f"/risk/{doctor.patient}/findrisc", headers=RU, follow_redirects=False,
                                 data={"csrf_token": token, "activity": "maybe", "vegetables": "yes",
                                       "family_history": "none"})  # fmt: skip
    assert refused.status_code == 400 and 'role="alert"' in refused.text
    answered = doctor.client.post(f"/risk/{doctor.patient}/findrisc", follow_redirects=False,
                                  data={"csrf_token": token, "activity": "no", "vegetables": "yes",
                                        "family_history": "first_degree"})  # fmt: skip
    assert answered.status_code == 303
    [kept] = doctor.resources("QuestionnaireResponse", [("subject", f"Patient/{doctor.patient}"),
                                                        ("status", "completed")])  # fmt: skip
    assert kept["author"] == {"reference": f"Practitioner/{doctor.practitioner}"}
    again = doctor.client.get(f"/risk/{doctor.patient}", headers=RU).text
    # age 45-54: 2 (born 1980), BMI 24.2: 0, no activity: 2, vegetables: 0, no pressure medicine: 0, a parent: 5
    expected = scores.findrisc_points(scores.Inputs(age=age_of(doctor)))["age"] + 0 + 2 + 0 + 0 + 5
    assert f'id="findrisc-total">{expected}<' in again
    app: Any = doctor.client.app
    with app.state.engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.resource_type, audit_log.c.patient)
                            .where(audit_log.c.partition == doctor.store.region,
                                   audit_log.c.username == "dr.t")).all()  # fmt: skip
    assert ("create", "QuestionnaireResponse", doctor.patient) in [tuple(r) for r in rows]


def test_another_polyclinics_doctor_sees_and_writes_nothing(clinic: Clinic) -> None:
    assert log_in(clinic.client, "dr.other") == "/doctor"
    # Refused as the chart is: outside their care (403, the break-glass offered).
    chart = clinic.client.get(f"/chart/{clinic.patient}").status_code
    assert chart == 403 and clinic.client.get(f"/risk/{clinic.patient}").status_code == chart
    token = csrf_of(clinic.client.get("/doctor").text)
    refused = clinic.client.post(f"/risk/{clinic.patient}/findrisc", follow_redirects=False,
                                 data={"csrf_token": token, "activity": "no", "vegetables": "no",
                                       "family_history": "none"})  # fmt: skip
    assert refused.status_code == chart
    assert not clinic.resources("QuestionnaireResponse")
    answers = {"activity": "no", "vegetables": "no", "family_history": "none"}
    without_token = clinic.client.post(f"/risk/{clinic.patient}/findrisc", follow_redirects=False, data=answers)
    assert without_token.status_code == 403


def test_the_panel_says_what_is_out_of_date_and_what_to_order(doctor: Clinic) -> None:
    old = doctor.store.create(result(doctor.patient, "14647-2", 5.1, "mmol/L", days_ago=3 * 365)).id
    page = doctor.client.get(f"/chart/{doctor.patient}", headers=RU).text
    stale = page.split('id="risk-stale"')[1].split("</ul>")[0]
    assert 'data-input="total_cholesterol"' in stale and "Назначить: Липидный профиль" in stale
    missing = page.split('id="risk-missing"')[1].split("</ul>")[0]
    assert 'data-input="hdl"' in missing and "Назначить: Липидный профиль" in missing
    assert 'data-input="systolic"' in missing and "Измерить или спросить на следующем приёме" in missing
    details = doctor.client.get(f"/risk/{doctor.patient}", headers=RU).text
    row = details.split('<tr data-input="total_cholesterol"')[1].split("</tr>")[0]
    assert f"Observation/{old}" in row and "старше 2 лет" in row and "3 года назад" in row


def test_the_patient_reads_their_own_score2_in_plain_words(doctor: Clinic) -> None:
    portal = f"/portal/{doctor.patient}"
    add_web_user(doctor.client, "maria", Role.PATIENT, patient=doctor.patient)
    signed_smoker_with_lipids(doctor)
    doctor.client.cookies.clear()
    assert log_in(doctor.client, "maria") == "/portal"
    page = doctor.client.get(portal, headers=RU).text
    section = page.split('id="my-risk"')[1].split("</section>")[0]
    assert views.percent(expected_score2(doctor), "ru") in section and "инфаркта или инсульта" in section
    # Without the lipids the figure is not there, and nothing is said in its place.
    doctor.client.cookies.clear()
    add_web_user(doctor.client, "petrova", Role.PATIENT, patient=doctor.stranger)
    log_in(doctor.client, "petrova")
    assert 'id="my-risk"' not in doctor.client.get(f"/portal/{doctor.stranger}", headers=RU).text
