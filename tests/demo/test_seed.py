from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from medcity.demo import commands, generator
from medcity.demo.generator import Scale
from medcity.demo.seed import region_is_empty, seed
from medcity.kit.errors import Conflict, InvalidRequest
from medcity.registry import service
from medcity.store.repository import Store

TINY = Scale(50, 1, 1, 1, 1, 1, 1, duplicates=0.1, twins=0.04)
AS_OF = date(2026, 6, 1)


def test_tiny_seed_loads_and_is_searchable(store: Store) -> None:
    report = seed(store, scale=TINY, seed=2, as_of=AS_OF, progress=False)
    assert report.counts["Patient"] == 50 + len(report.duplicates)
    with store.reader() as tx:
        result = tx.search("Patient", [("_summary", "count")])
        assert result.total == report.counts["Patient"]
        encounters = tx.search("Encounter", [("_summary", "count")])
        assert encounters.total == report.counts["Encounter"]
        _, original_id, _ = report.duplicates[0]
        candidates = {m.patient.id for m in service.match(tx, tx.read("Patient", original_id).resource)}
        assert original_id not in candidates


def test_seed_refuses_a_non_empty_region_and_writes_nothing(store: Store) -> None:
    with store.transaction() as tx:
        tx.create({"resourceType": "Patient", "gender": "male"})
    with pytest.raises(Conflict, match="already holds"):
        seed(store, scale=TINY, as_of=AS_OF, progress=False)
    with store.reader() as tx:
        assert tx.search("Patient", [("_summary", "count")]).total == 1
        assert tx.search("Organization", [("_summary", "count")]).total == 0


def test_force_reseeds_in_place(store: Store) -> None:
    first = seed(store, scale=TINY, seed=5, as_of=AS_OF, progress=False)
    again = seed(store, scale=TINY, seed=5, as_of=AS_OF, allow_non_empty=True, progress=False)
    assert again.counts == first.counts
    with store.reader() as tx:
        assert tx.search("Patient", [("_summary", "count")]).total == first.counts["Patient"]
        assert tx.read("Patient", "77-p0000001").version == 2


def test_second_region_beside_the_first(store: Store) -> None:
    seed(store, scale=TINY, region="77", as_of=AS_OF, progress=False)
    spb = store.for_region("78")
    assert region_is_empty(spb)
    report = seed(store, scale=TINY, region="78", as_of=AS_OF, progress=False)
    with spb.reader() as tx:
        assert tx.search("Patient", [("_summary", "count")]).total == report.counts["Patient"]
        assert tx.read("Organization", "78-org-pc1").resource["address"][0]["city"] == "Санкт-Петербург"


def test_bad_arguments(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="scale"):
        seed(store, scale="huge", progress=False)
    with pytest.raises(InvalidRequest, match="region"):
        seed(store, scale=TINY, region="99", progress=False)


def test_command(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(generator.SCALES, "small", TINY)
    url = str(store.engine.url)
    runner = CliRunner()
    result = runner.invoke(commands.app, ["seed", "--database-url", url, "--as-of", "2026-06-01"])
    assert result.exit_code == 0, result.output
    assert "region 77" in result.output and "Patient" in result.output
    refused = runner.invoke(commands.app, ["seed", "--database-url", url])
    assert refused.exit_code == 1
    assert "already holds" in refused.output
