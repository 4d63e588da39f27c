"""What a released result sets off, by any door: a critical value alerts the doctor who ordered the test (a
Communication of category alert, priority stat, to the order's requester); a released report completes its orders
and tells the patient their results are ready (a notice prepared for the patient's channel, in their language, as
booking's notices are: `medcity.scheduling.notices`).

Both are written in the result's own transaction, so an alert exists exactly when the result does.
"""

from __future__ import annotations

from typing import Any

from medcity.kit.i18n import N_, gettext
from medcity.lab.rules import CRITICAL, FINAL, forget, interpretation_code, lookup, orders_of
from medcity.orders.catalogue import catalogue, loinc_code
from medcity.orders.service import now_instant, subject_id
from medcity.scheduling import notices
from medcity.store.repository import JSON, Tx

COMMUNICATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/communication-category"
ALERT, NOTIFICATION = "alert", "notification"
# The kind of the patient's notice among scheduling's notices (`medcity.scheduling.notices`).
RESULTS_READY = "results"


def _newly_final(tx: Tx, data: JSON) -> bool:
    """Final now, and not already final before this write (a correction of a released result alerts no twice)."""
    if data.get("status") not in FINAL:
        return False
    rid = data.get("id")
    before = tx.current(str(data["resourceType"]), rid) if isinstance(rid, str) else None
    return before is None or before.deleted or before.resource.get("status") not in FINAL


def _alert(*, patient: str, order: str, recipient: JSON, text: str, code: Any) -> JSON:
    """The doctor's alert: shown at once in their results list (not through a patient's notice channel)."""
    data: JSON = {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"coding": [{"system": COMMUNICATION_CATEGORY, "code": ALERT}]}],
        "priority": "stat",
        "subject": {"reference": f"Patient/{patient}"},
        "about": [{"reference": f"ServiceRequest/{order}"}],
        "recipient": [recipient],
        "sent": now_instant(),
        "payload": [{"contentString": text}],
    }
    if isinstance(code, dict):
        data["reasonCode"] = [code]
    return data


def on_observation(tx: Tx, observation: JSON) -> None:
    flag = interpretation_code(observation)
    patient = subject_id(observation)
    if flag not in CRITICAL or patient is None or not _newly_final(tx, observation):
        return
    analyte = catalogue().analytes.get(loinc_code(observation.get("code")) or "")
    quantity = observation.get("valueQuantity") or {}
    name = analyte.en if analyte else "Result"
    text = f"{name}: {quantity.get('value')} {quantity.get('unit') or quantity.get('code') or ''} ({flag})"
    for rid, order in orders_of(tx, observation):
        requester = order.get("requester")
        if isinstance(requester, dict) and requester.get("reference"):
            alert = _alert(patient=patient, order=rid, recipient=requester, text=text.strip(), code=observation["code"])
            tx.create(alert)


def on_report(tx: Tx, report: JSON) -> None:
    patient = subject_id(report)
    if patient is None or not _newly_final(tx, report):
        return
    orders = orders_of(tx, report)
    for rid, order in orders:
        if order.get("status") == "active":
            tx.update({**order, "status": "completed"})
            forget(tx, "ServiceRequest", rid)
    # Prepared for the patient's channel, like every notice to a patient, and said in their language.
    lang = notices.preferred_language(lookup(tx, "Patient", patient) or {})
    test = catalogue().tests.get(loinc_code(report.get("code")) or "")
    name = test.name(lang) if test else str((report.get("code") or {}).get("text") or "")
    code = report.get("code")
    notices.prepare(
        tx, RESULTS_READY, patient=patient, lang=lang,
        text=gettext(N_("Your results are ready: %(test)s. You can see them in your medical record."), lang)
        % {"test": name},
        sender=(report.get("performer") or [None])[0],
        about=[{"reference": f"ServiceRequest/{rid}"} for rid, _order in orders],
        categories=({"coding": [{"system": COMMUNICATION_CATEGORY, "code": NOTIFICATION}]},),
        reason=code if isinstance(code, dict) else None,
    )  # fmt: skip
