"""The laboratory's rules hold on every FHIR door (plain writes and transaction Bundles): results only for known,
open orders; values in the test's unit and physically possible; ranges and flags filled from the catalogue;
nothing half-saved; a critical value alerts the ordering doctor."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from medcity.orders.service import cancel_order
from medcity.scheduling.notices import OutboxChannel, notices_of
from medcity.scheduling.timer import deliver_pending
from tests.lab.city import City, create, interpretation, observation


def _outcome(response: Any, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    text = body["issue"][0]["diagnostics"]
    for word in words:
        assert word in text, text


def test_result_fills_range_and_flag_from_the_catalogue(client: TestClient, city: City) -> None:
    order = city.order(client, "14749-6").orders[0].id
    created = client.post("/fhir/Observation", json=observation(order, city.patient, "14749-6", 7.4, "mmol/L"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert interpretation(body) == "H"
    assert body["referenceRange"][0]["low"]["value"] == 3.9
    assert body["referenceRange"][0]["high"]["value"] == 6.1


def test_reference_range_by_sex(client: TestClient, city: City) -> None:
    woman = create(client, {"resourceType": "Patient", "gender": "female", "birthDate": "1980-01-01"})
    order = city.order(client, "58410-2", patient=woman).orders[0].id
    body = client.post("/fhir/Observation", json=observation(order, woman, "718-7", 125, "g/L")).json()
    assert body["referenceRange"][0]["low"]["value"] == 120  # a man's range starts at 130
    assert interpretation(body) == "N"


def test_a_given_flag_and_range_are_kept(client: TestClient, city: City) -> None:
    order = city.order(client, "14749-6").orders[0].id
    sent = observation(order, city.patient, "14749-6", 5.0, "mmol/L",
                       interpretation=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                    "v3-ObservationInterpretation", "code": "N"}]}],
                       referenceRange=[{"low": {"value": 4.0}, "high": {"value": 5.5}}])  # fmt: skip
    body = client.post("/fhir/Observation", json=sent).json()
    assert body["referenceRange"] == [{"low": {"value": 4.0}, "high": {"value": 5.5}}]


def test_result_for_unknown_order_is_refused(client: TestClient, city: City) -> None:
    response = client.post("/fhir/Observation", json=observation("no-such", city.patient, "14749-6", 5, "mmol/L"))
    _outcome(response, 422, "ServiceRequest/no-such", "not known")


def test_result_for_cancelled_order_is_refused(client: TestClient, city: City) -> None:
    order = city.order(client, "14749-6").orders[0].id
    with city.store(client).transaction() as tx:
        cancel_order(tx, order=order)
    response = client.post("/fhir/Observation", json=observation(order, city.patient, "14749-6", 5, "mmol/L"))
    _outcome(response, 422, "cancelled")
    report = {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Glucose"},
              "subject": {"reference": f"Patient/{city.patient}"},
              "basedOn": [{"reference": f"ServiceRequest/{order}"}]}  # fmt: skip
    _outcome(client.post("/fhir/DiagnosticReport", json=report), 422, "cancelled")


def test_result_for_another_patients_order_is_refused(client: TestClient, city: City) -> None:
    other = create(client, {"resourceType": "Patient", "gender": "female"})
    order = city.order(client, "14749-6").orders[0].id
    response = client.post("/fhir/Observation", json=observation(order, other, "14749-6", 5, "mmol/L"))
    _outcome(response, 422, "another patient")


def test_wrong_unit_is_refused(client: TestClient, city: City) -> None:
    order = city.order(client, "14749-6").orders[0].id
    response = client.post("/fhir/Observation", json=observation(order, city.patient, "14749-6", 90, "mg/dL"))
    _outcome(response, 422, "mmol/L", "mg/dL")
    no_unit = observation(order, city.patient, "14749-6", 5, "mmol/L")
    no_unit["valueQuantity"] = {"value": 5}
    _outcome(client.post("/fhir/Observation", json=no_unit), 422, "mmol/L", "has no unit")


def test_impossible_value_is_refused(client: TestClient, city: City) -> None:
    order = city.order(client, "24326-1").orders[0].id
    response = client.post("/fhir/Observation", json=observation(order, city.patient, "2823-3", 45, "mmol/L"))
    _outcome(response, 422, "physically possible")
    negative = observation(order, city.patient, "2951-2", -3, "mmol/L")
    _outcome(client.post("/fhir/Observation", json=negative), 422, "physically possible")


def test_rules_hold_on_update(client: TestClient, city: City) -> None:
    order = city.order(client, "14749-6").orders[0].id
    body = client.post("/fhir/Observation", json=observation(order, city.patient, "14749-6", 5, "mmol/L")).json()
    body["valueQuantity"]["value"] = 5000
    _outcome(client.put(f"/fhir/Observation/{body['id']}", json=body), 422, "physically possible")


def _bundle(order: str, patient: str, values: list[tuple[str, float, str]]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {"fullUrl": f"urn:uuid:00000000-0000-0000-0000-{i:012d}",
         "resource": observation(order, patient, code, value, unit),
         "request": {"method": "POST", "url": "Observation"}}
        for i, (code, value, unit) in enumerate(values)
    ]  # fmt: skip
    report = {"resourceType": "DiagnosticReport", "status": "final",
              "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
              "code": {"coding": [{"system": "http://loinc.org", "code": "24326-1"}]},
              "subject": {"reference": f"Patient/{patient}"}, "basedOn": [{"reference": f"ServiceRequest/{order}"}],
              "result": [{"reference": e["fullUrl"]} for e in entries]}  # fmt: skip
    entries.insert(0, {"resource": report, "request": {"method": "POST", "url": "DiagnosticReport"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def test_bad_value_in_a_bundle_saves_nothing(client: TestClient, city: City) -> None:
    order = city.order(client, "24326-1").orders[0].id
    bundle = _bundle(order, city.patient, [("2823-3", 4.2, "mmol/L"), ("2951-2", 140, "mg/dL")])
    _outcome(client.post("/fhir", json=bundle), 422, "Sodium")
    for rtype in ("Observation", "DiagnosticReport", "Communication"):
        found = client.get(f"/fhir/{rtype}", params={"patient": city.patient}).json()
        assert found.get("total", len(found.get("entry", []))) == 0, rtype
    assert client.get(f"/fhir/ServiceRequest/{order}").json()["status"] == "active"


def test_released_bundle_completes_the_order_alerts_and_notifies(client: TestClient, city: City) -> None:
    order = city.order(client, "24326-1").orders[0].id
    bundle = _bundle(order, city.patient, [("2823-3", 7.0, "mmol/L"), ("2951-2", 140, "mmol/L")])
    response = client.post("/fhir", json=bundle)
    assert response.status_code == 200, response.text
    assert client.get(f"/fhir/ServiceRequest/{order}").json()["status"] == "completed"
    alerts = client.get("/fhir/Communication", params={"recipient": f"Practitioner/{city.doctor}",
                                                       "category": "alert"}).json()  # fmt: skip
    assert [e["resource"]["payload"][0]["contentString"] for e in alerts["entry"]] == ["Potassium: 7.0 mmol/L (HH)"]
    notices = client.get("/fhir/Communication", params={"recipient": f"Patient/{city.patient}",
                                                        "category": "notification"}).json()  # fmt: skip
    assert len(notices["entry"]) == 1
    text = notices["entry"][0]["resource"]["payload"][0]["contentString"]
    assert text.startswith("Готовы результаты: Электролиты (калий, натрий)."), text
    observations = client.get("/fhir/Observation", params={"based-on": f"ServiceRequest/{order}"}).json()
    assert sorted(interpretation(e["resource"]) for e in observations["entry"]) == ["HH", "N"]


def test_the_patients_notice_goes_through_their_channel_in_their_language(client: TestClient, city: City) -> None:
    english = create(
        client,
        {
            "resourceType": "Patient",
            "gender": "male",
            "birthDate": "1970-05-01",
            "communication": [{"language": {"coding": [{"code": "en"}]}, "preferred": True}],
        },
    )
    order = city.order(client, "24326-1", patient=english).orders[0].id
    assert (
        client.post(
            "/fhir", json=_bundle(order, english, [("2823-3", 4.4, "mmol/L"), ("2951-2", 140, "mmol/L")])
        ).status_code
        == 200
    )
    [entry] = client.get("/fhir/Communication", params={"recipient": f"Patient/{english}"}).json()["entry"]
    notice = entry["resource"]
    assert notice["status"] == "preparation" and notice["language"] == "en"
    assert notice["payload"][0]["contentString"].startswith("Your results are ready: Electrolytes")
    assert deliver_pending(city.store(client), channel=OutboxChannel()) == (1, 0)
    sent = client.get(f"/fhir/Communication/{notice['id']}").json()
    assert sent["status"] == "completed" and sent["medium"][0]["coding"][0]["code"] == "outbox"
    with city.store(client).reader() as tx:
        assert [n.id for n in notices_of(tx, patient=english)] == [notice["id"]]  # on the patient's notices page


def test_preliminary_critical_value_does_not_alert_yet(client: TestClient, city: City) -> None:
    order = city.order(client, "24326-1").orders[0].id
    sent = observation(order, city.patient, "2823-3", 2.1, "mmol/L", status="preliminary")
    body = client.post("/fhir/Observation", json=sent).json()
    assert interpretation(body) == "LL"
    search = {"recipient": f"Practitioner/{city.doctor}", "category": "alert"}
    assert client.get("/fhir/Communication", params=search).json().get("entry", []) == []
    body["status"] = "final"
    assert client.put(f"/fhir/Observation/{body['id']}", json=body).status_code == 200
    body["status"] = "corrected"
    assert client.put(f"/fhir/Observation/{body['id']}", json=body).status_code == 200
    assert len(client.get("/fhir/Communication", params=search).json()["entry"]) == 1


def test_uncatalogued_observation_without_order_passes(client: TestClient, city: City) -> None:
    vital = observation("x", city.patient, "8867-4", 70, "/min")
    del vital["basedOn"]
    assert client.post("/fhir/Observation", json=vital).status_code == 201
