"""Master patient index quality: precision and recall of `registry.service.match` on duplicates injected by
the demo generator with realistic registration errors (typos, transliteration, swapped names, Ё/Е,
transposed or mistyped birth dates, moves, missing identifiers), among twins and namesakes.

Every record is matched against the population; a pair counts as predicted when its grade is `certain` or
`probable` (`possible` is what a registrar reviews, not a link). Targets: precision >= 0.99, recall >= 0.95.

Usage: python bench/mpi_quality.py [--engine sqlite|postgresql] [--patients 5000] [--duplicates 300]
                              [--seed 1]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import date

from _common import database, report

from medcity.demo.generator import Generator, Scale
from medcity.demo.seed import seed
from medcity.kit.db import make_engine
from medcity.registry import service
from medcity.store.repository import Store

PREDICTED = ("certain", "probable")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--duplicates", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scale = Scale(
        args.patients, 3, 1, 1, 1, 1, 1, duplicates=args.duplicates / args.patients, twins=0.01, history=False
    )
    with database(args.engine) as url:
        engine = make_engine(url)
        store = Store(engine, "77")
        loaded = seed(store, scale=scale, seed=args.seed, as_of=date(2026, 6, 1), progress=False)
        truth = {frozenset((dup, original)) for dup, original, _ in loaded.duplicates}
        errors_of = {frozenset((dup, original)): errors for dup, original, errors in loaded.duplicates}
        predicted: set[frozenset[str]] = set()
        grades: Counter[str] = Counter()
        started = time.perf_counter()
        ids = [Generator.patient_id(n, region="77") for n in range(1, args.patients + 1)]
        ids += [dup for dup, _, _ in loaded.duplicates]
        with store.reader() as tx:
            patients = tx.read_many([("Patient", pid) for pid in ids])
            for record in patients:
                for found in service.match(tx, record.resource, count=10):
                    pair = frozenset((record.id, found.patient.id))
                    grades[found.grade] += 1
                    if found.grade in PREDICTED:
                        predicted.add(pair)
        elapsed = time.perf_counter() - started
        engine.dispose()
    hits = predicted & truth
    missed = Counter(e for pair in truth - hits for e in errors_of[pair])
    report(
        "mpi_quality",
        {
            "engine": args.engine,
            "patients": args.patients,
            "duplicate_pairs": len(truth),
            "predicted_pairs": len(predicted),
            "true_positives": len(hits),
            "precision": round(len(hits) / len(predicted), 4) if predicted else None,
            "recall": round(len(hits) / len(truth), 4) if truth else None,
            "predicted_when": list(PREDICTED),
            "grades_seen": dict(grades),
            "errors_in_missed_pairs": dict(missed),
            "match_ms_mean": round(1000 * elapsed / len(patients), 2),
            "targets": {"precision": 0.99, "recall": 0.95},
        },
    )


if __name__ == "__main__":
    main()
