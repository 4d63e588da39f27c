"""The laboratory's workflow over its orders: the worklist, sample receipt by barcode, result entry (by hand or
from an analyser's CSV), validation and release by a second person.

Results entered are preliminary (a DiagnosticReport grouping one Observation per analyte, marked with who entered
them); release makes them final, which sets off the critical-value alerts and the patient's notice (`notify`, run
by the write rules). Every function takes the writing transaction; a refusal leaves nothing half-saved.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from medcity.kit.errors import MedcityError
from medcity.kit.i18n import N_
from medcity.orders.catalogue import LAB, UCUM, Test, catalogue, concept, loinc_code
from medcity.orders.errors import Refusal
from medcity.orders.service import (
    BARCODE_SYSTEM,
    CANCELLED,
    CATEGORY,
    barcode_of,
    now_instant,
    order_refs,
    valid_barcode,
    write,
)
from medcity.orders.worklist import open_orders
from medcity.registry.catalogue import BASE
from medcity.scheduling.resources import ref, ref_id
from medcity.store.repository import JSON, StoredResource, Tx

ENTERED_BY = f"{BASE}/StructureDefinition/entered-by"
RELEASED_BY = f"{BASE}/StructureDefinition/released-by"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
WORKLIST_SIZE = 100
SECOND_PERSON = N_("Results are released by a second person, not by the one who entered them")


@dataclass(frozen=True)
class WorkItem:
    order: StoredResource
    test: Test | None
    specimen: StoredResource | None
    report: StoredResource | None

    @property
    def barcode(self) -> str | None:
        return barcode_of(self.specimen.resource) if self.specimen else None

    @property
    def received(self) -> bool:
        return bool(self.specimen and self.specimen.resource.get("receivedTime"))

    @property
    def stage(self) -> str:
        """waiting (for the sample), received, entered (awaiting validation), released, or cancelled."""
        if self.order.resource.get("status") in CANCELLED:
            return "cancelled"
        status = self.report.resource.get("status") if self.report else None
        if status == "final":
            return "released"
        if status == "preliminary":
            return "entered"
        return "received" if self.received or self.specimen is None else "waiting"


def extension_value(data: JSON, url: str) -> Any:
    for extension in data.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == url:
            return extension.get("valueString")
    return None


def _with_extension(data: JSON, url: str, value: str) -> JSON:
    kept = [e for e in data.get("extension") or [] if e.get("url") != url]
    return {**data, "extension": [*kept, {"url": url, "valueString": value}]}


def test_of(order: JSON) -> Test | None:
    return catalogue().tests.get(loinc_code(order.get("code")) or "")


def _result_ids(report: JSON) -> list[str]:
    return [rid for r in report.get("result") or [] if (rid := ref_id(r, "Observation"))]


def results_of(tx: Tx, report: JSON) -> list[StoredResource]:
    """A report's Observations, in its order."""
    return results_of_each(tx, [report])[0]


def results_of_each(tx: Tx, reports: list[JSON]) -> list[list[StoredResource]]:
    """Each report's Observations, in its order, read together."""
    found = {s.id: s for s in tx.read_many([("Observation", rid) for r in reports for rid in _result_ids(r)])}
    return [[found[rid] for rid in _result_ids(r) if rid in found] for r in reports]


def reports_for(tx: Tx, orders: list[str]) -> dict[str, StoredResource]:
    """The current report of each order (by id)."""
    if not orders:
        return {}
    query = ",".join(f"ServiceRequest/{rid}" for rid in orders)
    found: dict[str, StoredResource] = {}
    for report in tx.search("DiagnosticReport", [("based-on", query), ("_count", "1000")]).matches:
        for rid in order_refs(report.resource):
            found[rid] = report
    return found


def work_items(tx: Tx, orders: list[StoredResource]) -> list[WorkItem]:
    specimen_ids = {o.id: ref_id((o.resource.get("specimen") or [None])[0], "Specimen") for o in orders}
    specimens = {s.id: s for s in tx.read_many([("Specimen", sid) for sid in specimen_ids.values() if sid])}
    reports = reports_for(tx, [o.id for o in orders])
    return [
        WorkItem(order=o, test=test_of(o.resource), specimen=specimens.get(specimen_ids[o.id] or ""),
                 report=reports.get(o.id))
        for o in orders
    ]  # fmt: skip


def worklist(
    tx: Tx, *, organization: str, kinds: tuple[str, ...] = (LAB,), count: int = WORKLIST_SIZE, restrict: Any = None
) -> list[WorkItem]:
    """Open orders addressed to `organization`, oldest first (`restrict`: the caller's access restriction)."""
    found = open_orders(tx, performer=organization, categories=[CATEGORY[kind] for kind in kinds], count=count,
                        restrict=restrict)  # fmt: skip
    return work_items(tx, found)


