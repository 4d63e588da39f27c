"""Doctors and nurses see the patients in their care; anyone else only by break-glass, which the patient sees."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from medcity.auth.audit import BREAK_GLASS, FLAG
from medcity.auth.policy import Context, record_restriction, restriction
from medcity.auth.principal import Principal
from medcity.auth.users import Role
from medcity.store.repository import Store
from medcity.store.search import compartment_refs
from tests.auth import world as city
from tests.auth.world import Tokens, World, audit_rows, ids, observation, ref
from tests.web_login import PATIENT_PAGE, add_patient_page, add_web_user, csrf_of, log_in

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures

IN_CARE = ("attached", "booked", "referred")
OUT_OF_CARE = ("seen_long_ago", "stranger")
REASON = {"X-Break-Glass-Reason": quote("Доставлен без сознания, нужен анамнез")}


def test_doctor_reads_patients_in_care_only(api: TestClient, world: World, who: Tokens) -> None:
    doctor = who.of("doctor")
    for key in IN_CARE:
        assert api.get(f"/fhir/Patient/{world.patients[key]}", headers=doctor).status_code == 200, key
        assert api.get(f"/fhir/Observation/{world.observations[key]}", headers=doctor).status_code == 200, key
    for key in OUT_OF_CARE:
        refused = api.get(f"/fhir/Observation/{world.observations[key]}", headers=doctor)
        assert refused.status_code == 403, key
        assert "X-Break-Glass-Reason" in refused.json()["issue"][0]["diagnostics"]


def test_doctor_search_totals_includes_and_history_hold_only_the_care_set(
    api: TestClient, world: World, who: Tokens
) -> None:
    doctor = who.of("doctor")
    cared = {world.patients[k] for k in IN_CARE}
    found = api.get("/fhir/Patient?_count=2", headers=doctor).json()
    assert found["total"] == len(cared) and ids(found) <= cared
    observations = api.get("/fhir/Observation?_include=Observation:subject&_count=100", headers=doctor).json()
    matches = {e["resource"]["id"] for e in observations["entry"] if e["search"]["mode"] == "match"}
    assert matches == {world.observations[k] for k in IN_CARE} | {world.lab_observation}
    assert {e["resource"]["id"] for e in observations["entry"] if e["search"]["mode"] == "include"} == cared
    stranger = world.patients["stranger"]
    assert api.get(f"/fhir/Observation?subject=Patient/{stranger}", headers=doctor).json()["total"] == 0
    assert api.get("/fhir/Observation?subject.identifier=005", headers=doctor).json()["total"] == 0  # chained
    revinclude = api.get(f"/fhir/Patient?_id={stranger}&_revinclude=Observation:subject", headers=doctor).json()
    assert ids(revinclude) == set()
    history = api.get("/fhir/Observation/_history", headers=doctor).json()
    assert world.observations["stranger"] not in ids(history)
    assert api.get(f"/fhir/Patient/{stranger}/$everything", headers=doctor).status_code == 403


def test_a_search_pinned_to_one_patient_finds_what_the_per_row_conditions_allow(
    api: TestClient, world: World, who: Tokens
) -> None:
    """`subject=Patient/X` is decided once for X (whether the caller may see X, whether X's consent hides
    anything); the same search written as an OR list of the one patient is decided row by row. Whoever asks, about
    whomever, both find the same rows and the same total."""
    doctor = who.of("doctor")
    callers = {"doctor": doctor, "nurse": who.of("nurse"), "lab": who.of("lab"), "system": who.of("system"),
               "other clinic": who("doctor", organization=world.other_clinic)}  # fmt: skip
    found: dict[tuple[str, str, str], set[str]] = {}
    for name, headers in callers.items():
        for key, patient in world.patients.items():
            for rtype, param in (("Observation", "subject"), ("Observation", "patient"), ("ServiceRequest", "patient")):
                pinned = api.get(f"/fhir/{rtype}?{param}=Patient/{patient}&_count=100", headers=headers).json()
                per_row = api.get(f"/fhir/{rtype}?{param}=Patient/{patient},Patient/{patient}&_count=100",
                                  headers=headers).json()  # fmt: skip
                assert (ids(pinned), pinned["total"]) == (ids(per_row), per_row["total"]), (name, key, rtype, param)
                found[name, key, rtype] = ids(pinned)
    assert {key for (name, key, rtype), rows in found.items() if name == "doctor" and rows} == set(IN_CARE)
    assert any(found["lab", key, "ServiceRequest"] for key in world.patients)


def test_doctor_writes_only_for_patients_in_care(api: TestClient, world: World, who: Tokens) -> None:
    doctor = who.of("doctor")
    assert (
        api.post("/fhir/Observation", json=observation(world.patients["attached"]), headers=doctor).status_code == 201
    )
    assert (
        api.post("/fhir/Observation", json=observation(world.patients["stranger"]), headers=doctor).status_code == 403
    )
    # Moving a record of a stranger onto a patient in care is refused too: the replaced version counts.
    moved = {**observation(world.patients["attached"]), "id": world.observations["stranger"]}
    assert api.put(f"/fhir/Observation/{moved['id']}", json=moved, headers=doctor).status_code == 403
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": observation(world.patients["stranger"]), "request": {"method": "POST", "url": "Observation"}}
        ],
    }
    assert api.post("/fhir", json=bundle, headers=doctor).status_code == 403


def test_break_glass_opens_the_record_for_a_while_flagged_and_shown_to_the_patient(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    doctor = who.of("doctor")
    stranger, obs = world.patients["stranger"], world.observations["stranger"]
    short = {"X-Break-Glass-Reason": "why"}
    assert api.get(f"/fhir/Observation/{obs}", headers={**doctor, **short}).status_code == 400  # a real reason
    assert api.get(f"/fhir/Observation/{obs}", headers={**doctor, **REASON}).status_code == 200
    # Open for the rest of the window: reads and searches without the header now include the patient.
    assert api.get(f"/fhir/Patient/{stranger}", headers=doctor).status_code == 200
    assert obs in ids(api.get(f"/fhir/Observation?subject=Patient/{stranger}", headers=doctor).json())
    rows = audit_rows(engine, region, "doctor-user")
    assert (BREAK_GLASS, "Patient", stranger, stranger, "allowed") in rows
    assert ("read" + FLAG, "Patient", stranger, stranger, "allowed") in rows
    # Writes are flagged as well, every entry of a bundle.
    entry = {"resource": observation(stranger), "request": {"method": "POST", "url": "Observation"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry, entry]}
    written = api.post("/fhir", json=bundle, headers=doctor)
    assert written.status_code == 200, written.text
    created = {e["response"]["location"].split("/")[1] for e in written.json()["entry"]}
    flagged_writes = {row[2] for row in audit_rows(engine, region, "doctor-user") if row[0] == "create" + FLAG}
    assert len(created) == 2 and flagged_writes == created
    # The patient sees it: the break-glass AuditEvent (with the reason) and the flagged access log.
    patient = who("patient", "patient/*.rs", patient=stranger)
    events = api.get("/fhir/AuditEvent", headers=patient).json()
    assert [e["resource"]["entity"][0]["description"] for e in events["entry"]] == [
        "Доставлен без сознания, нужен анамнез"
    ]
    log = api.get(f"/fhir/Patient/{stranger}/$access-log", headers=patient).json()
    flagged = [e["resource"] for e in log["entry"] if e["resource"].get("purposeOfEvent")]
    assert flagged and all(e["purposeOfEvent"][0]["coding"][0]["code"] == "BTG" for e in flagged)
    from fhir.resources.R4B.auditevent import AuditEvent

    for event in flagged:
        AuditEvent.model_validate(event)
    # Nobody can forge or erase a break-glass through the API.
    event_id = events["entry"][0]["resource"]["id"]
    assert api.delete(f"/fhir/AuditEvent/{event_id}", headers=who.of("admin")).status_code == 403


def test_a_write_with_a_reason_opens_the_record_and_is_flagged(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    stranger = world.patients["stranger"]
    written = api.post("/fhir/Observation", json=observation(stranger), headers={**who.of("doctor"), **REASON})
    assert written.status_code == 201, written.text
    rows = audit_rows(engine, region, "doctor-user")
    assert (BREAK_GLASS, "Patient", stranger, stranger, "allowed") in rows
    assert ("create" + FLAG, "Observation", written.json()["id"], stranger, "allowed") in rows


def test_break_glass_operation_and_who_may_use_it(api: TestClient, world: World, who: Tokens) -> None:
    stranger = world.patients["stranger"]
    body = {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "Консилиум по запросу"}]}
    opened = api.post(f"/fhir/Patient/{stranger}/$break-glass", json=body, headers=who.of("nurse"))
    assert opened.status_code == 200, opened.text
    assert api.get(f"/fhir/Observation/{world.observations['stranger']}", headers=who.of("nurse")).status_code == 200
    assert api.post(f"/fhir/Patient/{stranger}/$break-glass", json=body, headers=who.of("registrar")).status_code == 403
    assert (
        api.get(
            f"/fhir/Observation/{world.observations['stranger']}", headers={**who.of("registrar"), **REASON}
        ).status_code
        == 404
    )


def test_the_care_window_is_a_setting(api: TestClient, world: World, who: Tokens) -> None:
    long_ago = world.patients["seen_long_ago"]
    assert api.get(f"/fhir/Patient/{long_ago}", headers=who.of("doctor")).status_code == 403
    api.app.state.settings.care_window_days = 1000  # type: ignore[attr-defined]
    assert api.get(f"/fhir/Patient/{long_ago}", headers=who.of("doctor")).status_code == 200


def test_system_client_stays_inside_its_organisation(api: TestClient, world: World, who: Tokens) -> None:
    system = who.of("system")
    assert api.get(f"/fhir/Patient/{world.patients['attached']}", headers=system).status_code == 200
    assert api.get(f"/fhir/Patient/{world.patients['stranger']}", headers=system).status_code == 404
    # Attached, and booked with one of its practitioner roles (the referral names the doctor, not the clinic).
    assert api.get("/fhir/Patient", headers=system).json()["total"] == 2
    own = {**observation(world.patients["attached"]), "performer": [ref("Organization", world.polyclinic)]}
    assert api.post("/fhir/Observation", json=own, headers=system).status_code == 201
    foreign = {**observation(world.patients["attached"]), "performer": [ref("Organization", world.other_clinic)]}
    assert api.post("/fhir/Observation", json=foreign, headers=system).status_code == 403
    region = who("system", "system/*.rs medcity/region", organization=world.polyclinic)
    assert api.get(f"/fhir/Patient/{world.patients['stranger']}", headers=region).status_code == 200


def test_break_glass_page_opens_a_refused_page(api: TestClient, world: World, engine: Engine, region: str) -> None:
    add_patient_page(api)
    stranger = world.patients["stranger"]
    add_web_user(api, "dr.web", Role.DOCTOR, practitioner=world.doctor, organization=world.polyclinic)
    log_in(api, "dr.web")
    own = api.get(f"{PATIENT_PAGE}/{world.patients['attached']}")
    assert own.status_code == 200, own.text
    refused = api.get(f"{PATIENT_PAGE}/{stranger}", headers={"Accept-Language": "en"})
    assert refused.status_code == 403
    link = f"/break-glass/{stranger}?next={PATIENT_PAGE}/{stranger}"
    assert f'href="{link}"' in refused.text
    form = api.get(link, headers={"Accept-Language": "en"})
    assert form.status_code == 200 and 'name="reason"' in form.text
    data = {"csrf_token": csrf_of(form.text), "reason": "short", "next": f"{PATIENT_PAGE}/{stranger}"}
    assert api.post(f"/break-glass/{stranger}", data=data).status_code == 400  # a reason must say why
    assert api.post(f"/break-glass/{stranger}", data={**data, "reason": ""}, follow_redirects=False).status_code == 400
    opened = api.post(f"/break-glass/{stranger}", data={**data, "reason": "Экстренная госпитализация, нужен анамнез"},
                      follow_redirects=False)  # fmt: skip
    assert opened.status_code == 303 and opened.headers["location"] == f"{PATIENT_PAGE}/{stranger}"
    assert api.get(f"{PATIENT_PAGE}/{stranger}").json() == {"shown": stranger}
    assert (BREAK_GLASS, "Patient", stranger, stranger, "allowed") in audit_rows(engine, region, "dr.web")
    assert api.post(f"/break-glass/{stranger}", data={**data, "csrf_token": "forged"}).status_code == 403


def test_a_record_read_whole_holds_the_rows_the_per_row_policy_allows(
    engine: Engine, region: str, world: World
) -> None:
    """A chart or $everything decides once whether the caller may see the patient; it must show what the per-row
    conditions of a search would, for every relationship and every role that is limited by care."""
    w = world
    callers = {
        "doctor": Principal(kind="user", username="d", roles=("doctor",), practitioner=w.doctor,
                            organization=w.polyclinic),
        "nurse": Principal(kind="user", username="n", roles=("nurse",), organization=w.polyclinic),
        "lab": Principal(kind="user", username="l", roles=("lab",), organization=w.lab),
        "other clinic's doctor": Principal(kind="user", username="o", roles=("doctor",), organization=w.other_clinic),
    }  # fmt: skip
    context = Context(region=region)
    shown: dict[tuple[str, str], int] = {}
    with Store(engine, region).reader() as tx:
        for name, principal in callers.items():
            for key, patient in w.patients.items():
                per_row = compartment_refs(tx, patient, restrict=restriction(principal, context))
                whole = compartment_refs(tx, patient, restrict=record_restriction(principal, context, tx.conn, patient))
                assert whole == per_row, (name, key)
                shown[name, key] = len(whole) - 1  # the Patient itself is always the first ref
    assert {key for (name, key), n in shown.items() if name == "doctor" and n} == set(IN_CARE)
    others = {key for (name, key), n in shown.items() if name == "other clinic's doctor" and n}
    assert others == set(w.patients) - {"attached"}  # the other clinic's own attached patients
