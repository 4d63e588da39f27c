"""Training the diagnosis assistant on RuMedTop3 (RuMedBench): fit on `train.jsonl`, decide the blend weight,
the temperature and the confidence threshold on `dev.jsonl`, and write the artifact `service.load_model` reads.

Why this model: on 4.7k short, typo-ridden complaints, sparse n-gram features with a linear model beat the
published neural baselines (RuMedBench, Blinov et al. 2022), train in about a minute and answer in about a
millisecond. Character n-grams (2-5, inside word boundaries) absorb typos; lemma uni- and bigrams merge inflections.
A nearest-neighbour vote adds what a linear boundary misses: near-identical complaints that repeat in the data.
"""

from __future__ import annotations

import hashlib
import json
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar

from medcity.ai import features
from medcity.ai.service import MODEL_FILE, NAMES_FILE, Model, Settings
from medcity.kit.config import PROJECT_ROOT

DEFAULT_SEED = 42
DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data" / "rumedtop3"
MKB10_RU = PROJECT_ROOT.parent / "shared" / "data" / "icd10-ru" / "mkb10.csv"
ICD10_EN = PROJECT_ROOT.parent / "shared" / "data" / "icd10-en" / "icd10_who_2019.xml"

CHAR_SPEC: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": [2, 5], "min_df": 2, "max_features": 40_000}
WORD_SPEC: dict[str, Any] = {"analyzer": "word", "ngram_range": [1, 2], "min_df": 2, "token_pattern": r"\S+"}
LR_C = 20.0  # weak regularisation wins on dev: the classes are many and the texts short
KNN_K = 20
KNN_MAX_DF = 0.1
KNN_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
# A suggestion is "confident" when its top probability is at least the smallest threshold at which, on dev,
# the top code is right this often. The two share floors only catch text outside the model's world.
TARGET_PRECISION = 0.70
MIN_CYRILLIC = 0.5
MIN_KNOWN = 0.5


@dataclass(frozen=True)
class Example:
    text: str
    code: str


def load_examples(path: Path) -> list[Example]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Example(text=r["symptoms"], code=r["code"]) for r in rows]


def _prepare(examples: list[Example]) -> list[str]:
    return [features.normalise(features.clean(e.text)) for e in examples]


