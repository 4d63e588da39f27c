"""Booking figures for the health department's situation centre: how long patients wait for an appointment, how
soon the next free time is, how full the polyclinics' next week is, and who waits in line. Aggregates of the slot
inventory only: counts, days and shares, never a patient."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, select

from medcity.registry.catalogue import SPECIALTIES, SPECIALTY_SYSTEM, specialty_coding
from medcity.scheduling.resources import ref
from medcity.scheduling.tables import sched_appointment, sched_slot, sched_waiting
from medcity.store.repository import JSON, Tx

# Slots a patient or a referral can take: the registry's and the emergency reserve are not what a patient waits for.
BOOKABLE_KINDS = ("self", "referral")
TAKEN = ("booked", "held")
SITUATION_PERIOD_DAYS, SITUATION_AHEAD_DAYS = 30, 7
DOCTORS_SHOWN = 10


@dataclass(frozen=True)
class Waits:
    """The bookings of one specialty made in the period, and their waits in days from request to appointment."""

    specialty: str
    bookings: int
    median_days: int
    p90_days: int
    within_7_days: float  # share of bookings


@dataclass(frozen=True)
class Load:
    """Published time in the coming days and how much of it is taken: an organisation's, a specialty's or a
    doctor's (PractitionerRole, with its organisation and specialty)."""

    key: str
    slots: int
    taken: int
    organization: str = ""
    specialty: str = ""

    @property
    def share(self) -> float:
        return self.taken / self.slots if self.slots else 0.0


@dataclass(frozen=True)
class Situation:
    waits: list[Waits]
    first_free_days: dict[str, int]  # specialty → days until its first free bookable time
    load: list[Load]  # by organisation, the fullest first
    specialty_load: list[Load]
    doctor_load: list[Load]  # the fullest doctors, at most DOCTORS_SHOWN
    waiting_list: dict[str, int]  # specialty → patients in line (waiting or holding an offer)
    channels: dict[str, int]  # booking channel → bookings in the period


def _rank(counts: list[tuple[int, int]], share: float) -> int:
    """The nearest-rank percentile of waits given as (days, bookings), sorted by days."""
    needed, seen = max(1, math.ceil(share * sum(n for _d, n in counts))), 0
    for days, n in counts:
        seen += n
        if seen >= needed:
            return days
    return counts[-1][0]


def waits(tx: Tx, *, since: datetime) -> list[Waits]:
    """Per specialty, the waits of the bookings requested since `since` (whatever became of them later)."""
    a = sched_appointment
    rows = tx.execute(
        select(a.c.specialty, a.c.wait_days, func.count())
        .where(a.c.partition == tx.region, a.c.requested >= since)
        .group_by(a.c.specialty, a.c.wait_days)
    ).all()
    by_specialty: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for specialty, days, count in rows:
        by_specialty[specialty].append((int(days), int(count)))
    found = []
    for specialty, counts in by_specialty.items():
        counts.sort()
        total = sum(n for _d, n in counts)
        soon = sum(n for d, n in counts if d <= 7)
        found.append(Waits(specialty, total, _rank(counts, 0.5), _rank(counts, 0.9), soon / total))
    return sorted(found, key=lambda w: (-w.p90_days, w.specialty))


def first_free_days(tx: Tx, *, now: datetime) -> dict[str, int]:
    """Per specialty, in how many days its first free time a patient or a referral can take begins: one seek of the
    finding index per specialty, rather than a scan of every free slot of the horizon."""
    s = sched_slot
    first = (
        select(func.min(s.c.start))
        .where(s.c.partition == tx.region, s.c.specialty == bindparam("specialty"), s.c.status == "free",
               s.c.start >= now, s.c.kind.in_(BOOKABLE_KINDS))
    )  # fmt: skip
    found = {code: tx.execute(first, {"specialty": code}).scalar() for code in SPECIALTIES}
    return {code: (start - now).days for code, start in found.items() if start is not None}


def load(tx: Tx, *, now: datetime, days: int) -> list[Load]:
    """Per doctor (PractitionerRole, with its organisation and specialty), the published slots of the coming `days`
    days and how many are taken: one scan of those days, which `summed_by` then sums per organisation or specialty."""
    s = sched_slot
    taken = func.sum(case((s.c.status.in_(TAKEN), 1), else_=0))
    rows = tx.execute(
        select(s.c.role, s.c.organization, s.c.specialty, func.count(), taken)
        .where(s.c.partition == tx.region, s.c.start >= now, s.c.start < now + timedelta(days=days),
               s.c.status != "blocked")
        .group_by(s.c.role, s.c.organization, s.c.specialty)
    ).all()  # fmt: skip
    return _fullest(Load(role, int(n), int(t or 0), org, specialty) for role, org, specialty, n, t in rows)


