"""The demo doctor's day: after publishing, `medcity demo day` books attached patients into the doctor's next
working day, the demo patient first, and a second run books nothing more."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from medcity.demo.accounts import demo_cast
from medcity.demo.prescriptions import demo_ticket, prescribe_demo
from medcity.demo.seed import seed
from medcity.demo.today import book_demo_day
from medcity.prescriptions import service as prescriptions
from medcity.registry.identifiers import SNILS_SYSTEM
from medcity.scheduling.publish import publish_schedule, standard_template
from medcity.scheduling.service import day_list
from medcity.store.repository import Store
from tests.demo.test_seed import TINY

MONDAY_8_MSK = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)


def test_the_demo_doctor_gets_a_day_of_attached_patients(store: Store) -> None:
    seed(store, scale=TINY, seed=3, as_of=date(2026, 12, 1), progress=False, partition=store.region)
    with store.transaction() as tx:
        cast = demo_cast(tx)
        assert cast.doctor_role is not None and cast.patient is not None
        template = standard_template(tx.read("PractitionerRole", cast.doctor_role).resource)
        assert template is not None
        publish_schedule(tx, template=template, now=MONDAY_8_MSK.replace(tzinfo=None))  # naive UTC, as kept

    booked = book_demo_day(store, now=MONDAY_8_MSK, count=5)

    assert booked == 5
    naive = MONDAY_8_MSK.replace(tzinfo=None)
    with store.reader() as tx:
        rows = day_list(tx, roles=[cast.doctor_role], start=naive, end=naive.replace(hour=21))
        attached = {
            p.id
            for p in tx.search(
                "Patient", [("organization", f"Organization/{cast.polyclinic}"), ("_count", "500")]
            ).matches
        }
    assert len(rows) == 5
    assert {row.start.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Moscow")).date() for row in rows} == {
        date(2026, 12, 7)
    }
    assert rows[0].patient == cast.patient  # the demo patient's login shows the first appointment
    assert {row.patient for row in rows} <= attached
    assert book_demo_day(store, now=MONDAY_8_MSK, count=5) == 0


def test_the_demo_pharmacy_gets_prescriptions_to_dispense(store: Store) -> None:
    seed(store, scale=TINY, seed=3, as_of=date(2026, 12, 1), progress=False, partition=store.region)

    assert prescribe_demo(store, now=MONDAY_8_MSK, count=3) == 3
    assert prescribe_demo(store, now=MONDAY_8_MSK, count=3) == 0  # each holds an active one already

    with store.transaction() as tx:
        cast = demo_cast(tx)
        ticket = demo_ticket(tx, now=MONDAY_8_MSK)
        assert ticket is not None
        found = prescriptions.find(tx, number=ticket.number, system=SNILS_SYSTEM, value=ticket.snils)
        assert found.patient == cast.patient  # the demo patient's login shows it too
        body = prescriptions.dispense_body(tx, found, pharmacy=cast.pharmacy or "", pharmacist=None, quantity=None,
                                           now=MONDAY_8_MSK)  # fmt: skip
        prescriptions.dispense(tx, body)
