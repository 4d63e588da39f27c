"""Latency and quality of the diagnosis assistant: single suggestions over the dev texts on one thread.

Run: .venv/bin/python bench/ai_suggest.py [--data dev.jsonl] [--model model.npz] [--repeat 1]
The shipped model has seen dev (see train.py): its dev figures here are a sanity check, not a held-out score.
"""

from __future__ import annotations

import os

# One core: pin the BLAS / OpenMP pools before numpy is imported, or they size themselves to the machine.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from medcity.ai import service, train  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=train.DEFAULT_DATA_DIR / "dev.jsonl")
    parser.add_argument("--model", type=Path, default=service.MODEL_FILE)
    parser.add_argument("--repeat", type=int, default=1, help="passes over the texts for the latency figures")
    args = parser.parse_args()
    examples = train.load_examples(args.data)

    started = time.perf_counter()
    model = service.load_model(args.model)
    service.suggest("боль в пояснице", model=model)  # first call loads the morphology dictionaries
    load_s = time.perf_counter() - started

    latencies, cpu = [], []
    for _ in range(args.repeat):
        for e in examples:
            t0, c0 = time.perf_counter(), time.thread_time()
            service.suggest(e.text, model=model)
            latencies.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    # CPU time of this thread: what the call costs without the waits a shared machine adds to the wall clock.
    cpu50, cpu95 = np.percentile(cpu, [50, 95])
    quality = train.evaluate(model, examples)
    print(
        json.dumps(
            {
                "model": model.version,
                "load_s": round(load_s, 2),
                "n": quality["n"],
                "accuracy": round(quality["accuracy"], 4),
                "hit3": round(quality["hit3"], 4),
                "p50_ms": round(float(p50), 2),
                "p95_ms": round(float(p95), 2),
                "p99_ms": round(float(p99), 2),
                "cpu_p50_ms": round(float(cpu50), 2),
                "cpu_p95_ms": round(float(cpu95), 2),
                "artifact_mb": round(args.model.stat().st_size / 2**20, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
