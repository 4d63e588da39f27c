"""A small city for scheduling tests: two polyclinics, district therapists and a cardiologist, a few patients, and
their published schedules, on every engine of the shared fixtures. Time is fixed (`NOW`) unless a test says not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

import pytest

from medcity.registry.catalogue import SPECIALTY_SYSTEM, specialty_concept
from medcity.scheduling.publish import Session, Template, publish_schedule
from medcity.store.repository import Store, Tx

NOW = datetime(2026, 12, 1, 5, 0)  # Tuesday 08:00 in Moscow, as naive UTC


def ref(rtype: str, rid: str) -> dict[str, str]:
    return {"reference": f"{rtype}/{rid}"}


def add_organization(tx: Tx, oid: str) -> str:
    """An Organization and its building; returns the Location id."""
    tx.create({"resourceType": "Organization", "id": oid, "name": oid}, rid=oid)
    tx.create({"resourceType": "Location", "name": f"{oid} building", "managingOrganization": ref("Organization", oid)},
              rid=f"{oid}-loc")  # fmt: skip
    return f"{oid}-loc"


def add_role(tx: Tx, rid: str, *, organization: str, location: str, specialty: str) -> str:
    tx.create(
        {"resourceType": "PractitionerRole", "organization": ref("Organization", organization),
         "location": [ref("Location", location)], "specialty": [specialty_concept(specialty)]},
        rid=rid,
    )  # fmt: skip
    return rid


def add_patient(tx: Tx, pid: str, *, organization: str | None = None) -> str:
    data: dict[str, object] = {"resourceType": "Patient", "name": [{"family": pid}]}
    if organization:
        data["managingOrganization"] = ref("Organization", organization)
    tx.create(data, rid=pid)
    return pid


def add_referral(tx: Tx, *, patient: str, specialty: str, status: str = "active", until: str = "") -> str:
    data: dict[str, object] = {
        "resourceType": "ServiceRequest", "status": status, "intent": "order",
        "subject": ref("Patient", patient),
        "performerType": {"coding": [{"system": SPECIALTY_SYSTEM, "code": specialty}]},
    }  # fmt: skip
    if until:
        data["occurrencePeriod"] = {"end": until}
    return tx.create(data).stored.id


def weekday_template(
    role: str, *, organization: str, room: str, specialty: str, kinds: tuple[str, ...] = ("self",)
) -> Template:
    """Monday to Friday 08:00-12:00 local, 30-minute slots, a break 10:00-10:30: 7 slots a day."""
    return Template(
        role=role,
        organization=organization,
        specialty=specialty,
        sessions=tuple(Session(weekday=d, start=time(8), end=time(12), room=room, kinds=kinds) for d in range(5)),
        slot_minutes=30,
        breaks=((time(10), time(10, 30)),),
    )


@pytest.fixture(autouse=True)
def _template_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages register their templates with the process-wide renderer; undo it after each test, as
    tests/web does, so that tests elsewhere see the renderer as they expect."""
    from medcity.web import render

    monkeypatch.setattr(render._loader, "loaders", list(render._loader.loaders))
    monkeypatch.setattr(render, "_packages", set(render._packages))


@dataclass
class City:
    store: Store
    patients: list[str] = field(default_factory=list)
    slots: dict[str, list[str]] = field(default_factory=dict)  # role → published slot ids


@pytest.fixture
def city(store: Store) -> City:
    return build_city(store)


def build_city(store: Store) -> City:
    """pc1 and pc2 with a therapist each, a cardiologist at pc1; patients p1, p2 of pc1 and p3 of pc2."""
    built = City(store)
    with store.transaction() as tx:
        rooms = {oid: add_organization(tx, oid) for oid in ("pc1", "pc2")}
        roles = [
            ("ther1", "pc1", "therapist-district"),
            ("ther2", "pc2", "therapist-district"),
            ("card1", "pc1", "cardiologist"),
        ]
        for rid, org, spec in roles:
            add_role(tx, rid, organization=org, location=rooms[org], specialty=spec)
        built.patients = [add_patient(tx, "p1", organization="pc1"), add_patient(tx, "p2", organization="pc1"),
                          add_patient(tx, "p3", organization="pc2")]  # fmt: skip
        for rid, org, spec in roles:
            template = weekday_template(rid, organization=org, room=rooms[org], specialty=spec)
            built.slots[rid] = publish_schedule(tx, template=template, now=NOW)
    return built


def day_template(
    role: str, *, specialty: str, slots: int, organization: str = "pc1", room: str = "pc1-loc"
) -> Template:
    """`slots` 15-minute self-booking slots from 08:00 on Wednesdays (the first is 2 December, the day after NOW)."""
    minutes = 8 * 60 + 15 * slots
    session = Session(weekday=2, start=time(8), end=time(minutes // 60, minutes % 60), room=room)
    return Template(role=role, organization=organization, specialty=specialty, sessions=(session,), slot_minutes=15)


def publish_day(store: Store, role: str, *, specialty: str, slots: int) -> list[str]:
    """Only the first Wednesday's slots, so a test knows exactly what is free."""
    with store.transaction() as tx:
        published = publish_schedule(tx, template=day_template(role, specialty=specialty, slots=slots), now=NOW)
    return published[:slots]


def every_day_template(role: str, *, organization: str, room: str, specialty: str) -> Template:
    """Every day 08:00-20:00 local, hourly: for tests on real time, whatever the day they run."""
    sessions = tuple(Session(weekday=d, start=time(8), end=time(20), room=room) for d in range(7))
    return Template(role=role, organization=organization, specialty=specialty, sessions=sessions, slot_minutes=60)


@pytest.fixture
def live(store: Store) -> dict[str, list[str]]:
    """Every day 08:00-20:00, hourly slots, from now on: a therapist at pc1 and at pc2, a cardiologist at pc1."""
    published = {}
    with store.transaction() as tx:
        rooms = {oid: add_organization(tx, oid) for oid in ("pc1", "pc2")}
        add_patient(tx, "p1", organization="pc2")
        for rid, org, spec in (("ther1", "pc1", "therapist-district"), ("ther2", "pc2", "therapist-district"),
                               ("card1", "pc1", "cardiologist")):  # fmt: skip
            add_role(tx, rid, organization=org, location=rooms[org], specialty=spec)
            template = every_day_template(rid, organization=org, room=rooms[org], specialty=spec)
            published[rid] = publish_schedule(tx, template=template)
    return published
