"""Concurrency on SQLite and PostgreSQL: many admissions at once into one bed, or on one referral, give exactly one
stay; the losers are refused (409) and leave nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from medcity.hospital import service as hospital
from medcity.hospital.codes import BED, PHYSICAL_TYPE
from medcity.kit.errors import Conflict
from medcity.store.repository import Store
from tests.referrals.city import City, build_city, ref, refer_to_hospital, utcnow

WORKERS = 8  # below the SQLite pool's connections, so that threads wait for locks, not for connections


def run_all(tasks: list[Callable[[], str]]) -> list[str | Conflict]:
    def attempt(task: Callable[[], str]) -> str | Conflict:
        try:
            return task()
        except Conflict as refused:
            return refused

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(attempt, tasks))


def admitter(store: Store, city: City, bed: str, **how: str) -> Callable[[], str]:
    def run() -> str:
        with store.transaction() as tx:
            return hospital.admit(tx, hospital=city.hospital, bed=bed, now=utcnow(), **how).id

    return run


def stays(store: Store) -> int:
    with store.reader() as tx:
        return len(tx.search("Encounter", [("status", "in-progress"), ("_count", "100")]).matches)


def test_many_admissions_into_one_bed_give_one_stay(store: Store) -> None:
    city = build_city(store)
    with store.transaction() as tx:
        people = [tx.create({"resourceType": "Patient", "name": [{"family": f"P{n}"}],
                             "managingOrganization": ref("Organization", city.polyclinic)}).stored.id
                  for n in range(16)]  # fmt: skip
    results = run_all([admitter(store, city, city.beds[0], patient=p) for p in people])
    assert len([r for r in results if isinstance(r, str)]) == 1
    assert all("occupied" in r.diagnostics for r in results if isinstance(r, Conflict))
    assert stays(store) == 1


def test_many_admissions_on_one_referral_give_one_stay(store: Store) -> None:
    city = build_city(store)
    referral = refer_to_hospital(store, city)
    with store.transaction() as tx:
        beds = [tx.create({"resourceType": "Location", "name": f"Койка {n}", "partOf": ref("Location", city.ward),
                           "managingOrganization": ref("Organization", city.hospital),
                           "physicalType": {"coding": [{"system": PHYSICAL_TYPE, "code": BED}]}}).stored.id
                for n in range(16)]  # fmt: skip
    results = run_all([admitter(store, city, bed, referral=referral) for bed in beds])
    assert len([r for r in results if isinstance(r, str)]) == 1
    assert stays(store) == 1
    with store.reader() as tx:
        occupied = [b for b in beds if tx.read("Location", b).resource.get("operationalStatus")]
    assert len(occupied) == 1
