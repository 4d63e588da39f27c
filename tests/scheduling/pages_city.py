"""A logged-in browser for the scheduling page tests, and slots that begin later *today* (kiosk, desk, queue),
whatever the hour the tests run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from medcity.auth.users import Role
from medcity.registry.identifiers import OMS_SYSTEM, generate_oms
from medcity.scheduling.publish import Session, Template, publish_schedule
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Store
from tests.scheduling.conftest import add_patient, add_role
from tests.web_login import add_web_user, csrf_of, log_in

Client = Any


def login(client: Client, username: str, role: Role, **links: Any) -> str:
    """Log a user in; returns the CSRF token of their session."""
    add_web_user(client, username, role, **links)
    log_in(client, username)
    return csrf(client)


def csrf(client: Client) -> str:
    return csrf_of(client.get("/").text)


def add_doctor(store: Store, practitioner: str, *, role: str, organization: str, room: str, specialty: str) -> None:
    with store.transaction() as tx:
        tx.create({"resourceType": "Practitioner", "name": [{"family": practitioner.title()}]}, rid=practitioner)
        add_role(tx, role, organization=organization, location=room, specialty=specialty)
        stored = tx.read("PractitionerRole", role).resource
        tx.update({**stored, "practitioner": {"reference": f"Practitioner/{practitioner}"}})


def add_insured(store: Store, pid: str, *, organization: str, seed: int = 1) -> str:
    """A patient with an ОМС policy and a birth date; returns the policy number."""
    import random

    oms = generate_oms(random.Random(seed))
    with store.transaction() as tx:
        add_patient(tx, pid, organization=organization)
        stored = tx.read("Patient", pid).resource
        tx.update({**stored, "birthDate": "1980-05-17", "identifier": [{"system": OMS_SYSTEM, "value": oms}]})
    return oms


def publish_later_today(store: Store, role: str, *, organization: str, room: str, specialty: str,
                        kinds: tuple[str, ...] = ("self",), count: int = 2) -> list[str]:  # fmt: skip
    """`count` 5-minute slots starting in a few minutes, today in the region's time."""
    zone = rules_for(store.region).timezone
    local = datetime.now(zone).replace(second=0, microsecond=0) + timedelta(minutes=3)
    end = local + timedelta(minutes=5 * count)
    if end.date() != local.date() or local.date() != datetime.now(zone).date():
        pytest.skip("too close to midnight for slots later today")
    session = Session(weekday=local.weekday(), start=local.time(), end=end.time(), room=room, kinds=kinds)
    template = Template(role=role, organization=organization, specialty=specialty, sessions=(session,),
                        slot_minutes=5)  # fmt: skip
    with store.transaction() as tx:
        published = publish_schedule(tx, template=template, now=datetime.now(UTC).replace(tzinfo=None))
    return published[:count]
