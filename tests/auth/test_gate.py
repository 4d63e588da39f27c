"""The policy through a real app: tokens in, FHIR out, and the audit trail of what was touched or refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from medcity.app import create_app
from medcity.auth import revocations, tokens
from medcity.auth.tables import audit_log
from medcity.kit.config import Settings
from medcity.kit.db import WRITE, make_engine
from medcity.store.repository import Store
from tests.bearer import bearer
from tests.fhir.helpers import observation, patient


@pytest.fixture
def settings(auth_engine: Engine, region: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=auth_engine.url.render_as_string(hide_password=False),
        region=region,
        base_url="http://testserver",
        secret_dir=tmp_path / "keys",
    )


@pytest.fixture
def client(auth_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, engine=auth_engine)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def data(auth_engine: Engine, region: str) -> dict[str, str]:
    store = Store(auth_engine, region)
    p1 = store.create(patient("Иванов", managingOrganization={"reference": "Organization/pc1"})).id
    p2 = store.create(patient("Петров")).id
    return {
        "p1": p1,
        "p2": p2,
        "o1": store.create(observation(p1)).id,
        "o2": store.create(observation(p2)).id,
    }


def _token(settings: Settings, role: str, scope: str, **kwargs: Any) -> dict[str, str]:
    return bearer(settings, f"{role}-user", role, scope, **kwargs)


def _ids(bundle: dict[str, Any]) -> set[str]:
    return {entry["resource"]["id"] for entry in bundle.get("entry", [])}


def test_patient_reads_own_observation_but_not_another_patients(
    client: TestClient, settings: Settings, data: dict[str, str]
) -> None:
    me = _token(settings, "patient", "patient/*.rs", patient=data["p1"])
    assert client.get(f"/fhir/Observation/{data['o1']}", headers=me).status_code == 200
    assert client.get(f"/fhir/Patient/{data['p1']}", headers=me).status_code == 200
    # Refused exactly as an unknown id, so the refusal does not confirm the record exists.
    other = client.get(f"/fhir/Observation/{data['o2']}", headers=me)
    assert other.status_code == 404 and data["o2"] in other.text
    assert client.get(f"/fhir/Patient/{data['p2']}", headers=me).status_code == 404
    assert client.get(f"/fhir/Observation/{data['o2']}/_history/1", headers=me).status_code == 404


def test_patient_search_include_and_history_see_only_own_compartment(
    client: TestClient, settings: Settings, data: dict[str, str]
) -> None:
    me = _token(settings, "patient", "patient/*.rs", patient=data["p1"])
    found = client.get("/fhir/Observation", headers=me).json()
    assert _ids(found) == {data["o1"]} and found["total"] == 1
    by_subject = client.get(f"/fhir/Observation?subject=Patient/{data['p2']}", headers=me).json()
    assert _ids(by_subject) == set() and by_subject["total"] == 0
    patients = client.get("/fhir/Patient", headers=me).json()
    assert _ids(patients) == {data["p1"]} and patients["total"] == 1
    included = client.get(f"/fhir/Patient?_revinclude=Observation:subject&_id={data['p2']}", headers=me).json()
    assert _ids(included) == set()
    with_subjects = client.get("/fhir/Observation?_include=Observation:subject", headers=me).json()
    assert _ids(with_subjects) == {data["o1"], data["p1"]}
    history = client.get("/fhir/Observation/_history", headers=me).json()
    assert _ids(history) == {data["o1"]}
    assert client.get(f"/fhir/Observation/{data['o2']}/_history", headers=me).json().get("entry", []) == []


def test_patient_cannot_write(client: TestClient, settings: Settings, data: dict[str, str]) -> None:
    me = _token(settings, "patient", "patient/*.cruds", patient=data["p1"])
    response = client.post("/fhir/Observation", json=observation(data["p1"]), headers=me)
    assert response.status_code == 403


def test_scopes_narrow_what_a_role_may_do(client: TestClient, settings: Settings, data: dict[str, str]) -> None:
    system = _token(settings, "system", "system/Observation.rs medcity/region")  # region-wide, see test_care
    assert client.get(f"/fhir/Observation/{data['o2']}", headers=system).status_code == 200
    assert client.get("/fhir/Patient", headers=system).status_code == 403
    # An _include of a type outside the scopes is dropped in SQL, not leaked.
    found = client.get("/fhir/Observation?_include=Observation:subject", headers=system).json()
    assert _ids(found) == {data["o1"], data["o2"]}
    assert client.post("/fhir/Observation", json=observation(data["p1"]), headers=system).status_code == 403
    writer = _token(settings, "system", "system/Observation.cruds medcity/region")
    assert client.post("/fhir/Observation", json=observation(data["p1"]), headers=writer).status_code == 201


def test_analyst_sees_no_patient_data(client: TestClient, settings: Settings, data: dict[str, str]) -> None:
    analyst = _token(settings, "analyst", "user/*.rs")
    assert client.get("/fhir/Observation", headers=analyst).status_code == 403
    assert client.get("/fhir/Patient", headers=analyst).status_code == 403
    assert client.get(f"/fhir/Patient/{data['p1']}", headers=analyst).status_code == 404
    assert client.get("/fhir/Organization", headers=analyst).status_code == 200


def test_doctor_and_admin(client: TestClient, settings: Settings, data: dict[str, str]) -> None:
    doctor = _token(settings, "doctor", "user/*.cruds", fhir_user="Practitioner/pr1", organization="pc1")
    assert client.get(f"/fhir/Observation/{data['o1']}", headers=doctor).status_code == 200  # p1 is attached to pc1
    assert client.get(f"/fhir/Observation/{data['o2']}", headers=doctor).status_code == 403  # not in care: test_care
    assert client.delete(f"/fhir/Observation/{data['o1']}", headers=doctor).status_code == 403
    admin = _token(settings, "admin", "user/*.cruds")
    assert client.delete(f"/fhir/Observation/{data['o2']}", headers=admin).status_code in (200, 204)


def test_missing_or_bad_tokens(
    client: TestClient, settings: Settings, data: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get("/fhir/Observation", headers={"authorization": "Bearer nonsense"}).status_code == 401
    assert client.get("/fhir/Observation", headers={"authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    # By default a call without a token gets nothing, with a challenge to bring one.
    response = client.get("/fhir/Observation")
    assert response.status_code == 401 and response.json()["resourceType"] == "OperationOutcome"
    assert client.get(f"/fhir/Patient/{data['p1']}").status_code == 401
    assert client.post("/fhir/Patient", json={"resourceType": "Patient"}).status_code == 401
    assert client.get("/fhir/metadata").status_code == 200  # what the server supports is public
    monkeypatch.setattr(client.app.state.settings, "auth_required", False)
    assert client.get("/fhir/Observation").status_code == 200  # switched off: the local operator


def test_every_touch_and_refusal_is_audited(
    client: TestClient, settings: Settings, data: dict[str, str], auth_engine: Engine
) -> None:
    me = _token(settings, "patient", "patient/*.rs", patient=data["p1"])
    client.get(f"/fhir/Observation/{data['o1']}", headers=me)
    client.get(f"/fhir/Observation/{data['o2']}", headers=me)
    client.get("/fhir/Observation", headers=me)
    with auth_engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.resource_id, audit_log.c.patient, audit_log.c.outcome)
            .where(audit_log.c.partition == settings.region, audit_log.c.username == "patient-user")
            .order_by(audit_log.c.recorded)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("read", data["o1"], data["p1"], "allowed"),
        ("read", data["o2"], data["p2"], "refused"),
        ("search", data["o1"], data["p1"], "allowed"),
    ]


def test_a_search_inside_a_batch_is_decided_and_audited_as_a_search(
    client: TestClient, settings: Settings, data: dict[str, str], auth_engine: Engine
) -> None:
    me = _token(settings, "patient", "patient/*.rs", patient=data["p1"])
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation"}},
        {"request": {"method": "GET", "url": f"Observation?subject=Patient/{data['p2']}"}},
    ]}  # fmt: skip
    answered = client.post("/fhir", json=batch, headers=me).json()
    assert [_ids(entry["resource"]) for entry in answered["entry"]] == [{data["o1"]}, set()]
    with auth_engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.resource_id, audit_log.c.patient)
            .where(audit_log.c.partition == settings.region, audit_log.c.username == "patient-user",
                   audit_log.c.action == "search")
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [("search", data["o1"], data["p1"])]
    analyst = _token(settings, "analyst", "user/*.rs")
    refused = client.post("/fhir", json=batch, headers=analyst).json()
    assert [entry["response"]["status"][:3] for entry in refused["entry"]] == ["403", "403"]


def test_discovery(client: TestClient, settings: Settings) -> None:
    keys = client.get("/.well-known/jwks.json").json()["keys"]
    assert keys[0]["kid"] == tokens.signing_key(settings.secret_dir).kid and "d" not in keys[0]
    smart = client.get("/fhir/.well-known/smart-configuration").json()
    assert smart["jwks_uri"] == "http://testserver/.well-known/jwks.json"
    assert "sso-openid-connect" in smart["capabilities"] and {"openid", "fhirUser"} <= set(smart["scopes_supported"])
    openid = client.get("/.well-known/openid-configuration").json()
    assert openid["issuer"] == smart["issuer"] and openid["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {key["alg"] for key in keys} == {"ES256", "RS256"} and all("d" not in key for key in keys)


def test_everything_and_summary_honour_the_policy(client: TestClient, settings: Settings, data: dict[str, str]) -> None:
    me = _token(settings, "patient", "patient/*.rs", patient=data["p1"])
    own = client.get(f"/fhir/Patient/{data['p1']}/$everything", headers=me)
    assert own.status_code == 200
    assert _ids(own.json()) == {data["p1"], data["o1"]}
    assert client.get(f"/fhir/Patient/{data['p2']}/$everything", headers=me).status_code in (403, 404)
    assert client.get(f"/fhir/Patient/{data['p2']}/$summary", headers=me).status_code in (403, 404)
    analyst = _token(settings, "analyst", "user/*.rs")
    assert client.get(f"/fhir/Patient/{data['p1']}/$everything", headers=analyst).status_code in (403, 404)


def test_patient_sees_who_opened_their_record(client: TestClient, settings: Settings, data: dict[str, str]) -> None:
    from fhir.resources.R4B.auditevent import AuditEvent

    doctor = _token(settings, "doctor", "user/*.cruds", organization="pc1")
    assert client.get(f"/fhir/Observation/{data['o1']}", headers=doctor).status_code == 200
    me = _token(settings, "patient", "patient/*.rs", patient=data["p1"])
    log = client.get(f"/fhir/Patient/{data['p1']}/$access-log", headers=me)
    assert log.status_code == 200, log.text
    events = [e["resource"] for e in log.json()["entry"]]
    doctor_reads = [e for e in events if e["agent"][0]["who"]["display"] == "doctor-user"]
    assert doctor_reads, events
    event = doctor_reads[0]
    AuditEvent.model_validate(event)  # a valid R4 AuditEvent
    assert event["action"] == "R" and event["outcome"] == "0"
    assert {"reference": f"Observation/{data['o1']}"} in [x["what"] for x in event["entity"]]
    assert event["agent"][0]["who"]["identifier"]["value"] == "pc1"
    # Only one's own record: another patient's log is refused.
    assert client.get(f"/fhir/Patient/{data['p2']}/$access-log", headers=me).status_code in (403, 404)


def test_the_admin_searches_the_audit_by_user_patient_and_time(
    client: TestClient, settings: Settings, data: dict[str, str]
) -> None:
    doctor = _token(settings, "doctor", "user/*.cruds", organization="pc1")
    assert client.get(f"/fhir/Observation/{data['o1']}", headers=doctor).status_code == 200
    admin = _token(settings, "admin", "user/*.cruds")
    url = "/fhir/AuditEvent/$audit-log"
    by_user = client.get(url, params={"user": "doctor-user"}, headers=admin)
    assert by_user.status_code == 200, by_user.text
    events = [e["resource"] for e in by_user.json()["entry"]]
    assert events and {e["agent"][0]["who"]["display"] for e in events} == {"doctor-user"}
    assert {"reference": f"Observation/{data['o1']}"} in [x["what"] for e in events for x in e["entity"]]
    by_patient = [e["resource"] for e in client.get(url, params={"patient": data["p1"]}, headers=admin).json()["entry"]]
    # The doctor's read, and the admin's own look a moment ago (reading a trail is in the trail).
    assert {e["agent"][0]["who"]["display"] for e in by_patient} == {"doctor-user", "admin-user"}
    assert all(e["entity"][0]["what"] == {"reference": f"Patient/{data['p1']}"} for e in by_patient)
    today = datetime.now(UTC).date().isoformat()
    assert client.get(url, params={"user": "doctor-user", "since": today}, headers=admin).json()["entry"]
    assert client.get(url, params={"user": "doctor-user", "until": "2020-01-01"}, headers=admin).json()["entry"] == []
    assert client.get(url, params={"user": "doctor-user", "since": "2999-01-01"}, headers=admin).json()["entry"] == []
    # ... which the patient sees too.
    me = _token(settings, "patient", "patient/*.rs", patient=data["p1"])
    log = client.get(f"/fhir/Patient/{data['p1']}/$access-log", headers=me).json()
    assert "admin-user" in {e["resource"]["agent"][0]["who"]["display"] for e in log["entry"]}


def test_only_admins_search_the_audit_and_only_by_user_or_patient(
    client: TestClient, settings: Settings, data: dict[str, str]
) -> None:
    url = "/fhir/AuditEvent/$audit-log"
    for role in ("doctor", "patient", "analyst", "system"):
        token = _token(settings, role, "system/*.rs" if role == "system" else "user/*.rs", patient=data["p1"])
        refused = client.get(url, params={"patient": data["p1"]}, headers=token)
        assert refused.status_code == 403, (role, refused.text)
        assert refused.json()["resourceType"] == "OperationOutcome"
    admin = _token(settings, "admin", "user/*.cruds")
    unbounded = client.get(url, params={"since": "2026-01-01"}, headers=admin)
    assert unbounded.status_code == 400 and "a user or a patient" in unbounded.text
    bad = client.get(url, params={"user": "doctor-user", "since": "yesterday"}, headers=admin)
    assert bad.status_code == 400 and "since" in bad.text


def test_a_changed_token_is_refused_though_the_original_was_verified(client: TestClient, settings: Settings,
                                                                    data: dict[str, str]) -> None:  # fmt: skip
    headers = _token(settings, "admin", "user/*.rs")
    assert client.get(f"/fhir/Patient/{data['p1']}", headers=headers).status_code == 200  # verified, kept
    token = headers["authorization"].removeprefix("Bearer ")
    head, payload, signature = token.split(".")
    other_signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"], claims["sub"] = "admin", "someone-else"
    other_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    for changed in (f"{head}.{payload}.{other_signature}", f"{head}.{other_payload}.{signature}"):
        answer = client.get(f"/fhir/Patient/{data['p1']}", headers={"authorization": f"Bearer {changed}"})
        assert answer.status_code == 401


def test_a_token_revoked_by_another_worker_is_refused_once_the_revocations_are_read_again(
    client: TestClient, settings: Settings, auth_engine: Engine, data: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _token(settings, "admin", "user/*.rs")
    assert client.get(f"/fhir/Patient/{data['p1']}", headers=headers).status_code == 200
    claims = tokens.signed_claims(
        headers["authorization"].removeprefix("Bearer "), tokens.signing_key(settings.secret_dir)
    )
    assert claims is not None
    other_worker = make_engine(auth_engine.url.render_as_string(hide_password=False))
    try:
        with other_worker.connect().execution_options(**WRITE) as conn, conn.begin():
            tokens.revoke(conn, jti=claims["jti"], expires=claims["exp"], now=datetime.now(UTC))
    finally:
        other_worker.dispose()
    monkeypatch.setattr(revocations, "REFRESH_SECONDS", 0.0)  # the second has passed
    assert client.get(f"/fhir/Patient/{data['p1']}", headers=headers).status_code == 401
