"""Notices and the scheduling clock: a booking, a move, a cancellation, the day before and a waiting-list offer
each write a Communication in the patient's language; the tick delivers them through the channel, lapses offers
and writes reminders — and running it again sends nothing twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from medcity.scheduling import notices, service, waiting
from medcity.scheduling.rules import rules_for
from medcity.scheduling.tables import sched_slot
from medcity.scheduling.timer import tick
from medcity.store.repository import JSON, Store
from tests.scheduling.conftest import NOW, City, add_patient, publish_day


def book(store: Store, patient: str, slot: str) -> str:
    with store.transaction() as tx:
        return service.book(tx, patient=patient, slot_id=slot, channel="self", now=NOW).id


def notices_of(store: Store, patient: str) -> list[JSON]:
    with store.reader() as tx:
        return [n.resource for n in notices.notices_of(tx, patient=patient)]


def slot_start(store: Store, slot: str) -> datetime:
    with store.reader() as tx:
        start: datetime = (
            tx.conn.execute(sched_slot.select().where(sched_slot.c.partition == store.region, sched_slot.c.id == slot))
            .one()
            .start
        )
    return start


class Failing:
    name = "sms"

    def send(self, notice: JSON) -> None:
        raise ConnectionError("gateway down")


def test_a_booking_is_told_once_in_the_patients_language(city: City) -> None:
    appointment = book(city.store, "p1", city.slots["ther1"][0])
    [notice] = notices_of(city.store, "p1")
    assert notice["status"] == "preparation" and notices.kind_of(notice) == "booked"
    assert notice["about"] == [{"reference": f"Appointment/{appointment}"}]
    assert notice["recipient"] == [{"reference": "Patient/p1"}] and notice["language"] == "ru"
    assert "Вы записаны" in notice["payload"][0]["contentString"] and appointment in notice["payload"][0][
        "contentString"]  # fmt: skip
    assert tick(city.store, now=NOW).delivered == 1
    [sent] = notices_of(city.store, "p1")
    assert sent["status"] == "completed" and sent["medium"][0]["coding"][0]["code"] == "outbox"
    assert tick(city.store, now=NOW).delivered == 0


def test_english_speakers_are_told_in_english(city: City) -> None:
    with city.store.transaction() as tx:
        patient = tx.read("Patient", "p2").resource
        tx.update({**patient, "communication": [{"language": {"coding": [{"code": "en-GB"}]}, "preferred": True}]})
    book(city.store, "p2", city.slots["ther1"][0])
    [notice] = notices_of(city.store, "p2")
    assert notice["language"] == "en" and notice["payload"][0]["contentString"].startswith("You are booked")


def test_a_move_and_a_cancellation_are_told(city: City) -> None:
    first = book(city.store, "p1", city.slots["ther1"][0])
    with city.store.transaction() as tx:
        moved = service.reschedule(tx, appointment_id=first, slot_id=city.slots["ther1"][1], channel="self", now=NOW)
        service.cancel(tx, appointment_id=moved.id, now=NOW)
    kinds = sorted(notices.kind_of(n) or "" for n in notices_of(city.store, "p1"))
    assert kinds == ["booked", "cancelled", "rescheduled"]


def test_the_day_before_reminder_is_written_once(city: City) -> None:
    slot = city.slots["ther1"][7]  # Wednesday
    appointment = book(city.store, "p1", slot)
    start = slot_start(city.store, slot)
    assert tick(city.store, now=start - timedelta(hours=30)).reminders == 0  # too early
    assert tick(city.store, now=start - timedelta(hours=23)).reminders == 1
    assert tick(city.store, now=start - timedelta(hours=23)).reminders == 0
    assert tick(city.store, now=start - timedelta(hours=2)).reminders == 0
    reminders = [n for n in notices_of(city.store, "p1") if notices.kind_of(n) == "reminder"]
    assert len(reminders) == 1 and reminders[0]["about"] == [{"reference": f"Appointment/{appointment}"}]
    assert reminders[0]["status"] == "completed"


def test_a_cancelled_appointment_is_not_reminded(city: City) -> None:
    slot = city.slots["ther1"][7]
    appointment = book(city.store, "p1", slot)
    with city.store.transaction() as tx:
        service.cancel(tx, appointment_id=appointment, now=NOW)
    assert tick(city.store, now=slot_start(city.store, slot) - timedelta(hours=1)).reminders == 0


def test_a_failed_channel_leaves_the_notice_for_the_next_tick(city: City) -> None:
    book(city.store, "p1", city.slots["ther1"][0])
    assert tick(city.store, now=NOW, channel=Failing()).failed == 1
    assert notices_of(city.store, "p1")[0]["status"] == "preparation"
    assert tick(city.store, now=NOW).delivered == 1


def test_the_tick_lapses_an_unconfirmed_offer_and_offers_the_next(city: City) -> None:
    [slot] = publish_day(city.store, "oph1", specialty="ophthalmologist", slots=1)
    taken = book(city.store, "p1", slot)
    with city.store.transaction() as tx:
        add_patient(tx, "w1")
        add_patient(tx, "w2")
        first = waiting.join_waiting_list(tx, patient="w1", specialty="ophthalmologist", now=NOW)
        second = waiting.join_waiting_list(
            tx, patient="w2", specialty="ophthalmologist", now=NOW + timedelta(minutes=1)
        )
        service.cancel(tx, appointment_id=taken, now=NOW)
    assert [notices.kind_of(n) for n in notices_of(city.store, "w1")] == ["offer"]
    hold = timedelta(minutes=rules_for(city.store.region).offer_hold_minutes)
    assert tick(city.store, now=NOW + hold - timedelta(minutes=1)).offers_lapsed == 0
    assert tick(city.store, now=NOW + hold).offers_lapsed == 1
    with city.store.reader() as tx:
        assert waiting.get_entry(tx, first).status == "lapsed"
        assert waiting.get_entry(tx, second).status == "offered"
    [offer] = notices_of(city.store, "w2")
    assert notices.kind_of(offer) == "offer" and offer["about"] == [{"reference": f"Slot/{slot}"}]
    assert tick(city.store, now=NOW + hold).offers_lapsed == 0