def addressed_order(tx: Tx, *, order: str, organization: str | None) -> StoredResource:
    """An order addressed to `organization` (None: any); another laboratory's order is not shown (404)."""
    stored = tx.current("ServiceRequest", order)
    if stored is None or stored.deleted:
        raise Refusal(N_("ServiceRequest/%(id)s is not known"), status=404, id=order[:64])
    performers = {ref_id(p, "Organization") for p in stored.resource.get("performer") or []}
    if organization is not None and organization not in performers:
        raise Refusal(N_("ServiceRequest/%(id)s is not addressed to this laboratory"), status=404, id=order[:64])
    return stored


def _open(order: StoredResource) -> None:
    status = order.resource.get("status")
    if status != "active":
        raise Refusal(N_("The order is %(state)s; results are entered for active orders only"), state=status)


def specimen_by_barcode(tx: Tx, barcode: str) -> StoredResource:
    number = barcode.strip()
    if not valid_barcode(number):
        raise Refusal(N_("'%(number)s' is not a sample barcode (13 digits with a check digit)"), number=number[:20])
    found = tx.search("Specimen", [("identifier", f"{BARCODE_SYSTEM}|{number}"), ("_count", "1")]).matches
    if not found:
        raise Refusal(N_("No sample has the barcode %(number)s"), status=404, number=number)
    return found[0]


def sample(tx: Tx, *, barcode: str, organization: str | None) -> tuple[StoredResource, list[StoredResource]]:
    """The sample with this barcode and its orders, which are addressed to `organization` (None: any)."""
    specimen = specimen_by_barcode(tx, barcode)
    orders = [addressed_order(tx, order=rid, organization=organization)
              for rid in order_refs({"basedOn": specimen.resource.get("request")})]  # fmt: skip
    return specimen, orders


def receive(tx: Tx, specimen: StoredResource) -> StoredResource:
    """Record a sample's arrival (again is harmless); `sample` finds it and checks where its orders go."""
    if specimen.resource.get("receivedTime"):
        return specimen
    return write(tx, {**specimen.resource, "receivedTime": now_instant()})


