from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from medcity.kit.errors import Conflict, Unprocessable
from medcity.scheduling import service
from medcity.scheduling.publish import publish_schedule
from medcity.scheduling.tables import sched_appointment
from medcity.store.repository import StoredResource
from tests.scheduling.conftest import NOW, City, add_referral, weekday_template

LATER = NOW + timedelta(days=30)


def book(city: City, patient: str, slot: str, **kwargs: object) -> StoredResource:
    with city.store.transaction() as tx:
        return service.book(tx, patient=patient, slot_id=slot, channel=kwargs.pop("channel", "self"), now=NOW, **kwargs)  # type: ignore[arg-type]


def test_find_lists_own_polyclinic_first_then_the_region(city: City) -> None:
    with city.store.reader() as tx:
        found = service.find_slots(
            tx, specialty="therapist-district", patient="p3", start=NOW, end=LATER, count=80, now=NOW
        )
    orgs = [row.organization for row in found]
    assert orgs[:69] == ["pc2"] * 69 and orgs[69:] == ["pc1"] * 11
    assert [row.start for row in found[:69]] == sorted(row.start for row in found[:69])


def test_find_within_one_organization_and_range(city: City) -> None:
    with city.store.reader() as tx:
        found = service.find_slots(
            tx,
            specialty="therapist-district",
            organization="pc1",
            start=datetime(2026, 12, 2),
            end=datetime(2026, 12, 3),
            count=50,
            now=NOW,
        )
    assert len(found) == 7 and {row.role for row in found} == {"ther1"}


def test_book_makes_a_booked_appointment_and_a_busy_slot(city: City) -> None:
    slot = city.slots["ther1"][3]
    appointment = book(city, "p1", slot).resource
    assert appointment["status"] == "booked"
    assert appointment["slot"] == [{"reference": f"Slot/{slot}"}]
    actors = [p["actor"]["reference"] for p in appointment["participant"]]
    assert actors[:2] == ["Patient/p1", "PractitionerRole/ther1"]
    with city.store.reader() as tx:
        assert tx.read("Slot", slot).resource["status"] == "busy"
        row = tx.conn.execute(select(sched_appointment).where(sched_appointment.c.partition == tx.region)).one()
        assert (row.channel, row.wait_days) == ("self", 0)
        assert tx.search("Appointment", [("patient", "p1")]).total == 1
    with pytest.raises(Conflict):
        book(city, "p2", slot)


def test_records_wait_days_and_channel(city: City) -> None:
    book(city, "p1", city.slots["ther1"][-1], channel="registry")
    with city.store.reader() as tx:
        row = tx.conn.execute(select(sched_appointment).where(sched_appointment.c.partition == tx.region)).one()
    assert (row.channel, row.wait_days) == ("registry", 13)


def test_one_active_appointment_per_specialty(city: City) -> None:
    book(city, "p1", city.slots["ther1"][0])
    with pytest.raises(Unprocessable, match="already has an active appointment"):
        book(city, "p1", city.slots["ther2"][0])


def test_a_fulfilled_appointment_frees_the_specialty_for_a_follow_up(city: City) -> None:
    first = book(city, "p1", city.slots["ther1"][0])
    with city.store.transaction() as tx:
        fulfilled = service.fulfil(tx, appointment_id=first.id)
        assert fulfilled is not None and fulfilled.resource["status"] == "fulfilled"
        assert service.fulfil(tx, appointment_id=first.id) is None  # once
    with city.store.reader() as tx:
        row = tx.conn.execute(select(sched_appointment).where(sched_appointment.c.id == first.id)).one()
        assert tx.read("Slot", city.slots["ther1"][0]).resource["status"] == "busy"
    assert row.status == "fulfilled" and row.active_slot == city.slots["ther1"][0]
    follow_up = book(city, "p1", city.slots["ther1"][5])
    with pytest.raises(Unprocessable, match="is fulfilled, not booked"), city.store.transaction() as tx:
        service.cancel(tx, appointment_id=first.id, now=NOW)
    assert follow_up.resource["status"] == "booked"


def test_a_fulfilled_appointment_keeps_its_referral_used(city: City) -> None:
    with city.store.transaction() as tx:
        referral = add_referral(tx, patient="p1", specialty="cardiologist")
    seen = book(city, "p1", city.slots["card1"][0], referral=referral)
    with city.store.transaction() as tx:
        service.fulfil(tx, appointment_id=seen.id)
    with pytest.raises(Unprocessable, match="already used"):
        book(city, "p1", city.slots["card1"][3], referral=referral)


def test_an_appointment_whose_time_has_passed_does_not_hold_the_specialty(city: City) -> None:
    first = book(city, "p1", city.slots["ther1"][0])
    with city.store.reader() as tx:
        start = tx.conn.execute(select(sched_appointment.c.start).where(sched_appointment.c.id == first.id)).one()[0]
    with city.store.transaction() as tx:
        later = service.book(tx, patient="p1", slot_id=city.slots["ther1"][-1], channel="self",
                             now=start + timedelta(hours=1))  # fmt: skip
    assert later.resource["status"] == "booked"


