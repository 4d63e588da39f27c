"""The care relationships the policy reads (`care_link`) follow the records that make them, through any door:
written, changed, deleted, by the server, a script or the migration that first filled them."""

from __future__ import annotations

import json
import subprocess
import sys

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from medcity.auth.breakglass import event
from medcity.auth.principal import Principal
from medcity.auth.tables import care_link
from medcity.kit import instants
from medcity.kit.db import make_engine
from medcity.orders.tables import open_order
from medcity.store.repository import JSON, Store
from tests.auth import world as city
from tests.auth.world import Tokens, World, build, day, ref
from tests.schema import alembic_config

api, settings, who, world = city.api, city.settings, city.who, city.world  # the fixtures


def _visit(patient: str, role: str, when: str) -> JSON:
    return {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
            "subject": ref("Patient", patient), "participant": [{"individual": ref("PractitionerRole", role)}],
            "period": {"start": when, "end": when}}  # fmt: skip


def test_care_follows_the_records_as_they_change(
    api: TestClient, world: World, who: Tokens, engine: Engine, region: str
) -> None:
    doctor, store = who.of("doctor"), Store(engine, region)
    stranger = world.patients["stranger"]

    def sees() -> bool:
        status = api.get(f"/fhir/Patient/{stranger}", headers=doctor).status_code
        assert status in (200, 403)
        return status == 200

    assert not sees()
    with store.transaction() as tx:
        visit = tx.create(_visit(stranger, world.doctor_role, day(-800))).stored.id
    assert not sees(), "a visit outside the care window makes no care relationship"
    with store.transaction() as tx:
        tx.update({**_visit(stranger, world.doctor_role, day(-5)), "id": visit})
    assert sees()
    with store.transaction() as tx:
        tx.update({**_visit(stranger, world.doctor_role, day(-5)), "id": visit, "status": "cancelled"})
    assert sees(), "a change that names the same people at the same time keeps the relationship"
    with store.transaction() as tx:
        tx.update({**_visit(stranger, world.other_role, day(-5)), "id": visit})
    assert not sees(), "the visit now names another clinic's doctor"
    with store.transaction() as tx:
        tx.update({**_visit(stranger, world.doctor_role, day(-5)), "id": visit})
        tx.delete("Encounter", visit)
    assert not sees(), "a deleted visit makes no care relationship"
    with store.transaction() as tx:
        body = tx.read("Patient", stranger).resource
        tx.update({**body, "managingOrganization": ref("Organization", world.polyclinic)})
    assert sees(), "attached to the doctor's polyclinic"
    with store.transaction() as tx:
        tx.update({**body, "managingOrganization": ref("Organization", world.other_clinic)})
    assert not sees()


def test_a_script_that_only_opens_a_store_keeps_every_derived_table(engine: Engine, region: str) -> None:
    """A worker process or a script writes under the same rules as the server, without importing any of them."""
    url = engine.url.render_as_string(hide_password=False)
    order_body = {"resourceType": "ServiceRequest", "status": "active", "intent": "order", "authoredOn": "2026-05-01",
                  "subject": ref("Patient", "p-script"), "requester": ref("Practitioner", "dr-script"),
                  "performer": [ref("Organization", "lab-script")],
                  "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "108252007"}]}]}  # fmt: skip
    script = (
        "import json, sys\n"
        "from medcity.kit.db import make_engine\n"
        "from medcity.store.repository import Store\n"
        f"with Store(make_engine({url!r}), {region!r}).transaction() as tx:\n"
        "    print(tx.create(json.load(sys.stdin)).stored.id)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(order_body), capture_output=True,
                          text=True, timeout=120, check=True)  # fmt: skip
    order = done.stdout.strip()
    with engine.connect() as conn:
        orders = conn.execute(select(open_order.c.performer).where(open_order.c.id == order)).scalars().all()
        links = conn.execute(select(care_link.c.actor, care_link.c.patient).where(care_link.c.source_id == order)).all()
    assert orders == ["lab-script"]
    assert sorted(links) == [("Organization/lab-script", "p-script"), ("Practitioner/dr-script", "p-script")]


def test_the_migration_fills_the_links_as_the_writes_keep_them(fresh_url: str) -> None:
    command.upgrade(alembic_config(fresh_url), "head")
    engine = make_engine(fresh_url)
    world = build(Store(engine, "77"))
    doctor = Principal(kind="user", username="dr", roles=("doctor",), practitioner=world.doctor)
    when = instants.now_text()
    Store(engine, "77").create(event(doctor, world.patients["stranger"], "Доставлен без сознания", when))
    columns = (care_link.c.source_type, care_link.c.source_id, care_link.c.actor, care_link.c.patient,
               care_link.c.until)  # fmt: skip

    def links() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return sorted(tuple(row) for row in conn.execute(select(*columns)))

    kept = links()
    assert {row[0] for row in kept} == {"Patient", "Appointment", "Encounter", "ServiceRequest", "AuditEvent"}
    command.downgrade(alembic_config(fresh_url), "0009")
    command.upgrade(alembic_config(fresh_url), "head")
    assert links() == kept
    engine.dispose()
