"""Pages go through the same gate as the API: a login, the one policy, and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.web_login import add_patient_page, add_web_user, log_in

from medcity.auth.tables import audit_log
from medcity.auth.users import Role


@pytest.fixture
def guarded(client: TestClient) -> TestClient:
    """The real app with one page that reads a Patient under the policy, as every domain's pages do."""
    return add_patient_page(client)


def test_a_page_sends_a_stranger_to_the_login_and_back(guarded: TestClient) -> None:
    response = guarded.get("/test/patient/p1?tab=results", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ftest%2Fpatient%2Fp1%3Ftab%3Dresults"
    # The doctor's care relationship: p1 is attached to the doctor's organisation.
    guarded.app.state.store.update(
        {"resourceType": "Patient", "id": "p1", "managingOrganization": {"reference": "Organization/o1"}}
    )
    add_web_user(guarded, "dr.who", Role.DOCTOR, organization="o1")
    assert log_in(guarded, "dr.who", next_path="/test/patient/p1?tab=results") == "/test/patient/p1?tab=results"
    assert guarded.get("/test/patient/p1").json() == {"shown": "p1"}


def test_login_never_redirects_off_the_site(guarded: TestClient) -> None:
    add_web_user(guarded, "dr.who", Role.DOCTOR)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        assert log_in(guarded, "dr.who", next_path=target) == "/doctor"  # the doctor's own start page instead


def test_htmx_gets_a_redirect_header_instead_of_a_page(guarded: TestClient) -> None:
    response = guarded.get("/test/patient/p1", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_a_refusal_is_a_page_in_the_users_language_and_is_audited(guarded: TestClient) -> None:
    add_web_user(guarded, "pat", Role.PATIENT, patient="p-own")
    log_in(guarded, "pat")
    response = guarded.get("/test/patient/p-other", headers={"Accept-Language": "ru"})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "Доступ запрещён" in response.text
    assert guarded.get("/test/patient/p-own").json() == {"shown": "p-own"}
    app: Any = guarded.app
    with app.state.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.username, audit_log.c.resource_id, audit_log.c.outcome).where(
                audit_log.c.partition == app.state.settings.region
            )
        ).all()
    assert {(r.username, r.resource_id) for r in rows} == {("pat", "p-other"), ("pat", "p-own")}
