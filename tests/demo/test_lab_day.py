"""The demo laboratory's day: `medcity demo day` gives the demo laboratory open orders of the demo doctor's
attached patients (the demo patient first), each with a barcoded sample to receive, and a second run places
nothing for patients still awaiting results."""

from __future__ import annotations

from datetime import date

from medcity.demo.accounts import demo_cast
from medcity.demo.lab_day import order_demo_tests
from medcity.demo.seed import seed
from medcity.lab.service import worklist
from medcity.orders.service import barcode_of, subject_id
from medcity.store.repository import Store
from tests.demo.test_seed import TINY


def test_the_demo_laboratory_gets_open_orders_of_the_demo_doctor(store: Store) -> None:
    seed(store, scale=TINY, seed=3, as_of=date(2026, 12, 1), progress=False, partition=store.region)
    with store.reader() as tx:
        cast = demo_cast(tx)
        assert cast.laboratory is not None and cast.doctor is not None and cast.patient is not None
        assert worklist(tx, organization=cast.laboratory) == []

    assert order_demo_tests(store, patients=2) == 2

    with store.reader() as tx:
        items = worklist(tx, organization=cast.laboratory)
    patients = {subject_id(item.order.resource) for item in items}
    assert cast.patient in patients and len(patients) == 2
    assert {item.order.resource["requester"]["reference"] for item in items} == {f"Practitioner/{cast.doctor}"}
    assert all(item.specimen is not None and barcode_of(item.specimen.resource) for item in items)
    assert order_demo_tests(store, patients=2) == 0
