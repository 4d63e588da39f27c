from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from medcity.ai import features

TEXTS = [
    "боль в пояснице при наклоне, иррадиирует в ногу",
    "головная боль, давление 160/100 мм рт ст, тошнота",
    "я боль",
    "кашель кашель кашель, насморк",
]


@pytest.mark.parametrize(
    ("analyzer", "ngram_range", "prepare"),
    [("char_wb", (2, 5), lambda t: t), ("word", (1, 2), features.lemmas)],
)
def test_tfidf_matches_scikit_learn(analyzer: str, ngram_range: tuple[int, int], prepare) -> None:
    # Training fits the vocabulary with scikit-learn, inference applies it with features.Tfidf: they must agree.
    texts = [prepare(features.normalise(t)) for t in TEXTS]
    vec = TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=ngram_range,
        token_pattern=r"\S+" if analyzer == "word" else None,
        lowercase=False,
        sublinear_tf=True,
    ).fit(texts[:3])
    ours = features.Tfidf(analyzer, ngram_range, {t: int(i) for t, i in vec.vocabulary_.items()}, vec.idf_)
    for text in texts:
        columns, values = ours.weights(text)
        dense = np.zeros(len(ours))
        dense[columns] = values
        np.testing.assert_allclose(dense, vec.transform([text]).toarray()[0], atol=1e-12)


def test_clean_strips_control_and_format_characters() -> None:
    assert features.clean("\x00боль\u200b\u00a0в\tспине\r\n\x1b") == "боль в спине"
    assert features.clean("обычный текст") == "обычный текст"


def test_lemmas_merge_inflections() -> None:
    assert features.lemmas("болями болей боли") == "боль боль боль"


def test_cyrillic_share() -> None:
    assert features.cyrillic_share("боль") == 1.0
    assert features.cyrillic_share("bol") == 0.0
    assert features.cyrillic_share("123 !!!") == 0.0
