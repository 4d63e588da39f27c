from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from medcity.demo import commands, generator
from medcity.demo.accounts import demo_cast
from medcity.demo.generator import Scale
from medcity.demo.seed import region_is_empty, seed
from medcity.immunization.service import forecast, immunizations_of, overdue_children
from medcity.kit.db import make_engine
from medcity.kit.errors import Conflict, InvalidRequest
from medcity.risk.service import assess
from medcity.store.repository import Store
from medcity.store.schema import metadata

TINY = Scale(50, 1, 1, 1, 1, 1, 1, duplicates=0.1, twins=0.04)
AS_OF = date(2026, 6, 1)


def _count(store: Store, rtype: str) -> int:
    with store.reader() as tx:
        return int(tx.search(rtype, [("_summary", "count")]).total or 0)


def _analyses(store: Store) -> int:
    """How many times the resource table's planner statistics were refreshed by hand (not by autovacuum)."""
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'resource'").scalar_one())  # fmt: skip


def test_tiny_seed_loads_and_is_searchable(store: Store) -> None:
    analysed = _analyses(store) if store.postgres else 0
    report = seed(store, scale=TINY, seed=2, as_of=AS_OF, progress=False, partition=store.region)
    if store.postgres:  # the planner knows the loaded tables' sizes at once
        assert _analyses(store) > analysed
    assert report.counts["Patient"] == 50 + len(report.duplicates)
    assert _count(store, "Patient") == report.counts["Patient"]
    assert _count(store, "Encounter") == report.counts["Encounter"]
    with store.reader() as tx:
        dup_id, original_id, _ = report.duplicates[0]
        original = tx.read("Patient", original_id).resource
        assert original["managingOrganization"]["reference"].startswith("Organization/77-org-pc")
        assert tx.read("Patient", dup_id).resource["active"] is True


def test_seed_refuses_a_non_empty_region_and_writes_nothing(store: Store) -> None:
    with store.transaction() as tx:
        tx.create({"resourceType": "Patient", "gender": "male"})
    with pytest.raises(Conflict, match="already holds"):
        seed(store, scale=TINY, as_of=AS_OF, progress=False, partition=store.region)
    assert _count(store, "Patient") == 1
    assert _count(store, "Organization") == 0


def test_force_reseeds_in_place(store: Store) -> None:
    first = seed(store, scale=TINY, seed=5, as_of=AS_OF, progress=False, partition=store.region)
    again = seed(store, scale=TINY, seed=5, as_of=AS_OF, allow_non_empty=True, progress=False, partition=store.region)
    assert again.counts == first.counts
    assert _count(store, "Patient") == first.counts["Patient"]
    with store.reader() as tx:
        assert tx.read("Patient", "77-p0000001").version == 2


def test_second_region_beside_the_first(store: Store) -> None:
    other = store.for_region("78" if store.region == "77" else f"{store.region}b")
    seed(store, scale=TINY, region="77", as_of=AS_OF, progress=False, partition=store.region)
    assert region_is_empty(other)
    report = seed(store, scale=TINY, region="78", as_of=AS_OF, progress=False, partition=other.region)
    assert _count(other, "Patient") == report.counts["Patient"]
    with other.reader() as tx:
        assert tx.read("Organization", "78-org-pc1").resource["address"][0]["city"] == "Санкт-Петербург"


def test_workers_write_the_same_city(pg_engine: Engine | None, region: str) -> None:
    """Several writer processes exist only for PostgreSQL (SQLite seeds in one process)."""
    if pg_engine is None:
        pytest.skip("PostgreSQL not found on this machine: the PostgreSQL leg is skipped (mandatory under CI)")
    store = Store(pg_engine, region)
    single = seed(store, scale=TINY, seed=9, as_of=AS_OF, progress=False, partition=store.region)
    parallel_store = store.for_region(f"{store.region}w")
    parallel = seed(store, scale=TINY, seed=9, as_of=AS_OF, progress=False, partition=parallel_store.region, workers=2)
    assert parallel.counts == single.counts
    assert parallel.duplicates == single.duplicates


def test_bad_arguments(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="scale"):
        seed(store, scale="huge", progress=False)
    with pytest.raises(InvalidRequest, match="region"):
        seed(store, scale=TINY, region="99", progress=False)


def test_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(generator.SCALES, "small", TINY)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(commands.app, ["seed", "--database-url", url, "--as-of", "2026-06-01"])
    assert result.exit_code == 0, result.output
    assert "region 77" in result.output and "Patient" in result.output
    refused = runner.invoke(commands.app, ["seed", "--database-url", url])
    assert refused.exit_code == 1
    assert "already holds" in refused.output


def test_the_demo_record_holds_what_a_cardiovascular_risk_needs(store: Store) -> None:
    """Adults' check-ups carry the HDL part with the total cholesterol, and visits with a blood pressure say
    whether the patient smokes: some demo adults' SCORE2 can be computed from their record alone."""
    seed(store, scale=TINY, seed=2, as_of=AS_OF, progress=False, partition=store.region)
    with store.reader() as tx:
        smokers = tx.search("Observation", [("code", "http://loinc.org|72166-2"), ("_count", "500")]).matches
        hdl = tx.search("Observation", [("code", "http://loinc.org|14646-4"), ("_count", "500")]).matches
        computed = [
            p.id for p in tx.search("Patient", [("_count", "500")]).matches
            if assess(tx, patient=p, restrict=None, region=store.region, today=AS_OF).score2.probability is not None
        ]  # fmt: skip
    assert smokers and hdl
    assert all(o.resource["valueQuantity"]["unit"] == "mmol/L" for o in hdl)
    assert computed, "no demo adult has everything SCORE2 needs"


def test_the_demo_paediatrician_sees_overdue_children_and_the_parent_a_calendar(store: Store) -> None:
    """The demo children's vaccinations follow the calendar with a few doses missed: the demo polyclinic's
    worklist has overdue children, and the child the demo parent represents has a calendar to show."""
    seed(store, scale=Scale(200, 1, 1, 1, 1, 1, 1, duplicates=0.0, twins=0.0), seed=2, as_of=AS_OF, progress=False,
         partition=store.region)  # fmt: skip
    with store.reader() as tx:
        cast = demo_cast(tx)
        assert cast.polyclinic and cast.child
        behind = overdue_children(tx, organization=cast.polyclinic, today=AS_OF, restrict=None)
        child = tx.read("Patient", cast.child)
        states = forecast(date.fromisoformat(child.resource["birthDate"]),
                          immunizations_of(tx, cast.child, None), AS_OF)  # fmt: skip
    assert behind and all(b.doses for b in behind)
    assert any(s.state == "done" for s in states)
