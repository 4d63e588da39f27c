"""Load the synthetic city into a region of the store, in batched transactions, with progress bars.

A region that already holds resources is refused (nothing is written) unless `allow_non_empty`; then the
generated resources are written with update-as-create, so seeding again with the same seed replaces the demo
resources with new versions of themselves instead of failing on their ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from multiprocessing import get_context
from typing import Any

from tqdm import tqdm

from medcity.demo.generator import SCALES, Generator, Scale
from medcity.kit.db import make_engine, refresh_statistics
from medcity.kit.errors import Conflict, InvalidRequest
from medcity.registry.regions import region as region_settings
from medcity.store.repository import Store

JSON = dict[str, Any]
BATCH = 500
# At most this many patients per unit of work when several processes write (large enough to amortise each
# worker's generation of the city's infrastructure).
CHUNK = 5_000


@dataclass
class SeedReport:
    region: str
    scale: str
    counts: Counter[str] = field(default_factory=Counter)
    # (duplicate Patient id, original Patient id, the registration errors it was made with)
    duplicates: list[tuple[str, str, list[str]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def region_is_empty(store: Store) -> bool:
    with store.reader() as tx:
        versions, _ = tx.history(at_most=1)
    return not versions


def _batches(groups: Iterable[list[JSON]], size: int) -> Iterator[list[JSON]]:
    """Whole groups (a patient with their history) per batch, so no batch leaves a patient half-written."""
    batch: list[JSON] = []
    for group in groups:
        batch.extend(group)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write(target: Store, groups: Iterable[list[JSON]], *, overwrite: bool, report: SeedReport, bar: Any) -> None:
    for batch in _batches(groups, BATCH):
        with target.transaction() as tx:
            for resource in batch:
                if overwrite:
                    tx.update(resource)
                else:
                    tx.create(resource, rid=resource["id"], trusted=True)
        report.counts.update(r["resourceType"] for r in batch)
        bar.update(sum(r["resourceType"] == "Patient" for r in batch))


@dataclass(frozen=True)
class _Job:
    """What a worker process needs to write one range of the population on its own connection."""

    url: str
    partition: str
    region: str
    seed: int
    scale: Scale
    as_of: date
    overwrite: bool


class _Silent:
    def update(self, _n: int) -> None:
        """Progress is counted by the parent, chunk by chunk."""


def _write_chunk(job: _Job, start: int, stop: int) -> SeedReport:
    engine = make_engine(job.url)
    try:
        generator = Generator(seed=job.seed, region=job.region, as_of=job.as_of, scale=job.scale)
        city = generator.city()
        report = SeedReport(region=job.region, scale="")
        _write(
            Store(engine, job.partition), generator.patients(city, start, stop), overwrite=job.overwrite,
            report=report, bar=_Silent(),
        )  # fmt: skip
        report.duplicates = city.duplicates
        return report
    finally:
        engine.dispose()


def seed(
    store: Store,
    *,
    scale: str | Scale = "small",
    seed: int = 1,
    region: str = "77",
    as_of: date | None = None,
    allow_non_empty: bool = False,
    progress: bool = True,
    workers: int = 1,
    partition: str | None = None,
) -> SeedReport:
    """Generate the city for `region` and write it into that region's partition (or into `partition`, say a
    test's own); returns what was written and the duplicates' truth.

    `workers` > 1 writes ranges of the population from as many processes, each on its own connection: worth it
    on PostgreSQL, where writers run side by side; SQLite has one writer at a time, so there it stays 1.
    """
    region_settings(region)
    if isinstance(scale, str):
        if scale not in SCALES:
            raise InvalidRequest(f"Unknown scale '{scale}': choose one of {', '.join(SCALES)}")
        name, chosen = scale, SCALES[scale]
    else:
        name, chosen = "custom", scale
    target = store.for_region(partition or region)
    if not allow_non_empty and not region_is_empty(target):
        raise Conflict(
            f"Region {region} already holds resources: seeding it would mix the demo city with them. "
            "Use a fresh database or region, or ask for it explicitly (--force)."
        )
    as_of = as_of or date.today()
    generator = Generator(seed=seed, region=region, as_of=as_of, scale=chosen)
    report = SeedReport(region=region, scale=name)
    city = generator.city()
    expected = chosen.patients + round(chosen.patients * chosen.duplicates)
    workers = workers if store.postgres else 1
    with tqdm(total=expected, disable=not progress, desc=f"seed region {region}", unit="patient") as bar:
        _write(target, [city.resources], overwrite=allow_non_empty, report=report, bar=bar)
        if workers <= 1:
            _write(target, generator.patients(city), overwrite=allow_non_empty, report=report, bar=bar)
            report.duplicates = city.duplicates
        else:
            url = store.engine.url.render_as_string(hide_password=False)
            job = _Job(url, target.region, region, seed, chosen, as_of, allow_non_empty)
            size = max(1, min(CHUNK, -(-chosen.patients // (workers * 4))))
            chunks = [(n, min(n + size, chosen.patients + 1)) for n in range(1, chosen.patients + 1, size)]
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
                futures = {pool.submit(_write_chunk, job, a, b): b - a for a, b in chunks}
                for future in as_completed(futures):
                    part = future.result()
                    report.counts.update(part.counts)
                    report.duplicates += part.duplicates
                    bar.update(part.counts["Patient"])
            report.duplicates.sort()
    refresh_statistics(store.engine)
    return report
