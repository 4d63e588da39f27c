"""The FHIR face of the inventory: Schedule, Slot and Appointment resources built from its rows, so that what
FHIR shows is derived from the same row the booking changed, in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from medcity.registry.catalogue import BASE, specialty_concept
from medcity.scheduling.rules import rules_for

JSON = dict[str, Any]
SLOT_KIND_EXTENSION = f"{BASE}/StructureDefinition/slot-kind"
# Inventory status → FHIR Slot.status. A slot held for a waiting-list offer is tentatively busy.
FHIR_SLOT_STATUS = {"free": "free", "held": "busy-tentative", "booked": "busy", "blocked": "busy-unavailable"}


def day_bounds(region: str, day: date, days: int = 1) -> tuple[datetime, datetime]:
    """The region's local calendar days from `day` as [start, end) in the inventory's naive UTC."""
    zone = rules_for(region).timezone
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(day + timedelta(days=days), time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return start, end


def utcnow() -> datetime:
    """Now as the inventory stores times: naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def instant(when: datetime) -> str:
    return when.replace(tzinfo=UTC).isoformat()


def parse_instant(text: str) -> datetime:
    """A FHIR date or dateTime as naive UTC; a date or a time without zone is read as UTC."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def ref(rtype: str, rid: str) -> JSON:
    return {"reference": f"{rtype}/{rid}"}


def ref_id(reference: Any, rtype: str) -> str | None:
    """The id in a `Type/id` reference (a Reference or a plain string), or None when it is not one."""
    text = reference.get("reference") if isinstance(reference, dict) else reference
    if not isinstance(text, str) or not text.startswith(f"{rtype}/"):
        return None
    return text.removeprefix(f"{rtype}/") or None


def schedule_resource(*, sid: str, role: str, location: str, specialty: str, start: datetime, end: datetime) -> JSON:
    return {
        "resourceType": "Schedule",
        "id": sid,
        "active": True,
        "actor": [ref("PractitionerRole", role), ref("Location", location)],
        "specialty": [specialty_concept(specialty)],
        "planningHorizon": {"start": instant(start), "end": instant(end)},
    }


def slot_resource(row: Mapping[Any, Any]) -> JSON:
    return {
        "resourceType": "Slot",
        "id": row["id"],
        "extension": [{"url": SLOT_KIND_EXTENSION, "valueCode": row["kind"]}],
        "schedule": ref("Schedule", row["schedule"]),
        "status": FHIR_SLOT_STATUS[row["status"]],
        "specialty": [specialty_concept(row["specialty"])],
        "start": instant(row["start"]),
        "end": instant(row["end"]),
    }


def appointment_resource(
    *, aid: str, slot: Mapping[Any, Any], patient: str, referral: str | None, created: datetime
) -> JSON:
    data: JSON = {
        "resourceType": "Appointment",
        "id": aid,
        "status": "booked",
        "specialty": [specialty_concept(slot["specialty"])],
        "start": instant(slot["start"]),
        "end": instant(slot["end"]),
        "created": instant(created),
        "slot": [ref("Slot", slot["id"])],
        "participant": [
            {"actor": ref("Patient", patient), "required": "required", "status": "accepted"},
            {"actor": ref("PractitionerRole", slot["role"]), "required": "required", "status": "accepted"},
            {"actor": ref("Location", slot["location"]), "required": "required", "status": "accepted"},
        ],
    }
    if referral:
        data["basedOn"] = [ref("ServiceRequest", referral)]
    return data
