"""The vaccination pages: a nurse or doctor records a dose on the calendar page in Russian or English and it is
done; a bad form says what is wrong in the user's language and writes nothing; the chart shows the overdue doses,
the portal the next vaccination in plain words; the worklist shows only the polyclinic's own children."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from medcity.auth.users import Role
from medcity.immunization.calendar import after, calendar
from tests.immunization.history import given
from tests.visits.conftest import Clinic
from tests.web_login import add_web_user, csrf_of, log_in

RU = {"Accept-Language": "ru"}
EN = {"Accept-Language": "en"}


def months_ago(months: int) -> date:
    today = datetime.now(UTC).date()
    total = today.year * 12 + today.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


def child(clinic: Clinic, family: str, born: date, org: str | None = None) -> str:
    attached = {"reference": f"Organization/{org or clinic.org}"}
    name = [{"family": family, "given": ["Миша"]}]
    body = {"resourceType": "Patient", "name": name, "gender": "male", "birthDate": born.isoformat()}
    return clinic.store.create({**body, "managingOrganization": attached}).id


def dose_row(html: str, code: str) -> str:
    return html.split(f'<tr data-dose="{code}"')[1].split("</tr>")[0]


def vaccinations(clinic: Clinic, patient: str) -> list[dict[str, Any]]:
    with clinic.store.reader() as tx:
        return [s.resource for s in tx.search("Immunization", [("patient", f"Patient/{patient}")]).matches]


def test_recording_a_due_dose_in_either_language_makes_it_done(doctor: Clinic) -> None:
    kid = child(doctor, "Прививкин", months_ago(12))  # born on the 1st: measles-mumps-rubella due this month
    page = doctor.client.get(f"/immunization/{kid}", headers=RU)
    assert page.status_code == 200
    assert 'data-state="due"' in dose_row(page.text, "mmr-1") and "пора сделать" in dose_row(page.text, "mmr-1")
    today = datetime.now(UTC).date()
    sent = doctor.client.post(f"/immunization/{kid}", headers=RU, follow_redirects=False,
                              data={"csrf_token": csrf_of(page.text), "dose": "mmr-1", "day": today.isoformat(),
                                    "lot": "К-123", "site": "LT"})  # fmt: skip
    assert sent.status_code == 303, sent.text
    [written] = vaccinations(doctor, kid)
    assert written["vaccineCode"]["coding"][0]["code"] == "mmr-1" and written["lotNumber"] == "К-123"
    assert written["performer"] == [{"actor": {"reference": f"PractitionerRole/{doctor.role}"}}]
    assert written["occurrenceDateTime"] == today.isoformat() and written["recorded"]
    shown = doctor.client.get(sent.headers["location"], headers=RU).text
    assert "Прививка внесена." in shown
    row = dose_row(shown, "mmr-1")
    assert 'data-state="done"' in row and today.strftime("%d.%m.%Y") in row and "сделана" in row
    english = doctor.client.get(f"/immunization/{kid}", headers=EN)
    sent = doctor.client.post(f"/immunization/{kid}", headers=EN, follow_redirects=False,
                              data={"csrf_token": csrf_of(english.text), "dose": "pcv-rv", "day": today.isoformat(),
                                    "lot": "P-9"})  # fmt: skip
    assert sent.status_code == 303
    assert len(vaccinations(doctor, kid)) == 2
    assert "The vaccination is recorded." in doctor.client.get(sent.headers["location"], headers=EN).text


def test_a_medical_exemption_is_recorded_and_shown_with_the_dose(doctor: Clinic) -> None:
    kid = child(doctor, "Медотводов", months_ago(12))
    token = csrf_of(doctor.client.get(f"/immunization/{kid}").text)
    today = datetime.now(UTC).date()
    sent = doctor.client.post(f"/immunization/{kid}", headers=RU, follow_redirects=False,
                              data={"csrf_token": token, "dose": "mmr-1", "day": today.isoformat(),
                                    "outcome": "MEDPREC"})  # fmt: skip
    assert sent.status_code == 303, sent.text
    [written] = vaccinations(doctor, kid)
    assert written["status"] == "not-done" and written["statusReason"]["coding"][0]["code"] == "MEDPREC"
    row = dose_row(doctor.client.get(f"/immunization/{kid}", headers=RU).text, "mmr-1")
    assert 'data-state="due"' in row and f"медотвод ({today.strftime('%d.%m.%Y')})" in row


def test_a_bad_form_is_told_in_the_users_language_and_writes_nothing(doctor: Clinic) -> None:
    kid = child(doctor, "Ошибкин", months_ago(5))
    token = csrf_of(doctor.client.get(f"/immunization/{kid}").text)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    cases = [
        ({"dose": "mmr-1", "day": tomorrow, "lot": "A1"}, RU, "Дата прививки — в будущем"),
        ({"dose": "mmr-1", "day": "вчера", "lot": "A1"}, EN, "Enter the vaccination date as a date"),
        ({"dose": "nope", "day": "2026-01-01", "lot": "A1"}, RU, "Выберите прививку из календаря"),
        ({"dose": "mmr-1", "day": "2000-01-01", "lot": "A1"}, EN, "before the patient was born"),
        ({"dose": "mmr-1", "day": datetime.now(UTC).date().isoformat(), "lot": ""}, RU, "номер серии"),
    ]
    for data, headers, said in cases:
        answer = doctor.client.post(f"/immunization/{kid}", headers=headers, data={"csrf_token": token, **data})
        assert answer.status_code == 400 and 'role="alert"' in answer.text and said in answer.text, (data, said)
    assert not vaccinations(doctor, kid)
    no_token = doctor.client.post(f"/immunization/{kid}", data={"dose": "mmr-1", "day": "2026-01-01", "lot": "A"})
    assert no_token.status_code == 403 and not vaccinations(doctor, kid)


FIRST_YEAR = ("hepb-1", "hepb-2", "hepb-3", "tb-1", "pcv-1", "pcv-2", "dtp-1", "dtp-2", "dtp-3", "polio-1",
              "polio-2", "polio-3")  # fmt: skip


def first_year_on_time(clinic: Clinic, kid: str, born: date) -> None:
    """The first year's doses, each at its calendar age (BCG on day 4)."""
    for code in FIRST_YEAR:
        clinic.store.create(given(code, after(born, "4d" if code == "tb-1" else calendar().doses[code].start),
                                  patient=kid))  # fmt: skip


