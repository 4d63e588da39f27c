"""The laboratory over FHIR with its own token: it finds the orders addressed to it, posts a report with its
results as one transaction Bundle, and cannot release results it entered itself. Diagnostic reports obey theirs."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from medcity.kit.config import Settings
from medcity.lab.service import ENTERED_BY
from tests.bearer import bearer
from tests.lab.city import City, observation


def report(order: str, patient: str, lab: str, status: str, results: list[str], **extra: Any) -> dict[str, Any]:
    return {"resourceType": "DiagnosticReport", "status": status,
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "24326-1"}]},
            "subject": {"reference": f"Patient/{patient}"}, "basedOn": [{"reference": f"ServiceRequest/{order}"}],
            "performer": [{"reference": f"Organization/{lab}"}], "result": [{"reference": r} for r in results],
            **extra}  # fmt: skip


def test_the_laboratory_posts_results_with_its_token(client: TestClient, settings: Settings, city: City) -> None:
    order = city.order(client, "24326-1").orders[0].id
    lab = bearer(settings, "lis", "lab", organization=city.laboratory)
    mine = {"status": "active", "performer": f"Organization/{city.laboratory}"}
    worklist = client.get("/fhir/ServiceRequest", params=mine, headers=lab)
    assert worklist.status_code == 200, worklist.text
    assert [e["resource"]["id"] for e in worklist.json()["entry"]] == [order]
    values = [("2823-3", 4.4, "mmol/L"), ("2951-2", 139, "mmol/L")]
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:5f0c3c6e-0000-4000-8000-00000000000{i}",
         "resource": observation(order, city.patient, code, value, unit,
                                 performer=[{"reference": f"Organization/{city.laboratory}"}]),
         "request": {"method": "POST", "url": "Observation"}}
        for i, (code, value, unit) in enumerate(values)
    ]  # fmt: skip
    final = report(order, city.patient, city.laboratory, "final", [e["fullUrl"] for e in entries])
    first = {"resource": final, "request": {"method": "POST", "url": "DiagnosticReport"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [first, *entries]}
    posted = client.post("/fhir", json=bundle, headers=lab)
    assert posted.status_code == 200, posted.text
    found = client.get("/fhir/DiagnosticReport", params={"patient": city.patient, "category": "LAB"}).json()
    assert len(found["entry"]) == 1 and len(found["entry"][0]["resource"]["result"]) == 2
    by_order = client.get("/fhir/Observation", params={"based-on": f"ServiceRequest/{order}"}).json()
    assert len(by_order["entry"]) == 2


def test_whoever_entered_does_not_release(client: TestClient, settings: Settings, city: City) -> None:
    order = city.order(client, "24326-1").orders[0].id
    entered = report(order, city.patient, city.laboratory, "preliminary", [],
                     extension=[{"url": ENTERED_BY, "valueString": "anna"}])  # fmt: skip
    body = client.post("/fhir/DiagnosticReport", json=entered).json()
    anna = bearer(settings, "anna", "lab", organization=city.laboratory)
    refused = client.put(f"/fhir/DiagnosticReport/{body['id']}", json={**body, "status": "final"}, headers=anna)
    assert refused.status_code == 422 and "second person" in refused.text
    assert client.get(f"/fhir/ServiceRequest/{order}").json()["status"] == "active"
    boris = bearer(settings, "boris", "lab", organization=city.laboratory)
    assert client.put(f"/fhir/DiagnosticReport/{body['id']}", json={**body, "status": "final"},
                      headers=boris).status_code == 200  # fmt: skip
    assert client.get(f"/fhir/ServiceRequest/{order}").json()["status"] == "completed"


def _study(order: str, patient: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "DiagnosticReport", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "36643-5"}]},
            "subject": {"reference": f"Patient/{patient}"}, "basedOn": [{"reference": f"ServiceRequest/{order}"}],
            **extra}  # fmt: skip


def test_diagnostic_reports_need_a_conclusion_and_a_proper_document(client: TestClient, city: City) -> None:
    order = city.order(client, "36643-5").orders[0].id
    bare = client.post("/fhir/DiagnosticReport", json=_study(order, city.patient))
    assert bare.status_code == 422 and "conclusion" in bare.text
    odd = _study(order, city.patient, conclusion="Без патологии",
                 presentedForm=[{"contentType": "text/html", "data": "PGI+aGk8L2I+"}])  # fmt: skip
    assert client.post("/fhir/DiagnosticReport", json=odd).status_code == 422
    fine = _study(order, city.patient, conclusion="Без патологии",
                  presentedForm=[{"contentType": "image/png", "data": "iVBORw0KGgo="}])  # fmt: skip
    assert client.post("/fhir/DiagnosticReport", json=fine).status_code == 201
