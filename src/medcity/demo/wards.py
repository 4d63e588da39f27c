"""The demo hospital's wards: the seed writes the hospital's past stays but no beds to admit into, so `medcity demo
day` gives it wards (once), and the referral → admission → discharge summary loop runs in the demo city."""

from __future__ import annotations

from medcity.demo.accounts import demo_cast
from medcity.hospital.service import add_ward, wards_of
from medcity.store.repository import Store

WARDS = (("Терапевтическое отделение", 10), ("Хирургическое отделение", 10))


def open_demo_wards(store: Store) -> int:
    """Create the demo hospital's wards when it has none; returns how many were created."""
    with store.transaction() as tx:
        hospital = demo_cast(tx).hospital
        if hospital is None or wards_of(tx, hospital=hospital):
            return 0
        for name, beds in WARDS:
            add_ward(tx, hospital=hospital, name=name, beds=beds)
    return len(WARDS)
