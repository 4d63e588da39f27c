"""Concurrency on SQLite and PostgreSQL: pharmacies dispensing one prescription at the same moment give exactly one
MedicationDispense, and dispensing it in parts never hands over more than it prescribes; the others are refused
(409, 422) and leave nothing behind. A dispense annulled by many at once is
annulled once, and its prescription made valid again once."""

from __future__ import annotations

from medcity.kit.errors import Conflict, Unprocessable
from medcity.prescriptions import service
from medcity.store.repository import Store
from tests.hospital.test_races import run_all
from tests.prescriptions.city import build_city, dispense, prescribe


def test_many_pharmacies_dispensing_one_prescription_give_one_dispense(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)
    results = run_all([lambda n=n: dispense(store, city, number, pharmacy=n % 2) for n in range(16)])
    assert len([r for r in results if isinstance(r, str)]) == 1
    assert all("already dispensed" in r.diagnostics for r in results if isinstance(r, Conflict))
    with store.reader() as tx:
        assert len(tx.search("MedicationDispense", [("_count", "100")]).matches) == 1
        versions, _total = tx.history("MedicationRequest", rid)
    assert [v.resource["status"] for v, _method in versions].count("completed") == 1


def test_pharmacies_dispensing_parts_at_the_same_moment_never_hand_over_more_than_prescribed(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)  # 30 tablets: three parts of 10
    results = run_all([lambda n=n: dispense(store, city, number, pharmacy=n % 2, quantity=10) for n in range(12)])
    assert len([r for r in results if isinstance(r, str)]) == 3
    refused = [r for r in results if not isinstance(r, str)]
    assert all(isinstance(r, Conflict | Unprocessable) for r in refused), refused
    with store.reader() as tx:
        handed = tx.search("MedicationDispense", [("_count", "100")]).matches
        versions, _total = tx.history("MedicationRequest", rid)
    assert sum(d.resource["quantity"]["value"] for d in handed) == 30
    assert [v.resource["status"] for v, _method in versions].count("completed") == 1


def test_a_dispense_annulled_at_the_same_moment_by_many_is_annulled_once(store: Store) -> None:
    city = build_city(store)
    rid, number = prescribe(store, city)
    handed = dispense(store, city, number)

    def annul() -> str:
        with store.transaction() as tx:
            return service.annul(tx, handed, reason="не тот пациент").id

    results = run_all([annul for _ in range(8)])
    assert len([r for r in results if isinstance(r, str)]) == 1
    assert all(isinstance(r, Conflict | Unprocessable) for r in results if not isinstance(r, str)), results
    with store.reader() as tx:
        versions, _total = tx.history("MedicationRequest", rid)
        told = tx.search("Communication", [("subject", f"Patient/{city.patient}"), ("_count", "100")]).matches
    assert [v.resource["status"] for v, _method in versions].count("active") == 2  # prescribed, then annulled
    assert len([n for n in told if "аннулирован" in n.resource["payload"][0]["contentString"]]) == 1
