"""The calculators against the published worked examples and test vectors (read from the shared reference data
itself, where the project's copy came from), the ESC categories at their boundaries, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medcity.risk import scores
from medcity.risk.scores import Inputs

SHARED = Path("/work/shared/data/risk")
SHIPPED = Path(scores.__file__).parent / "data"


def reference(name: str) -> dict[str, Any]:
    """The shared original when this machine has it, else the copy medcity ships (the same file)."""
    path = SHARED / f"{name}_reference.json" if SHARED.is_dir() else SHIPPED / f"{name}_reference.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_the_shipped_data_is_the_reference_unchanged() -> None:
    for name in ("score2", "findrisc", "framingham2008"):
        assert scores.reference(name) == reference(name)


@pytest.mark.parametrize("vector", reference("score2")["test_vectors"], ids=lambda v: v["input"]["sex"])
def test_score2_reproduces_the_worked_examples(vector: dict[str, Any]) -> None:
    given, expected = vector["input"], vector["expected"]
    sex = given["sex"]
    lp = scores.score2_linear_predictor(sex, given["age"], smoker=bool(given["smoker"]), systolic=given["sbp"],
                                        total_cholesterol=given["tchol"], hdl=given["hdl"],
                                        diabetes=bool(given["diabetes"]))  # fmt: skip
    assert lp == pytest.approx(expected["lp"], abs=5e-5)
    uncalibrated = scores.score2_uncalibrated(sex, lp)
    assert round(uncalibrated, 4) == expected["uncal"]
    for region in scores.RISK_REGIONS:
        assert round(scores.score2_recalibrated(sex, uncalibrated, region), 4) == expected[region], region
    # The whole calculator, as the record's inputs reach it, in Russia's very high risk region.
    record = Inputs(sex=sex, age=given["age"], smoker=True, systolic=given["sbp"], total_cholesterol=given["tchol"],
                    hdl=given["hdl"], diabetes=False)  # fmt: skip
    score = scores.score2(record, "very_high")
    assert score.computed and round(score.probability or 0, 4) == expected["very_high"]
    assert score.category == "very-high"  # 50 years old, ≥ 10 %


@pytest.mark.parametrize(
    ("age", "probability", "category"),
    [(40, 0.0249, "low-moderate"), (49, 0.025, "high"), (49, 0.0749, "high"), (49, 0.075, "very-high"),
     (50, 0.0499, "low-moderate"), (50, 0.05, "high"), (69, 0.0999, "high"), (69, 0.10, "very-high"),
     (50, 0.075, "high")],
)  # fmt: skip
def test_score2_categories_follow_the_esc_age_bands(age: int, probability: float, category: str) -> None:
    assert scores.score2_category(age, probability) == category


COMPLETE = Inputs(sex="female", age=55, smoker=False, systolic=130, total_cholesterol=5.5, hdl=1.5, diabetes=False,
                  bp_treated=False)  # fmt: skip


def test_score2_refuses_outside_40_to_69_and_names_what_is_missing() -> None:
    for age in (39, 70):
        refused = scores.score2(Inputs(**{**COMPLETE.__dict__, "age": age}), "very_high")
        assert not refused.computed and refused.probability is None and refused.not_applicable
    assert scores.score2(Inputs(**{**COMPLETE.__dict__, "age": 69}), "very_high").computed
    missing = scores.score2(Inputs(**{**COMPLETE.__dict__, "hdl": None, "smoker": None}), "very_high")
    assert missing.missing == ("smoker", "hdl") and missing.probability is None and not missing.computed
    with pytest.raises(ValueError):
        scores.score2(COMPLETE, "Russia")


@pytest.mark.parametrize("vector", reference("framingham2008")["test_vectors"], ids=lambda v: str(v["expected_pct"]))
def test_framingham_reproduces_the_test_vectors(vector: dict[str, Any]) -> None:
    given = vector["input"]
    risk = scores.framingham_risk(given["sex"], given["age"], total_mg_dl=given["tc"], hdl_mg_dl=given["hdl"],
                                  systolic=given["sbp"], bp_treated=bool(given["bp_treated"]),
                                  smoker=bool(given["smoker"]), diabetes=bool(given["diabetes"]))  # fmt: skip
    assert round(risk * 100, 2) == vector["expected_pct"]
    # From the record's mmol/L, converted: the same figure.
    mmol = Inputs(sex=given["sex"], age=given["age"], total_cholesterol=given["tc"] / scores.CHOLESTEROL_MG_DL,
                  hdl=given["hdl"] / scores.CHOLESTEROL_MG_DL, systolic=given["sbp"],
                  bp_treated=bool(given["bp_treated"]), smoker=bool(given["smoker"]),
                  diabetes=bool(given["diabetes"]))  # fmt: skip
    assert round((scores.framingham(mmol).probability or 0) * 100, 2) == vector["expected_pct"]


def test_framingham_refuses_outside_30_to_74_and_without_treatment_known() -> None:
    assert scores.framingham(Inputs(**{**COMPLETE.__dict__, "age": 75})).not_applicable
    assert scores.framingham(Inputs(**{**COMPLETE.__dict__, "bp_treated": None})).missing == ("bp_treated",)
    assert scores.framingham(COMPLETE).computed


ANSWERED = Inputs(sex="male", age=58, bmi=31.0, waist=103, bp_medication_ever=True, high_glucose_ever=False,
                  activity=False, vegetables=False, family_history="first_degree", diabetes=False)  # fmt: skip


def test_findrisc_adds_the_official_form_points() -> None:
    # age 55-64: 3, BMI > 30: 3, waist > 102 (men): 4, no daily activity: 2, not daily vegetables: 1,
    # blood-pressure medicine: 2, never high glucose: 0, a parent with diabetes: 5
    score = scores.findrisc(ANSWERED)
    assert scores.findrisc_points(ANSWERED) == {"age": 3, "bmi": 3, "waist": 4, "activity": 2, "vegetables": 1,
                                                "bp_medication_ever": 2, "high_glucose_ever": 0,
                                                "family_history": 5}  # fmt: skip
    assert score.points == 20 and score.category == "high" and score.computed
    most = Inputs(**{**ANSWERED.__dict__, "age": 65, "high_glucose_ever": True})
    assert scores.findrisc(most).points == reference("findrisc")["max_score"]


@pytest.mark.parametrize(
    ("sex", "waist", "points"),
    [("male", 93.9, 0), ("male", 94, 3), ("male", 102, 3), ("male", 102.1, 4),
     ("female", 79, 0), ("female", 80, 3), ("female", 88, 3), ("female", 89, 4)],
)  # fmt: skip
def test_findrisc_waist_bands_by_sex(sex: scores.Sex, waist: float, points: int) -> None:
    assert scores.findrisc_points(Inputs(sex=sex, waist=waist))["waist"] == points


@pytest.mark.parametrize(
    ("points", "band"),
    [(0, "low"), (6, "low"), (7, "slightly-elevated"), (11, "slightly-elevated"), (12, "moderate"), (14, "moderate"),
     (15, "high"), (20, "high"), (21, "very-high"), (26, "very-high")],
)  # fmt: skip
def test_findrisc_bands(points: int, band: str) -> None:
    assert scores.findrisc_band(points) == band


def test_findrisc_waits_for_the_questions_and_does_not_screen_a_diabetic() -> None:
    unanswered = Inputs(**{**ANSWERED.__dict__, "activity": None, "family_history": None})
    score = scores.findrisc(unanswered)
    assert score.missing == ("activity", "family_history") and score.category is None and not score.computed
    assert score.points == 13  # what the record answers, shown meanwhile
    assert scores.findrisc(Inputs(**{**ANSWERED.__dict__, "diabetes": True})).not_applicable