def parse_value(text: Any, name: str) -> float:
    """A number as a person or an analyser writes it (a decimal comma is fine)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    cleaned = str(text).strip().replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        raise Refusal(N_("%(test)s: '%(text)s' is not a number"), test=name, text=str(text)[:20]) from None


def _observation(order: StoredResource, specimen: str | None, code: str, value: float, unit: str,
                 organization: str | None) -> JSON:  # fmt: skip
    analyte = catalogue().analytes[code]
    data: JSON = {
        "resourceType": "Observation",
        "status": "preliminary",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": concept(code, analyte.en, analyte.ru),
        "subject": order.resource["subject"],
        "basedOn": [ref("ServiceRequest", order.id)],
        "effectiveDateTime": now_instant(),
        "issued": now_instant(),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }  # fmt: skip
    if specimen:
        data["specimen"] = ref("Specimen", specimen)
    if organization:
        data["performer"] = [ref("Organization", organization)]
    return data


def report_body(order: StoredResource, test: Test, section: tuple[str, str], organization: str | None, *,
                status: str) -> JSON:  # fmt: skip
    """A DiagnosticReport of `order` by `organization` in the v2-0074 diagnostic service `section` (code, display)."""
    body: JSON = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [{"coding": [{"system": REPORT_CATEGORY, "code": section[0], "display": section[1]}]}],
        "code": concept(test.code, test.en, test.ru),
        "subject": order.resource["subject"],
        "basedOn": [ref("ServiceRequest", order.id)],
        "effectiveDateTime": now_instant(),
    }
    if organization:
        body["performer"] = [ref("Organization", organization)]
    if "encounter" in order.resource:
        body["encounter"] = order.resource["encounter"]
    return body


def enter_results(
    tx: Tx,
    *,
    order: str,
    values: dict[str, tuple[Any, str | None]],
    entered_by: str,
    organization: str | None,
) -> StoredResource:
    """Record (or correct, before release) an order's results: analyte code → (value, unit; None for the test's).
    Returns the preliminary DiagnosticReport."""
    stored = addressed_order(tx, order=order, organization=organization)
    _open(stored)
    test = test_of(stored.resource)
    if test is None or test.kind != LAB:
        raise Refusal(N_("This order is not a laboratory test of the catalogue"))
    item = work_items(tx, [stored])[0]
    if item.specimen is not None and not item.received:
        raise Refusal(N_("Receive the sample (scan its barcode) before entering its results"))
    unknown = [code for code in values if code not in test.analytes]
    if unknown:
        raise Refusal(N_("%(codes)s: not part of %(test)s"), codes=", ".join(unknown)[:80], test=test)
    given = {code: v for code, v in values.items() if str(v[0]).strip()}
    if not given:
        raise Refusal(N_("Enter at least one result"))
    report = item.report.resource if item.report else None
    if report is not None and report.get("status") != "preliminary":
        raise Refusal(N_("These results are already released; an amendment goes through the laboratory system"))
    previous = {loinc_code(o.resource.get("code")): o for o in results_of(tx, report or {})}
    specimen = item.specimen.id if item.specimen else None
    results = []
    for code in test.analytes:
        if code in given:
            raw, unit = given[code]
            analyte = catalogue().analytes[code]
            data = _observation(stored, specimen, code, parse_value(raw, analyte.en), unit or analyte.unit,
                                organization)  # fmt: skip
            if code in previous:
                data["id"] = previous[code].id
            results.append(write(tx, data))
        elif code in previous:
            results.append(previous[code])
    body = report_body(stored, test, ("LAB", "Laboratory"), organization, status="preliminary")
    body["result"] = [ref("Observation", o.id) for o in results]
    if specimen:
        body["specimen"] = [ref("Specimen", specimen)]
    if report is not None:
        body["id"] = report["id"]
    return write(tx, _with_extension(body, ENTERED_BY, entered_by))


def release(tx: Tx, *, report: str, released_by: str, organization: str | None) -> StoredResource:
    """Validate and release entered results: a second person, not the one who entered them."""
    stored = tx.current("DiagnosticReport", report, for_update=True)
    if stored is None or stored.deleted:
        raise Refusal(N_("DiagnosticReport/%(id)s is not known"), status=404, id=report[:64])
    data = stored.resource
    for rid in order_refs(data):
        addressed_order(tx, order=rid, organization=organization)
    if data.get("status") != "preliminary":
        raise Refusal(N_("Only entered, not yet released results can be released"))
    if extension_value(data, ENTERED_BY) == released_by:
        raise Refusal(SECOND_PERSON)
    when = now_instant()
    for result in results_of(tx, data):
        write(tx, {**result.resource, "status": "final", "issued": when})
    released = {**data, "status": "final", "issued": when}
    return write(tx, _with_extension(released, RELEASED_BY, released_by))


# ---- analyser upload -----------------------------------------------------------------------------------------

CSV_COLUMNS = ("barcode", "loinc", "value", "unit")
MAX_CSV_ROWS = 5000


def read_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    """Rows of an analyser export with the header barcode,loinc,value,unit (comma or semicolon), with line numbers."""
    sample = text[:2000]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise Refusal(N_("The file needs the columns %(columns)s; missing: %(missing)s"),
                      columns=", ".join(CSV_COLUMNS), missing=", ".join(missing))  # fmt: skip
    reader.fieldnames = header
    rows = [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]
    if not rows:
        raise Refusal(N_("The file has no results"))
    if len(rows) > MAX_CSV_ROWS:
        raise Refusal(N_("At most %(count)s results per file"), count=MAX_CSV_ROWS)
    return rows


def upload(tx: Tx, *, text: str, entered_by: str, organization: str | None) -> list[StoredResource]:
    """Enter the results of an analyser's CSV export: all of the file, or (on any bad line) none of it."""
    by_order: dict[str, dict[str, tuple[Any, str | None]]] = {}
    # An analyser reports many analytes per sample: each sample and its orders are looked up once per file.
    samples: dict[str, list[StoredResource]] = {}
    for line, row in read_csv(text):
        try:
            if row["barcode"] not in samples:
                samples[row["barcode"]] = sample(tx, barcode=row["barcode"], organization=organization)[1]
            orders = samples[row["barcode"]]
            target = next((o for o in orders if row["loinc"] in (getattr(test_of(o.resource), "analytes", ()))), None)
            if target is None:
                raise Refusal(N_("the test %(code)s was not ordered on sample %(barcode)s"), code=row["loinc"][:20],
                              barcode=row["barcode"][:20])  # fmt: skip
            by_order.setdefault(target.id, {})[row["loinc"]] = (row["value"], row["unit"] or None)
        except MedcityError as refused:
            raise Refusal(N_("Line %(line)s: %(reason)s"), line=line, reason=refused) from None
    reports = []
    for order, values in by_order.items():
        try:
            reports.append(enter_results(tx, order=order, values=values, entered_by=entered_by,
                                         organization=organization))  # fmt: skip
        except MedcityError as refused:
            raise Refusal(N_("ServiceRequest/%(id)s: %(reason)s"), id=order, reason=refused) from None
    return reports
