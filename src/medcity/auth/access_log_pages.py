"""`/portal/{patient}/access-log`: the patient's own view of who opened their record — the rows behind
`Patient/$access-log`, said for a person, not an auditor: the staff member's name, role and organisation rather than
a login, one line per look (a chart opened is dozens of rows read in the same minute), refusals and break-glass
openings marked, with the reason the doctor gave. The patient's (or representative's) own looks are left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from medcity.auth import audit
from medcity.auth.care import BREAK_GLASS_TAG
from medcity.auth.gate import Access, page_access
from medcity.auth.users import get_user
from medcity.exchange.client import peer_of
from medcity.kit.i18n import N_, gettext
from medcity.registry.regions import region_of
from medcity.scheduling.display import Names
from medcity.scheduling.resources import parse_instant
from medcity.store.repository import Tx
from medcity.web.pages_kit import store_of
from medcity.web.render import add_template_package, render, request_language

router = APIRouter(include_in_schema=False)
add_template_package("medcity.auth")
PageAccess = Annotated[Access, Depends(page_access)]
SHOWN_ROWS = 2000  # the trail's newest rows read for the page; grouped, far fewer lines

ROLE_NAMES = {
    "doctor": N_("doctor"), "nurse": N_("nurse"), "registrar": N_("registrar"), "lab": N_("laboratory"),
    "pharmacist": N_("pharmacist"), "analyst": N_("analyst"), "admin": N_("administrator"),
    "system": N_("information system"), "patient": N_("patient"), "proxy": N_("representative"),
}  # fmt: skip
# What a patient calls the parts of their record the audit names by FHIR type; a type not here is shown as named.
PART_NAMES = {
    "Patient": N_("personal details"), "Appointment": N_("appointments"), "Encounter": N_("visits and stays"),
    "Observation": N_("results and measurements"), "DiagnosticReport": N_("test reports"),
    "ServiceRequest": N_("orders and referrals"), "Specimen": N_("samples"), "Condition": N_("diagnoses"),
    "Communication": N_("notices"), "Composition": N_("documents"), "DocumentReference": N_("documents"),
    "Binary": N_("attached files"), "ImagingStudy": N_("imaging studies"), "MedicationRequest": N_("prescriptions"),
    "MedicationDispense": N_("dispensed medicines"), "MedicationStatement": N_("medicines"),
    "AllergyIntolerance": N_("allergies"), "Immunization": N_("vaccinations"), "Procedure": N_("procedures"),
    "QuestionnaireResponse": N_("visit protocols"), "Flag": N_("risk flags"), "RiskAssessment": N_("risk assessments"),
    "CarePlan": N_("care plans"), "Task": N_("tasks"), "Provenance": N_("signatures"), "Consent": N_("consents"),
    "RelatedPerson": N_("representatives"), "Coverage": N_("insurance"), "EpisodeOfCare": N_("episodes of care"),
}  # fmt: skip
WRITES = ("create", "update", "delete")  # the audited interactions that change the record


@dataclass
class Look:
    """One person's look at the record: the audit rows of one user, kind and outcome within one minute."""

    username: str
    when: str
    changed: bool
    refused: bool
    glass: bool
    who: str = ""  # the practitioner's name; empty for an account linked to none (then its role and login say who)
    role: str = ""
    organization: str = ""
    reason: str = ""
    kinds: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str, bool, bool, bool]:
        return self.username, self.when, self.changed, self.refused, self.glass

    def parts(self, lang: str) -> list[str]:
        """The parts of the record this look touched, in the reader's words, each once."""
        return sorted({gettext(PART_NAMES[k], lang) if k in PART_NAMES else k for k in self.kinds})


@router.get("/portal/{patient_id}/access-log", response_class=HTMLResponse)
def access_log_page(request: Request, patient_id: str, access: PageAccess) -> HTMLResponse:
    store = store_of(request)
    with store.reader() as tx:
        patient = tx.read("Patient", patient_id)
        access.require("read", "Patient", patient)
        names = Names(tx)
        rows = audit.for_patient(store.engine, store.region, patient_id, limit=SHOWN_ROWS)
        others = [row for row in rows if row["username"] != access.principal.username]
        looks = _looks(tx, names, others, _reasons(tx, names, patient_id), request_language(request))
        name = names.of("Patient", patient_id)
    access.record("read", "Patient", patient_id)
    response = render(request, "auth/access_log.html", {"looks": looks, "name": name, "role_names": ROLE_NAMES})
    response.headers["Cache-Control"] = "no-store"
    return response


def _looks(
    tx: Tx, names: Names, rows: list[dict[str, Any]], reasons: dict[tuple[str, str], str], lang: str
) -> list[Look]:
    """The rows (newest first) as looks: consecutive rows of the same user, minute, kind and outcome are one."""
    people: dict[str, tuple[str, str]] = {}
    looks: list[Look] = []
    for row in rows:
        action = str(row["action"])
        when = names.when(parse_instant(str(row["recorded"])))
        look = Look(username=str(row["username"] or audit.OPERATOR), when=when,
                    changed=action.split(":", 1)[0] in WRITES, refused=row["outcome"] != "allowed",
                    glass=audit.under_glass(action))  # fmt: skip
        if not looks or looks[-1].key != look.key:
            if look.username not in people:
                people[look.username] = _person(tx, names, look.username, row["organization"], lang)
            look.who, look.organization = people[look.username]
            look.role, look.reason = str(row["role"] or ""), reasons.get((look.username, look.when), "")
            looks.append(look)
        if action != audit.BREAK_GLASS and row["resource_type"]:
            looks[-1].kinds.add(str(row["resource_type"]))
    return looks


def _person(tx: Tx, names: Names, username: str, organization: Any, lang: str) -> tuple[str, str]:
    """The name a patient knows a user by (a practitioner's name; another region's system by that region's name;
    none for an account linked to no practitioner) and their organisation's name."""
    peer = peer_of(username)
    if peer is not None:
        return region_of(peer).name.display(lang), ""
    user = get_user(tx.conn, region=tx.region, username=username)
    who = names.of("Practitioner", user.practitioner) if user is not None and user.practitioner else ""
    return who, names.of("Organization", str(organization)) if organization else ""


def _reasons(tx: Tx, names: Names, patient_id: str) -> dict[tuple[str, str], str]:
    """The reasons given for break-glass openings of this record, by (login, minute)."""
    events = tx.search("AuditEvent", [
        ("entity", f"Patient/{patient_id}"), ("_tag", f"{BREAK_GLASS_TAG}|break-glass"), ("_sort", "-date"),
        ("_count", "200"), ("_total", "none"),
    ]).matches  # fmt: skip
    found = {}
    for event in events:
        data = event.resource
        who = str((data.get("agent") or [{}])[0].get("altId") or "")
        when = names.when(parse_instant(str(data["recorded"])))
        found[(who, when)] = str((data.get("entity") or [{}])[0].get("description") or "")
    return found
