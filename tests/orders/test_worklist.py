"""The open orders the laboratory and diagnostic worklists read are kept in step with the orders themselves,
whichever door changes an order (the ordering pages' functions, a FHIR update or delete, several writes in one
transaction, a database migrated from before the table existed); the worklist is the oldest open orders first."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from medcity.lab.service import worklist
from medcity.orders.catalogue import LAB
from medcity.orders.service import cancel_order
from medcity.orders.tables import open_order
from medcity.store.repository import Store
from tests.lab.city import City, create
from tests.schema import alembic_config


def _ids(client: TestClient, city: City, organization: str, *kinds: str, **options: Any) -> list[str]:
    with city.store(client).reader() as tx:
        return [item.order.id for item in worklist(tx, organization=organization, kinds=kinds or (LAB,), **options)]


def _order(city: City, authored: str, *, status: str = "active", lab: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest", "status": status, "intent": "order", "authoredOn": authored,
        "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "108252007"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "14749-6"}]},
        "subject": {"reference": f"Patient/{city.patient}"},
        "performer": [{"reference": f"Organization/{lab or city.laboratory}"}],
    }  # fmt: skip


def test_oldest_open_orders_first_and_only_the_laboratorys_own(client: TestClient, city: City) -> None:
    placed = city.order(client, "14749-6", "11524-6")  # glucose for the laboratory, an ECG for the department
    glucose, ecg = (o.id for o in placed.orders)
    older = create(client, _order(city, "2026-01-10T09:00:00+03:00"))
    oldest = create(client, _order(city, "2026-01-10"))
    undated = create(client, {k: v for k, v in _order(city, "").items() if k != "authoredOn"})
    elsewhere = create(client, _order(city, "2025-01-01", lab=city.department))
    assert _ids(client, city, city.laboratory) == [oldest, older, glucose, undated]
    assert _ids(client, city, city.laboratory, count=2) == [oldest, older]
    assert _ids(client, city, city.department, "ecg", "imaging") == [ecg]
    assert elsewhere not in _ids(client, city, city.department, "ecg", "imaging")  # addressed there, but a lab test


def test_an_order_leaves_the_worklist_when_it_is_no_longer_open(client: TestClient, city: City) -> None:
    revoked, completed, deleted, moved = (create(client, _order(city, f"2026-02-0{day}")) for day in range(1, 5))
    with city.store(client).transaction() as tx:
        cancel_order(tx, order=revoked)
    done = client.get(f"/fhir/ServiceRequest/{completed}").json()
    assert client.put(f"/fhir/ServiceRequest/{completed}", json={**done, "status": "completed"}).status_code == 200
    assert client.delete(f"/fhir/ServiceRequest/{deleted}").status_code in (200, 204)
    other = client.get(f"/fhir/ServiceRequest/{moved}").json()
    other["performer"] = [{"reference": f"Organization/{city.department}"}]
    assert client.put(f"/fhir/ServiceRequest/{moved}", json=other).status_code == 200
    assert _ids(client, city, city.laboratory) == []
    assert _ids(client, city, city.department) == [moved]

    back = client.get(f"/fhir/ServiceRequest/{completed}").json()
    assert client.put(f"/fhir/ServiceRequest/{completed}", json={**back, "status": "active"}).status_code == 200
    assert _ids(client, city, city.laboratory) == [completed]


def test_several_writes_of_one_order_in_one_transaction(client: TestClient, city: City) -> None:
    with city.store(client).transaction() as tx:
        first = tx.create(_order(city, "2026-03-01")).stored
        tx.update({**first.resource, "authoredOn": "2026-03-02"})
        tx.update({**first.resource, "authoredOn": "2026-03-03"})
        second = tx.create(_order(city, "2026-03-04")).stored
        tx.delete("ServiceRequest", second.id)
    assert _ids(client, city, city.laboratory) == [first.id]
    with city.store(client).reader() as tx:
        rows = tx.conn.execute(open_order.select().where(open_order.c.partition == tx.region)).all()
    assert [(r.id, r.performer) for r in rows] == [(first.id, city.laboratory)]


def test_a_failed_transaction_leaves_no_row(client: TestClient, city: City) -> None:
    with pytest.raises(RuntimeError), city.store(client).transaction() as tx:
        tx.create(_order(city, "2026-03-01"))
        raise RuntimeError("the rest of the bundle was refused")
    assert _ids(client, city, city.laboratory) == []


def test_orders_the_caller_may_not_see_are_passed_over(client: TestClient, city: City) -> None:
    hidden = create(client, {"resourceType": "Patient", "gender": "female"})
    for day in range(1, 4):
        create(client, {**_order(city, f"2026-04-0{day}"), "subject": {"reference": f"Patient/{hidden}"}})
    seen = [create(client, _order(city, f"2026-04-1{day}")) for day in range(1, 3)]

    def restrict(table: Any, rtype: str) -> Any:
        return table.c.patient != hidden

    assert _ids(client, city, city.laboratory, count=2, restrict=restrict) == seen


def test_the_migration_fills_the_table_as_the_writes_keep_it(fresh_url: str) -> None:
    """Migration 0009 fills the table of a database that had orders before it, in SQL from their index rows:
    the very rows the store keeps on each write."""
    command.upgrade(alembic_config(fresh_url), "head")
    engine = create_engine(fresh_url)
    lab = [{"system": "http://snomed.info/sct", "code": "108252007"}]
    ecg = [{"system": "http://snomed.info/sct", "code": "103693007"}]
    orders = [("open", "active", "2026-05-01T10:00:00+03:00", lab), ("done", "completed", "2026-05-01", lab),
              ("undated", "active", None, lab), ("both", "active", "2026-04-01", lab + ecg),
              ("referral", "active", "2026-05-02", [])]  # fmt: skip
    with Store(engine, "77").transaction() as tx:
        for rid, status, authored, coding in orders:
            kind = {"coding": coding} if coding else {"text": "направление"}
            body = {"resourceType": "ServiceRequest", "status": status, "intent": "order",
                    "subject": {"reference": "Patient/p"}, "category": [kind],
                    "performer": [{"reference": "Organization/lab"}, {"reference": "Organization/ward"}]}  # fmt: skip
            tx.create({**body, "authoredOn": authored} if authored else body, rid=rid)

    def rows() -> list[tuple[Any, ...]]:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(open_order.select()))

    kept = rows()
    assert {r[1] for r in kept} == {"open", "undated", "both"}
    command.downgrade(alembic_config(fresh_url), "0008")
    command.upgrade(alembic_config(fresh_url), "head")
    assert rows() == kept
    with Store(engine, "77").reader() as tx:
        assert [o.order.id for o in worklist(tx, organization="lab")] == ["both", "open", "undated"]
    engine.dispose()
