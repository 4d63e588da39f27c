"""Every role against every access path, for patients in every relationship to the caller: the outcome must be the
one docs/security.md's policy table gives. A path is "allowed" when it shows the patient's data, "denied" when it
shows nothing of it (403, 404, or an empty result: refusals do not confirm existence)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from medcity.auth.users import Role
from tests.auth import world as city
from tests.auth.world import Tokens, World, ids, observation
from tests.web_login import PATIENT_PAGE, add_patient_page, add_web_user, log_in

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures

TARGETS = ("attached", "booked", "referred", "stranger")
PATHS = ("read_patient", "read_obs", "search", "include", "history", "create", "operation", "page")
READ_PATHS = frozenset(PATHS) - {"create"}
# Whose data each role reaches (see docs/security.md): the world's doctor is attached to the polyclinic, has the
# booked patient's appointment and wrote the referral; the nurse and the system act for the polyclinic only.
REACH = {
    "patient": {"attached"},
    "doctor": {"attached", "booked", "referred"},
    "nurse": {"attached", "booked"},
    "registrar": {"attached", "booked"},
    "system": {"attached", "booked"},
    "lab": {"referred"},
    "pharmacist": set(),
    "analyst": set(),
    "admin": set(TARGETS),
}
# Which paths each role may take for a patient it reaches.
PATHS_OF = {
    "patient": READ_PATHS,
    "doctor": frozenset(PATHS),
    "nurse": frozenset(PATHS),
    "admin": frozenset(PATHS),
    "system": READ_PATHS - {"page"},  # a system has no browser; its writes must name its organisation
    "registrar": frozenset({"read_patient", "page"}),  # demographics, no clinical content
    "lab": frozenset({"read_patient", "page"}),  # the patient of an order; results only its own (test_roles)
    "pharmacist": frozenset(),
    "analyst": frozenset(),
}


def _shows(api: TestClient, path: str, headers: dict[str, str], patient: str, obs: str) -> bool:
    if path == "read_patient":
        return bool(api.get(f"/fhir/Patient/{patient}", headers=headers).status_code == 200)
    if path == "read_obs":
        return bool(api.get(f"/fhir/Observation/{obs}", headers=headers).status_code == 200)
    if path == "search":
        found = api.get(f"/fhir/Observation?subject=Patient/{patient}", headers=headers)
        return found.status_code == 200 and obs in ids(found.json()) and found.json()["total"] >= 1
    if path == "include":
        found = api.get(f"/fhir/Observation?_id={obs}&_include=Observation:subject", headers=headers)
        return found.status_code == 200 and patient in ids(found.json())
    if path == "history":
        found = api.get(f"/fhir/Observation/{obs}/_history", headers=headers)
        return found.status_code == 200 and bool(found.json().get("entry"))
    if path == "create":
        return bool(api.post("/fhir/Observation", json=observation(patient), headers=headers).status_code == 201)
    if path == "operation":
        return bool(api.get(f"/fhir/Patient/{patient}/$everything", headers=headers).status_code == 200)
    return bool(api.get(f"{PATIENT_PAGE}/{patient}").status_code == 200)  # the page, as the logged-in browser


def _web_login(api: TestClient, role: str, world: World) -> None:
    add_patient_page(api)
    links = {
        "patient": {"patient": world.patients["attached"]},
        "doctor": {"practitioner": world.doctor, "organization": world.polyclinic},
        "lab": {"organization": world.lab},
        "pharmacist": {"organization": world.pharmacy},
    }.get(role, {"organization": world.polyclinic} if role in ("nurse", "registrar") else {})
    add_web_user(api, f"web-{role}", Role(role), **links)
    log_in(api, f"web-{role}")


@pytest.mark.parametrize("role", list(REACH))
def test_role_by_path_by_patient(api: TestClient, world: World, who: Tokens, role: str) -> None:
    headers = who.of(role)
    if role != "system":
        _web_login(api, role, world)
    outcomes: dict[tuple[str, str], bool] = {}
    expected: dict[tuple[str, str], bool] = {}
    for target in TARGETS:
        patient, obs = world.patients[target], world.observations[target]
        for path in PATHS:
            if path == "page" and role == "system":
                continue
            expected[(path, target)] = target in REACH[role] and path in PATHS_OF[role]
            outcomes[(path, target)] = _shows(api, path, headers, patient, obs)
    wrong = {key: outcome for key, outcome in outcomes.items() if outcome != expected[key]}
    assert not wrong, f"{role}: (path, patient) → shown, where the policy says otherwise: {wrong}"