def test_the_chart_shows_overdue_doses_and_the_portal_the_next_vaccination(doctor: Clinic) -> None:
    born = months_ago(7)
    on_time = child(doctor, "Вовремякин", born)
    first_year_on_time(doctor, on_time, born)
    panel = doctor.client.get(f"/chart/{on_time}", headers=RU).text.split('id="vaccination"')[1].split("</section>")[0]
    assert 'id="vaccination-overdue"' not in panel
    late = child(doctor, "Пропускова", born)
    doctor.store.create(given("hepb-1", born, patient=late))
    chart = doctor.client.get(f"/chart/{late}", headers=RU).text
    panel = chart.split('id="vaccination"')[1].split("</section>")[0]
    overdue = panel.split('id="vaccination-overdue"')[1].split("</ul>")[0]
    assert 'data-dose="hepb-2"' in overdue and 'data-dose="polio-1"' in overdue and "просрочена" in overdue
    assert 'data-dose="mmr-1"' not in overdue
    assert f'href="/immunization/{late}"' in panel
    add_web_user(doctor.client, "mama", Role.PATIENT, patient=late)
    log_in(doctor.client, "mama")
    portal = doctor.client.get(f"/portal/{late}", headers=RU).text
    line = portal.split('id="next-vaccination">')[1].split("</p>")[0]
    # The longest overdue first: BCG, due on days 3 to 7.
    assert line == (f"Прививка просрочена: туберкулёз — с {after(born, '8d').strftime('%d.%m.%Y')}. "
                    "Запишитесь на приём в поликлинику.")  # fmt: skip


