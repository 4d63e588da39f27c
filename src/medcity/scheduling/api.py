"""FHIR operations of scheduling: `Appointment/$find` (free slots), `Appointment/$book`, `Schedule/$publish`, and
`Appointment/$booking-situation` (the situation centre's booking figures, an aggregate operation).

Thin: read the Parameters, call `service`, shape the answer. A taken slot is a `Conflict`, which the FHIR face
answers as 409 with an OperationOutcome.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import JSON, OperationCall, operation, write_interceptor
from medcity.kit.parameters import Parameters
from medcity.scheduling import service
from medcity.scheduling.channels import booking_organization, channel_of
from medcity.scheduling.interceptors import WRITE_INTERCEPTORS
from medcity.scheduling.publish import Session, Template, publish_schedule
from medcity.scheduling.resources import parse_instant, ref_id, utcnow
from medcity.scheduling.rules import rules_for
from medcity.scheduling.situation import SITUATION_AHEAD_DAYS, SITUATION_PERIOD_DAYS, situation, situation_parameters

DEFAULT_COUNT, MAX_COUNT = 10, 100


def _value(param: JSON) -> Any:
    return next((v for k, v in param.items() if k.startswith("value")), None)


def _id(value: Any, rtype: str, name: str) -> str | None:
    """A `Type/id` reference (Reference or string) or a bare id."""
    if value is None:
        return None
    found = ref_id(value, rtype)
    if found is None and isinstance(value, str) and "/" not in value and value:
        found = value
    if found is None:
        raise InvalidRequest(f"Parameter '{name}' must refer to a {rtype}")
    return found


def _required_id(value: Any, rtype: str, name: str) -> str:
    found = _id(value, rtype, name)
    if found is None:
        raise InvalidRequest(f"Parameter '{name}' ({rtype} reference) is required")
    return found


def _when(value: Any, name: str, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        return parse_instant(str(value))
    except ValueError:
        raise InvalidRequest(f"Parameter '{name}' must be a FHIR date or dateTime") from None


def _specialty(value: Any) -> str:
    """A specialty code, as a code, a `system|code` token or a Coding."""
    code = value.get("code") if isinstance(value, dict) else value
    if not isinstance(code, str) or not code:
        raise InvalidRequest("Parameter 'specialty' (a specialty code) is required")
    return code.rsplit("|", 1)[-1]


@operation(
    "find",
    resource_types=("Appointment",),
    description="Free slots by specialty (own polyclinic first), organization, location and date range",
)
def find_operation(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    now = utcnow()
    patient = params.reference_id("patient", "Patient")
    if patient is not None:
        call.access.require("operation:find", "Patient", patient)
    start = _when(params.text("start"), "start", now)
    window = timedelta(days=rules_for(call.store.region).booking_window_days)
    with call.store.reader() as tx:
        rows = service.find_slots(
            tx,
            specialty=_specialty(next(iter(params.all("specialty")), None)),
            patient=patient,
            organization=params.reference_id("organization", "Organization"),
            location=params.reference_id("location", "Location"),
            start=start,
            end=_when(params.text("end"), "end", now + window),
            count=min(params.integer("count", low=1) or DEFAULT_COUNT, MAX_COUNT),
            channel=channel_of(call.principal),
            now=now,
        )
        slots = tx.read_many([("Slot", row.id) for row in rows])
    base = call.base_url.rstrip("/")
    entries = [
        {**({"fullUrl": f"{base}/{slot.reference}"} if base else {}), "resource": slot.resource,
         "search": {"mode": "match"}}
        for slot in slots
    ]  # fmt: skip
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


@operation(
    "book",
    resource_types=("Appointment",),
    affects_state=True,
    description="Book a free slot for a patient under the region's rules; a taken slot is 409",
)
def book_operation(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    patient = _required_id(params.reference_id("patient", "Patient"), "Patient", "patient")
    slot = _required_id(params.reference_id("slot", "Slot"), "Slot", "slot")
    call.access.require("operation:book", "Patient", patient)
    with call.store.transaction() as tx:
        appointment = service.book(
            tx,
            patient=patient,
            slot_id=slot,
            channel=channel_of(call.principal),
            referral=params.reference_id("referral", "ServiceRequest"),
            organization=booking_organization(call.principal),
        )
    call.access.record("create", "Appointment", appointment.id)
    return appointment.resource


def _parts(param: JSON) -> dict[str, list[Any]]:
    """A parameter's parts, name → values (a part may repeat)."""
    found: dict[str, list[Any]] = {}
    for part in param.get("part") or []:
        if isinstance(part, dict) and isinstance(part.get("name"), str):
            found.setdefault(part["name"], []).append(_value(part))
    return found


def _one(parts: dict[str, list[Any]], name: str) -> Any:
    values = parts.get(name) or [None]
    return values[0]


def _time(value: Any, name: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest(f"'{name}' must be a FHIR time (hh:mm:ss)") from None


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"'{name}' must be an integer")
    return value


def _session(parts: dict[str, list[Any]]) -> Session:
    return Session(
        weekday=_int(_one(parts, "weekday"), "session.weekday"),
        start=_time(_one(parts, "start"), "session.start"),
        end=_time(_one(parts, "end"), "session.end"),
        room=_required_id(_one(parts, "room"), "Location", "session.room"),
        kinds=tuple(parts.get("kind") or ("self",)),
    )


@operation(
    "publish",
    resource_types=("Schedule",),
    affects_state=True,
    description="Publish a doctor's slots from a weekly template (sessions with room and slot kinds, slot length, "
    "breaks) up to the region's horizon",
)
def publish_operation(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    repeated = [p for p in call.parameters.get("parameter") or [] if isinstance(p, dict)]
    breaks = [_parts(p) for p in repeated if p.get("name") == "break"]
    template = Template(
        role=_required_id(params.reference_id("role", "PractitionerRole"), "PractitionerRole", "role"),
        organization=_required_id(params.reference_id("organization", "Organization"), "Organization", "organization"),
        specialty=_specialty(next(iter(params.all("specialty")), None)),
        sessions=tuple(_session(_parts(p)) for p in repeated if p.get("name") == "session"),
        slot_minutes=params.integer("slotMinutes", low=1) or 15,
        breaks=tuple((_time(_one(b, "start"), "break.start"), _time(_one(b, "end"), "break.end")) for b in breaks),
    )
    call.access.require("operation:publish", "Schedule")
    with call.store.transaction() as tx:
        published = publish_schedule(tx, template=template)
    return {"resourceType": "Parameters", "parameter": [{"name": "published", "valueInteger": len(published)}]}


@operation(
    "booking-situation",
    resource_types=("Appointment",),
    aggregate=True,
    description="The situation centre's booking figures: waits by specialty over the bookings of the last "
    "'period-days' days, the first free time, how full each organisation's next 'ahead-days' days are, the waiting "
    "list and the booking channels; aggregates only",
)
def booking_situation_operation(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    period = params.integer("period-days", low=1, high=366) or SITUATION_PERIOD_DAYS
    ahead = params.integer("ahead-days", low=1, high=60) or SITUATION_AHEAD_DAYS
    with call.store.reader() as tx:
        figures = situation(tx, now=utcnow(), period_days=period, ahead_days=ahead)
    return situation_parameters(figures, period_days=period, ahead_days=ahead)


for (_rtype, _interaction), _interceptor in WRITE_INTERCEPTORS.items():
    write_interceptor(_rtype, _interaction)(_interceptor)
