"""Vital signs as the doctor enters them, checked, and written as FHIR vital-signs Observations (LOINC codes,
UCUM units, the R4 vital-signs profile's panel for blood pressure; BMI computed from height and weight).

Each measurement has a range it can physically have (outside it the value is a typing error: refused, naming the
field) and a narrower range it usually has (outside it the doctor is warned, and signs only after confirming)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from medcity.kit.i18n import N_, Label
from medcity.visits.rules import unprocessable

JSON = dict[str, Any]
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


@dataclass(frozen=True)
class Measure:
    field: str  # the form field and Parameters name
    label: str  # msgid
    loinc: str
    display: str
    unit: str  # UCUM
    possible: tuple[float, float]
    usual: tuple[float, float]
    decimals: int = 0


SYSTOLIC = Measure("systolic", N_("Systolic blood pressure"), "8480-6", "Systolic blood pressure", "mm[Hg]",
                   (40, 300), (80, 200))  # fmt: skip
DIASTOLIC = Measure("diastolic", N_("Diastolic blood pressure"), "8462-4", "Diastolic blood pressure", "mm[Hg]",
                    (20, 200), (40, 120))  # fmt: skip
PULSE = Measure("pulse", N_("Pulse"), "8867-4", "Heart rate", "/min", (20, 300), (40, 160))
TEMPERATURE = Measure("temperature", N_("Body temperature"), "8310-5", "Body temperature", "Cel", (25, 45),
                      (35, 40), decimals=1)  # fmt: skip
HEIGHT = Measure("height", N_("Height"), "8302-2", "Body height", "cm", (30, 260), (45, 215), decimals=1)
WEIGHT = Measure("weight", N_("Weight"), "29463-7", "Body weight", "kg", (0.5, 400), (2.5, 200), decimals=1)
SPO2 = Measure("spo2", N_("Oxygen saturation (SpO₂)"), "59408-5",
               "Oxygen saturation in Arterial blood by Pulse oximetry", "%", (30, 100), (90, 100))  # fmt: skip
# Waist circumference: FINDRISC's measure of abdominal obesity (medcity.risk).
WAIST = Measure("waist", N_("Waist circumference"), "8280-0", "Waist Circumference at umbilicus by Tape measure",
                "cm", (30, 250), (50, 170), decimals=1)  # fmt: skip
BMI = Measure("bmi", N_("Body mass index"), "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", (5, 150), (15, 45),
              decimals=1)  # fmt: skip
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
BP_LABEL = N_("Blood pressure")

ENTERED = (SYSTOLIC, DIASTOLIC, PULSE, TEMPERATURE, HEIGHT, WEIGHT, WAIST, SPO2)
BY_FIELD = {m.field: m for m in (*ENTERED, BMI)}
LABELS = {BP_PANEL[0]: BP_LABEL, **{m.loinc: m.label for m in (*ENTERED, BMI)}}  # LOINC code → msgid


@dataclass(frozen=True)
class VitalWarning:
    text: str  # msgid
    values: dict[str, object]


@dataclass(frozen=True)
class Vitals:
    values: dict[str, float]  # field → value, only what was entered (and BMI when computable)
    warnings: list[VitalWarning]

    def __bool__(self) -> bool:
        return bool(self.values)


def _number(measure: Measure, raw: object) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise unprocessable(
            N_("%(field_label)s must be a number"), field=measure.field, field_label=Label(measure.label)
        )
    try:
        number = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        raise unprocessable(
            N_("%(field_label)s must be a number, not “%(raw)s”"),
            field=measure.field,
            field_label=Label(measure.label),
            raw=str(raw)[:20],
        ) from None
    if not number.is_finite():
        raise unprocessable(
            N_("%(field_label)s must be a number"), field=measure.field, field_label=Label(measure.label)
        )
    return float(round(number, measure.decimals))


def _shown(value: float, measure: Measure) -> str:
    return f"{value:.{measure.decimals}f}"


def check(raw: dict[str, object]) -> Vitals:
    """The entered vitals (strings or numbers by field name), checked; an impossible value is refused (422)."""
    values: dict[str, float] = {}
    warnings: list[VitalWarning] = []
    for measure in ENTERED:
        value = _number(measure, raw.get(measure.field))
        if value is None:
            continue
        low, high = measure.possible
        if not low <= value <= high:
            raise unprocessable(
                N_("%(field_label)s %(value)s %(unit)s is impossible: it must be between %(low)s and %(high)s"),
                field=measure.field, field_label=Label(measure.label), value=_shown(value, measure), unit=measure.unit,
                low=low, high=high,
            )  # fmt: skip
        values[measure.field] = value
    if ("systolic" in values) != ("diastolic" in values):
        missing = DIASTOLIC if "systolic" in values else SYSTOLIC
        raise unprocessable(N_("Blood pressure needs both numbers: %(field_label)s is missing"),
                            field=missing.field, field_label=Label(missing.label))  # fmt: skip
    if "systolic" in values and values["systolic"] <= values["diastolic"]:
        raise unprocessable(N_("Systolic blood pressure must be higher than diastolic"), field="systolic")
    if "height" in values and "weight" in values:
        values["bmi"] = round(values["weight"] / (values["height"] / 100) ** 2, 1)
    for field, value in values.items():
        measure = BY_FIELD[field]
        low, high = measure.usual
        if not low <= value <= high:
            warnings.append(
                VitalWarning(N_("%(field_label)s %(value)s %(unit)s is unusual: please check it"),
                        {"field_label": Label(measure.label), "value": _shown(value, measure), "unit": measure.unit})
            )  # fmt: skip
    return Vitals(values=values, warnings=warnings)


def _concept(code: str, display: str, text: str | None = None) -> JSON:
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": text or display}


def _quantity(value: float, measure: Measure) -> JSON:
    number: float | int = int(value) if measure.decimals == 0 else value
    return {"value": number, "unit": measure.unit, "system": UCUM, "code": measure.unit}


def observations(vitals: Vitals, *, subject: JSON, encounter: JSON, performer: JSON, when: str) -> list[JSON]:
    """One Observation per measurement; systolic and diastolic together as the blood pressure panel."""
    base: JSON = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
        "subject": subject,
        "encounter": encounter,
        "effectiveDateTime": when,
        "performer": [performer],
    }
    out: list[JSON] = []
    values = vitals.values
    if "systolic" in values:
        out.append({**base, "code": _concept(*BP_PANEL, "Артериальное давление"), "component": [
            {"code": _concept(m.loinc, m.display), "valueQuantity": _quantity(values[m.field], m)}
            for m in (SYSTOLIC, DIASTOLIC)
        ]})  # fmt: skip
    for measure in (PULSE, TEMPERATURE, HEIGHT, WEIGHT, BMI, WAIST, SPO2):
        if measure.field in values:
            out.append({**base, "code": _concept(measure.loinc, measure.display),
                        "valueQuantity": _quantity(values[measure.field], measure)})  # fmt: skip
    return out
