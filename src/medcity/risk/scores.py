"""The risk calculators, pure functions of the inputs: SCORE2 (ESC 2021), FINDRISC and Framingham 2008 general CVD.

Coefficients are read from the published reference data in `data/` (see its README), so that a number here can be
checked against the publication. A calculator never guesses: an input it needs and was not given is named in
`Score.missing`, and a person outside the ages the model was derived in gets `Score.not_applicable` instead of a
figure.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from medcity.kit.i18n import N_
from medcity.registry.regions import CvdRiskRegion

_DATA = Path(__file__).parent / "data"

Sex = Literal["male", "female"]
# The ESC 2021 risk regions SCORE2 is recalibrated to (a region's `risk.cvd_risk_region` setting).
RISK_REGIONS: tuple[str, ...] = get_args(CvdRiskRegion)
# FINDRISC's family history answers, as the form asks them.
FAMILY_HISTORY = ("none", "second_degree", "first_degree")
# mg/dL per mmol/L of cholesterol (molar mass 386.65 g/mol): Framingham's coefficients are for mg/dL.
CHOLESTEROL_MG_DL = 38.67


@dataclass(frozen=True)
class Inputs:
    """What the calculators read; None is "not known". Cholesterol in mmol/L, pressure in mm Hg, waist in cm."""

    sex: Sex | None = None
    age: int | None = None
    smoker: bool | None = None  # a current smoker (an ex-smoker is not)
    systolic: float | None = None
    total_cholesterol: float | None = None
    hdl: float | None = None
    diabetes: bool | None = None
    bp_treated: bool | None = None  # an antihypertensive medicine now
    bp_medication_ever: bool | None = None  # FINDRISC: ever taken regularly
    bmi: float | None = None
    waist: float | None = None
    high_glucose_ever: bool | None = None
    # FINDRISC's questions only the patient can answer.
    activity: bool | None = None  # at least 30 minutes of physical activity daily
    vegetables: bool | None = None  # vegetables, fruit or berries every day
    family_history: str | None = None  # one of FAMILY_HISTORY


@dataclass(frozen=True)
class Score:
    """A calculator's answer: a probability (SCORE2, Framingham) or points (FINDRISC) with the category; or what
    kept it from answering."""

    model: str
    probability: float | None = None
    points: int | None = None
    category: str | None = None  # SCORE2's ESC category, FINDRISC's band; Framingham 2008 publishes none
    missing: tuple[str, ...] = ()  # names of `Inputs` fields
    not_applicable: str | None = None  # msgid: why the model does not apply to this person
    caveat: str | None = None  # msgid: what to keep in mind about a figure it did compute

    @property
    def computed(self) -> bool:
        return not self.missing and self.not_applicable is None


def _missing(inputs: Inputs, names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in names if getattr(inputs, name) is None)


def _not_computed(
    model: str, inputs: Inputs, ages: tuple[int, int], needed: tuple[str, ...], outside: str
) -> Score | None:
    """The Score of a model that cannot be computed for these inputs: an age outside the model's (`outside`, a
    msgid, says so) or inputs missing; None when it can."""
    if inputs.age is not None and not ages[0] <= inputs.age <= ages[1]:
        return Score(model, not_applicable=outside)
    missing = _missing(inputs, needed)
    return Score(model, missing=missing) if missing else None


@cache
def reference(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_DATA / f"{name}_reference.json").read_text(encoding="utf-8"))
    return data


# ---- SCORE2 -------------------------------------------------------------------------------------------------

SCORE2_AGES = (40, 69)
SCORE2_INPUTS = ("sex", "age", "smoker", "systolic", "total_cholesterol", "hdl", "diabetes")
SCORE2_CATEGORIES = ("low-moderate", "high", "very-high")
DIABETES_CAVEAT = N_(
    "SCORE2 is meant for people without diabetes; for a patient with diabetes the ESC uses other models"
)


def score2_linear_predictor(
    sex: Sex, age: float, *, smoker: bool, systolic: float, total_cholesterol: float, hdl: float, diabetes: bool
) -> float:
    c = reference("score2")["coefficients"][sex]
    cage, csbp, ctc, chdl = (age - 60) / 5, (systolic - 120) / 20, total_cholesterol - 6, (hdl - 1.3) / 0.5
    smk, dm = float(smoker), float(diabetes)
    main = c["age"] * cage + c["smk"] * smk + c["sbp"] * csbp + c["dm"] * dm + c["tc"] * ctc + c["hdl"] * chdl
    with_age = c["a_smk"] * smk + c["a_sbp"] * csbp + c["a_tc"] * ctc + c["a_hdl"] * chdl + c["a_dm"] * dm
    return float(main + cage * with_age)


def score2_uncalibrated(sex: Sex, lp: float) -> float:
    return float(1 - reference("score2")["coefficients"][sex]["s0"] ** math.exp(lp))


def score2_recalibrated(sex: Sex, uncalibrated: float, risk_region: str) -> float:
    scale1, scale2 = reference("score2")["scales"][sex][risk_region]
    return 1 - math.exp(-math.exp(scale1 + scale2 * math.log(-math.log(1 - uncalibrated))))


def score2_category(age: int, probability: float) -> str:
    """ESC 2021 (table 4): under 50, <2.5 % low to moderate, 2.5 to <7.5 % high, ≥7.5 % very high; 50–69: <5, 5 to
    <10, ≥10 %."""
    high, very_high = (0.025, 0.075) if age < 50 else (0.05, 0.10)
    return SCORE2_CATEGORIES[(probability >= high) + (probability >= very_high)]


def score2(inputs: Inputs, risk_region: str) -> Score:
    """10-year risk of fatal and non-fatal cardiovascular disease, recalibrated to the ESC risk region."""
    if risk_region not in RISK_REGIONS:
        raise ValueError(f"unknown SCORE2 risk region {risk_region!r}")
    refused = _not_computed("score2", inputs, SCORE2_AGES, SCORE2_INPUTS, N_("SCORE2 is for ages 40 to 69"))
    if refused is not None:
        return refused
    assert inputs.sex and inputs.age is not None and inputs.systolic and inputs.total_cholesterol and inputs.hdl
    lp = score2_linear_predictor(
        inputs.sex, inputs.age, smoker=bool(inputs.smoker), systolic=inputs.systolic,
        total_cholesterol=inputs.total_cholesterol, hdl=inputs.hdl, diabetes=bool(inputs.diabetes),
    )  # fmt: skip
    risk = score2_recalibrated(inputs.sex, score2_uncalibrated(inputs.sex, lp), risk_region)
    # The model has a diabetes term, but ESC 2021 meant SCORE2 for people without diabetes (SCORE2-Diabetes, 2023,
    # is not implemented here): the figure is shown, with that said.
    caveat = DIABETES_CAVEAT if inputs.diabetes else None
    return Score("score2", probability=risk, category=score2_category(inputs.age, risk), caveat=caveat)


# ---- FINDRISC -----------------------------------------------------------------------------------------------

FINDRISC_RECORD_INPUTS = ("sex", "age", "bmi", "waist", "bp_medication_ever", "high_glucose_ever")
FINDRISC_QUESTIONS = ("activity", "vegetables", "family_history")
# The form's bands by total points (upper bounds inclusive), with its estimate of the 10-year risk.
FINDRISC_BANDS = ((6, "low", "1/100"), (11, "slightly-elevated", "1/25"), (14, "moderate", "1/6"),
                  (20, "high", "1/3"), (26, "very-high", "1/2"))  # fmt: skip
# The form's waist bands in cm (the keys of the reference data): below the first, up to the second, above it.
WAIST_BANDS: dict[str, tuple[int, int]] = {"male": (94, 102), "female": (80, 88)}


def findrisc_points(inputs: Inputs) -> dict[str, int]:
    """The points of each item that is answered (an unanswered one is left out)."""
    p = reference("findrisc")["points"]
    points: dict[str, int] = {}
    if inputs.age is not None:
        age = inputs.age
        points["age"] = p["age"]["<45" if age < 45 else "45-54" if age < 55 else "55-64" if age < 65 else ">64"]
    if inputs.bmi is not None:
        points["bmi"] = p["bmi"]["<25" if inputs.bmi < 25 else "25-30" if inputs.bmi <= 30 else ">30"]
    if inputs.waist is not None and inputs.sex is not None:
        low, high = WAIST_BANDS[inputs.sex]
        band = f"<{low}" if inputs.waist < low else f"{low}-{high}" if inputs.waist <= high else f">{high}"
        points["waist"] = p["waist_cm"]["men" if inputs.sex == "male" else "women"][band]
    if inputs.activity is not None:
        points["activity"] = p["physical_activity_30min_daily"]["yes" if inputs.activity else "no"]
    if inputs.vegetables is not None:
        points["vegetables"] = p["veg_fruit_berries"]["every_day" if inputs.vegetables else "not_every_day"]
    if inputs.bp_medication_ever is not None:
        answer = "yes" if inputs.bp_medication_ever else "no"
        points["bp_medication_ever"] = p["ever_antihypertensive_medication"][answer]
    if inputs.high_glucose_ever is not None:
        points["high_glucose_ever"] = p["ever_high_blood_glucose"]["yes" if inputs.high_glucose_ever else "no"]
    if inputs.family_history in FAMILY_HISTORY:
        answers = {"none": "no", "second_degree": "grandparent_aunt_uncle_first_cousin",
                   "first_degree": "parent_sibling_child"}  # fmt: skip
        points["family_history"] = p["family_history_diabetes"][answers[inputs.family_history]]
    return points


def findrisc_band(points: int) -> str:
    return next(band for top, band, _ in FINDRISC_BANDS if points <= top)


def findrisc(inputs: Inputs) -> Score:
    """Points of the type 2 diabetes risk form, when every item is answered; not for a person who has diabetes."""
    if inputs.diabetes:
        return Score("findrisc", not_applicable=N_("FINDRISC screens for diabetes not yet known; this patient has it"))
    missing = _missing(inputs, (*FINDRISC_RECORD_INPUTS, *FINDRISC_QUESTIONS))
    points = findrisc_points(inputs)
    if missing:
        return Score("findrisc", points=sum(points.values()), missing=missing)
    total = sum(points.values())
    return Score("findrisc", points=total, category=findrisc_band(total))


# ---- Framingham 2008 ----------------------------------------------------------------------------------------

FRAMINGHAM_AGES = (30, 74)
FRAMINGHAM_INPUTS = ("sex", "age", "smoker", "systolic", "total_cholesterol", "hdl", "diabetes", "bp_treated")


def framingham_risk(
    sex: Sex, age: float, *, total_mg_dl: float, hdl_mg_dl: float, systolic: float, bp_treated: bool, smoker: bool,
    diabetes: bool,
) -> float:  # fmt: skip
    c = reference("framingham2008")["coefficients"][sex]
    sbp = c["ln_sbp_treated"] if bp_treated else c["ln_sbp_untreated"]
    total = (c["ln_age"] * math.log(age) + c["ln_tc"] * math.log(total_mg_dl) + c["ln_hdl"] * math.log(hdl_mg_dl)
             + sbp * math.log(systolic) + c["smoker"] * smoker + c["diabetes"] * diabetes)  # fmt: skip
    return float(1 - c["s0"] ** math.exp(total - c["mean"]))


def framingham(inputs: Inputs) -> Score:
    """10-year risk of general cardiovascular disease (coronary, cerebrovascular, peripheral, heart failure)."""
    refused = _not_computed("framingham", inputs, FRAMINGHAM_AGES, FRAMINGHAM_INPUTS,
                            N_("Framingham 2008 is for ages 30 to 74"))  # fmt: skip
    if refused is not None:
        return refused
    assert inputs.sex and inputs.age is not None and inputs.systolic and inputs.total_cholesterol and inputs.hdl
    risk = framingham_risk(
        inputs.sex, inputs.age, total_mg_dl=inputs.total_cholesterol * CHOLESTEROL_MG_DL,
        hdl_mg_dl=inputs.hdl * CHOLESTEROL_MG_DL, systolic=inputs.systolic, bp_treated=bool(inputs.bp_treated),
        smoker=bool(inputs.smoker), diabetes=bool(inputs.diabetes),
    )  # fmt: skip
    return Score("framingham", probability=risk)


# What each model reads, by its name in `Score.model`.
INPUTS_OF: dict[str, tuple[str, ...]] = {
    "score2": SCORE2_INPUTS,
    "findrisc": (*FINDRISC_RECORD_INPUTS, *FINDRISC_QUESTIONS),
    "framingham": FRAMINGHAM_INPUTS,
}
