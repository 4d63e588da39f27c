"""Schedule templates → slots within the region's publishing horizon.

A template is one doctor's week: sessions (weekday, hours, room), a slot length, breaks, and the kinds of slots a
session is cut into (for example two self-booking slots, one referral slot, one emergency reserve, repeating).
Publishing is idempotent: a slot that exists for the doctor at that time is never made twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from medcity.kit.errors import Unprocessable
from medcity.kit.i18n import N_
from medcity.kit.ids import new_id
from medcity.registry.catalogue import specialty_code
from medcity.scheduling.resources import ref_id, schedule_resource, slot_resource, utcnow
from medcity.scheduling.rules import rules_for
from medcity.scheduling.tables import SLOT_KINDS, sched_slot
from medcity.scheduling.waiting import offer_slot
from medcity.store.repository import JSON, Tx


@dataclass(frozen=True)
class Session:
    weekday: int  # 0 Monday … 6 Sunday
    start: time  # local time of the region
    end: time
    room: str  # Location id
    kinds: tuple[str, ...] = ("self",)  # cycled over the session's slots


@dataclass(frozen=True)
class Template:
    role: str  # PractitionerRole id
    organization: str
    specialty: str
    sessions: tuple[Session, ...]
    slot_minutes: int = 15
    breaks: tuple[tuple[time, time], ...] = ()  # local times, every day

    def check(self) -> None:
        if not 5 <= self.slot_minutes <= 240:
            raise Unprocessable(N_("A slot lasts between 5 and 240 minutes"))
        for session in self.sessions:
            if not 0 <= session.weekday <= 6 or session.start >= session.end or not session.kinds:
                raise Unprocessable(
                    N_("Session %(session)s is not a valid weekday, time range and kinds"), session=session
                )
            if set(session.kinds) - set(SLOT_KINDS):
                raise Unprocessable(N_("Slot kinds must be among %(kinds)s"), kinds=", ".join(SLOT_KINDS))


@dataclass(frozen=True)
class PlannedSlot:
    start: datetime  # naive UTC
    end: datetime
    room: str
    kind: str


def plan(template: Template, *, first_day: date, days: int, zone: ZoneInfo) -> Iterator[PlannedSlot]:
    """The slots the template makes on `days` days from `first_day`, breaks left out."""
    step = timedelta(minutes=template.slot_minutes)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for session in template.sessions:
            if session.weekday != day.weekday():
                continue
            start, index = datetime.combine(day, session.start), 0
            while start + step <= datetime.combine(day, session.end):
                end = start + step
                if not any(start.time() < b_end and b_start < end.time() for b_start, b_end in template.breaks):
                    yield PlannedSlot(
                        _utc(start, zone), _utc(end, zone), session.room, session.kinds[index % len(session.kinds)]
                    )
                    index += 1
                start = end


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def publish_schedule(
    tx: Tx, *, template: Template, first_day: date | None = None, now: datetime | None = None
) -> list[str]:
    """Make the template's slots up to the region's horizon, with their FHIR Schedule and Slot resources, and
    offer each new one to the waiting list; returns the new slot ids."""
    template.check()
    now = now or utcnow()
    rules = rules_for(tx.region)
    rules.check_specialty(template.specialty)
    first_day = first_day or now.replace(tzinfo=UTC).astimezone(rules.timezone).date()
    horizon_end = now + timedelta(days=rules.horizon_days)
    planned = [
        p
        for p in plan(template, first_day=first_day, days=rules.horizon_days + 1, zone=rules.timezone)
        if now < p.start and p.end <= horizon_end
    ]
    s = sched_slot
    taken = set(
        tx.execute(
            select(s.c.start).where(s.c.partition == tx.region, s.c.role == template.role, s.c.start >= now)
        ).scalars()
    )
    schedules: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    for p in planned:
        if p.start in taken:
            continue
        if p.room not in schedules:
            schedules[p.room] = _schedule(tx, template=template, room=p.room, start=now, end=horizon_end)
        rows.append(
            {"partition": tx.region, "id": new_id(), "schedule": schedules[p.room], "role": template.role,
             "organization": template.organization, "location": p.room, "specialty": template.specialty,
             "start": p.start, "end": p.end, "kind": p.kind, "status": "free", "hold_until": None, "version": 1}
        )  # fmt: skip
    if not rows:
        return []
    tx.execute(s.insert(), rows)
    for row in rows:
        tx.create(slot_resource(row), rid=row["id"], trusted=True)
    for row in rows:
        offer_slot(tx, slot_id=row["id"], now=now)
    return [row["id"] for row in rows]


def _schedule(tx: Tx, *, template: Template, room: str, start: datetime, end: datetime) -> str:
    """The Schedule of this doctor in this room, created or with its planning horizon moved on."""
    s = sched_slot
    sid = tx.execute(
        select(s.c.schedule).where(s.c.partition == tx.region, s.c.role == template.role, s.c.location == room).limit(1)
    ).scalar()
    data = schedule_resource(
        sid=sid or new_id(), role=template.role, location=room, specialty=template.specialty, start=start, end=end
    )
    if sid is None:
        tx.create(data, rid=data["id"])
    else:
        tx.update(data)
    return str(data["id"])


def block_slots(tx: Tx, *, role: str, start: datetime, end: datetime) -> list[str]:
    """Take a doctor's free slots in [start, end) out of booking (leave, sick days); returns their ids.

    Booked slots are left to the caller, who cancels those appointments and tells the patients.
    """
    s = sched_slot
    ids = list(
        tx.execute(
            select(s.c.id).where(
                s.c.partition == tx.region, s.c.role == role, s.c.start >= start, s.c.start < end,
                s.c.status == "free",
            )
        ).scalars()
    )  # fmt: skip
    if ids:
        tx.execute(
            update(s)
            .where(s.c.partition == tx.region, s.c.id.in_(ids))
            .values(status="blocked", version=s.c.version + 1)
        )
        for row in tx.execute(select(s).where(s.c.partition == tx.region, s.c.id.in_(ids))):
            tx.update(slot_resource(row._mapping), trusted=True)
    return ids


# The demo's working week for a doctor without a template of their own: weekdays 08:00-14:00, quarter-hour
# slots, a break at 11:00, every fourth slot kept as emergency reserve for walk-ins.
STANDARD_SESSION = (time(8), time(14))
STANDARD_BREAK = (time(11), time(11, 30))
STANDARD_KINDS = ("self", "self", "self", "reserve")


def standard_template(role: JSON) -> Template | None:
    """The standard week of a PractitionerRole that names its organisation, a location and a known specialty;
    None for a role that does not."""
    organization = ref_id(role.get("organization"), "Organization")
    rooms = [found for loc in role.get("location") or [] if (found := ref_id(loc, "Location"))]
    specialty = specialty_code(role.get("specialty") or [])
    if not organization or not rooms or not specialty or role.get("active") is False:
        return None
    sessions = tuple(
        Session(weekday=day, start=STANDARD_SESSION[0], end=STANDARD_SESSION[1], room=rooms[0], kinds=STANDARD_KINDS)
        for day in range(5)
    )
    return Template(role=str(role["id"]), organization=organization, specialty=specialty, sessions=sessions,
                    slot_minutes=15, breaks=(STANDARD_BREAK,))  # fmt: skip