def test_the_portal_names_the_next_vaccination_by_age(doctor: Clinic) -> None:
    born = months_ago(10)
    kid = child(doctor, "Вовремя", born)
    first_year_on_time(doctor, kid, born)
    doctor.store.create(given("flu", datetime.now(UTC).date() - timedelta(days=30), patient=kid))
    add_web_user(doctor.client, "papa", Role.PATIENT, patient=kid)
    log_in(doctor.client, "papa")
    portal = doctor.client.get(f"/portal/{kid}", headers=RU).text
    line = portal.split('id="next-vaccination">')[1].split("</p>")[0]
    assert "Следующая прививка: корь, краснуха, эпидемический паротит — с 12 месяцев" in line
    assert after(born, "12m").strftime("%d.%m.%Y") in line
    english = doctor.client.get(f"/portal/{kid}", headers=EN).text
    assert "Next vaccination: measles, rubella, mumps — from 12 months" in english


def test_the_worklist_shows_only_the_polyclinics_children_longest_overdue_first(doctor: Clinic) -> None:
    long_late = child(doctor, "Давнопросроченный", months_ago(30))
    recent_late = child(doctor, "Недавнопросроченный", months_ago(2) - timedelta(days=10))
    elsewhere = child(doctor, "Чужой", months_ago(30), org=doctor.other_org)
    adult = doctor.patient  # born 1980: not a child
    page = doctor.client.get("/immunization/overdue", headers=RU)
    assert page.status_code == 200
    rows = page.text.split('id="overdue-children"')[1]
    assert long_late in rows and recent_late in rows
    assert elsewhere not in rows and adult not in rows
    assert rows.index(long_late) < rows.index(recent_late)
    assert "Давнопросроченный" in rows


def test_only_a_polyclinics_clinicians_get_the_worklist_and_a_stranger_doctor_no_calendar(clinic: Clinic) -> None:
    kid = child(clinic, "Чужих", months_ago(3), org=clinic.org)
    log_in(clinic.client, "dr.other")
    assert clinic.client.get(f"/immunization/{kid}").status_code == 403
    token = csrf_of(clinic.client.get("/doctor").text)
    refused = clinic.client.post(f"/immunization/{kid}", data={"csrf_token": token, "dose": "mmr-1",
                                                               "day": "2026-01-01", "lot": "A"})  # fmt: skip
    assert refused.status_code == 403 and not vaccinations(clinic, kid)
    other_rows = clinic.client.get("/immunization/overdue").text
    assert kid not in other_rows
    add_web_user(clinic.client, "pharma", Role.PHARMACIST, organization=clinic.org)
    log_in(clinic.client, "pharma")
    assert clinic.client.get("/immunization/overdue").status_code == 403


def test_an_unknown_patient_is_a_page_not_a_crash_and_a_parent_reads_but_does_not_write(doctor: Clinic) -> None:
    assert doctor.client.get("/immunization/no-such-patient", headers=RU).status_code in (403, 404)
    kid = child(doctor, "Читаев", months_ago(12))
    add_web_user(doctor.client, "parent", Role.PATIENT, patient=kid)
    log_in(doctor.client, "parent")
    page = doctor.client.get(f"/immunization/{kid}", headers=RU)
    assert page.status_code == 200 and 'id="vaccination-form"' not in page.text
    refused = doctor.client.post(f"/immunization/{kid}", data={"csrf_token": csrf_of(page.text), "dose": "mmr-1",
                                                                "day": "2026-01-01", "lot": "A"})  # fmt: skip
    assert refused.status_code == 403 and not vaccinations(doctor, kid)
    assert doctor.client.get("/immunization/overdue").status_code == 403
