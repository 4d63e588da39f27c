"""Ordering: a doctor orders laboratory tests and instrumental or imaging studies (one ServiceRequest each), singly
or as a package per diagnosis; the orders of one sitting share a requisition number, and the laboratory tests get
one sample tube (Specimen with a barcode number) per specimen type.

Every write goes through the same write rules as a FHIR write (`medcity.kit.hooks.apply_write_rules`), so a page
cannot store what the API would refuse.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from medcity.kit.errors import NotFound
from medcity.kit.hooks import apply_write_rules
from medcity.kit.i18n import N_
from medcity.kit.ids import new_id
from medcity.orders.catalogue import DIAGNOSTIC, ICD10, LAB, SNOMED, Test, catalogue, concept
from medcity.orders.errors import Refusal
from medcity.registry.catalogue import BASE
from medcity.scheduling.resources import ref, ref_id
from medcity.store.repository import JSON, StoredResource, Tx

REQUISITION_SYSTEM = f"{BASE}/sid/requisition"
BARCODE_SYSTEM = f"{BASE}/sid/specimen-barcode"
# ServiceRequest.category (SNOMED CT): laboratory procedure, imaging, and other diagnostic procedures (ECG).
CATEGORY = {"lab": "108252007", "imaging": "363679005", "ecg": "103693007"}
CATEGORY_DISPLAY = {"lab": "Laboratory procedure", "imaging": "Imaging", "ecg": "Diagnostic procedure"}
# Statuses of an order that can no longer receive results.
CANCELLED = frozenset({"revoked", "entered-in-error"})


def now_instant() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write(tx: Tx, data: JSON, *, rid: str | None = None) -> StoredResource:
    """Create (or update, when `data` has an id and no `rid` is given) under every write rule of the type."""
    data = apply_write_rules(tx, data)
    if rid is None and "id" in data:
        return tx.update(data).stored
    return tx.create(data, rid=rid).stored


def category_of(test: Test) -> str:
    return LAB if test.kind == LAB else test.category or "imaging"


def category_concept(kind: str) -> JSON:
    return {"coding": [{"system": SNOMED, "code": CATEGORY[kind], "display": CATEGORY_DISPLAY[kind]}]}


def package(region: str, diagnosis: str) -> tuple[str, ...]:
    """The tests ordered together for a diagnosis in this region; an unknown diagnosis has no package."""
    found = catalogue().packages_for(region).get(diagnosis.strip().upper())
    if found is None:
        raise Refusal(N_("There is no package of tests for the diagnosis %(code)s in this region"), code=diagnosis[:20])
    return found


def new_barcode() -> str:
    """A 13-digit number with an EAN-13 check digit, so that a mistyped digit is caught at the reception desk."""
    body = f"{secrets.randbelow(10**12):012d}"
    return body + str(ean13_check(body))


def ean13_check(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10


def valid_barcode(number: str) -> bool:
    return len(number) == 13 and number.isdigit() and ean13_check(number[:12]) == int(number[12])


@dataclass(frozen=True)
class Placed:
    requisition: str
    orders: list[StoredResource]
    specimens: list[StoredResource]


def _require(tx: Tx, rtype: str, rid: str | None, unknown: str) -> str:
    """The id of an existing resource; `unknown` (a msgid with %(id)s) when it does not exist."""
    stored = tx.current(rtype, rid) if rid else None
    if stored is None or stored.deleted:
        raise Refusal(unknown, id=(rid or "—")[:64])
    return stored.id


def place_orders(
    tx: Tx,
    *,
    patient: str,
    tests: list[str],
    requester: str | None,
    encounter: str | None = None,
    laboratory: str | None = None,
    diagnostics: str | None = None,
    diagnosis: str | None = None,
) -> Placed:
    """Order `tests` (catalogue codes) for a patient: laboratory tests from `laboratory`, studies from the
    `diagnostics` department (Organization ids). All or nothing."""
    known = catalogue().tests
    unknown = [code for code in tests if code not in known]
    if unknown:
        raise Refusal(N_("Unknown tests: %(codes)s"), codes=", ".join(unknown)[:200])
    if not tests:
        raise Refusal(N_("Choose at least one test"))
    chosen = [known[code] for code in dict.fromkeys(tests)]
    _require(tx, "Patient", patient, N_("The patient %(id)s is not known"))
    if encounter:
        _require(tx, "Encounter", encounter, N_("The visit %(id)s is not known"))
    if requester:
        _require(tx, "Practitioner", requester, N_("The ordering doctor %(id)s is not known"))
    performers = {LAB: laboratory, DIAGNOSTIC: diagnostics}
    unknown_performer = {LAB: N_("The laboratory %(id)s is not known"),
                         DIAGNOSTIC: N_("The diagnostic department %(id)s is not known")}  # fmt: skip
    for kind in sorted({t.kind for t in chosen}):
        _require(tx, "Organization", performers[kind], unknown_performer[kind])
    requisition = new_barcode()[:12]
    tubes: dict[str, str] = {t.specimen: new_id() for t in chosen if t.kind == LAB and t.specimen}
    order_ids = {t.code: new_id() for t in chosen}
    orders = [
        write(tx, _order(t, patient=patient, encounter=encounter, requester=requester,
                         performer=performers[t.kind], requisition=requisition, diagnosis=diagnosis,
                         specimen=tubes.get(t.specimen or "")), rid=order_ids[t.code])
        for t in chosen
    ]  # fmt: skip
    specimens = [
        write(tx, _specimen(kind, patient, [order_ids[t.code] for t in chosen if t.specimen == kind]), rid=sid)
        for kind, sid in tubes.items()
    ]
    return Placed(requisition=requisition, orders=orders, specimens=specimens)


def _order(
    test: Test,
    *,
    patient: str,
    encounter: str | None,
    requester: str | None,
    performer: str | None,
    requisition: str,
    diagnosis: str | None,
    specimen: str | None,
) -> JSON:
    data: JSON = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "requisition": {"system": REQUISITION_SYSTEM, "value": requisition},
        "category": [category_concept(category_of(test))],
        "code": concept(test.code, test.en, test.ru),
        "subject": ref("Patient", patient),
        "authoredOn": now_instant(),
        "performer": [ref("Organization", performer)] if performer else [],
    }
    if encounter:
        data["encounter"] = ref("Encounter", encounter)
    if requester:
        data["requester"] = ref("Practitioner", requester)
    if diagnosis:
        data["reasonCode"] = [{"coding": [{"system": ICD10, "code": diagnosis.strip().upper()}]}]
    if specimen:
        data["specimen"] = [ref("Specimen", specimen)]
    return {k: v for k, v in data.items() if v != []}


def _specimen(kind: str, patient: str, orders: list[str]) -> JSON:
    specimen = catalogue().specimens[kind]
    return {
        "resourceType": "Specimen",
        "identifier": [{"system": BARCODE_SYSTEM, "value": new_barcode()}],
        "status": "available",
        "type": {"coding": [{"system": SNOMED, "code": specimen.snomed, "display": specimen.en}], "text": specimen.ru},
        "subject": ref("Patient", patient),
        "request": [ref("ServiceRequest", order) for order in orders],
        "collection": {"collectedDateTime": now_instant()},
    }


def cancel_order(tx: Tx, *, order: str) -> StoredResource:
    """Revoke an order that has no released result yet."""
    stored = tx.current("ServiceRequest", order, for_update=True)
    if stored is None or stored.deleted:
        raise NotFound(f"ServiceRequest/{order[:64]} is not known")
    data = dict(stored.resource)
    if data.get("status") == "completed":
        raise Refusal(N_("A completed order has released results and cannot be cancelled"))
    data["status"] = "revoked"
    return write(tx, data)


def barcode_of(specimen: JSON) -> str | None:
    for identifier in specimen.get("identifier") or []:
        if isinstance(identifier, dict) and identifier.get("system") == BARCODE_SYSTEM:
            value = identifier.get("value")
            return value if isinstance(value, str) else None
    return None


def subject_id(data: JSON) -> str | None:
    return ref_id(data.get("subject"), "Patient")


def order_refs(data: Any) -> list[str]:
    """The ServiceRequest ids a result is based on."""
    if not isinstance(data, dict):
        return []
    return [rid for based in data.get("basedOn") or [] if (rid := ref_id(based, "ServiceRequest"))]
