"""Rules every laboratory and diagnostic result obeys, whichever door it comes through (a page, a plain FHIR write,
an entry of a transaction Bundle from an analyser's middleware):

- a result (Observation or DiagnosticReport with `basedOn`) belongs to a known, not cancelled order of the same
  patient;
- a value of a catalogued test is in the test's unit (UCUM) and within what is physically possible;
- the reference range (by the patient's sex and age) and the interpretation (N, H, L, HH, LL) are filled in from
  the catalogue when the sender left them out;
- a final report of a diagnostic study carries a conclusion; an attached document is a PDF or an image;
- a sample's barcode number is one sample's only.

Each rule returns the resource to store or raises a `Refusal` (422) with a message a person can act on. The
rules run inside the writing transaction, so a refusal leaves nothing half-saved.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any
from weakref import WeakKeyDictionary

from medcity.kit.i18n import N_
from medcity.orders.catalogue import DIAGNOSTIC, UCUM, Analyte, Range, catalogue, loinc_code
from medcity.orders.errors import Refusal
from medcity.orders.service import BARCODE_SYSTEM, CANCELLED, barcode_of, order_refs, subject_id
from medcity.store.repository import JSON, Tx

INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
INTERPRETATION_TEXT = {"N": "Normal", "H": "High", "L": "Low", "HH": "Critical high", "LL": "Critical low"}
CRITICAL = frozenset({"HH", "LL"})
FINAL = frozenset({"final", "amended", "corrected"})
DOCUMENT_TYPES = ("application/pdf", "image/")

# Orders and patients read once per transaction: a Bundle of one report and its ten results reads each once.
_seen: WeakKeyDictionary[Tx, dict[tuple[str, str], JSON | None]] = WeakKeyDictionary()


def lookup(tx: Tx, rtype: str, rid: str) -> JSON | None:
    """The current resource (None when gone), read once per transaction."""
    memo = _seen.setdefault(tx, {})
    if (rtype, rid) not in memo:
        stored = tx.current(rtype, rid)
        memo[(rtype, rid)] = None if stored is None or stored.deleted else stored.resource
    return memo[(rtype, rid)]


def forget(tx: Tx, rtype: str, rid: str) -> None:
    """Drop a memoised resource after this transaction changed it."""
    _seen.get(tx, {}).pop((rtype, rid), None)


def orders_of(tx: Tx, result: JSON) -> list[tuple[str, JSON]]:
    """The orders a result is based on; an unknown or cancelled one, or one of another patient, is refused."""
    found = []
    patient = subject_id(result)
    kind = str(result.get("resourceType"))
    for rid in order_refs(result):
        order = lookup(tx, "ServiceRequest", rid)
        if order is None:
            raise Refusal(N_("%(kind)s.basedOn: the order ServiceRequest/%(id)s is not known"), kind=kind, id=rid[:64])
        if order.get("status") in CANCELLED:
            raise Refusal(
                N_("%(kind)s.basedOn: the order ServiceRequest/%(id)s was cancelled; results cannot be recorded "
                   "against it"),
                kind=kind, id=rid[:64],
            )  # fmt: skip
        if patient is not None and subject_id(order) not in (None, patient):
            raise Refusal(N_("The order ServiceRequest/%(id)s is for another patient than this result"), id=rid[:64])
        found.append((rid, order))
    return found


# ---- values ------------------------------------------------------------------------------------------------


def check_quantity(analyte: Analyte, quantity: Any) -> float:
    """The value of a result of `analyte`, refused when its unit is not the test's or it cannot physically be."""
    named: dict[str, Any] = {"test": analyte, "code": analyte.code, "unit": analyte.unit}
    if not isinstance(quantity, dict):
        raise Refusal(N_("%(test)s (%(code)s) is reported as a Quantity in %(unit)s"), **named)
    system, code, unit = quantity.get("system"), quantity.get("code"), quantity.get("unit")
    given = code if code is not None else unit
    if (system is not None and system != UCUM) or given != analyte.unit:
        if not isinstance(given, str):
            raise Refusal(N_("%(test)s (%(code)s) is reported in %(unit)s (UCUM), but the value has no unit"), **named)
        raise Refusal(
            N_("%(test)s (%(code)s) is reported in %(unit)s (UCUM), not in %(given)s"), given=given[:40], **named
        )
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Refusal(N_("%(test)s (%(code)s) needs a numeric value"), **named)
    low, high = analyte.limits
    if not low <= value <= high:
        raise Refusal(
            N_("%(test)s %(value)s %(unit)s is outside what is physically possible (%(low)s–%(high)s %(unit)s); "
               "check the value and its unit"),
            value=f"{value:g}", low=f"{low:g}", high=f"{high:g}", **named,
        )  # fmt: skip
    return float(value)


