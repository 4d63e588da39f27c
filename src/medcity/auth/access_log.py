"""`Patient/[id]/$access-log`: who opened this patient's record, as FHIR AuditEvents, so a patient sees it in the
portal and any client reads it through the API; `AuditEvent/$audit-log`: the region admin's search of the trail by
user, patient and time. Built from `audit_log` rows (the audit is kept there, see audit.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from medcity.auth import audit
from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import OperationCall, operation
from medcity.kit.i18n import N_
from medcity.kit.parameters import Parameters
from medcity.store.values import EPOCH, date_range

AUDIT_TYPES = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTIONS = "http://hl7.org/fhir/restful-interaction"
ROLES = "urn:medcity:role"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
# The FHIR AuditEvent.action of each interaction: Create, Read, Update, Delete, Execute.
_ACTION = {"create": "C", "read": "R", "vread": "R", "search": "R", "history": "R", "update": "U", "delete": "D"}
_SUBTYPE = {"search": "search-type", "history": "history-instance"}


def audit_event(row: dict[str, Any]) -> dict[str, Any]:
    action = str(row["action"])
    # A touch under break-glass carries the flag `#btg`; the break-glass itself is its own row.
    action, flagged = action.removesuffix(audit.FLAG), audit.under_glass(action)
    interaction = action.split(":", 1)[0]
    agent: dict[str, Any] = {
        "who": {"display": row["username"] or audit.OPERATOR},
        "requestor": True,
    }
    if row["role"]:
        agent["type"] = {"coding": [{"system": ROLES, "code": row["role"]}]}
    if row["organization"]:
        # The organisation the person acted for: what a patient needs to recognise who looked.
        agent["who"]["identifier"] = {"system": "urn:medcity:organization", "value": row["organization"]}
    if row["source"]:
        agent["network"] = {"address": row["source"], "type": "2"}
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": row["id"],
        "type": {"system": AUDIT_TYPES, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": RESTFUL_INTERACTIONS, "code": _SUBTYPE.get(interaction, interaction)}]
        if interaction in _ACTION or interaction == "operation"
        else [{"system": "urn:medcity:audit", "code": interaction}],
        "action": _ACTION.get(interaction, "E"),
        "recorded": row["recorded"],
        "outcome": "0" if row["outcome"] == "allowed" else "4",
        "outcomeDesc": "allowed" if row["outcome"] == "allowed" else "refused by the access policy",
        "agent": [agent],
        "source": {"observer": {"display": "medcity"}},
    }
    if flagged:
        event["purposeOfEvent"] = [{"coding": [{"system": ACT_REASON, "code": "BTG", "display": "break the glass"}]}]
    entity: dict[str, Any] = {"what": {"reference": f"Patient/{row['patient']}"}, "role": {
        "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}}  # fmt: skip
    event["entity"] = [entity]
    if row["resource_type"] and row["resource_id"]:
        event["entity"].append({"what": {"reference": f"{row['resource_type']}/{row['resource_id']}"}})
    return event


@operation("access-log", resource_types=("Patient",), type_level=False, instance_level=True,
           description="Who opened this patient's record (AuditEvents, newest first)")  # fmt: skip
def access_log(call: OperationCall) -> dict[str, Any]:
    count = Parameters(call.parameters).integer("_count", low=1, high=1000) or 100
    patient_id = call.resource_id or ""
    with call.store.reader() as tx:
        patient = tx.read("Patient", patient_id)
    if call.access is not None:
        call.access.require("read", "Patient", patient)
    rows = audit.for_patient(call.store.engine, call.store.region, patient_id, limit=count)
    entries = [{"resource": audit_event(row)} for row in rows]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _moment(params: Parameters, name: str, *, end: bool) -> datetime | None:
    """A FHIR date or dateTime parameter as an instant: where its precision starts, or (`end`) where it ends, so
    that `until=2026-12-01` takes in that whole day."""
    text = params.text(name)
    if not text:
        return None
    span = date_range(text)
    if span is None:
        raise InvalidRequest(N_("'%(name)s' is not a FHIR date or dateTime: %(typed)s"), name=name, typed=text[:40])
    return EPOCH + timedelta(milliseconds=span[1] if end else span[0])


@operation("audit-log", resource_types=("AuditEvent",),
           description="The audit trail of a user or a patient, narrowed by time (region admins only): user, "
                       "patient, since, until, _count")  # fmt: skip
def audit_search(call: OperationCall) -> dict[str, Any]:
    params = Parameters(call.parameters)
    rows = audit.search(
        call.store.engine, call.store.region, username=params.text("user"), patient=params.text("patient"),
        since=_moment(params, "since", end=False), until=_moment(params, "until", end=True),
        limit=params.integer("_count", low=1, high=1000) or 100,
    )  # fmt: skip
    if call.access is not None:
        audit.note_trail_read(call.access, rows)
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": audit_event(r)} for r in rows]}
