"""A region adopting medcity with its own settings file (medcity.registry.regions) publishes in its own hours and
books by its own rules: here a Novosibirsk of UTC+7 whose patients book a cardiologist directly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from medcity.kit.errors import Unprocessable
from medcity.scheduling import service
from medcity.store.repository import Store
from tests.scheduling.conftest import NOW, City, build_city


@pytest.fixture
def novosibirsk(store: Store, own_regions: Callable[[str], Path]) -> City:
    code = store.region
    own_regions(f"""
[{code}]
name = {{ ru = "Новосибирская область", en = "Novosibirsk Oblast" }}
okato = "50"
timezone = "Asia/Novosibirsk"
self_bookable = ["therapist-district", "paediatrician", "cardiologist"]

[{code}.booking]
horizon_days = 10
booking_window_days = 7
""")
    return build_city(store)


def starts(city: City, role: str) -> list[datetime]:
    with city.store.reader() as tx:
        return sorted(datetime.fromisoformat(tx.read("Slot", s).resource["start"]) for s in city.slots[role])


def test_slots_are_published_in_the_regions_own_hours_and_horizon(novosibirsk: City) -> None:
    published = starts(novosibirsk, "ther1")
    # 08:00-12:00 in Novosibirsk is 01:00-05:00 UTC (in Moscow it would be 05:00-09:00).
    assert {start.astimezone(UTC).hour for start in published} == {1, 2, 3, 4}
    # Ten days on from Tuesday 1 December, local: the last weekday is Friday 11 December, not the 15th.
    assert max(published).astimezone(UTC).date() == date(2026, 12, 11)


def test_the_regions_own_rules_decide_a_booking(novosibirsk: City) -> None:
    with novosibirsk.store.reader() as tx:
        by_start = {datetime.fromisoformat(tx.read("Slot", s).resource["start"]): s for s in novosibirsk.slots["card1"]}
    now = NOW.replace(tzinfo=UTC)
    soon = min(start for start in by_start if start > now)
    late = min(start for start in by_start if start > now + timedelta(days=7))
    with novosibirsk.store.transaction() as tx:
        # The region's patients book a cardiologist without a referral.
        booked = service.book(tx, patient="p1", slot_id=by_start[soon], channel="self", now=NOW)
    assert booked.resource["status"] == "booked"
    with pytest.raises(Unprocessable, match="at most 7 days ahead"), novosibirsk.store.transaction() as tx:
        service.book(tx, patient="p2", slot_id=by_start[late], channel="self", now=NOW)
