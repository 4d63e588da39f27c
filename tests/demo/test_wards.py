"""The demo hospital's wards: `medcity demo day` opens wards with free beds in the hospital the demo doctor refers
to, once, so an admission can be made in the demo city."""

from __future__ import annotations

from datetime import date

from medcity.demo.accounts import demo_cast
from medcity.demo.seed import seed
from medcity.demo.wards import WARDS, open_demo_wards
from medcity.hospital.service import free_beds, wards_of
from medcity.store.repository import Store
from tests.demo.test_seed import TINY


def test_the_demo_hospital_gets_wards_with_free_beds_once(store: Store) -> None:
    seed(store, scale=TINY, seed=3, as_of=date(2026, 12, 1), progress=False, partition=store.region)
    with store.reader() as tx:
        cast = demo_cast(tx)
        assert cast.hospital is not None and cast.hospital_doctor is not None
        assert wards_of(tx, hospital=cast.hospital) == []

    assert open_demo_wards(store) == len(WARDS)
    assert open_demo_wards(store) == 0

    with store.reader() as tx:
        wards = wards_of(tx, hospital=cast.hospital)
        beds = free_beds(tx, hospital=cast.hospital)
    assert [w.name for w in wards] == sorted(name for name, _ in WARDS)
    assert len(beds) == sum(count for _, count in WARDS)