def test_referral_only_specialty_needs_a_valid_referral_and_consumes_it(city: City) -> None:
    slots = city.slots["card1"]
    with pytest.raises(Unprocessable, match="referral"):
        book(city, "p1", slots[0])
    with city.store.transaction() as tx:
        other = add_referral(tx, patient="p2", specialty="cardiologist")
        wrong = add_referral(tx, patient="p1", specialty="neurologist")
        good = add_referral(tx, patient="p1", specialty="cardiologist")
    for bad in (other, wrong):
        with pytest.raises(Unprocessable, match="not an active referral"):
            book(city, "p1", slots[0], referral=bad)
    # Past its validity the referral is expired (as the referrals' pages already say), even before the nightly
    # expiry has revoked it; valid to the day itself it still books.
    with city.store.transaction() as tx:
        lapsed, last_day = (add_referral(tx, patient="p1", specialty="cardiologist", until=day)
                            for day in ("2026-11-30", "2026-12-01"))  # fmt: skip
    with pytest.raises(Unprocessable, match="valid until 2026-11-30"):
        book(city, "p1", slots[0], referral=lapsed)
    on_the_last_day = book(city, "p1", slots[0], referral=last_day)
    with city.store.transaction() as tx:
        service.cancel(tx, appointment_id=on_the_last_day.id, now=NOW)
    appointment = book(city, "p1", slots[0], referral=good)
    assert appointment.resource["basedOn"] == [{"reference": f"ServiceRequest/{good}"}]
    with city.store.transaction() as tx:
        service.cancel(tx, appointment_id=appointment.id, now=NOW)
    book(city, "p1", slots[1], referral=good)  # a cancellation gives the referral back


def test_booking_window_and_started_slots(city: City) -> None:
    with pytest.raises(Unprocessable, match="already begun"), city.store.transaction() as tx:
        service.book(tx, patient="p1", slot_id=city.slots["ther1"][0], channel="self", now=NOW + timedelta(days=1))


def test_registry_and_reserve_slots_are_not_self_bookable(city: City) -> None:
    with city.store.transaction() as tx:
        template = weekday_template(
            "surg2", organization="pc2", room="pc2-loc", specialty="surgeon", kinds=("reserve",)
        )
        slots = publish_schedule(tx, template=template, now=NOW)
    with pytest.raises(Unprocessable, match="registry desk"):
        book(city, "p1", slots[0])
    book(city, "p1", slots[0], channel="registry")


def test_cancel_frees_the_slot(city: City) -> None:
    slot = city.slots["ther1"][2]
    appointment = book(city, "p1", slot)
    with city.store.transaction() as tx:
        cancelled = service.cancel(tx, appointment_id=appointment.id, now=NOW)
    assert cancelled.resource["status"] == "cancelled"
    with city.store.reader() as tx:
        assert tx.read("Slot", slot).resource["status"] == "free"
    book(city, "p2", slot)
    with pytest.raises(Unprocessable, match="cancelled"), city.store.transaction() as tx:
        service.cancel(tx, appointment_id=appointment.id, now=NOW)


def test_reschedule_secures_the_new_slot_then_frees_the_old(city: City) -> None:
    old_slot, new_slot, taken = city.slots["ther1"][:3]
    old = book(city, "p1", old_slot)
    book(city, "p2", taken)
    with pytest.raises(Conflict), city.store.transaction() as tx:
        service.reschedule(tx, appointment_id=old.id, slot_id=taken, channel="self", now=NOW)
    with city.store.transaction() as tx:
        new = service.reschedule(tx, appointment_id=old.id, slot_id=new_slot, channel="self", now=NOW)
    with city.store.reader() as tx:
        assert tx.read("Appointment", old.id).resource["status"] == "cancelled"
        assert new.resource["status"] == "booked"
        assert tx.read("Slot", old_slot).resource["status"] == "free"
        assert tx.read("Slot", new_slot).resource["status"] == "busy"
        assert tx.search("Appointment", [("patient", "p1"), ("status", "booked")]).total == 1


def test_check_in_and_no_show_policy(city: City) -> None:
    slots = city.slots["ther1"]
    first = book(city, "p1", slots[0])
    with city.store.transaction() as tx:
        assert service.check_in(tx, appointment_id=first.id).resource["status"] == "arrived"
    for slot in slots[1:4]:
        missed = book(city, "p2", slot)
        with city.store.transaction() as tx:
            assert service.mark_no_show(tx, appointment_id=missed.id).resource["status"] == "noshow"
    with pytest.raises(Unprocessable, match="3 missed appointments"):
        book(city, "p2", slots[4])
    book(city, "p2", slots[4], channel="registry")


def test_leave_blocks_the_days_and_cancels_their_appointments(city: City) -> None:
    slots = city.slots["ther1"]
    on_leave, after = book(city, "p1", slots[7]), book(city, "p2", slots[27])  # Wednesday; next Monday
    with city.store.transaction() as tx:
        cancelled = service.close_period(
            tx, role="ther1", start=datetime(2026, 12, 2), end=datetime(2026, 12, 5), now=NOW
        )
    assert cancelled == [on_leave.id]
    with city.store.reader() as tx:
        assert tx.read("Appointment", on_leave.id).resource["status"] == "cancelled"
        assert tx.read("Appointment", after.id).resource["status"] == "booked"
        assert {tx.read("Slot", s).resource["status"] for s in slots[6:27]} == {"busy-unavailable"}  # Wed-Fri
    book(city, "p1", slots[28])  # the specialty is free to book again
