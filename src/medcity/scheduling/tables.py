"""The scheduling hot path's own tables: the slot inventory, the appointments that hold slots, and the waiting list.

The FHIR Slot, Schedule and Appointment resources are written in the same transaction and always show the same
state; these tables exist so that finding a free slot is one indexed query and so that the database itself
guarantees the invariants that races would otherwise break:

- one active appointment per slot: `sched_appointment.active_slot` is the slot while the appointment is active
  and NULL once it is not, under a unique index (NULLs never collide, on SQLite and PostgreSQL alike);
- one active appointment per specialty per patient (when the region's rules ask for it): `active_need`, the same way;
- a referral is consumed by one active appointment: `active_referral`, the same way;
- a freed slot is offered to one waiting patient at a time: `sched_waiting.offer_slot`, the same way.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, PrimaryKeyConstraint, String, Table

from medcity.store.schema import metadata

SLOT_KINDS = ("self", "referral", "registry", "reserve")
SLOT_STATUSES = ("free", "held", "booked", "blocked")

# Times are naive UTC datetimes: SQLite keeps no time zone, so both engines store the same thing.
sched_slot = Table(
    "sched_slot",
    metadata,
    Column("partition", String(8), nullable=False),
    Column("id", String(64), nullable=False),  # the FHIR Slot id
    Column("schedule", String(64), nullable=False),  # the FHIR Schedule id
    Column("role", String(64), nullable=False),  # PractitionerRole id
    Column("organization", String(64), nullable=False),
    Column("location", String(64), nullable=False),  # the room (or building) Location id
    Column("specialty", String(64), nullable=False),  # registry catalogue code
    Column("start", DateTime(), nullable=False),
    Column("end", DateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("hold_until", DateTime(), nullable=True),  # while held for a waiting-list offer
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("partition", "id", name="pk_sched_slot"),
)
# Republishing a template never makes a second slot for one doctor at one time.
Index("uq_sched_slot_role_start", sched_slot.c.partition, sched_slot.c.role, sched_slot.c.start, unique=True)
# Finding: by specialty across the region, and by specialty within one organisation (own polyclinic first).
Index(
    "ix_sched_slot_find",
    sched_slot.c.partition,
    sched_slot.c.specialty,
    sched_slot.c.status,
    sched_slot.c.start,
)
Index(
    "ix_sched_slot_find_org",
    sched_slot.c.partition,
    sched_slot.c.specialty,
    sched_slot.c.organization,
    sched_slot.c.status,
    sched_slot.c.start,
)

sched_appointment = Table(
    "sched_appointment",
    metadata,
    Column("partition", String(8), nullable=False),
    Column("id", String(64), nullable=False),  # the FHIR Appointment id
    Column("slot", String(64), nullable=False),
    Column("patient", String(64), nullable=False),
    Column("specialty", String(64), nullable=False),
    Column("role", String(64), nullable=False),
    Column("organization", String(64), nullable=False),
    Column("start", DateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # booked | arrived | fulfilled | cancelled | noshow
    Column("channel", String(16), nullable=False),  # self | registry | doctor | waiting-list | kiosk | api
    Column("referral", String(64), nullable=True),  # ServiceRequest id
    Column("requested", DateTime(), nullable=False),
    Column("wait_days", Integer, nullable=False),  # from the request to the appointment, for the situation centre
    Column("active_slot", String(64), nullable=True),
    Column("active_need", String(160), nullable=True),
    Column("active_referral", String(64), nullable=True),
    PrimaryKeyConstraint("partition", "id", name="pk_sched_appointment"),
)
Index("uq_sched_appointment_slot", sched_appointment.c.partition, sched_appointment.c.active_slot, unique=True)
Index("uq_sched_appointment_need", sched_appointment.c.partition, sched_appointment.c.active_need, unique=True)
Index(
    "uq_sched_appointment_referral",
    sched_appointment.c.partition,
    sched_appointment.c.active_referral,
    unique=True,
)
Index(
    "ix_sched_appointment_patient",
    sched_appointment.c.partition,
    sched_appointment.c.patient,
    sched_appointment.c.status,
)
Index(
    "ix_sched_appointment_role_day", sched_appointment.c.partition, sched_appointment.c.role, sched_appointment.c.start
)
# The situation centre's waits and channels: the bookings requested in the last days, out of years of them, read
# from the index alone.
Index("ix_sched_appointment_requested", sched_appointment.c.partition, sched_appointment.c.requested,
      sched_appointment.c.specialty, sched_appointment.c.wait_days, sched_appointment.c.channel)  # fmt: skip

sched_waiting = Table(
    "sched_waiting",
    metadata,
    Column("partition", String(8), nullable=False),
    Column("id", String(64), nullable=False),
    Column("patient", String(64), nullable=False),
    Column("specialty", String(64), nullable=False),
    Column("organization", String(64), nullable=True),  # only slots of this organisation, when given
    Column("role", String(64), nullable=True),  # only slots of this doctor, when given
    Column("referral", String(64), nullable=True),
    Column("priority", Integer, nullable=False),  # higher first
    Column("joined", DateTime(), nullable=False),
    Column("status", String(16), nullable=False),  # waiting | offered | booked | lapsed | left
    Column("offer_slot", String(64), nullable=True),
    Column("offer_until", DateTime(), nullable=True),
    Column("appointment", String(64), nullable=True),
    PrimaryKeyConstraint("partition", "id", name="pk_sched_waiting"),
)
Index("uq_sched_waiting_offer", sched_waiting.c.partition, sched_waiting.c.offer_slot, unique=True)
Index(
    "ix_sched_waiting_queue",
    sched_waiting.c.partition,
    sched_waiting.c.specialty,
    sched_waiting.c.status,
    sched_waiting.c.priority,
    sched_waiting.c.joined,
)
