"""Load the synthetic city into a region of the store, in batched transactions, with progress bars.

A region that already holds resources is refused (nothing is written) unless `allow_non_empty`; then the
generated resources are written with update-as-create, so seeding again with the same seed replaces the demo
resources with new versions of themselves instead of failing on their ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tqdm import tqdm

from medcity.demo.generator import SCALES, Generator, Scale
from medcity.kit.errors import Conflict, InvalidRequest
from medcity.registry.catalogue import region as region_settings
from medcity.store.repository import Store

JSON = dict[str, Any]
BATCH = 500


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


def seed(
    store: Store,
    *,
    scale: str | Scale = "small",
    seed: int = 1,
    region: str = "77",
    as_of: date | None = None,
    allow_non_empty: bool = False,
    progress: bool = True,
) -> SeedReport:
    """Generate the city for `region` and write it; returns what was written and the duplicates' truth."""
    region_settings(region)
    if isinstance(scale, str):
        if scale not in SCALES:
            raise InvalidRequest(f"Unknown scale '{scale}': choose one of {', '.join(SCALES)}")
        name, chosen = scale, SCALES[scale]
    else:
        name, chosen = "custom", scale
    target = store.for_region(region)
    if not allow_non_empty and not region_is_empty(target):
        raise Conflict(
            f"Region {region} already holds resources: seeding it would mix the demo city with them. "
            "Use a fresh database or region, or ask for it explicitly (--force)."
        )
    generator = Generator(seed=seed, region=region, as_of=as_of or date.today(), scale=chosen)
    report = SeedReport(region=region, scale=name)
    city = generator.city()
    expected = chosen.patients + round(chosen.patients * chosen.duplicates)
    with tqdm(total=expected, disable=not progress, desc=f"seed region {region}", unit="patient") as bar:
        for source in ([city.resources], generator.patients(city)):
            for batch in _batches(source, BATCH):
                with target.transaction() as tx:
                    for resource in batch:
                        if allow_non_empty:
                            tx.update(resource)
                        else:
                            tx.create(resource, rid=resource["id"])
                report.counts.update(r["resourceType"] for r in batch)
                bar.update(sum(r["resourceType"] == "Patient" for r in batch))
    report.duplicates = city.duplicates
    return report
