"""`medcity scheduling tick` and `medcity scheduling publish-standard` against a real database."""

from __future__ import annotations

from typing import Any

import pytest

from medcity.registry.catalogue import ORGANIZATION_KIND_SYSTEM, specialty_concept
from medcity.scheduling import service
from medcity.store.repository import Store
from tests.scheduling.conftest import NOW, City, add_organization, add_role


def test_the_tick_delivers_and_refuses_a_bad_instant(city: City, medcity_cli: Any) -> None:
    with city.store.transaction() as tx:
        service.book(tx, patient="p1", slot_id=city.slots["ther1"][0], channel="self", now=NOW)
    result = medcity_cli("scheduling", "tick", "--now", "2026-12-01T05:00:00Z")
    assert result.exit_code == 0, result.output
    assert "notices delivered 1" in result.output
    again = medcity_cli("scheduling", "tick", "--now", "2026-12-01T05:00:00Z")
    assert "notices delivered 0" in again.output
    assert medcity_cli("scheduling", "tick", "--now", "yesterday").exit_code == 2


def test_publish_standard_gives_every_polyclinic_doctor_a_week(store: Store, medcity_cli: Any) -> None:
    with store.transaction() as tx:
        room = add_organization(tx, "pc1")
        org = tx.read("Organization", "pc1").resource
        tx.update({**org, "type": [{"coding": [{"system": ORGANIZATION_KIND_SYSTEM, "code": "polyclinic"}]}]})
        add_role(tx, "ther1", organization="pc1", location=room, specialty="therapist-district")
        tx.create({"resourceType": "PractitionerRole", "organization": {"reference": "Organization/pc1"},
                   "specialty": [specialty_concept("surgeon")]}, rid="no-room")  # fmt: skip
    first = medcity_cli("scheduling", "publish-standard")
    assert first.exit_code == 0, first.output
    assert "polyclinics 1" in first.output
    with store.reader() as tx:
        kinds = {slot.kind for slot in service.slots_of(tx, organization="pc1", start=NOW.replace(year=2000),
                                                          end=NOW.replace(year=2100))}  # fmt: skip
        roles = {slot.role for slot in service.slots_of(tx, organization="pc1", start=NOW.replace(year=2000),
                                                          end=NOW.replace(year=2100))}  # fmt: skip
    assert kinds == {"self", "reserve"} and roles == {"ther1"}
    assert "slots published 0" in medcity_cli("scheduling", "publish-standard").output


def test_the_served_app_runs_the_clock(
    store: Store, live: dict[str, list[str]], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from fastapi.testclient import TestClient

    from medcity import app as app_module
    from medcity.scheduling import notices, pages

    monkeypatch.setattr(pages, "TICK_SECONDS", 0.01)
    with store.transaction() as tx:
        service.book(tx, patient="p1", slot_id=live["ther1"][0], channel="self")
    with TestClient(app_module.create_app(settings, engine=store.engine)):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with store.reader() as tx:
                if not notices.pending(tx):
                    break
            time.sleep(0.05)
    with store.reader() as tx:
        assert notices.pending(tx) == []
        assert [n.resource["status"] for n in notices.notices_of(tx, patient="p1")] == ["completed"]
