"""The doctor's day and opening a visit: the list of today's appointments with their queue status, an Encounter
started from one, and the protocol page with the patient's history from other institutions."""

from __future__ import annotations

from datetime import timedelta

from tests.visits.conftest import Clinic


def test_the_doctor_lands_on_the_day_list_with_todays_appointment(doctor: Clinic) -> None:
    page = doctor.client.get(f"/doctor?day={doctor.day.isoformat()}", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    assert "Иванова Мария" in page.text
    assert f'data-appointment="{doctor.appointment}"' in page.text
    assert 'data-status="booked"' in page.text
    assert "Начать приём" in page.text


def test_an_empty_day_points_to_the_next_day_with_appointments(doctor: Clinic) -> None:
    """A doctor whose day is empty (or over) is shown where their next patients are, and can step day by day."""
    before = doctor.day - timedelta(days=3)
    page = doctor.client.get(f"/doctor?day={before.isoformat()}", headers={"Accept-Language": "ru"}).text
    assert "На этот день записей нет" in page
    assert f'<a href="/doctor?day={doctor.day.isoformat()}" class="next-working-day">' in page
    assert f'href="/doctor?day={(before - timedelta(days=1)).isoformat()}" rel="prev"' in page
    assert f'href="/doctor?day={(before + timedelta(days=1)).isoformat()}" rel="next"' in page
    after = doctor.client.get(f"/doctor?day={(doctor.day + timedelta(days=1)).isoformat()}").text
    assert "next-working-day" not in after  # nothing booked after the appointment's day
    with doctor.store.transaction() as tx:  # a cancelled appointment is not where the next patients are
        data = tx.current("Appointment", doctor.appointment)
        assert data is not None
        tx.update({**data.resource, "status": "cancelled"})
    page = doctor.client.get(f"/doctor?day={before.isoformat()}").text
    assert "next-working-day" not in page


def test_opening_an_appointment_starts_one_encounter(doctor: Clinic) -> None:
    encounter = doctor.visit()
    assert doctor.visit() == encounter  # opening again returns to the same visit
    [data] = [e for e in doctor.resources("Encounter") if e["id"] == encounter]
    assert data["status"] == "in-progress"
    assert data["class"]["code"] == "AMB"
    assert data["serviceProvider"] == {"reference": f"Organization/{doctor.org}"}
    assert data["participant"][0]["individual"] == {"reference": f"Practitioner/{doctor.practitioner}"}
    assert data["appointment"] == [{"reference": f"Appointment/{doctor.appointment}"}]
    assert data["subject"] == {"reference": f"Patient/{doctor.patient}"}
    listed = doctor.client.get(f"/doctor?day={doctor.day.isoformat()}").text
    assert 'data-status="in-progress"' in listed
    assert f"/doctor/visits/{encounter}" in listed


def test_the_protocol_page_shows_the_patient_and_the_specialty_template(doctor: Clinic) -> None:
    encounter = doctor.visit()
    page = doctor.client.get(f"/doctor/visits/{encounter}", headers={"Accept-Language": "ru"})
    assert page.status_code == 200
    assert "Иванова Мария" in page.text
    assert "Дата рождения 04.03.1980" in page.text  # days as every page writes them
    assert "Городская больница № 5" in page.text  # history from another institution
    assert f"/chart/{doctor.patient}" in page.text
    # Ordering and referring start from the visit, for this patient and encounter.
    assert f"/orders/new?patient={doctor.patient}&amp;encounter={encounter}" in page.text
    assert f"/referrals/new?patient={doctor.patient}" in page.text
    # No appointment specialty → no default; a chosen template fills the examination text.
    templated = doctor.client.get(f"/doctor/visits/{encounter}?template=cardiologist").text
    assert "Тоны сердца ритмичные" in templated


def test_a_draft_is_kept_and_shown_again(doctor: Clinic) -> None:
    encounter = doctor.visit()
    saved = doctor.post(f"/doctor/visits/{encounter}/protocol",
                        {"action": "draft", "complaints": "Головная боль", "systolic": "150",
                         "smoking": "ex"})  # fmt: skip
    assert saved.status_code == 303
    page = doctor.client.get(saved.headers["location"], headers={"Accept-Language": "ru"}).text
    assert "Головная боль" in page
    assert 'value="150"' in page
    assert '<option value="ex" selected>' in page
    assert "Черновик сохранён" in page
    [draft] = doctor.resources("QuestionnaireResponse")
    assert draft["status"] == "in-progress"


def test_suggestions_refresh_from_the_complaints(doctor: Clinic) -> None:
    encounter = doctor.visit()
    fragment = doctor.post(f"/doctor/visits/{encounter}/suggestions",
                           {"complaints": "кашель с мокротой, температура, насморк, боль в горле"})  # fmt: skip
    assert fragment.status_code == 200
    assert fragment.text.count('class="suggestion"') == 3
    assert 'name="suggestion_id" value="' in fragment.text
    empty = doctor.post(f"/doctor/visits/{encounter}/suggestions", {"complaints": "   "})
    assert 'class="suggestion"' not in empty.text


def test_the_catalogue_search_offers_rubrics_and_not_groups(doctor: Clinic) -> None:
    found = doctor.client.get("/doctor/icd", params={"q": "гипертензия", "visit": "e1"},
                              headers={"Accept-Language": "ru"})  # fmt: skip
    assert found.status_code == 200
    assert "I10" in found.text
    chosen = doctor.post("/doctor/visits/e1/diagnosis", {"choose": "i10"})
    assert 'value="I10"' in chosen.text


def test_a_nurse_sees_the_organisations_day(clinic: Clinic) -> None:
    from medcity.auth.users import Role
    from tests.web_login import add_web_user, log_in

    add_web_user(clinic.client, "nurse.n", Role.NURSE, organization=clinic.org)
    assert log_in(clinic.client, "nurse.n") == "/doctor"
    page = clinic.client.get(f"/doctor?day={clinic.day.isoformat()}").text
    assert "Иванова Мария" in page
    assert "Начать приём" not in page  # a nurse without a practitioner record does not write protocols