def _fit_tfidf(spec: dict[str, Any], texts: list[str]) -> features.Tfidf:
    """Choose the vocabulary and the idf with scikit-learn; `features.Tfidf` applies them."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        analyzer=spec["analyzer"],
        ngram_range=tuple(spec["ngram_range"]),
        min_df=spec["min_df"],
        max_features=spec.get("max_features"),
        token_pattern=spec.get("token_pattern"),
        lowercase=False,
        sublinear_tf=True,
        dtype=np.float32,
    )
    vec.fit(texts)
    low, high = spec["ngram_range"]
    return features.Tfidf(spec["analyzer"], (low, high), {t: int(i) for t, i in vec.vocabulary_.items()}, vec.idf_)


def fit(train: list[Example], *, seed: int = DEFAULT_SEED) -> Model:
    """Fit the vectorisers, the regression and the neighbour index; settings are neutral until `calibrate`."""
    from sklearn.linear_model import LogisticRegression

    texts = _prepare(train)
    codes = sorted({e.code for e in train})
    model = Model(
        version="",
        codes=codes,
        char=_fit_tfidf(CHAR_SPEC, texts),
        word=_fit_tfidf(WORD_SPEC, [features.lemmas(t) for t in texts]),
        coef=np.zeros((0, len(codes)), np.float32),
        intercept=np.zeros(len(codes), np.float32),
        neighbours=sparse.csr_matrix((0, 0), dtype=np.float32),
        neighbour_codes=np.array([codes.index(e.code) for e in train]),
        settings=Settings(
            knn_k=KNN_K,
            knn_weight=0.0,
            temperature=1.0,
            min_probability=0.0,
            min_cyrillic=MIN_CYRILLIC,
            min_known=MIN_KNOWN,
        ),
    )
    x = model.vectorise(texts)
    lr = LogisticRegression(C=LR_C, max_iter=1000, random_state=seed)
    lr.fit(x, model.neighbour_codes)
    model.coef = lr.coef_.T.astype(np.float32)
    model.intercept = lr.intercept_.astype(np.float32)
    if len(codes) == 2:  # sklearn keeps one column for two classes; the scorer wants one per code
        model.coef = np.hstack([-model.coef / 2, model.coef / 2])
        model.intercept = np.array([-model.intercept[0] / 2, model.intercept[0] / 2], dtype=np.float32)
    model.neighbours = _neighbour_index(x)
    return model


def _neighbour_index(x: sparse.csr_matrix) -> sparse.csr_matrix:
    """Training texts as unit columns, without the n-grams found in more than KNN_MAX_DF of them: those carry
    little evidence of similarity and most of the cost of a lookup (dropping them halves it at equal dev scores)."""
    from sklearn.preprocessing import normalize

    unit = normalize(x).tocsc()
    frequent = np.diff(unit.indptr) > KNN_MAX_DF * x.shape[0]
    unit.data[np.repeat(frequent, np.diff(unit.indptr))] = 0
    unit.eliminate_zeros()
    return unit.T.tocsr().astype(np.float32)


def _ranks(scores: np.ndarray, model: Model, examples: list[Example]) -> np.ndarray:
    """Rank (0 = first) of the true code per example; len(codes) when the code is unknown to the model."""
    index = {c: i for i, c in enumerate(model.codes)}
    truth = np.array([index.get(e.code, -1) for e in examples])
    true_scores = np.where(truth >= 0, scores[np.arange(len(examples)), np.maximum(truth, 0)], -np.inf)
    ranks = (scores > true_scores[:, None]).sum(axis=1)
    return np.where(truth >= 0, ranks, len(model.codes))


def metrics_from_ranks(ranks: np.ndarray) -> dict[str, Any]:
    return {"n": len(ranks), "accuracy": float(np.mean(ranks == 0)), "hit3": float(np.mean(ranks < 3))}


def evaluate(model: Model, examples: list[Example]) -> dict[str, Any]:
    """Accuracy (top-1) and Hit@3 as fractions in 0..1."""
    scores = model.log_scores(model.vectorise(_prepare(examples)))
    return metrics_from_ranks(_ranks(scores, model, examples))


def calibrate(model: Model, dev: list[Example]) -> dict[str, Any]:
    """Choose the neighbour weight (best Hit@3, then accuracy), the temperature (least log-loss) and the
    confidence threshold on `dev`; returns the dev metrics of the calibrated model."""
    x = model.vectorise(_prepare(dev))
    index = {c: i for i, c in enumerate(model.codes)}
    known = np.array([e.code in index for e in dev])
    truth = np.array([index.get(e.code, 0) for e in dev])
    best: tuple[float, float, float] | None = None
    for weight in KNN_WEIGHTS:
        model.settings = _with(model.settings, knn_weight=weight)
        m = metrics_from_ranks(_ranks(model.log_scores(x), model, dev))
        if best is None or (m["hit3"], m["accuracy"]) > best[:2]:
            best = (m["hit3"], m["accuracy"], weight)
    assert best is not None
    model.settings = _with(model.settings, knn_weight=best[2])
    scores = model.log_scores(x)

    def log_loss(temperature: float) -> float:
        z = scores / temperature
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(dev)), truth][known].mean())

    temperature = float(minimize_scalar(log_loss, bounds=(0.05, 20.0), method="bounded").x)
    model.settings = _with(model.settings, temperature=temperature)
    p = model.probabilities(x)
    top = p.max(axis=1)
    right = (p.argmax(axis=1) == truth) & known
    threshold = 1.0
    for t in np.arange(0.05, 1.0, 0.01):
        chosen = top >= t
        if chosen.any() and right[chosen].mean() >= TARGET_PRECISION:
            threshold = round(float(t), 2)
            break
    model.settings = _with(model.settings, min_probability=threshold)
    result = metrics_from_ranks(_ranks(scores, model, dev))
    result["log_loss"] = log_loss(temperature)
    result["confident_share"] = float(np.mean(top >= threshold))
    result["confident_accuracy"] = float(right[top >= threshold].mean()) if (top >= threshold).any() else 0.0
    return result


def _with(settings: Settings, **changes: Any) -> Settings:
    return Settings(**{**settings.__dict__, **changes})


def code_names(codes: list[str], *, ru_path: Path = MKB10_RU, en_path: Path = ICD10_EN) -> dict[str, dict[str, str]]:
    """Russian (Minzdrav МКБ-10) and English (WHO 2019) names of `codes`, copied so the model ships its own."""
    wanted = set(codes)
    names: dict[str, dict[str, str]] = {c: {"ru": "", "en": ""} for c in codes}
    for line in ru_path.read_text(encoding="utf-8-sig").splitlines()[1:]:
        cells = [c.strip('"') for c in line.split(";")]
        if len(cells) > 3 and cells[2] in wanted:
            names[cells[2]]["ru"] = cells[3]
    for item in ET.parse(en_path).getroot().iter("item"):  # noqa: S314 - trusted bundled file
        name = item.findtext("name")
        if item.get("type") == "category" and name in wanted:
            names[name]["en"] = item.findtext("description") or ""
    return names


def save_model(model: Model, path: Path, *, meta: dict[str, Any]) -> None:
    """Write plain arrays (no pickle) with float16 weights: halves the size and moves no ranking on dev."""
    nb = model.neighbours
    body = {
        "version": model.version,
        "char": {k: v for k, v in CHAR_SPEC.items() if k in ("analyzer", "ngram_range")},
        "word": {k: v for k, v in WORD_SPEC.items() if k in ("analyzer", "ngram_range", "token_pattern")},
        "settings": model.settings.__dict__,
        "nb_shape": list(nb.shape),
        "metrics": model.metrics,
        **meta,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    index_type = np.uint16 if nb.shape[1] < 2**16 else np.int32
    with path.open("wb") as f:
        np.savez_compressed(
            f,
            meta=np.array(json.dumps(body, ensure_ascii=False)),
            codes=np.array(model.codes),
            char_vocab=_vocabulary(model.char),
            char_idf=np.asarray(model.char.idf, np.float32),
            word_vocab=_vocabulary(model.word),
            word_idf=np.asarray(model.word.idf, np.float32),
            coef=model.coef.astype(np.float16),
            intercept=model.intercept.astype(np.float32),
            nb_data=nb.data.astype(np.float16),
            nb_indices=nb.indices.astype(index_type),
            nb_indptr=nb.indptr.astype(np.int64),
            nb_codes=model.neighbour_codes.astype(np.int16),
        )


def _vocabulary(tfidf: features.Tfidf) -> np.ndarray:
    terms = [""] * len(tfidf)
    for term, i in tfidf.vocabulary.items():
        terms[i] = term
    return np.array(terms)


def train(
    data_dir: Path = DEFAULT_DATA_DIR, out: Path = MODEL_FILE, *, seed: int = DEFAULT_SEED, refit: bool = True
) -> dict[str, Any]:
    """Fit on train and calibrate on dev (the dev figures reported are this train-only model's); then, with
    `refit`, fit again on train + dev with the same settings, since 18 % more complaints help the rarer codes.
    Writes the artifact and the code names beside it; returns a report."""
    started = time.monotonic()
    train_set = load_examples(data_dir / "train.jsonl")
    dev_set = load_examples(data_dir / "dev.jsonl")
    model = fit(train_set, seed=seed)
    dev_metrics = calibrate(model, dev_set)
    trained_on = ["train.jsonl"]
    if refit:
        settings = model.settings
        model = fit(train_set + dev_set, seed=seed)
        model.settings = settings
        trained_on.append("dev.jsonl")
    digest = hashlib.sha256(b"".join((data_dir / f).read_bytes() for f in trained_on)).hexdigest()[:8]
    model.version = f"rumedtop3-lr-knn-{digest}-s{seed}"
    model.metrics = {"dev_train_only": dev_metrics}
    save_model(model, out, meta={"seed": seed, "trained_on": trained_on, "calibrated_on": ["dev.jsonl"]})
    out.with_name(NAMES_FILE.name).write_text(
        json.dumps(code_names(model.codes), ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8"
    )
    return {
        "version": model.version,
        "trained_on": trained_on,
        "dev_train_only": dev_metrics,
        "settings": model.settings.__dict__,
        "seconds": round(time.monotonic() - started, 1),
        "artifact_bytes": out.stat().st_size,
    }
