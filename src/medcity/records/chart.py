"""The patient chart: the whole record across institutions, assembled from the store for one page.

One statement reads the patient's compartment (the policy's restriction applied in SQL per type, as for
``$everything``), one per type the organisations, practitioner roles, practitioners and medications it points at;
everything else is done here in memory, so that a record of a thousand resources opens in a few statements.

Which institution wrote an item (the rule the chart, the portal and the PDF share):

1. the organisation the resource itself names as its author — ``serviceProvider`` of an Encounter, ``performer``
   of a result or report, ``recorder``/``asserter`` of a diagnosis or allergy, ``requester`` of a prescription,
   ``custodian``/``author`` of a document, ``author`` of a flag (see ``_AUTHORS``); a PractitionerRole there counts
   as its ``organization``, a Reference to an organisation that the store does not hold counts by its ``display``;
2. else the ``serviceProvider`` of the Encounter the resource belongs to;
3. else unknown (shown as such; ``meta.source`` is not used, because the server does not stamp it).
"""

from __future__ import annotations

import gc
import html
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import and_, or_, select

from medcity.lab.service import REPORT_CATEGORY
from medcity.store.repository import Restriction, StoredResource, Tx
from medcity.store.schema import resource as stored_table
from medcity.terminology.units import unit_name, unit_of

JSON = dict[str, Any]

CHART_TYPES = (
    "Encounter", "Condition", "Observation", "DiagnosticReport", "DocumentReference", "Composition",
    "AllergyIntolerance", "Immunization", "MedicationRequest", "MedicationStatement", "Flag", "RiskAssessment",
)  # fmt: skip
REFERENCED = ("Organization", "PractitionerRole", "Practitioner", "Medication")

# Where each type names who wrote it, in order of preference (dotted paths; lists are walked).
_AUTHORS: dict[str, tuple[str, ...]] = {
    "Encounter": ("serviceProvider", "participant.individual"),
    "Condition": ("recorder", "asserter"),
    "Observation": ("performer",),
    "DiagnosticReport": ("performer", "resultsInterpreter"),
    "DocumentReference": ("custodian", "author"),
    "Composition": ("custodian", "author"),
    "AllergyIntolerance": ("recorder", "asserter"),
    "Immunization": ("performer.actor",),
    "MedicationRequest": ("requester", "recorder", "performer"),
    "MedicationStatement": ("informationSource",),
    "Flag": ("author",),
    "RiskAssessment": ("performer",),
}
# Where each type keeps its clinical date, in order of preference.
_DATES: dict[str, tuple[str, ...]] = {
    "Encounter": ("period.start",),
    "Condition": ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
    "DiagnosticReport": ("effectiveDateTime", "effectivePeriod.start", "issued"),
    "DocumentReference": ("date", "context.period.start"),
    "Composition": ("date",),
    "AllergyIntolerance": ("recordedDate", "onsetDateTime"),
    "Immunization": ("occurrenceDateTime",),
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "Flag": ("period.start",),
    "RiskAssessment": ("occurrenceDateTime", "occurrencePeriod.start"),
}
ACTIVE_CONDITION = frozenset({"active", "recurrence", "relapse"})
# Observation interpretation codes (v3 ObservationInterpretation) that mean "outside the normal".
HIGH = frozenset({"H", "HU", ">"})
LOW = frozenset({"L", "LU", "<"})
CRITICAL = frozenset({"HH", "LL", "AA"})
ABNORMAL = HIGH | LOW | CRITICAL | {"A"}
TREND_POINTS = 20
_TAG = re.compile(r"<[^>]+>")


# ---- reading JSON ------------------------------------------------------------------------------------------


def _walk(data: Any, path: str) -> Iterator[Any]:
    """Every value at a dotted path, lists flattened."""
    if "." not in path:  # the common case, without building lists
        item = data.get(path)
        if isinstance(item, list):
            yield from item
        elif item is not None:
            yield item
        return
    values = [data]
    for step in path.split("."):
        found: list[Any] = []
        for value in values:
            item = value.get(step) if isinstance(value, dict) else None
            found.extend(item if isinstance(item, list) else [] if item is None else [item])
        values = found
    yield from values


def _first(data: JSON, paths: Iterable[str]) -> Any:
    for path in paths:
        for value in _walk(data, path):
            return value
    return None


