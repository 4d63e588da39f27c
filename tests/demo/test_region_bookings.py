"""The demo region's booking requests: `medcity demo day` has patients across the city book first-contact
specialists through several channels, leaves the demo cast's patients to their own logins, and books nothing on a
second run, so the situation centre shows a city at work."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from medcity.demo.accounts import demo_cast
from medcity.demo.region_bookings import book_demo_requests
from medcity.demo.seed import seed
from medcity.scheduling.publish import publish_schedule, standard_template
from medcity.scheduling.situation import situation
from medcity.scheduling.tables import sched_appointment
from medcity.store.repository import Store
from tests.demo.test_seed import TINY

MONDAY_8_MSK = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def test_the_region_books_through_several_channels_and_spares_the_demo_cast(store: Store) -> None:
    seed(store, scale=TINY, seed=3, as_of=date(2026, 12, 1), progress=False, partition=store.region)
    now = MONDAY_8_MSK.replace(tzinfo=None)  # naive UTC, as the inventory keeps times
    with store.transaction() as tx:
        for role in tx.search("PractitionerRole", [("_count", "200")]).matches:
            template = standard_template(role.resource)
            if template is not None:
                publish_schedule(tx, template=template, now=now)
        cast = demo_cast(tx)

    booked = book_demo_requests(store, now=MONDAY_8_MSK, count=12)

    assert booked == 12
    with store.reader() as tx:
        figures = situation(tx, now=now, period_days=30, ahead_days=7)
        a = sched_appointment
        patients = set(tx.execute(select(a.c.patient).where(a.c.partition == tx.region)).scalars())
    assert sum(w.bookings for w in figures.waits) == 12
    assert len(figures.channels) >= 2 and sum(figures.channels.values()) == 12
    assert not patients & {cast.patient, cast.child, *cast.attached_adults}
    assert book_demo_requests(store, now=MONDAY_8_MSK, count=12) == 0
