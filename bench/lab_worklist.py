"""The laboratory's worklist page for a laboratory with 10,000 open orders: GET /lab (server-rendered, the 100
oldest open orders with their samples and reports), a logged-in laboratory technician, one client, one uvicorn
worker. The orders are placed as a doctor's order form places them (`orders.service.place_orders`: five tests for
each of 2,000 patients, with their sample tubes), then the planner's statistics are refreshed as autovacuum would.

Target (issue 8): p95 <= 150 ms, on SQLite and on PostgreSQL.
Usage: python bench/lab_worklist.py [--engine sqlite|postgresql|both] [--requests 200] [--runs 3]
"""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from _common import database, measure_engines, served
from chart_render import logged_in, measure

from medcity.auth.users import Role, add_user
from medcity.kit.db import WRITE, make_engine, refresh_statistics
from medcity.orders.service import place_orders
from medcity.store.repository import Store

REGION = "77"
PATIENTS, TESTS = 2000, ["58410-2", "57698-3", "14749-6", "4548-4", "1988-5"]  # five open orders each


def open_orders(url: str) -> int:
    """PATIENTS × len(TESTS) active orders addressed to one laboratory, and its technician's account."""
    engine = make_engine(url)
    store = Store(engine, REGION)
    with store.transaction() as tx:
        lab = tx.create({"resourceType": "Organization", "name": "КДЛ Центр"}).stored.id
        clinic = tx.create({"resourceType": "Organization", "name": "ГП № 12"}).stored.id
        doctor = tx.create({"resourceType": "Practitioner", "name": [{"family": "Терапевтова"}]}).stored.id
    placed = 0
    for start in range(0, PATIENTS, 200):
        with store.transaction() as tx:
            for i in range(start, start + 200):
                name, attached = [{"family": f"Пациент{i}"}], {"reference": f"Organization/{clinic}"}
                body = {"resourceType": "Patient", "name": name, "managingOrganization": attached}
                patient = tx.create(body).stored.id
                placed += len(place_orders(tx, patient=patient, tests=TESTS, requester=doctor, laboratory=lab).orders)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        add_user(conn, region=REGION, username="bench.lab", role=Role.LAB, password="bench-password",
                 organization=lab, now=datetime.now(UTC))  # fmt: skip
    refresh_statistics(engine)
    engine.dispose()
    return placed


def run(engine: str, requests: int, runs: int) -> dict[str, Any]:
    with database(engine) as url:
        orders = open_orders(url)
        with served(url, REGION) as base, closing(logged_in(base, "bench.lab")) as client:
            page = client.get("/lab")
            page.raise_for_status()
            assert page.text.count('data-order="') >= 100, "the worklist shows fewer orders than it should"
            figures = measure(base, client, "/lab", requests, runs)
            return figures | {"open_orders": orders, "page_bytes": len(page.content)}


def main() -> None:
    measure_engines("lab_worklist", run, target_p95_ms=150)


if __name__ == "__main__":
    main()
