"""The protocol document and the vital signs, without a database: texts survive the narrative (and markup in them
stays text), templates exist in both languages, BMI is computed, and the limits of each measurement hold."""

from __future__ import annotations

import pytest

from medcity.visits import protocol, vitals
from medcity.visits.rules import VisitError


def test_texts_round_trip_through_the_narrative_and_markup_stays_text() -> None:
    texts = {"complaints": "Боль <script>alert(1)</script>\nвторая строка", "anamnesis": "", "examination": "а & б",
             "recommendations": "покой"}  # fmt: skip
    document = protocol.composition(texts=texts, diagnosis_text="J06.9", conditions=[], subject={}, encounter={},
                                    author={}, custodian=None, when="2026-12-01T10:00:00Z")  # fmt: skip
    assert "<script>" not in document["section"][0]["text"]["div"]
    back = protocol.section_texts(document)
    assert back["complaints"] == texts["complaints"]
    assert back["examination"] == "а & б"
    assert back["anamnesis"] == ""


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_template_has_both_texts_in_both_languages(lang: str) -> None:
    for specialty in protocol.TEMPLATES:
        texts = protocol.template(specialty, lang)
        assert set(texts) == {"examination", "recommendations"} and all(texts.values())
    assert protocol.template("no-such-specialty", lang) == {}


def test_bmi_is_computed_and_units_are_ucum() -> None:
    measured = vitals.check({"height": "180", "weight": "81"})
    assert measured.values["bmi"] == 25.0
    [height, weight, bmi] = vitals.observations(measured, subject={}, encounter={}, performer={}, when="x")
    assert [o["valueQuantity"]["code"] for o in (height, weight, bmi)] == ["cm", "kg", "kg/m2"]
    assert bmi["code"]["coding"][0]["code"] == "39156-5"


@pytest.mark.parametrize(
    ("raw", "field"),
    [({"temperature": "50"}, "temperature"), ({"weight": "0"}, "weight"), ({"pulse": "nan"}, "pulse"),
     ({"systolic": "120"}, "diastolic"), ({"height": "1e9"}, "height")],
)  # fmt: skip
def test_impossible_values_name_their_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(VisitError) as refused:
        vitals.check(raw)
    assert refused.value.status == 422 and refused.value.field == field


def test_nothing_entered_is_no_vitals() -> None:
    assert not vitals.check({"pulse": " ", "spo2": None})
