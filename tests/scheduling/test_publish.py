from __future__ import annotations

from datetime import date, datetime, time

from medcity.scheduling.publish import Session, Template, block_slots, plan, publish_schedule
from medcity.scheduling.rules import rules_for
from tests.scheduling.conftest import NOW, City, weekday_template


def test_plan_cuts_sessions_into_slots_around_breaks_and_cycles_kinds() -> None:
    template = Template(
        role="r", organization="o", specialty="surgeon", slot_minutes=20,
        sessions=(Session(weekday=0, start=time(9), end=time(11), room="room", kinds=("self", "reserve")),),
        breaks=((time(9, 40), time(10)),),
    )  # fmt: skip
    slots = list(plan(template, first_day=date(2026, 11, 30), days=7, zone=rules_for("77").timezone))
    # 09:00-11:00 in 20-minute steps is 6 slots, the break takes one; Moscow is UTC+3.
    assert [s.start for s in slots] == [
        datetime(2026, 11, 30, h, m) for h, m in ((6, 0), (6, 20), (7, 0), (7, 20), (7, 40))
    ]
    assert [s.kind for s in slots] == ["self", "reserve", "self", "reserve", "self"]


def test_publish_makes_slots_within_the_horizon_and_fhir_resources(city: City) -> None:
    slots = city.slots["ther1"]
    # From Tuesday 08:00 (that slot has begun) for 14 days: 6 + 3 x 7 + 5 x 7 + 7 slots.
    assert len(slots) == 69
    with city.store.reader() as tx:
        bundle = tx.search("Slot", [("schedule.actor", "PractitionerRole/ther1"), ("status", "free")])
        assert bundle.total == 69
        slot = tx.read("Slot", slots[0]).resource
        assert slot["status"] == "free"
        assert slot["start"] == "2026-12-01T05:30:00+00:00"
        schedule = tx.read("Schedule", slot["schedule"]["reference"].split("/")[1]).resource
        assert schedule["actor"][0] == {"reference": "PractitionerRole/ther1"}


def test_publishing_again_makes_no_duplicates(city: City) -> None:
    with city.store.transaction() as tx:
        template = weekday_template("ther1", organization="pc1", room="pc1-loc", specialty="therapist-district")
        assert publish_schedule(tx, template=template, now=NOW) == []


def test_blocked_slots_show_busy_unavailable(city: City) -> None:
    with city.store.transaction() as tx:
        blocked = block_slots(tx, role="ther1", start=datetime(2026, 12, 2), end=datetime(2026, 12, 3))
    assert len(blocked) == 7
    with city.store.reader() as tx:
        assert {tx.read("Slot", s).resource["status"] for s in blocked} == {"busy-unavailable"}