def concept_text(concept: Any) -> str:
    """What a person reads for a CodeableConcept: its text, else the first coding's display, else its code."""
    if not isinstance(concept, dict):
        return ""
    codings = concept.get("coding") or [{}]
    return str(concept.get("text") or codings[0].get("display") or codings[0].get("code") or "")


def _code(concept: Any) -> str | None:
    codings = (concept.get("coding") or [{}]) if isinstance(concept, dict) else [{}]
    code = codings[0].get("code")
    return str(code) if code is not None else None


def _ref_id(reference: Any, rtype: str) -> str | None:
    ref = reference.get("reference") if isinstance(reference, dict) else None
    if isinstance(ref, str) and ref.startswith(f"{rtype}/"):
        return ref.split("/", 1)[1].split("/_history", 1)[0]
    return None


def _target(reference: Any) -> tuple[str, str] | None:
    """(type, id) of a literal relative Reference."""
    ref = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(ref, str) or "/" not in ref:
        return None
    rtype, _, rest = ref.partition("/")
    return rtype, rest.split("/_history", 1)[0]


def day(moment: str) -> str:
    """An ISO date or date-time as the region writes a day: 31.12.2024 (the local date the source wrote)."""
    if len(moment) >= 10 and moment[4] == "-" and moment[7] == "-":
        return f"{moment[8:10]}.{moment[5:7]}.{moment[:4]}"
    return moment


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _plain(div: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", div)).split())


# ---- the chart's items ------------------------------------------------------------------------------------


@dataclass
class Item:
    """One thing in the record, as the chart shows it."""

    type: str
    id: str
    when: str
    title: str
    institution: str | None
    detail: str = ""
    status: str = ""
    code: str = ""

    @property
    def day(self) -> str:
        return day(self.when)


@dataclass
class Visit(Item):
    kind: str = ""  # the Encounter class code: AMB, IMP, EMER, HH, VR...
    until: str = ""
    practitioner: str = ""
    diagnoses: list[str] = field(default_factory=list)

    @property
    def until_day(self) -> str:
        return day(self.until)


@dataclass
class Measurement(Item):
    value: str = ""  # as written, without its unit
    number: float | None = None
    range_text: str = ""
    unit: str = ""  # UCUM, as recorded: shown in the reader's language by `value_in` and `range_in`
    low: float | None = None
    high: float | None = None
    flag: str = ""  # the interpretation code when outside the normal, else ""

    def value_in(self, lang: str) -> str:
        return f"{self.value} {unit_name(self.unit, lang)}".strip()

    def range_in(self, lang: str) -> str:
        return f"{self.range_text} {unit_name(self.unit, lang)}".strip() if self.range_text else ""

    @property
    def flag_kind(self) -> str:
        return flag_kind(self.flag)


@dataclass
class Document(Item):
    sections: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Trend:
    """A small line chart of one test, in SVG user units (``WIDTH`` × ``HEIGHT``), oldest on the left."""

    points: str
    dots: list[tuple[float, float, bool]]
    band: tuple[float, float] | None  # y of the reference range's top and bottom
    WIDTH = 160
    HEIGHT = 40


@dataclass
class Result:
    """One test: its latest value and its history, newest first."""

    title: str
    history: list[Measurement]

    @property
    def latest(self) -> Measurement:
        return self.history[0]

    @cached_property
    def trend(self) -> Trend | None:
        return trend(self.history)


@dataclass
class Chart:
    patient: StoredResource
    name: str
    birth_date: str
    gender: str
    visits: list[Visit]
    problems: list[Item]
    past_problems: list[Item]
    results: list[Result]
    reports: list[Item]
    documents: list[Document]
    allergies: list[Item]
    immunizations: list[Item]
    medications: list[Item]
    flags: list[Item]
    # The resources the chart was assembled from, for what reads the same record on the same page (the risk
    # panel), so that it is not read twice.
    resources: list[JSON] = field(default_factory=list, repr=False)

    @property
    def born(self) -> str:
        return day(self.birth_date)

    @property
    def institutions(self) -> list[str]:
        """Every institution that wrote something in the record, by name."""
        items: list[Item] = [*self.visits, *self.problems, *self.past_problems, *self.reports, *self.documents,
                             *self.allergies, *self.immunizations, *self.medications, *self.flags]  # fmt: skip
        items += [m for r in self.results for m in r.history]
        return sorted({i.institution for i in items if i.institution})

    @property
    def abnormal_results(self) -> list[Result]:
        return [r for r in self.results if r.latest.flag]


def flag_kind(flag: str) -> str:
    """high, low, critical or abnormal for an interpretation code outside the normal; "" for the normal."""
    if flag in CRITICAL:
        return "critical"
    if flag in HIGH:
        return "high"
    if flag in LOW:
        return "low"
    return "abnormal" if flag else ""


def trend(history: list[Measurement]) -> Trend | None:
    """The line of a test's numeric values (the last ``TREND_POINTS``), or None with fewer than two."""
    values = [m for m in reversed(history) if m.number is not None][-TREND_POINTS:]
    if len(values) < 2:
        return None
    latest = history[0]
    bounds = [v.number for v in values if v.number is not None]
    bounds += [b for b in (latest.low, latest.high) if b is not None]
    top, bottom = max(bounds), min(bounds)
    span = (top - bottom) or 1.0
    pad = 4.0
    step = (Trend.WIDTH - 2 * pad) / (len(values) - 1)

    def y(value: float) -> float:
        return round(pad + (top - value) / span * (Trend.HEIGHT - 2 * pad), 1)

    dots = [(round(pad + i * step, 1), y(m.number or 0.0), bool(m.flag)) for i, m in enumerate(values)]
    band = (y(latest.high), y(latest.low)) if latest.low is not None and latest.high is not None else None
    return Trend(points=" ".join(f"{x},{yy}" for x, yy, _ in dots), dots=dots, band=band)


# ---- assembling -------------------------------------------------------------------------------------------


class _Directory:
    """The organisations, roles, practitioners and medications the record points at, read in bulk."""

    def __init__(self, tx: Tx, resources: list[JSON], restrict: Restriction | None) -> None:
        wanted: list[tuple[str, str]] = []
        for r in resources:
            for path in (*_AUTHORS.get(r["resourceType"], ()), "medicationReference"):
                wanted += [t for ref in _walk(r, path) if (t := _target(ref)) and t[0] in REFERENCED]
        self.by_ref = self._read(tx, wanted, restrict)
        self._names: dict[str, str | None] = {}
        roles = [r for (t, _i), r in self.by_ref.items() if t == "PractitionerRole"]
        more = [("Organization", i) for r in roles if (i := _ref_id(r.get("organization"), "Organization"))]
        more += [("Practitioner", i) for r in roles if (i := _ref_id(r.get("practitioner"), "Practitioner"))]
        self.by_ref.update(self._read(tx, [ref for ref in more if ref not in self.by_ref], restrict))

    @staticmethod
    def _read(tx: Tx, refs: list[tuple[str, str]], restrict: Restriction | None) -> dict[tuple[str, str], JSON]:
        unique = list(dict.fromkeys(refs))
        return {(s.type, s.id): s.resource for s in tx.read_many(unique, restrict)} if unique else {}

    def get(self, rtype: str, reference: Any) -> JSON | None:
        rid = _ref_id(reference, rtype)
        return self.by_ref.get((rtype, rid)) if rid else None

    def organization(self, reference: Any) -> str | None:
        """The institution behind a Reference: an Organization, or the organisation of a PractitionerRole."""
        key = reference.get("reference") if isinstance(reference, dict) else None
        if isinstance(key, str):  # most items cite the same few institutions
            if key not in self._names:
                self._names[key] = self._organization(reference)
            return self._names[key]
        return self._organization(reference)

    def _organization(self, reference: Any) -> str | None:
        org = self.get("Organization", reference)
        if org is None and (role := self.get("PractitionerRole", reference)) is not None:
            org = self.get("Organization", role.get("organization"))
        if org is not None:
            return str(org.get("name") or "") or None
        if isinstance(reference, dict) and (
            reference.get("type") == "Organization" or str(reference.get("reference", "")).startswith("Organization/")
        ):
            return reference.get("display") or None
        return None

    def person(self, reference: Any) -> str:
        role = self.get("PractitionerRole", reference)
        who = self.get("Practitioner", role.get("practitioner") if role else reference)
        if who is None:
            return str(reference.get("display") or "") if isinstance(reference, dict) else ""
        name = (who.get("name") or [{}])[0]
        return " ".join([name.get("family", ""), *name.get("given", [])]).strip()


class _Builder:
    def __init__(self, tx: Tx, resources: list[JSON], restrict: Restriction | None) -> None:
        self.directory = _Directory(tx, resources, restrict)
        self.by_type: dict[str, list[JSON]] = {}
        for r in resources:
            if not _entered_in_error(r):
                self.by_type.setdefault(r["resourceType"], []).append(r)
        self.encounters = {e.get("id"): e for e in self.by_type.get("Encounter", [])}

    def of(self, rtype: str) -> list[JSON]:
        return self.by_type.get(rtype, [])

    def institution(self, resource: JSON) -> str | None:
        for path in _AUTHORS.get(resource["resourceType"], ()):
            for reference in _walk(resource, path):
                name = self.directory.organization(reference)
                if name:
                    return name
        for reference in [resource.get("encounter"), *_walk(resource, "context.encounter"), resource.get("context")]:
            encounter = self.encounters.get(_ref_id(reference, "Encounter"))
            if encounter is not None and encounter is not resource:
                return self.directory.organization(encounter.get("serviceProvider"))
        return None

    def item(self, resource: JSON, title: str, cls: type[Item] = Item, **extra: Any) -> Any:
        when = _first(resource, _DATES.get(resource["resourceType"], ()))
        return cls(type=resource["resourceType"], id=str(resource.get("id")), when=str(when or ""), title=title,
                   institution=self.institution(resource), **extra)  # fmt: skip


def _entered_in_error(resource: JSON) -> bool:
    return resource.get("status") == "entered-in-error" or _code(resource.get("verificationStatus")) in (
        "entered-in-error",
        "refuted",
    )


def _newest(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda i: i.when, reverse=True)


def _visits(b: _Builder) -> list[Visit]:
    conditions = {c.get("id"): concept_text(c.get("code")) for c in b.of("Condition")}
    visits = []
    for e in b.of("Encounter"):
        diagnoses = [conditions.get(_ref_id(d.get("condition"), "Condition"), "") for d in e.get("diagnosis", [])]
        participant = next(_walk(e, "participant.individual"), None)
        visits.append(b.item(
            e, ", ".join(concept_text(r) for r in e.get("reasonCode", [])), Visit, status=str(e.get("status", "")),
            kind=str((e.get("class") or {}).get("code", "")), until=str((e.get("period") or {}).get("end", "")),
            practitioner=b.directory.person(participant) if participant else "", diagnoses=[d for d in diagnoses if d],
        ))  # fmt: skip
    return _newest(visits)


def _conditions(b: _Builder) -> tuple[list[Item], list[Item]]:
    active: list[Item] = []
    past: list[Item] = []
    for c in b.of("Condition"):
        status = _code(c.get("clinicalStatus")) or ""
        item = b.item(c, concept_text(c.get("code")), status=status, code=_code(c.get("code")) or "")
        (active if status in ACTIVE_CONDITION or not status else past).append(item)
    return _newest(active), _newest(past)


def _quantity(q: Any) -> tuple[str, float | None]:
    if not isinstance(q, dict):
        return "", None
    number = _number(q.get("value"))
    # As the laboratory wrote it: 7.0 keeps the precision it was measured to, where :g would say 7.
    shown = f"{q.get('comparator', '')}{q['value']}" if number is not None else ""
    return shown, number


def _range(o: JSON) -> tuple[str, float | None, float | None]:
    ref = (o.get("referenceRange") or [{}])[0]
    low, high = _number((ref.get("low") or {}).get("value")), _number((ref.get("high") or {}).get("value"))
    if ref.get("text"):
        return str(ref["text"]), low, high
    if low is not None and high is not None:
        return f"{low:g}–{high:g}", low, high
    return (f"≥ {low:g}" if low is not None else f"≤ {high:g}" if high is not None else ""), low, high


def _value(o: JSON) -> tuple[str, float | None, str]:
    """The value as shown, its number for the trend, and its unit."""
    if "valueQuantity" in o:
        shown, number = _quantity(o["valueQuantity"])
        return shown, number, unit_of(o["valueQuantity"])
    components = [c for c in o.get("component", []) if "valueQuantity" in c]
    if components:  # a panel such as blood pressure: 152/94
        parts = [_quantity(c["valueQuantity"]) for c in components]
        unit = unit_of(components[0]["valueQuantity"])
        return "/".join(s for s, _ in parts), parts[0][1], unit
    for key in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if key in o:
            return str(o[key]), _number(o[key]), ""
    return concept_text(o.get("valueCodeableConcept")), None, ""


def _flag(o: JSON, number: float | None, low: float | None, high: float | None) -> str:
    codes = [_code(i) for i in o.get("interpretation", [])]
    codes += [_code(i) for c in o.get("component", []) for i in c.get("interpretation", [])]
    abnormal = [c for c in codes if c in ABNORMAL]
    if abnormal:
        return next((c for c in abnormal if c in CRITICAL), abnormal[0])
    if codes or number is None:
        return ""
    # No interpretation written: judge by the reference range.
    return "H" if high is not None and number > high else "L" if low is not None and number < low else ""


def _results(b: _Builder) -> list[Result]:
    series: dict[str, list[Measurement]] = {}
    titles: dict[str, str] = {}
    for o in b.of("Observation"):
        if o.get("status") in ("registered", "cancelled"):
            continue
        key = _code(o.get("code")) or concept_text(o.get("code"))
        shown, number, unit = _value(o)
        range_text, low, high = _range(o)
        titles.setdefault(key, concept_text(o.get("code")))
        series.setdefault(key, []).append(b.item(
            o, titles[key], Measurement, code=key, status=str(o.get("status", "")),
            value=shown, number=number, range_text=range_text, unit=unit, low=low, high=high,
            flag=_flag(o, number, low, high),
        ))  # fmt: skip
    results = [Result(title=titles[k], history=_newest(v)) for k, v in series.items()]
    return sorted(results, key=lambda r: r.latest.when, reverse=True)


def _reports(b: _Builder) -> list[Item]:
    """Imaging and instrumental reports; a laboratory's report is shown as its results, not here."""
    studies = [r for r in b.of("DiagnosticReport") if not _is_lab_report(r)]
    return _newest([b.item(r, concept_text(r.get("code")), detail=str(r.get("conclusion") or ""),
                           status=str(r.get("status", ""))) for r in studies])  # fmt: skip


def _is_lab_report(report: JSON) -> bool:
    codings = (c for concept in report.get("category") or [] for c in concept.get("coding") or [])
    return any(c.get("system") == REPORT_CATEGORY and c.get("code") == "LAB" for c in codings)


def _documents(b: _Builder) -> list[Document]:
    docs = [
        b.item(c, str(c.get("title") or concept_text(c.get("type"))), Document, status=str(c.get("status", "")),
               sections=[(str(s.get("title", "")), _plain((s.get("text") or {}).get("div", "")))
                         for s in c.get("section", [])])
        for c in b.of("Composition")
    ]  # fmt: skip
    for d in b.of("DocumentReference"):
        titles = [str(a.get("title")) for a in _walk(d, "content.attachment") if a.get("title")]
        title = str(d.get("description") or concept_text(d.get("type")) or ", ".join(titles))
        docs.append(b.item(d, title, Document, detail=", ".join(titles), status=str(d.get("status", ""))))
    return _newest(docs)


def _medication_name(b: _Builder, m: JSON) -> str:
    if "medicationCodeableConcept" in m:
        return concept_text(m["medicationCodeableConcept"])
    reference = m.get("medicationReference")
    medication = b.directory.get("Medication", reference)
    if medication is not None:
        return concept_text(medication.get("code"))
    return str((reference or {}).get("display") or "")


def _medications(b: _Builder) -> list[Item]:
    current = [(m, "dosageInstruction") for m in b.of("MedicationRequest") if m.get("status") in ("active", "on-hold")]
    current += [(m, "dosage") for m in b.of("MedicationStatement") if m.get("status") in ("active", "intended")]
    return _newest([b.item(m, _medication_name(b, m), detail=str(next(_walk(m, f"{dosage}.text"), "")),
                           status=str(m.get("status", ""))) for m, dosage in current])  # fmt: skip


def _allergies(b: _Builder) -> list[Item]:
    return _newest([
        b.item(a, concept_text(a.get("code")), status=_code(a.get("clinicalStatus")) or "",
               detail=str(a.get("criticality") or ""))
        for a in b.of("AllergyIntolerance") if _code(a.get("clinicalStatus")) in (None, "active")
    ])  # fmt: skip


def _immunizations(b: _Builder) -> list[Item]:
    return _newest([b.item(i, concept_text(i.get("vaccineCode")), detail=str(i.get("lotNumber") or ""),
                           status=str(i.get("status", ""))) for i in b.of("Immunization")])  # fmt: skip


def _risk_text(r: JSON) -> str:
    prediction = (r.get("prediction") or [{}])[0]
    probability = _number(prediction.get("probabilityDecimal"))
    share = f" ({probability:.0%})" if probability is not None else ""
    return f"{concept_text(prediction.get('outcome')) or concept_text(r.get('code'))}{share}"


def _flags(b: _Builder) -> list[Item]:
    flags = [b.item(f, concept_text(f.get("code")), status="active")
             for f in b.of("Flag") if f.get("status") == "active"]  # fmt: skip
    flags += [b.item(r, _risk_text(r), detail=str(r.get("mitigation") or ""), status=str(r.get("status", "")))
              for r in b.of("RiskAssessment") if r.get("status") in ("final", "amended", "preliminary")]  # fmt: skip
    return _newest(flags)


def patient_name(patient: JSON) -> str:
    name = (patient.get("name") or [{}])[0]
    return str(name.get("text") or " ".join([name.get("family", ""), *name.get("given", [])]).strip())


def _compartment(tx: Tx, patient_id: str, restrict: Restriction | None) -> list[JSON]:
    """The chart's resources of the patient's compartment in one statement, the policy applied per type."""
    t = stored_table
    visible = []
    for rtype in CHART_TYPES:
        extra = restrict(t, rtype) if restrict else None
        visible.append(t.c.type == rtype if extra is None else and_(t.c.type == rtype, extra))
    tx.flush()
    where = [t.c.partition == tx.region, t.c.patient == patient_id, t.c.deleted.is_(False), t.c.type.in_(CHART_TYPES)]
    rows = tx.execute(select(t.c.content).where(*where, or_(*visible)))
    return [orjson.loads(row.content) for row in rows]


@contextmanager
def _without_collector_pauses() -> Iterator[None]:
    """Parsing a thousand resources allocates tens of thousands of dicts, which makes the cyclic garbage collector
    walk the whole process heap (~230,000 objects of the app and its models) again and again, for nothing: JSON
    trees hold no cycles and are freed by reference counting. Measured: a third of the chart's CPU time."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# Results a patient may see: released by the laboratory, not those still awaiting a second person's validation.
RELEASED = frozenset({"final", "amended", "corrected"})


def load_chart(tx: Tx, *, patient: StoredResource, restrict: Restriction | None, released_only: bool = False) -> Chart:
    """The chart of ``patient`` (already read and allowed by the caller); ``restrict`` is the caller's policy.
    ``released_only`` leaves out results and reports not released yet (what the patient's own portal shows)."""
    with _without_collector_pauses():
        return _assemble(tx, patient, restrict, released_only)


def chart_of(tx: Tx, *, patient: StoredResource, resources: list[JSON], restrict: Restriction | None) -> Chart:
    """The chart of ``patient`` made of ``resources`` read elsewhere (another region's summary of them), shown as
    the record's own are; the institutions they cite are looked up here, under ``restrict``."""
    return _built(tx, patient, resources, restrict)


def _assemble(tx: Tx, patient: StoredResource, restrict: Restriction | None, released_only: bool) -> Chart:
    resources = _compartment(tx, patient.id, restrict)
    if released_only:
        resources = [
            r
            for r in resources
            if r.get("resourceType") not in ("Observation", "DiagnosticReport") or r.get("status") in RELEASED
        ]
    return _built(tx, patient, resources, restrict)


def _built(tx: Tx, patient: StoredResource, resources: list[JSON], restrict: Restriction | None) -> Chart:
    b = _Builder(tx, resources, restrict)
    problems, past = _conditions(b)
    data = patient.resource
    return Chart(
        patient=patient, name=patient_name(data), birth_date=str(data.get("birthDate", "")),
        gender=str(data.get("gender", "")), visits=_visits(b), problems=problems, past_problems=past,
        results=_results(b), reports=_reports(b), documents=_documents(b), allergies=_allergies(b),
        immunizations=_immunizations(b), medications=_medications(b), flags=_flags(b), resources=resources,
    )  # fmt: skip
