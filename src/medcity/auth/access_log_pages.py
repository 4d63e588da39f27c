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
from medcity.kit.i18n import N_
from medcity.scheduling.display import Names
from medcity.scheduling.resources import parse_instant
from medcity.store.repository import Tx
from medcity.web.pages_kit import store_of
from medcity.web.render import add_template_package, render

router = APIRouter(include_in_schema=False)
add_template_package("medcity.auth")
PageAccess = Annotated[Access, Depends(page_access)]
SHOWN_ROWS = 2000  # the trail's newest rows read for the page; grouped, far fewer lines

ROLE_NAMES = {
    "doctor": N_("doctor"), "nurse": N_("nurse"), "registrar": N_("registrar"), "lab": N_("laboratory"),
    "pharmacist": N_("pharmacist"), "analyst": N_("analyst"), "admin": N_("administrator"),
    "system": N_("information system"), "patient": N_("patient"), "proxy": N_("representative"),
}  # fmt: skip
WRITES = ("create", "update", "delete", "patch")


@dataclass
class Look:
    """One person's look at the record: the audit rows of one user, kind and outcome within one minute."""

    when: str
    who: str
    role: str
    organization: str
    changed: bool
    refused: bool
    glass: bool
    reason: str = ""
    kinds: set[str] = field(default_factory=set)
    count: int = 0


@router.get("/portal/{patient_id}/access-log", response_class=HTMLResponse)
def access_log_page(request: Request, patient_id: str, access: PageAccess) -> HTMLResponse:
    store = store_of(request)
    with store.reader() as tx:
        patient = tx.read("Patient", patient_id)
        access.require("read", "Patient", patient)
        rows = audit.for_patient(store.engine, store.region, patient_id, limit=SHOWN_ROWS)
        looks = _looks(tx, [r for r in rows if r["username"] != access.principal.username], _reasons(tx, patient_id))
        name = Names(tx).of("Patient", patient_id)
    access.record("read", "Patient", patient_id)
    response = render(request, "auth/access_log.html", {"looks": looks, "patient": patient_id, "name": name,
                                                         "role_names": ROLE_NAMES})  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


def _looks(tx: Tx, rows: list[dict[str, Any]], reasons: dict[tuple[str, str], str]) -> list[Look]:
    names = Names(tx)
    people: dict[str, tuple[str, str]] = {}
    looks: list[Look] = []
    for row in rows:  # newest first
        username = str(row["username"] or audit.OPERATOR)
        when = names.when(parse_instant(str(row["recorded"])))
        action = str(row["action"])
        changed, refused = action.split(":", 1)[0] in WRITES, row["outcome"] != "allowed"
        glass = audit.under_glass(action)
        last = looks[-1] if looks else None
        if last is None or (last.when, last.changed, last.refused, last.glass) != (when, changed, refused, glass) or \
                people.get(username, ("", ""))[0] != last.who:  # fmt: skip
            who, organization = people.setdefault(username, _person(tx, names, username, row["organization"]))
            last = Look(when=when, who=who, role=str(row["role"] or ""), organization=organization, changed=changed,
                        refused=refused, glass=glass, reason=reasons.get((username, when), ""))  # fmt: skip
            looks.append(last)
        if action != audit.BREAK_GLASS and row["resource_type"]:
            last.kinds.add(str(row["resource_type"]))
        last.count += 1
    return looks


def _person(tx: Tx, names: Names, username: str, organization: Any) -> tuple[str, str]:
    """The name a patient knows a user by (a practitioner's name, else the login) and their organisation's name."""
    user = get_user(tx.conn, region=tx.region, username=username)
    who = names.of("Practitioner", user.practitioner) if user is not None and user.practitioner else username
    return who, names.of("Organization", str(organization)) if organization else ""


def _reasons(tx: Tx, patient_id: str) -> dict[tuple[str, str], str]:
    """The reasons given for break-glass openings of this record, by (login, minute)."""
    events = tx.search("AuditEvent", [
        ("entity", f"Patient/{patient_id}"), ("_tag", f"{BREAK_GLASS_TAG}|break-glass"), ("_sort", "-date"),
        ("_count", "200"), ("_total", "none"),
    ]).matches  # fmt: skip
    names = Names(tx)
    found = {}
    for event in events:
        data = event.resource
        who = str((data.get("agent") or [{}])[0].get("altId") or "")
        when = names.when(parse_instant(str(data["recorded"])))
        found[(who, when)] = str((data.get("entity") or [{}])[0].get("description") or "")
    return found
