"""The region admin's audit page: the admin lands on it, finds who touched a patient's record by user, patient
and dates, in Russian; nobody else may open it, and a bad date is said, not a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from medcity.auth.users import Role
from medcity.kit.config import Settings
from tests.bearer import bearer
from tests.web_login import add_web_user, log_in


def _touched(client: TestClient, settings: Settings) -> str:
    """A patient of the doctor's polyclinic whose record the doctor read; returns the patient's id."""
    seen = client.post(
        "/fhir/Patient",
        json={
            "resourceType": "Patient",
            "name": [{"family": "Смирнова"}],
            "managingOrganization": {"reference": "Organization/pc1"},
        },
    ).json()["id"]
    doctor = bearer(settings, "dr.smirnov", "doctor", organization="pc1")
    assert client.get(f"/fhir/Patient/{seen}", headers=doctor).status_code == 200
    return str(seen)


def test_the_admin_lands_on_the_audit_and_finds_who_opened_a_record(client: TestClient, settings: Settings) -> None:
    patient = _touched(client, settings)
    add_web_user(client, "region.admin", Role.ADMIN)
    assert log_in(client, "region.admin") == "/admin/audit"
    empty = client.get("/admin/audit", headers={"Accept-Language": "ru"})
    assert empty.status_code == 200 and "Укажите пользователя или пациента" in empty.text
    by_user = client.get("/admin/audit", params={"user": "dr.smirnov"}, headers={"Accept-Language": "ru"}).text
    assert f"Patient/{patient}" in by_user and "dr.smirnov" in by_user and "разрешено" in by_user
    today = datetime.now(UTC).date()
    by_patient = client.get(
        "/admin/audit",
        params={"patient": patient, "since": today.isoformat(), "until": (today + timedelta(days=1)).isoformat()},
    ).text
    assert "dr.smirnov" in by_patient
    long_ago = client.get("/admin/audit", params={"patient": patient, "until": "2020-01-01"}).text
    assert "dr.smirnov" not in long_ago
    bad = client.get("/admin/audit", params={"user": "dr.smirnov", "since": "31.12.2026"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text


def test_nobody_but_an_admin_opens_the_audit(client: TestClient) -> None:
    assert client.get("/admin/audit", follow_redirects=False).status_code == 303  # to the login form
    add_web_user(client, "dr.web", Role.DOCTOR, organization="pc1")
    log_in(client, "dr.web")
    refused = client.get("/admin/audit", params={"user": "dr.web"})
    assert refused.status_code == 403 and "dr.web" not in refused.text.split("<main", 1)[-1].split("</main>")[0]
