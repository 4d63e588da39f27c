"""Demo city load time: `seed(scale=...)` into a fresh database, end to end (generation, validation, indexing,
batched transactions). Targets: small (~2,000 patients) < 30 s on SQLite; city (~200,000) < 10 min on
PostgreSQL.

Usage: python bench/demo_seed.py [--engine sqlite|postgresql] [--scale small|city] [--runs 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import time
from datetime import date

from _common import database, median, report

from medcity.demo.seed import seed
from medcity.kit.db import make_engine
from medcity.store.repository import Store

TARGET_S = {"small": 30, "city": 600}


def run_once(engine_name: str, scale: str, workers: int) -> tuple[float, int, dict[str, int]]:
    with database(engine_name) as url:
        engine = make_engine(url)
        started = time.perf_counter()
        loaded = seed(Store(engine, "77"), scale=scale, seed=1, as_of=date(2026, 6, 1), progress=False, workers=workers)
        elapsed = time.perf_counter() - started
        engine.dispose()
    return elapsed, loaded.total, dict(loaded.counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--scale", default="small", choices=list(TARGET_S))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1, help="writer processes (PostgreSQL only)")
    args = parser.parse_args()
    runs = [run_once(args.engine, args.scale, args.workers) for _ in range(args.runs)]
    seconds = [r[0] for r in runs]
    _, total, counts = runs[0]
    report(
        "demo_seed",
        {
            "engine": args.engine,
            "scale": args.scale,
            "workers": args.workers,
            "seconds": round(median(seconds), 1),
            "runs_s": [round(s, 1) for s in seconds],
            "resources": total,
            "resources_per_s": round(total / median(seconds)),
            "counts": counts,
            "target_s": TARGET_S[args.scale],
        },
    )


if __name__ == "__main__":
    main()
