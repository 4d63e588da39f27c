from __future__ import annotations

from datetime import timedelta

import pytest

from medcity.kit.errors import Conflict, Unprocessable
from medcity.scheduling import service, waiting
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Store
from tests.scheduling.conftest import NOW, City, add_patient, publish_day

HOLD = timedelta(minutes=rules_for("77").offer_hold_minutes)


def book(store: Store, patient: str, slot: str) -> str:
    with store.transaction() as tx:
        return service.book(tx, patient=patient, slot_id=slot, channel="self", now=NOW).id


def join(store: Store, patient: str, *, priority: int = 0, minutes: int = 0) -> str:
    with store.transaction() as tx:
        return waiting.join_waiting_list(
            tx, patient=patient, specialty="ophthalmologist", priority=priority, now=NOW + timedelta(minutes=minutes)
        )


def slot_status(store: Store, slot: str) -> str:
    with store.reader() as tx:
        return str(tx.read("Slot", slot).resource["status"])


@pytest.fixture
def full(city: City) -> tuple[list[str], list[str]]:
    """Two ophthalmology slots, both booked (by p1 and p2); returns (slots, appointments)."""
    slots = publish_day(city.store, "oph1", specialty="ophthalmologist", slots=2)
    with city.store.transaction() as tx:
        for pid in ("w1", "w2", "w3"):
            add_patient(tx, pid)
    return slots, [book(city.store, "p1", slots[0]), book(city.store, "p2", slots[1])]


def test_place_in_line_is_priority_then_time_joined(city: City, full: tuple[list[str], list[str]]) -> None:
    first, urgent, last = (
        join(city.store, "w1", minutes=1),
        join(city.store, "w2", priority=1, minutes=2),
        join(city.store, "w3", minutes=3),
    )
    with city.store.reader() as tx:
        assert [waiting.position(tx, entry_id=e) for e in (urgent, first, last)] == [1, 2, 3]
    with pytest.raises(Unprocessable, match="already on the waiting list"):
        join(city.store, "w1")


def test_a_freed_slot_is_held_for_the_first_in_line_then_passed_on(
    city: City, full: tuple[list[str], list[str]]
) -> None:
    slots, appointments = full
    first, second = join(city.store, "w1", minutes=1), join(city.store, "w2", minutes=2)
    with city.store.transaction() as tx:
        service.cancel(tx, appointment_id=appointments[0], now=NOW)
    assert slot_status(city.store, slots[0]) == "busy-tentative"
    with pytest.raises(Conflict):
        book(city.store, "p3", slots[0])  # held: nobody else can take it
    with city.store.transaction() as tx:  # w1 does not answer in time: the slot goes to w2
        assert waiting.expire_offers(tx, now=NOW + HOLD + timedelta(minutes=1)) == 1
        assert waiting.get_entry(tx, first).status == "lapsed"
        assert waiting.get_entry(tx, second).offer_slot == slots[0]
    with city.store.transaction() as tx:
        appointment = service.accept_offer(tx, entry_id=second, now=NOW + HOLD + timedelta(minutes=2))
    assert appointment.resource["participant"][0]["actor"] == {"reference": "Patient/w2"}
    assert slot_status(city.store, slots[0]) == "busy"
    with city.store.reader() as tx:
        assert waiting.get_entry(tx, second).status == "booked"


def test_a_declined_offer_with_nobody_else_in_line_frees_the_slot(
    city: City, full: tuple[list[str], list[str]]
) -> None:
    slots, appointments = full
    entry = join(city.store, "w1")
    with city.store.transaction() as tx:
        service.cancel(tx, appointment_id=appointments[1], now=NOW)
        waiting.decline_offer(tx, entry_id=entry, now=NOW)
    assert slot_status(city.store, slots[1]) == "free"
    with city.store.transaction() as tx, pytest.raises(Unprocessable, match="no longer open"):
        service.accept_offer(tx, entry_id=entry, now=NOW)


def test_newly_published_slots_are_offered_to_the_list(city: City) -> None:
    entry = join(city.store, "p1")
    slots = publish_day(city.store, "oph2", specialty="ophthalmologist", slots=3)
    with city.store.reader() as tx:
        assert waiting.get_entry(tx, entry).offer_slot == slots[0]
    assert [slot_status(city.store, s) for s in slots] == ["busy-tentative", "free", "free"]


def test_leaving_the_list(city: City) -> None:
    entry = join(city.store, "p1")
    with city.store.transaction() as tx:
        waiting.leave_waiting_list(tx, entry_id=entry)
        with pytest.raises(Unprocessable):
            waiting.position(tx, entry_id=entry)
