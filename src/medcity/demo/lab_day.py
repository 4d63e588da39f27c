"""The demo laboratory's day: open orders from the demo doctor, so that logging in as the demo laboratory technician
shows a worklist to receive samples for and enter results into (the seed writes finished history, not open
orders)."""

from __future__ import annotations

from medcity.demo.accounts import demo_cast
from medcity.orders.catalogue import LAB, catalogue
from medcity.orders.service import CATEGORY, package, place_orders, subject_id
from medcity.orders.worklist import open_orders
from medcity.store.repository import Store

# A package a polyclinic doctor orders every day; its laboratory tests only (the demo has no ECG department login).
DIAGNOSIS = "I10"


def order_demo_tests(store: Store, *, patients: int = 3) -> int:
    """Give the demo laboratory open orders of the demo doctor for up to ``patients`` attached adults, one
    requisition each; returns how many requisitions were placed. Patients who already have an open order at the
    laboratory are skipped, so running it again places nothing new until their results are released."""
    with store.reader() as tx:
        cast = demo_cast(tx)
        if cast.laboratory is None or cast.doctor is None:
            return 0
        waiting = {
            subject_id(order.resource)
            for order in open_orders(tx, performer=cast.laboratory, categories=[CATEGORY[LAB]], count=500)
        }
        tests = [code for code in package(tx.region, DIAGNOSIS) if catalogue().tests[code].kind == LAB]
    placed = 0
    for patient in cast.adults[:patients]:
        if patient in waiting:
            continue
        with store.transaction() as tx:
            place_orders(tx, patient=patient, tests=tests, requester=cast.doctor, laboratory=cast.laboratory,
                         diagnosis=DIAGNOSIS)  # fmt: skip
        placed += 1
    return placed
