"""The demo pharmacy's counter: a few patients attached to the demo polyclinic (the demo patient first) hold active
prescriptions of the demo doctor, so that the pharmacist's login has something to dispense; `medcity users demo`
prints one number with the patient's СНИЛС to try."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from medcity.demo.accounts import demo_cast
from medcity.kit.errors import MedcityError
from medcity.prescriptions import rules, service
from medcity.registry.identifiers import SNILS_SYSTEM
from medcity.store.repository import JSON, Store, Tx

# What the demo doctor prescribes, in turn: ATC code, how to take it, how many.
_PRESCRIBED = (
    ("C08CA01", "По 1 таблетке утром", 30),
    ("A10BA02", "По 1 таблетке 2 раза в день во время еды", 60),
    ("C10AA05", "По 1 таблетке вечером", 30),
    ("R03AC02", "1–2 вдоха при приступе", 1),
)


@dataclass(frozen=True)
class Ticket:
    """What a pharmacist types to find a demo prescription."""

    number: str
    snils: str


def prescribe_demo(store: Store, *, now: datetime, count: int = 3) -> int:
    """Give up to ``count`` attached adults (the demo patient first) an active prescription of the demo doctor;
    a patient who holds one already is skipped, so running it again writes nothing new. Returns how many it
    wrote; each is its own transaction, so a refused one leaves nothing behind."""
    with store.reader() as tx:
        cast = demo_cast(tx)
        waiting = [p for p in cast.adults[:count] if _snils(tx, p) and not _active(tx, p, now)]
    written = 0
    for patient, (medicine, dosage, quantity) in zip(waiting, _PRESCRIBED, strict=False):
        draft = service.Draft(patient=patient, medicine=medicine, dosage=dosage, quantity=quantity,
                              requester=cast.doctor, organization=cast.polyclinic)  # fmt: skip
        try:
            with store.transaction() as tx:
                service.prescribe(tx, draft, now=now)
        except MedcityError:
            continue  # this patient's record refuses it: the next one
        written += 1
    return written


def demo_ticket(tx: Tx, *, now: datetime) -> Ticket | None:
    """One active demo prescription and its patient's СНИЛС, for the pharmacist to try."""
    cast = demo_cast(tx)
    for patient in cast.adults:
        snils = _snils(tx, patient)
        active = _active(tx, patient, now) if snils else []
        number = rules.number_of(active[0]) if active else None
        if snils and number:
            return Ticket(number=number, snils=snils)
    return None


def _snils(tx: Tx, patient: str) -> str | None:
    stored = tx.current("Patient", patient)
    identifiers = stored.resource.get("identifier") or [] if stored is not None and not stored.deleted else []
    found = [i.get("value") for i in identifiers if i.get("system") == SNILS_SYSTEM]
    return str(found[0]) if found else None


def _active(tx: Tx, patient: str, now: datetime) -> list[JSON]:
    today = rules.local_today(tx.region, now)
    return [
        s.resource
        for s in service.of_patient(tx, patient=patient, restrict=None)
        if rules.state_of(s.resource, today) == rules.ACTIVE
    ]
