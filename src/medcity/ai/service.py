"""The diagnosis assistant: Russian complaint text → ranked three-character ICD-10 codes with probabilities.

The model (see `train.py`) is a multinomial logistic regression over character and lemma n-grams, blended with
a nearest-neighbour vote over the training complaints, then temperature-scaled so that the probabilities are
calibrated (the temperature is fitted on dev by a model that has not seen dev). It is loaded lazily, once per
process, from `model/` beside this file.

Confidence rule (values stored in the artifact, chosen by `train.calibrate`): a suggestion is `confident` only if
(1) at least half the letters are Cyrillic (else: English, transliteration, no words), (2) at least half the
words are lemmas seen in training (else: not a complaint), and (3) the top probability reaches the threshold,
the lowest at which the top code was right in at least 70 % of dev complaints (0.60 for the shipped model: 40 %
of dev complaints are confident, and 71 % of those are right). No dev complaint falls below floor (1) or (2)
(their minima are 0.97 and 0.55); they exist for text from outside the model's world. Otherwise the ranking is
still returned, with the reason.

Texts longer than `features.MAX_CHARS` are rejected rather than truncated: a complaint is a few sentences, so
such a text is almost certainly a pasted document, and silently cutting it would answer about text the doctor
never saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from medcity.ai import features
from medcity.ai.tables import AccuracyGroup, accuracy_by, record_choice, record_suggestion
from medcity.kit.errors import InvalidRequest

# The feedback log lives beside its table; callers reach everything through this module.
__all__ = [
    "AccuracyGroup",
    "Model",
    "SuggestedCode",
    "Suggestion",
    "accuracy_by",
    "get_model",
    "load_model",
    "record_choice",
    "record_suggestion",
    "suggest",
]

MODEL_DIR = Path(__file__).with_name("model")
MODEL_FILE = MODEL_DIR / "rumedtop3.npz"
NAMES_FILE = MODEL_DIR / "codes.json"
MAX_COUNT = 10
SEXES = ("male", "female")

# Codes whose ICD-10 rubric is restricted to one sex (ICD-10 volume 2, 4.2.4): a female patient cannot have
# prostatic hyperplasia, so given the patient's sex these are removed rather than just ranked low.
FEMALE_ONLY = frozenset(
    {"D25", "E28", "N76", "N80", "N81", "N83", "N84", "N86", "N91", "N92", "N93", "N94", "N95", "N97"}
)
MALE_ONLY = frozenset({"N40", "N41"})


@dataclass(frozen=True)
class SuggestedCode:
    code: str
    probability: float
    display_ru: str
    display_en: str


@dataclass(frozen=True)
class Suggestion:
    items: list[SuggestedCode]
    confident: bool
    reason: str | None
    model_version: str


@dataclass(frozen=True)
class Settings:
    """Scalars decided at training time."""

    knn_k: int
    knn_weight: float
    temperature: float
    min_probability: float
    min_cyrillic: float
    min_known: float


@dataclass
class Model:
    version: str
    codes: list[str]
    char: features.Tfidf  # over the normalised text
    word: features.Tfidf  # over the lemmas
    coef: np.ndarray  # (features, codes)
    intercept: np.ndarray
    neighbours: sparse.csr_matrix  # (features, training texts): unit columns, frequent n-grams left out
    neighbour_codes: np.ndarray  # index into `codes` per training text
    settings: Settings
    metrics: dict[str, Any] = field(default_factory=dict)
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    known: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        # Unigram lemmas seen in training: the yardstick for "does the model know these words".
        self.known = frozenset(t for t in self.word.vocabulary if " " not in t)

    def vectorise(self, normalised: list[str]) -> sparse.csr_matrix:
        """One row per text: character n-gram weights, then lemma n-gram weights (each block L2-normalised)."""
        indptr, indices, data = [0], [], []
        for text in normalised:
            char_columns, char_values = self.char.weights(text)
            word_columns, word_values = self.word.weights(features.lemmas(text))
            indices += [char_columns, word_columns + len(self.char)]
            data += [char_values, word_values]
            indptr.append(indptr[-1] + len(char_columns) + len(word_columns))
        shape = (len(normalised), len(self.char) + len(self.word))
        return sparse.csr_matrix(
            (np.concatenate(data).astype(np.float32), np.concatenate(indices), indptr), shape=shape
        )

    def log_scores(self, x: sparse.csr_matrix) -> np.ndarray:
        """Uncalibrated log-scores (rows: texts, columns: codes)."""
        logits = np.asarray(x @ self.coef) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        log_lr = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return log_lr + self.settings.knn_weight * self._neighbour_vote(x)

    def _neighbour_vote(self, x: sparse.csr_matrix) -> np.ndarray:
        # Not normalising x: the vote shares below do not change when a query's similarities are all scaled.
        sims = (x @ self.neighbours).toarray()
        k = min(self.settings.knn_k, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        votes = np.zeros((x.shape[0], len(self.codes)))
        rows = np.repeat(np.arange(x.shape[0]), k)
        # Squared similarity: a near-duplicate complaint should count far more than a loosely similar one.
        np.add.at(votes, (rows, self.neighbour_codes[top].ravel()), np.take_along_axis(sims, top, 1).ravel() ** 2)
        totals = votes.sum(axis=1, keepdims=True)
        totals[totals == 0] = 1.0
        return np.log(votes / totals + 1e-3)

    def probabilities(self, x: sparse.csr_matrix) -> np.ndarray:
        scaled = self.log_scores(x) / self.settings.temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        p = np.exp(scaled)
        return p / p.sum(axis=1, keepdims=True)

    def known_share(self, normalised: str) -> float:
        tokens = [w for w in features.words(normalised) if not w.isdigit()]
        if not tokens:
            return 0.0
        return sum(1 for w in tokens if features.lemma(w) in self.known) / len(tokens)


def _tfidf(spec: dict[str, Any], vocabulary: np.ndarray, idf: np.ndarray) -> features.Tfidf:
    low, high = spec["ngram_range"]
    terms = {str(t): i for i, t in enumerate(vocabulary)}
    return features.Tfidf(spec["analyzer"], (low, high), terms, idf.astype(np.float64))


def load_model(path: Path = MODEL_FILE) -> Model:
    """Read an artifact written by `train.save_model` (plain arrays, no pickle: loading runs no code)."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        neighbours = sparse.csr_matrix(
            (z["nb_data"].astype(np.float32), z["nb_indices"], z["nb_indptr"]), shape=tuple(meta["nb_shape"])
        )
        model = Model(
            version=meta["version"],
            codes=[str(c) for c in z["codes"]],
            char=_tfidf(meta["char"], z["char_vocab"], z["char_idf"]),
            word=_tfidf(meta["word"], z["word_vocab"], z["word_idf"]),
            coef=z["coef"].astype(np.float32),
            intercept=z["intercept"].astype(np.float32),
            neighbours=neighbours,
            neighbour_codes=z["nb_codes"].astype(np.int64),
            settings=Settings(**meta["settings"]),
            metrics=meta.get("metrics", {}),
        )
    if path.with_name(NAMES_FILE.name).exists():
        model.names = json.loads(path.with_name(NAMES_FILE.name).read_text(encoding="utf-8"))
    return model


