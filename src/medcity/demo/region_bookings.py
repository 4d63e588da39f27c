"""The demo city's booking requests of the day: patients across the region book first-contact specialists through
every channel, each into the first free time they would take (soon for a district therapist, a week or more for
an ophthalmologist), so that the situation centre's booking figures (waits, channels, the coming week's load) show
a city at work rather than the demo doctor's one day. The demo cast's patients are left alone: their own logins
book and are booked by the demo day."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from medcity.demo.accounts import demo_cast
from medcity.kit.errors import MedcityError
from medcity.scheduling import service
from medcity.scheduling.rules import rules_for
from medcity.scheduling.situation import channels
from medcity.store.repository import Store
from medcity.visits.service import patient_age

# Days ahead from which each specialty's patients take the first free time (lowest, highest): what they ask for.
DAYS_AHEAD = {
    "therapist-district": (0, 2), "general-practitioner": (0, 2), "surgeon": (1, 5), "dentist": (0, 4),
    "ophthalmologist": (3, 11), "otorhinolaryngologist": (1, 7), "urologist": (2, 10), "gynaecologist": (2, 9),
}  # fmt: skip
CHILDREN = {"paediatrician": (0, 2)}
CHANNEL_WEIGHTS = {"self": 55, "registry": 25, "doctor": 8, "kiosk": 7, "api": 5}
ADULT_FROM = 18


def book_demo_requests(store: Store, *, now: datetime, count: int = 200) -> int:
    """Book up to `count` appointments requested now; returns how many. Nothing when the last 30 days already hold
    half as many bookings (a second run, or a city that books by itself). Each booking is its own transaction, so a
    refused one (a patient who already holds that specialty) leaves nothing behind."""
    now = now.astimezone(UTC).replace(tzinfo=None)  # as the inventory keeps times
    with store.reader() as tx:
        if sum(channels(tx, since=now - timedelta(days=30)).values()) >= count // 2:
            return 0
        cast = demo_cast(tx)
        spared = {cast.patient, cast.child, cast.sibling, *cast.attached_adults}
        found = tx.search("Patient", [("_count", "1000"), ("_sort", "_id")]).matches
        horizon = rules_for(tx.region).horizon_days
    ages = {p.id: patient_age(p.resource, now.date()) for p in found if p.id not in spared}
    patients = [(pid, age is not None and age < ADULT_FROM) for pid, age in ages.items()]
    rng = random.Random(f"{store.region}/{now.date()}")
    rng.shuffle(patients)
    kinds, weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
    booked = 0
    for patient, child in patients:
        if booked >= count:
            break
        specialty, (low, high) = rng.choice(list((CHILDREN if child else DAYS_AHEAD).items()))
        channel = rng.choices(kinds, weights)[0]
        start, end = now + timedelta(days=rng.randint(low, high)), now + timedelta(days=horizon)
        try:
            with store.transaction() as tx:
                free = service.find_slots(tx, specialty=specialty, patient=patient, start=start, end=end, count=1,
                                          channel=channel, now=now)  # fmt: skip
                if not free:
                    continue
                service.book(tx, patient=patient, slot_id=free[0].id, channel=channel, now=now)
        except MedcityError:
            continue
        booked += 1
    return booked
