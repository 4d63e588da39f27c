"""Referral workflows: issue, cancel, complete, expire, hand to a hospital admission; and the lifecycle state
the sender, the patient and the receiving side see.

Every function takes the caller's `Tx`, so a workflow is one transaction. Booking a referral-only specialty
consumes a referral in `medcity.scheduling` (its appointment row holds the referral); that is read here, never
written, so a referral reads as booked while an appointment holds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from medcity.kit.errors import Conflict, NotFound, Unprocessable
from medcity.kit.i18n import N_, Label
from medcity.referrals import rules
from medcity.referrals.codes import (
    BOOKED,
    CANCELLED,
    CATEGORY_CODE,
    CATEGORY_SYSTEM,
    CATEGORY_TOKEN,
    CLOSED_EXTENSION,
    COMPLETED,
    EXPIRED,
    HOSPITALISATION,
    ICD10,
    ISSUED,
    JSON,
    KIND_NAMES,
    KIND_SYSTEM,
    VALID_DAYS,
    closed_reason,
    is_referral,
    kind_of,
)
from medcity.registry.catalogue import SPECIALTY_SYSTEM
from medcity.scheduling.resources import ref, ref_id
from medcity.scheduling.tables import sched_appointment
from medcity.store.repository import Restriction, StoredResource, Tx
from medcity.terminology import service as icd10

# Appointment statuses (scheduling's inventory) that mean the patient was seen on the referral.
_SEEN = ("arrived", "fulfilled")


@dataclass(frozen=True)
class Draft:
    """A referral as the sending doctor fills it in."""

    patient: str
    kind: str
    requester: str | None = None  # Practitioner id
    specialty: str | None = None
    organization: str | None = None  # the receiving institution
    practitioner: str | None = None  # a named doctor there, optional
    reasons: tuple[str, ...] = ()  # ICD-10 codes
    note: str = ""
    documents: tuple[str, ...] = ()  # "Type/id" of the attached documents
    valid_until: date | None = None


def build(draft: Draft, *, now: datetime) -> JSON:
    """The ServiceRequest for a draft, in the form booking recognises (see `medcity.referrals.codes`)."""
    ru, en = KIND_NAMES.get(draft.kind, (draft.kind, draft.kind))
    data: JSON = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": CATEGORY_CODE, "display": "Patient referral"}]}],
        "code": {"coding": [{"system": KIND_SYSTEM, "code": draft.kind, "display": en}], "text": ru},
        "subject": ref("Patient", draft.patient),
        "authoredOn": now.date().isoformat(),
        "occurrencePeriod": {
            "start": now.date().isoformat(),
            "end": (draft.valid_until or now.date() + timedelta(days=VALID_DAYS)).isoformat(),
        },
    }
    if draft.requester:
        data["requester"] = ref("Practitioner", draft.requester)
    if draft.specialty:
        data["performerType"] = {"coding": [{"system": SPECIALTY_SYSTEM, "code": draft.specialty}]}
    performers = [ref("Organization", draft.organization)] if draft.organization else []
    if draft.practitioner:
        performers.append(ref("Practitioner", draft.practitioner))
    if performers:
        data["performer"] = performers
    if draft.reasons:
        data["reasonCode"] = [_diagnosis(code) for code in draft.reasons]
    if draft.note.strip():
        data["note"] = [{"text": draft.note.strip()}]
    if draft.documents:
        data["supportingInfo"] = [{"reference": doc} for doc in draft.documents]
    return data


def _diagnosis(text: str) -> JSON:
    code = icd10.normalize_code(text)
    if code is None:
        raise Unprocessable(N_("'%(typed)s' is not an ICD-10 code"), typed=text[:20])
    return {"coding": [{"system": ICD10, "code": code, "display": icd10.display(code) or code}]}


def issue(tx: Tx, draft: Draft, *, now: datetime) -> StoredResource:
    data = build(draft, now=now)
    rules.check_content(tx, data)
    return tx.create(data).stored


def get(tx: Tx, referral_id: str, *, lock: bool = False) -> StoredResource:
    stored = tx.current("ServiceRequest", referral_id, for_update=lock)
    if stored is None or stored.deleted or not is_referral(stored.resource):
        raise NotFound(N_("ServiceRequest/%(referral_id)s is not a known referral"), referral_id=referral_id)
    return stored


def cancel(tx: Tx, referral_id: str, *, now: datetime) -> StoredResource:
    """The sender withdraws a referral nobody has used yet."""
    stored = get(tx, referral_id, lock=True)
    state = state_of(tx, stored, now=now)
    if state != ISSUED:
        raise Unprocessable(N_("Only an issued referral can be cancelled; this one is %(state)s"), state=Label(state))
    return _close(tx, stored.resource, CANCELLED)


def complete(tx: Tx, referral_id: str, *, now: datetime) -> StoredResource:
    """The receiving side has done what was asked; completing it again is using it twice (409)."""
    stored = get(tx, referral_id, lock=True)
    state = state_of(tx, stored, now=now)
    if state == COMPLETED:
        raise Conflict(
            N_("ServiceRequest/%(referral_id)s is already completed: a referral is used only once"),
            referral_id=referral_id,
        )
    if state not in (ISSUED, BOOKED):
        raise Unprocessable(N_("The referral is %(state)s"), state=Label(state))
    return tx.update({**stored.resource, "status": "completed"}).stored


def expire_due(tx: Tx, *, now: datetime) -> list[str]:
    """Write `expired` on every active referral whose validity ended before today (an unused one reads as expired
    even before this runs); returns their ids."""
    found = tx.search(
        "ServiceRequest",
        [("category", CATEGORY_TOKEN), ("status", "active"), ("occurrence", f"lt{now.date().isoformat()}"),
         ("_count", "1000")],
    )  # fmt: skip
    states = states_of(tx, found.matches, now=now)
    expired = [stored for stored in found.matches if states[stored.id] == EXPIRED]
    for stored in expired:
        _close(tx, stored.resource, EXPIRED)
    return [stored.id for stored in expired]


def _close(tx: Tx, data: JSON, reason: str) -> StoredResource:
    extensions = [e for e in data.get("extension") or [] if e.get("url") != CLOSED_EXTENSION]
    return tx.update(
        {**data, "status": "revoked", "extension": [*extensions, {"url": CLOSED_EXTENSION, "valueCode": reason}]}
    ).stored


# ---- hospital admission --------------------------------------------------------------------------------------


def take_for_admission(tx: Tx, referral_id: str, *, patient: str | None, organization: str, now: datetime) -> JSON:
    """The referral a hospital admits on, locked: for hospitalisation, to this hospital, still issued. An admission
    already made on it is using it twice (409)."""
    stored = get(tx, referral_id, lock=True)
    data = stored.resource
    if kind_of(data) != HOSPITALISATION:
        raise Unprocessable(
            N_("ServiceRequest/%(referral_id)s is not a referral for hospitalisation"), referral_id=referral_id
        )
    if patient is not None and ref_id(data.get("subject"), "Patient") != patient:
        raise Unprocessable(N_("ServiceRequest/%(referral_id)s is another patient's referral"), referral_id=referral_id)
    if rules.performer_organization(data) != organization:
        raise Unprocessable(
            N_("ServiceRequest/%(referral_id)s refers the patient to another institution"), referral_id=referral_id
        )
    state = state_of(tx, stored, now=now)
    if state in (BOOKED, COMPLETED):
        raise Conflict(
            N_("ServiceRequest/%(referral_id)s has already been used for an admission"), referral_id=referral_id
        )
    if state != ISSUED:
        raise Unprocessable(N_("The referral is %(state)s"), state=Label(state))
    return data


def close_on_discharge(tx: Tx, referral_id: str) -> None:
    stored = get(tx, referral_id, lock=True)
    if stored.resource.get("status") in rules.OPEN_STATUSES:
        tx.update({**stored.resource, "status": "completed"})


# ---- state ----------------------------------------------------------------------------------------------------


def state_of(tx: Tx, stored: StoredResource, *, now: datetime) -> str:
    return states_of(tx, [stored], now=now)[stored.id]


def states_of(tx: Tx, referrals: Iterable[StoredResource], *, now: datetime) -> dict[str, str]:
    """Each referral's lifecycle state: from its own status, the appointments booked on it and the admissions
    made on it."""
    referrals = list(referrals)
    ids = [stored.id for stored in referrals]
    appointments = _appointment_statuses(tx, ids)
    admitted = _admissions(tx, ids)
    today = now.date().isoformat()
    return {stored.id: _state(stored.resource, appointments.get(stored.id, set()), stored.id in admitted, today)
            for stored in referrals}  # fmt: skip


def _state(data: JSON, appointments: set[str], admitted: bool, today: str) -> str:
    status = data.get("status")
    if status == "revoked":
        return EXPIRED if closed_reason(data) == EXPIRED else CANCELLED
    if status in ("completed", "entered-in-error"):
        return COMPLETED if status == "completed" else CANCELLED
    if appointments & set(_SEEN):
        return COMPLETED
    if "booked" in appointments or admitted:
        return BOOKED
    end = str((data.get("occurrencePeriod") or {}).get("end") or "")[:10]
    return EXPIRED if end and end < today else ISSUED


def _appointment_statuses(tx: Tx, ids: list[str]) -> dict[str, set[str]]:
    if not ids:
        return {}
    a = sched_appointment
    rows = tx.execute(select(a.c.referral, a.c.status).where(a.c.partition == tx.region, a.c.referral.in_(ids)))
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.referral, set()).add(row.status)
    return found


def _admissions(tx: Tx, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    found = tx.search("Encounter", [("based-on", ",".join(f"ServiceRequest/{i}" for i in ids)), ("_count", "1000")])
    return {
        rid
        for encounter in found.matches
        for based in encounter.resource.get("basedOn") or []
        if (rid := ref_id(based, "ServiceRequest")) in ids
    }


# ---- lists ----------------------------------------------------------------------------------------------------


def _referrals(tx: Tx, params: list[tuple[str, str]], restrict: Restriction | None) -> list[StoredResource]:
    query = [("category", CATEGORY_TOKEN), *params, ("_sort", "-authored"), ("_count", "200")]
    matches: list[StoredResource] = tx.search("ServiceRequest", query, restrict=restrict).matches
    return matches


def sent_by(tx: Tx, *, practitioner: str, restrict: Restriction | None = None) -> list[StoredResource]:
    return _referrals(tx, [("requester", f"Practitioner/{practitioner}")], restrict)


def incoming_for(tx: Tx, *, organization: str, restrict: Restriction | None = None) -> list[StoredResource]:
    """The receiving organisation's worklist: referrals naming it that are still open."""
    return _referrals(tx, [("performer", f"Organization/{organization}"), ("status", "active")], restrict)


def of_patient(tx: Tx, *, patient: str, restrict: Restriction | None = None) -> list[StoredResource]:
    return _referrals(tx, [("subject", f"Patient/{patient}")], restrict)
