"""Searches on a seeded demo city, as the local operator and as a doctor of the polyclinic with the most attached
patients (the access policy's care condition on): the cost of the care condition on searches across patients.

Usage: python bench/city_search.py [--database-url URL] [--scale small|city] [--runs 5]
Without --database-url, seeds `--scale` into a throwaway PostgreSQL cluster first (city: several minutes); with
it, searches a database `medcity demo seed` already filled (region 77, as of 2026-06-01).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from _common import database, median, report
from sqlalchemy import text

from medcity.auth import policy
from medcity.auth.principal import Principal
from medcity.demo.seed import seed
from medcity.kit.db import make_engine
from medcity.store.repository import Store

REGION = "77"
AS_OF = date(2026, 6, 1)


@contextmanager
def city(url: str | None, scale: str) -> Iterator[str]:
    if url:
        yield url
        return
    with database("postgresql") as fresh:
        seed(Store(make_engine(fresh), REGION), scale=scale, seed=1, as_of=AS_OF, progress=False, workers=2)
        yield fresh


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--scale", default="small", choices=["small", "city"])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with city(args.database_url, args.scale) as url:
        engine = make_engine(url)
        with engine.connect() as conn:
            org = conn.execute(text(
                "SELECT target_id FROM idx_reference WHERE partition = :r AND type = 'Patient' "
                "AND param = 'organization' GROUP BY target_id ORDER BY count(*) DESC, target_id LIMIT 1"
            ), {"r": REGION}).scalar_one()  # fmt: skip
            practitioner = conn.execute(text(
                "SELECT p.target_id FROM idx_reference p JOIN idx_reference o ON o.partition = p.partition "
                "AND o.type = p.type AND o.id = p.id AND o.param = 'organization' AND o.target_id = :org "
                "WHERE p.partition = :r AND p.type = 'PractitionerRole' AND p.param = 'practitioner' "
                "ORDER BY p.id LIMIT 1"
            ), {"r": REGION, "org": org}).scalar_one()  # fmt: skip
            someone = conn.execute(text(
                "SELECT target_id FROM idx_reference WHERE partition = :r AND type = 'Observation' "
                "AND param = 'subject' ORDER BY id LIMIT 1"
            ), {"r": REGION}).scalar_one()  # fmt: skip
        doctor = Principal(kind="user", username="bench-doctor", roles=("doctor",), scopes=("user/*.cruds",),
                           practitioner=practitioner, organization=org)  # fmt: skip
        context = policy.Context(region=REGION, now=datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC))
        searches = [("Patient", [("name", "Ковал")]), ("Patient", [("family", "Коваленко")]),
                    ("Observation", [("subject", f"Patient/{someone}")]), ("Condition", [("code", "I10")])]  # fmt: skip
        store, figures = Store(engine, REGION), []
        for rtype, params in searches:
            row: dict[str, object] = {"search": f"{rtype}?{'&'.join(f'{k}={v}' for k, v in params)}"}
            for who, restrict in (("operator", None), ("doctor", policy.restriction(doctor, context))):
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    with store.reader() as tx:
                        found = tx.search(rtype, params, restrict=restrict)
                    times.append(time.perf_counter() - started)
                row[f"{who}_ms"], row[f"{who}_total"] = round(median(times) * 1000, 1), found.total
            figures.append(row)
        engine.dispose()
    report("city_search", {"organization": org, "practitioner": practitioner, "runs": args.runs, "searches": figures})


if __name__ == "__main__":
    main()
