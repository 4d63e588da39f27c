"""Scheduling's rules on the generic FHIR writes, so that a plain `POST /fhir/Appointment` with `status=booked` and
a slot, or a `PUT` that cancels one, obeys every rule `Appointment/$book` obeys and keeps the inventory true.

Each function runs inside the generic interaction's transaction, before it writes. It returns the stored resource
when it wrote the resource itself (the interaction then writes nothing more), or None when the generic write should
go ahead unchanged. `WRITE_INTERCEPTORS` lists them by (resource type, interaction) for the FHIR face to call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from medcity.kit.errors import Unprocessable
from medcity.kit.i18n import N_
from medcity.scheduling import service
from medcity.scheduling.channels import booking_organization, channel_of
from medcity.scheduling.resources import ref_id
from medcity.scheduling.tables import sched_appointment, sched_slot
from medcity.store.repository import JSON, StoredResource, Tx

Interceptor = Callable[[Tx, JSON, Any], StoredResource | None]


def _patient(data: JSON) -> str:
    patients = [
        found
        for participant in data.get("participant") or []
        if (found := ref_id((participant or {}).get("actor"), "Patient")) is not None
    ]
    if len(patients) != 1:
        raise Unprocessable(N_("A booked Appointment names exactly one Patient participant"))
    return patients[0]


def _slot(data: JSON) -> str | None:
    slots = [found for slot in data.get("slot") or [] if (found := ref_id(slot, "Slot")) is not None]
    if len(slots) > 1:
        raise Unprocessable(N_("An Appointment books one slot here"))
    return slots[0] if slots else None


def _referral(data: JSON) -> str | None:
    referrals = [found for based in data.get("basedOn") or [] if (found := ref_id(based, "ServiceRequest"))]
    return referrals[0] if referrals else None


def _in_inventory(tx: Tx, table: Any, rid: str | None) -> bool:
    return (
        rid is not None
        and tx.execute(select(table.c.id).where(table.c.partition == tx.region, table.c.id == rid)).first() is not None
    )


def create_appointment(tx: Tx, data: JSON, principal: Any) -> StoredResource | None:
    """A booked Appointment on one of our slots is a booking: every rule applies, a taken slot is 409."""
    slot = _slot(data)
    if data.get("status") != "booked" or slot is None or not _in_inventory(tx, sched_slot, slot):
        return None
    return service.book(
        tx, patient=_patient(data), slot_id=slot, channel=channel_of(principal), referral=_referral(data), body=data,
        organization=booking_organization(principal),
    )  # fmt: skip


# FHIR statuses a client may move a booked appointment to, and the workflow that does it.
_TRANSITIONS: dict[str, Callable[[Tx, str], StoredResource]] = {
    "cancelled": lambda tx, aid: service.cancel(tx, appointment_id=aid),
    "arrived": lambda tx, aid: service.check_in(tx, appointment_id=aid),
    "noshow": lambda tx, aid: service.mark_no_show(tx, appointment_id=aid),
}


def update_appointment(tx: Tx, data: JSON, principal: Any) -> StoredResource | None:
    """An update of a booked appointment may cancel it, check it in or mark it a no-show; its slot, patient and
    time are the inventory's and cannot be changed by an update (reschedule through the service)."""
    aid = data.get("id")
    if not isinstance(aid, str) or not _in_inventory(tx, sched_appointment, aid):
        return None
    stored = tx.read("Appointment", aid).resource
    status = data.get("status")
    if status in _TRANSITIONS and stored.get("status") != status:
        return _TRANSITIONS[status](tx, aid)
    for field in ("status", "slot", "start", "end", "participant"):
        if data.get(field) != stored.get(field):
            raise Unprocessable(
                N_("Appointment.%(field)s is set by booking; cancel or reschedule instead"), field=field
            )
    return None


def write_slot(tx: Tx, data: JSON, principal: Any) -> StoredResource | None:
    """Published slots change only through booking and publishing; other Slots are the generic store's."""
    if _in_inventory(tx, sched_slot, data.get("id")):
        raise Unprocessable(N_("This Slot is published from a schedule template and changes only through booking"))
    return None


def delete_slot(tx: Tx, data: JSON, principal: Any) -> StoredResource | None:
    if _in_inventory(tx, sched_slot, data.get("id")):
        raise Unprocessable(N_("A published Slot is withdrawn by closing the period in its schedule, not deleted"))
    return None


def delete_appointment(tx: Tx, data: JSON, principal: Any) -> StoredResource | None:
    if _in_inventory(tx, sched_appointment, data.get("id")):
        raise Unprocessable(N_("A booked Appointment is cancelled (status cancelled), not deleted"))
    return None


WRITE_INTERCEPTORS: dict[tuple[str, str], Interceptor] = {
    ("Appointment", "create"): create_appointment,
    ("Appointment", "update"): update_appointment,
    ("Appointment", "delete"): delete_appointment,
    ("Slot", "update"): write_slot,
    ("Slot", "delete"): delete_slot,
}
