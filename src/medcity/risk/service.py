"""A patient's risk inputs read from their record, and the scores computed from them.

Each input is the latest value the record holds (a final, amended or corrected result), kept with the resource it
came from and its age, so that the doctor sees what a figure rests on; a value older than `STALE_AFTER_DAYS` is
used but flagged, so that it is measured again. Absent facts that the record would hold if they were true (a
diabetes diagnosis, a blood-pressure medicine) count as "no"; absent measurements count as missing, never as
normal. The record is read in one statement under the caller's restriction (or taken from the chart, which has
read it) and searched in memory.

FINDRISC's questions that only the patient can answer (daily activity, vegetables, diabetes in the family) are
kept as a QuestionnaireResponse of `FINDRISC_QUESTIONNAIRE`, written by the doctor on the risk page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_
from medcity.orders.catalogue import catalogue, loinc_code
from medcity.prescriptions.medicines import atc_of
from medcity.registry.regions import region_of
from medcity.risk import scores
from medcity.risk.scores import Inputs, Score
from medcity.store.repository import Restriction, StoredResource, Tx
from medcity.store.search import compartment_refs
from medcity.terminology.units import unit_of
from medcity.visits import smoking, vitals
from medcity.visits.service import patient_age

JSON = dict[str, Any]
STALE_AFTER_DAYS = 2 * 365
RESULT_STATUSES = frozenset({"final", "amended", "corrected"})
BP_PANEL = vitals.BP_PANEL[0]
TOTAL_CHOLESTEROL, HDL, GLUCOSE = "14647-2", "14646-4", "14749-6"
# A measured input: (Inputs field, LOINC code, the unit it must be in).
MEASURED = (
    ("systolic", vitals.SYSTOLIC.loinc, vitals.SYSTOLIC.unit),
    ("total_cholesterol", TOTAL_CHOLESTEROL, "mmol/L"),
    ("hdl", HDL, "mmol/L"),
    ("bmi", vitals.BMI.loinc, vitals.BMI.unit),
    ("waist", vitals.WAIST.loinc, vitals.WAIST.unit),
)
DIABETES_CODES = ("E10", "E11", "E12", "E13", "E14")
# WHO ATC groups of medicines that lower blood pressure: antihypertensives, diuretics, beta blockers, calcium
# channel blockers, agents acting on the renin-angiotensin system.
ANTIHYPERTENSIVE_ATC = ("C02", "C03", "C07", "C08", "C09")
ACTIVE_CONDITION = frozenset({"active", "recurrence", "relapse"})
NOT_A_DIAGNOSIS = frozenset({"refuted", "entered-in-error"})
HIGH_FLAGS = frozenset({"H", "HH", "HU"})
FINDRISC_QUESTIONNAIRE = "https://medcity.example/fhir/Questionnaire/findrisc"
# The answers each FINDRISC question takes in the QuestionnaireResponse (`answers`).
ANSWERS: dict[str, tuple[object, ...]] = {
    "activity": (True, False),
    "vegetables": (True, False),
    "family_history": scores.FAMILY_HISTORY,
}


@dataclass(frozen=True)
class Source:
    """The resource an input came from, and when it was measured or written."""

    reference: str  # Observation/…, Condition/…, MedicationRequest/…, QuestionnaireResponse/…
    when: str  # the FHIR date or dateTime as the record wrote it
    age_days: int | None

    @property
    def stale(self) -> bool:
        return self.age_days is not None and self.age_days > STALE_AFTER_DAYS


@dataclass(frozen=True)
class Finding:
    """One input: its value (None: not in the record) and where it came from."""

    name: str  # an `Inputs` field
    value: float | bool | str | None
    unit: str = ""  # UCUM, for measured values
    source: Source | None = None

    @property
    def stale(self) -> bool:
        return self.source is not None and self.source.stale


@dataclass
class Assessment:
    patient: str
    risk_region: str
    inputs: Inputs
    findings: dict[str, Finding]
    score2: Score
    findrisc: Score
    framingham: Score
    findrisc_points: dict[str, int] = field(default_factory=dict)

    @property
    def scores(self) -> tuple[Score, Score, Score]:
        return self.score2, self.findrisc, self.framingham

    @property
    def stale(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.stale]

    @property
    def missing(self) -> list[str]:
        """Inputs some score lacks, each once, in the order the scores name them."""
        return list(dict.fromkeys(name for s in self.scores for name in s.missing))

    def basis(self, score: Score) -> list[str]:
        """References to what `score` was computed from."""
        refs = [
            f.source.reference
            for n in scores.INPUTS_OF[score.model]
            if (f := self.findings.get(n)) and f.source is not None
        ]
        return list(dict.fromkeys(refs))


# What to do about an input that is missing or stale: a test to order (its code in the orders catalogue) or a
# measure or question of the next visit.
TEST_FOR = {"total_cholesterol": "57698-3", "hdl": "57698-3", "high_glucose_ever": GLUCOSE}
AT_VISIT = frozenset({"systolic", "smoker", "bmi", "waist"})
IN_QUESTIONNAIRE = frozenset(scores.FINDRISC_QUESTIONS)
IN_REGISTRATION = frozenset({"sex", "age"})


def risk_region(region: str) -> str:
    """The ESC risk region of a medcity region (the default for a partition the catalogue does not know)."""
    return region_of(region).risk.cvd_risk_region


def _days(when: str, today: date) -> int | None:
    try:
        return (today - date.fromisoformat(when[:10])).days
    except ValueError:
        return None


def _when(observation: JSON) -> str:
    return str(observation.get("effectiveDateTime") or (observation.get("effectivePeriod") or {}).get("start")
               or observation.get("issued") or "")  # fmt: skip


def _source(resource: JSON, when: str, today: date | None) -> Source:
    """Where a value came from; `today` None for a fact that does not go out of date."""
    return Source(f"{resource.get('resourceType')}/{resource.get('id')}", when, _days(when, today) if today else None)


def _quantity(observation: JSON, loinc: str) -> JSON | None:
    """The valueQuantity of `loinc` in the Observation itself or in one of its components (blood pressure)."""
    if loinc_code(observation.get("code")) == loinc:
        quantity = observation.get("valueQuantity")
        return quantity if isinstance(quantity, dict) else None
    for component in observation.get("component") or []:
        if loinc_code(component.get("code")) == loinc and isinstance(component.get("valueQuantity"), dict):
            return dict(component["valueQuantity"])
    return None


def _number(quantity: JSON | None, unit: str) -> float | None:
    """The value in `unit`; a value in another unit is not converted by guess, so it counts as not there."""
    if quantity is None or unit_of(quantity) != unit:
        return None
    value = quantity.get("value")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# The types of the patient's compartment the scores read.
READ_TYPES = ("Observation", "Condition", "MedicationRequest", "QuestionnaireResponse")
# Where each read type keeps its date, for "newest first".
_DATED = {"Observation": _when, "MedicationRequest": lambda r: str(r.get("authoredOn") or ""),
          "QuestionnaireResponse": lambda r: str(r.get("authored") or "")}  # fmt: skip


class _Record:
    """The patient's resources the scores read, by type, newest first; the rest of the work is done in memory, so
    that a record is read once (or not at all, when the chart has read it)."""

    def __init__(self, resources: Iterable[JSON]) -> None:
        self.by_type: dict[str, list[JSON]] = {t: [] for t in READ_TYPES}
        for resource in resources:
            if resource.get("resourceType") in self.by_type:
                self.by_type[resource["resourceType"]].append(resource)
        for rtype, when in _DATED.items():
            self.by_type[rtype].sort(key=when, reverse=True)

    def of(self, rtype: str) -> list[JSON]:
        return self.by_type[rtype]

    def results(self, *codes: str) -> list[JSON]:
        """The results (final, amended or corrected) of these LOINC codes, newest first."""
        return [o for o in self.of("Observation")
                if o.get("status") in RESULT_STATUSES and loinc_code(o.get("code")) in codes]  # fmt: skip


def read_record(tx: Tx, patient_id: str, restrict: Restriction | None, types: Iterable[str] = READ_TYPES) -> list[JSON]:
    """The patient's resources of `types` (of READ_TYPES), under the caller's restriction, in one statement."""
    wanted = list(types)
    refs = compartment_refs(tx, patient_id, types=wanted, restrict=restrict)
    return [s.resource for s in tx.read_many([r for r in refs if r[0] in wanted], restrict)]


def _measured(record: _Record, name: str, loinc: str, unit: str, today: date) -> Finding:
    # Systolic pressure is written inside the blood pressure panel by the visit, on its own by others.
    codes = (loinc, BP_PANEL) if loinc == vitals.SYSTOLIC.loinc else (loinc,)
    for observation in record.results(*codes):
        value = _number(_quantity(observation, loinc), unit)
        if value is not None:
            return Finding(name, value, unit, _source(observation, _when(observation), today))
    return Finding(name, None, unit)


def _smoker(record: _Record, today: date) -> Finding:
    for observation in record.results(smoking.CODE):
        answer = smoking.answer_of(observation)
        if answer is not None:
            return Finding("smoker", answer.value == "current", "", _source(observation, _when(observation), today))
    return Finding("smoker", None)


def _high_glucose(record: _Record, today: date) -> Finding:
    """Whether a glucose result was ever above the normal (flagged high by the laboratory, or above its range);
    the high one, else the latest, is the source. No glucose result: not known."""
    results = record.results(GLUCOSE)
    analyte = catalogue().analytes[GLUCOSE]
    normal = analyte.range_for(None, None)
    for o in results:
        flags = {c.get("code") for i in o.get("interpretation") or [] for c in i.get("coding") or []}
        value = _number(o.get("valueQuantity"), analyte.unit)
        # The range the result came with, else the catalogue's (a record from elsewhere may carry neither).
        high = ((o.get("referenceRange") or [{}])[0].get("high") or {}).get("value")
        high = high if isinstance(high, int | float) else normal.high if normal else None
        if flags & HIGH_FLAGS or (value is not None and high is not None and value > high):
            # Once found high, it was found high ("ever"): an old finding is not out of date.
            return Finding("high_glucose_ever", True, "", _source(o, _when(o), None))
    if results:
        return Finding("high_glucose_ever", False, "", _source(results[0], _when(results[0]), today))
    return Finding("high_glucose_ever", None)


def _diabetes(record: _Record) -> Finding:
    for condition in record.of("Condition"):
        clinical = ((condition.get("clinicalStatus") or {}).get("coding") or [{}])[0].get("code")
        verification = ((condition.get("verificationStatus") or {}).get("coding") or [{}])[0].get("code")
        if clinical not in ACTIVE_CONDITION or verification in NOT_A_DIAGNOSIS:
            continue
        codes = [c.get("code") for c in (condition.get("code") or {}).get("coding") or []]
        if any(isinstance(c, str) and c.startswith(DIABETES_CODES) for c in codes):
            when = str(condition.get("onsetDateTime") or condition.get("recordedDate") or "")
            return Finding("diabetes", True, "", _source(condition, when, None))
    return Finding("diabetes", False)


def _bp_medicines(record: _Record) -> tuple[Finding, Finding]:
    """(an antihypertensive prescribed now, one ever prescribed), with the prescription each rests on."""
    now: Finding = Finding("bp_treated", False)
    ever: Finding = Finding("bp_medication_ever", False)
    for request in record.of("MedicationRequest"):
        if request.get("status") in ("entered-in-error", "cancelled"):  # written by mistake, or never handed over
            continue
        if not (atc_of(request.get("medicationCodeableConcept")) or "").startswith(ANTIHYPERTENSIVE_ATC):
            continue
        source = _source(request, str(request.get("authoredOn") or ""), None)
        if ever.source is None:
            ever = Finding("bp_medication_ever", True, "", source)
        if request.get("status") in ("active", "on-hold") and now.source is None:
            now = Finding("bp_treated", True, "", source)
    return now, ever


def _questionnaire(record: _Record, today: date) -> list[Finding]:
    """The latest FINDRISC answers the doctor recorded, each question answered or not."""
    completed = (r for r in record.of("QuestionnaireResponse") if r.get("status") == "completed")
    latest = next((r for r in completed if r.get("questionnaire") == FINDRISC_QUESTIONNAIRE), None)
    items = (latest.get("item") or []) if latest is not None else []
    answers: dict[str, Any] = {}
    for item in items:
        link, value = str(item.get("linkId")), next(iter((item.get("answer") or [{}])[0].values()), None)
        # Another system's answers count only when they are ones the form takes (not 1 for true).
        if any(value == a and type(value) is type(a) for a in ANSWERS.get(link, ())):
            answers[link] = value
    source = _source(latest, str(latest.get("authored") or ""), today) if latest else None
    return [Finding(name, answers.get(name), "", source if name in answers else None)
            for name in scores.FINDRISC_QUESTIONS]  # fmt: skip


def findings(patient: StoredResource, resources: Iterable[JSON], *, today: date) -> dict[str, Finding]:
    """Every input the scores read, from `patient` and the resources of their record (`READ_TYPES`)."""
    record = _Record(resources)
    data = patient.resource
    sex = data.get("gender") if data.get("gender") in ("male", "female") else None
    age = patient_age(data, today)
    found = [
        Finding("sex", sex, "", Source(f"Patient/{patient.id}", "", None) if sex else None),
        # The day an age comes from is the birth date.
        Finding(
            "age", age, "", Source(f"Patient/{patient.id}", str(data["birthDate"]), None) if age is not None else None
        ),
        _smoker(record, today),
        *(_measured(record, name, loinc, unit, today) for name, loinc, unit in MEASURED),
        _diabetes(record),
        *_bp_medicines(record),
        _high_glucose(record, today),
        *_questionnaire(record, today),
    ]
    return {f.name: f for f in found}


def _inputs(found: dict[str, Finding]) -> Inputs:
    values = {name: f.value for name, f in found.items()}
    return Inputs(**values)  # type: ignore[arg-type]  # each Finding's value has its field's type


def assess(
    tx: Tx, *, patient: StoredResource, restrict: Restriction | None, region: str, today: date,
    read: list[JSON] | None = None,
) -> Assessment:  # fmt: skip
    """The scores of `patient` (already read and allowed by the caller) from their record as the caller may see
    it. `read`: the patient's Observations, Conditions and MedicationRequests when the caller has read them under
    the same restriction already (the chart), so that only the FINDRISC answers are read here."""
    if read is None:
        resources = read_record(tx, patient.id, restrict)
    else:
        resources = [*read, *read_record(tx, patient.id, restrict, ("QuestionnaireResponse",))]
    found = findings(patient, resources, today=today)
    inputs = _inputs(found)
    region_scale = risk_region(region)
    return Assessment(
        patient=patient.id, risk_region=region_scale, inputs=inputs, findings=found,
        score2=scores.score2(inputs, region_scale), findrisc=scores.findrisc(inputs),
        framingham=scores.framingham(inputs), findrisc_points=scores.findrisc_points(inputs),
    )  # fmt: skip


# ---- the FINDRISC questions -------------------------------------------------------------------------------


def answers(
    *, patient: str, author: JSON | None, activity: bool, vegetables: bool, family_history: str, when: str
) -> JSON:
    """The QuestionnaireResponse of the patient's answers, for the caller to create (after the policy's say)."""
    if family_history not in scores.FAMILY_HISTORY:
        raise InvalidRequest(N_("Unknown answer about diabetes in the family: %(answer)s"), answer=family_history[:40])
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": FINDRISC_QUESTIONNAIRE,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "authored": when,
        **({"author": author} if author else {}),
        "item": [
            {"linkId": "activity", "answer": [{"valueBoolean": activity}]},
            {"linkId": "vegetables", "answer": [{"valueBoolean": vegetables}]},
            {"linkId": "family_history", "answer": [{"valueString": family_history}]},
        ],
    }