def interpret(analyte: Analyte, value: float, low: float | None, high: float | None) -> str:
    critical_low, critical_high = analyte.critical
    if critical_low is not None and value < critical_low:
        return "LL"
    if critical_high is not None and value > critical_high:
        return "HH"
    if low is not None and value < low:
        return "L"
    if high is not None and value > high:
        return "H"
    return "N"


def interpretation_concept(code: str) -> JSON:
    return {"coding": [{"system": INTERPRETATION, "code": code, "display": INTERPRETATION_TEXT[code]}]}


def interpretation_code(observation: JSON) -> str | None:
    for concept in observation.get("interpretation") or []:
        for coding in (concept or {}).get("coding") or []:
            if coding.get("system") == INTERPRETATION and isinstance(coding.get("code"), str):
                return str(coding["code"])
    return None


def _age(birth: Any, on: Any) -> float | None:
    try:
        born = date.fromisoformat(str(birth)[:10]) if len(str(birth)) >= 10 else None
        when = date.fromisoformat(str(on)[:10]) if isinstance(on, str) else datetime.now(UTC).date()
    except ValueError:
        return None
    if born is None:
        return None
    return (when - born).days / 365.25


def range_for_patient(analyte: Analyte, patient: JSON, on: Any = None) -> Range | None:
    """The reference range of `analyte` for this patient's sex and age on the day `on` (today by default)."""
    return analyte.range_for(patient.get("gender"), _age(patient.get("birthDate"), on))


def _range_json(low: float | None, high: float | None, unit: str) -> JSON:
    bound = {"unit": unit, "system": UCUM, "code": unit}
    found: JSON = {}
    if low is not None:
        found["low"] = {"value": low, **bound}
    if high is not None:
        found["high"] = {"value": high, **bound}
    return found


def _given_range(observation: JSON) -> tuple[float | None, float | None]:
    first = (observation.get("referenceRange") or [{}])[0] or {}
    return (first.get("low") or {}).get("value"), (first.get("high") or {}).get("value")


def check_observation(tx: Tx, observation: JSON) -> JSON:
    orders_of(tx, observation)
    analyte = catalogue().analytes.get(loinc_code(observation.get("code")) or "")
    if analyte is None or ("valueQuantity" not in observation and observation.get("dataAbsentReason")):
        return observation
    value = check_quantity(analyte, observation.get("valueQuantity"))
    observation = dict(observation)
    if not observation.get("referenceRange"):
        patient = lookup(tx, "Patient", subject_id(observation) or "") if subject_id(observation) else None
        fitting = range_for_patient(analyte, patient or {}, observation.get("effectiveDateTime"))
        if fitting is not None:
            observation["referenceRange"] = [_range_json(fitting.low, fitting.high, analyte.unit)]
    if not observation.get("interpretation"):
        low, high = _given_range(observation)
        observation["interpretation"] = [interpretation_concept(interpret(analyte, value, low, high))]
    return observation


# ---- reports and samples -----------------------------------------------------------------------------------


def check_report(tx: Tx, report: JSON) -> JSON:
    orders_of(tx, report)
    test = catalogue().tests.get(loinc_code(report.get("code")) or "")
    if test is not None and test.kind == DIAGNOSTIC and report.get("status") in FINAL:
        conclusion = report.get("conclusion")
        if not isinstance(conclusion, str) or not conclusion.strip():
            raise Refusal(N_("A final report of %(test)s needs a conclusion"), test=test)
    for form in report.get("presentedForm") or []:
        kind = (form or {}).get("contentType")
        if not isinstance(kind, str) or not kind.startswith(DOCUMENT_TYPES):
            raise Refusal(N_("A report's attached document is a PDF or an image (contentType)"))
        if not form.get("data") and not form.get("url"):
            raise Refusal(N_("A report's attached document needs its data or a url to a Binary"))
    return report


def check_specimen(tx: Tx, specimen: JSON) -> JSON:
    for rid in order_refs({"basedOn": specimen.get("request")}):
        order = lookup(tx, "ServiceRequest", rid)
        if order is None or order.get("status") in CANCELLED:
            raise Refusal(N_("Specimen.request: ServiceRequest/%(id)s is not a known, open order"), id=rid[:64])
    barcode = barcode_of(specimen)
    if barcode is not None:
        holders = tx.search("Specimen", [("identifier", f"{BARCODE_SYSTEM}|{barcode}"), ("_count", "2")]).matches
        if any(h.id != specimen.get("id") for h in holders):
            raise Refusal(N_("The barcode %(barcode)s already labels another sample"), barcode=barcode[:20])
    return specimen