@cache
def get_model() -> Model:
    return load_model()


def prepare(text: str) -> str:
    """Validate and normalise one complaint; raises `InvalidRequest` for what no model can answer."""
    if not isinstance(text, str):
        raise InvalidRequest("text must be a string")
    if len(text) > features.MAX_CHARS:
        raise InvalidRequest(f"text is longer than {features.MAX_CHARS} characters")
    cleaned = features.clean(text)
    if not cleaned:
        raise InvalidRequest("text is empty")
    return features.normalise(cleaned)


def _check_options(age: int | None, sex: str | None, count: int) -> None:
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130):
        raise InvalidRequest("age must be an integer between 0 and 130")
    if sex is not None and sex not in SEXES:
        raise InvalidRequest("sex must be 'male' or 'female'")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise InvalidRequest(f"count must be an integer between 1 and {MAX_COUNT}")


def suggest(
    text: str, *, age: int | None = None, sex: str | None = None, count: int = 3, model: Model | None = None
) -> Suggestion:
    """Rank ICD-10 codes for a complaint. `age` is validated but not used yet: the training data has no ages."""
    _check_options(age, sex, count)
    normalised = prepare(text)
    model = model or get_model()
    p = model.probabilities(model.vectorise([normalised]))[0]
    if sex is not None:
        banned = FEMALE_ONLY if sex == "male" else MALE_ONLY
        p = np.where([c in banned for c in model.codes], 0.0, p)
        p = p / p.sum()
    order = np.argsort(-p, kind="stable")[:count]
    items = [
        SuggestedCode(
            code=model.codes[i],
            probability=float(p[i]),
            display_ru=model.names.get(model.codes[i], {}).get("ru", ""),
            display_en=model.names.get(model.codes[i], {}).get("en", ""),
        )
        for i in order
    ]
    reason = _doubt(model, normalised, float(p[order[0]]))
    return Suggestion(items=items, confident=reason is None, reason=reason, model_version=model.version)


def _doubt(model: Model, normalised: str, top: float) -> str | None:
    """Why the answer should not be trusted, or None. Checked in order from the most basic."""
    s = model.settings
    if features.cyrillic_share(normalised) < s.min_cyrillic:
        return "the text has no Russian (Cyrillic) words; the model only knows Russian complaints"
    if model.known_share(normalised) < s.min_known:
        return "most words of the text are unknown to the model"
    if top < s.min_probability:
        return f"the top probability {top:.2f} is below the confidence threshold {s.min_probability:.2f}"
    return None