def summed_by(doctors: list[Load], key: str) -> list[Load]:
    """The doctors' load summed per organisation or specialty (`key`)."""
    slots: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in doctors:
        total = slots[getattr(row, key)]
        total[0] += row.slots
        total[1] += row.taken
    return _fullest(Load(code, n, t) for code, (n, t) in slots.items())


def _fullest(rows: Iterable[Load]) -> list[Load]:
    return sorted(rows, key=lambda x: (-x.share, x.key))


def waiting_list(tx: Tx) -> dict[str, int]:
    w = sched_waiting
    rows = tx.execute(
        select(w.c.specialty, func.count())
        .where(w.c.partition == tx.region, w.c.status.in_(("waiting", "offered")))
        .group_by(w.c.specialty)
    ).all()
    return {specialty: int(count) for specialty, count in rows}


def channels(tx: Tx, *, since: datetime) -> dict[str, int]:
    a = sched_appointment
    rows = tx.execute(
        select(a.c.channel, func.count())
        .where(a.c.partition == tx.region, a.c.requested >= since)
        .group_by(a.c.channel)
    ).all()
    return {channel: int(count) for channel, count in rows}


def situation(tx: Tx, *, now: datetime, period_days: int = 30, ahead_days: int = 7) -> Situation:
    """Everything the booking part of the situation centre shows, read in one transaction."""
    since = now - timedelta(days=period_days)
    doctors = load(tx, now=now, days=ahead_days)
    return Situation(
        waits=waits(tx, since=since),
        first_free_days=first_free_days(tx, now=now),
        load=summed_by(doctors, "organization"),
        specialty_load=summed_by(doctors, "specialty"),
        doctor_load=doctors[:DOCTORS_SHOWN],
        waiting_list=waiting_list(tx),
        channels=channels(tx, since=since),
    )


def _specialty(code: str) -> JSON:
    # A code outside the catalogue (written by another system) is reported as it is rather than refused.
    coding = specialty_coding(code) if code in SPECIALTIES else {"system": SPECIALTY_SYSTEM, "code": code}
    return {"name": "specialty", "valueCoding": coding}


def _reference(name: str, rtype: str, rid: str) -> JSON:
    return {"name": name, "valueReference": ref(rtype, rid)}


def _count(name: str, value: int) -> JSON:
    return {"name": name, "valueInteger": value}


def _taken(row: Load) -> list[JSON]:
    return [_count("slots", row.slots), _count("taken", row.taken)]


def situation_parameters(figures: Situation, *, period_days: int, ahead_days: int) -> JSON:
    """The figures as the FHIR face answers them (`Appointment/$booking-situation`)."""
    out: list[JSON] = [_count("periodDays", period_days), _count("aheadDays", ahead_days)]
    out += [{"name": "waits", "part": [
        _specialty(w.specialty), _count("bookings", w.bookings), _count("medianDays", w.median_days),
        _count("p90Days", w.p90_days), {"name": "within7Days", "valueDecimal": round(w.within_7_days, 3)}]}
        for w in figures.waits]  # fmt: skip
    out += [{"name": "firstFree", "part": [_specialty(code), _count("days", days)]}
            for code, days in sorted(figures.first_free_days.items())]  # fmt: skip
    out += [{"name": "load", "part": [_reference("organization", "Organization", row.key), *_taken(row)]}
            for row in figures.load]  # fmt: skip
    out += [{"name": "specialtyLoad", "part": [_specialty(row.key), *_taken(row)]}
            for row in figures.specialty_load]  # fmt: skip
    out += [{"name": "doctorLoad", "part": [_reference("role", "PractitionerRole", row.key),
                                            _reference("organization", "Organization", row.organization),
                                            _specialty(row.specialty), *_taken(row)]}
            for row in figures.doctor_load]  # fmt: skip
    out += [{"name": "waitingList", "part": [_specialty(code), _count("patients", count)]}
            for code, count in sorted(figures.waiting_list.items())]  # fmt: skip
    out += [{"name": "channel", "part": [{"name": "code", "valueCode": channel}, _count("bookings", n)]}
            for channel, n in sorted(figures.channels.items())]  # fmt: skip
    return {"resourceType": "Parameters", "parameter": out}
