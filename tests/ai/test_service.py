from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medcity.ai import service
from medcity.ai.train import evaluate, load_examples
from medcity.kit.errors import InvalidRequest

BACK_PAIN = "Боль в пояснице при наклоне, иррадиирует в ногу"


def test_ranked_codes_with_names_and_probabilities(model: service.Model) -> None:
    result = service.suggest(BACK_PAIN, count=5)
    assert result.items[0].code == "M54"
    probabilities = [i.probability for i in result.items]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 <= p <= 1 for p in probabilities) and sum(probabilities) <= 1 + 1e-9
    assert result.items[0].display_ru == "Дорсалгия" and result.items[0].display_en == "Dorsalgia"
    assert len({i.code for i in result.items}) == 5
    assert result.model_version == model.version


def test_clear_complaint_is_confident() -> None:
    result = service.suggest(BACK_PAIN)
    assert result.confident and result.reason is None


@pytest.mark.parametrize(
    "text",
    [
        "Купил вчера хлеб и молоко, погода была хорошая",
        "Lower back pain radiating to the left leg for two weeks",
        "boli v poyasnice, otdayut v nogu",
        "!!! ??? 123",
    ],
)
def test_out_of_domain_text_is_not_confident(text: str) -> None:
    result = service.suggest(text)
    assert not result.confident
    assert result.reason
    assert len(result.items) == 3


@pytest.mark.parametrize("text", ["", "   \n\t ", "\x00\x01\x02", "a" * 10_001, "боль " * 20_000])
def test_bad_text_is_rejected(text: str) -> None:
    with pytest.raises(InvalidRequest):
        service.suggest(text)


def test_control_characters_are_stripped() -> None:
    dirty = "\x00Боли\x07 в поясничном\u200b отделе\x1b позвоночника,\r\n иррадиируют в левую ногу"
    plain = "Боли в поясничном отделе позвоночника, иррадиируют в левую ногу"
    assert service.suggest(dirty).items == service.suggest(plain).items


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"count": 0}, "count"),
        ({"count": 11}, "count"),
        ({"count": True}, "count"),
        ({"age": -1}, "age"),
        ({"sex": "unknown"}, "sex"),
    ],
)
def test_bad_options_are_rejected(options: dict, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        service.suggest(BACK_PAIN, **options)


def test_sex_removes_codes_of_the_other_sex() -> None:
    text = "Учащенное мочеиспускание, вялая струя мочи, ночью встает 3 раза"
    for_male = [i.code for i in service.suggest(text, sex="male", count=10).items]
    for_female = [i.code for i in service.suggest(text, sex="female", count=10).items]
    assert not service.FEMALE_ONLY & set(for_male)
    assert not service.MALE_ONLY & set(for_female)


def test_model_is_loaded_once() -> None:
    assert service.get_model() is service.get_model()


def test_dev_regression_guard(model: service.Model, dev_path) -> None:
    # Training fits on train.jsonl, calibrates on dev.jsonl and records that train-only model's dev figures in the
    # artifact; the shipped model is then refitted on train + dev. So: (1) the recorded, honest figures must
    # clear the floors (measured: accuracy 0.49, Hit@3 0.73; the floors leave room for retraining noise only);
    # (2) the shipped model, having seen dev, must do at least as well on it: less means a broken artifact or
    # a mismatch between training-time and run-time features.
    honest = model.metrics["dev_train_only"]
    assert honest["n"] == 848
    assert honest["accuracy"] >= 0.47
    assert honest["hit3"] >= 0.71
    shipped = evaluate(model, load_examples(dev_path))
    assert shipped["accuracy"] >= honest["accuracy"] - 0.005
    assert shipped["hit3"] >= honest["hit3"] - 0.005


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_suggestion_or_invalid_request(text: str) -> None:
    try:
        result = service.suggest(text)
    except InvalidRequest:
        assert not text.strip() or not "".join(ch for ch in text if ch.isprintable()).strip()
        return
    assert len(result.items) == 3 and (result.confident or result.reason)
