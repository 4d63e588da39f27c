from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from medcity.ai import service, train
from medcity.ai.train import Example


def tiny(dev_path: Path) -> list[Example]:
    # Ten codes x a dozen complaints: enough to exercise every step in a couple of seconds.
    examples = train.load_examples(train.DEFAULT_DATA_DIR / "train.jsonl")
    codes = ["M54", "I11", "G54", "E06", "J06", "N76", "K29", "J30", "N41", "E66"]
    return [e for c in codes for e in [x for x in examples if x.code == c][:12]]


def test_same_seed_same_model(tmp_path: Path, dev_path: Path) -> None:
    data = tiny(dev_path)
    dev = train.load_examples(dev_path)[:60]
    probe = [service.prepare(e.text) for e in dev[:20]]
    outputs = []
    for run in range(2):
        model = train.fit(data, seed=7)
        train.calibrate(model, dev)
        model.version = "test"
        path = tmp_path / f"m{run}.npz"
        train.save_model(model, path, meta={"seed": 7})
        loaded = service.load_model(path)
        outputs.append(loaded.probabilities(loaded.vectorise(probe)))
        assert loaded.settings == model.settings
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert np.allclose(outputs[0].sum(axis=1), 1)


def test_code_names_cover_the_shipped_codes(model: service.Model) -> None:
    names = json.loads(service.NAMES_FILE.read_text(encoding="utf-8"))
    assert set(names) == set(model.codes)
    assert all(n["ru"] and n["en"] for n in names.values())


def test_artifact_is_small() -> None:
    assert service.MODEL_FILE.stat().st_size < 50 * 1024 * 1024
