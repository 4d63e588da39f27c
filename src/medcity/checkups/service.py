"""The polyclinic's check-ups of the year: which attached adults are due a диспансеризация, which of them have had
it, and the invitations sent to the others; the patient's own check-up of the year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from medcity.checkups.rules import CHECKUP_CODES, DISPENSARY, PREVENTIVE, due_kind
from medcity.immunization.service import birth_of
from medcity.kit.i18n import N_, gettext
from medcity.registry.service import attached
from medcity.scheduling import notices
from medcity.scheduling.resources import ref_id
from medcity.store.repository import JSON, Restriction, StoredResource, Tx

ICD10 = "http://hl7.org/fhir/sid/icd-10"
INVITATION = "checkup"  # the notice's kind (medcity.scheduling.notices)
INVITATION_TEXTS = {
    DISPENSARY: N_("In %(year)s you are due your dispensary check-up (диспансеризация). It is free under your ОМС "
                   "policy: book your district doctor on the booking page or at the registry desk."),
    PREVENTIVE: N_("In %(year)s you are due your preventive medical examination. It is free under your ОМС "
                   "policy: book your district doctor on the booking page or at the registry desk."),
}  # fmt: skip
NOT_COUNTED = frozenset({"refuted", "entered-in-error"})
WORKLIST_ADULTS = 20000  # attached adults read for the worklist; a district's polyclinic has fewer
WORKLIST_ROWS = 200


@dataclass(frozen=True)
class Due:
    patient: StoredResource
    kind: str
    invited: bool


@dataclass(frozen=True)
class Coverage:
    """The year's диспансеризация of a polyclinic: how many attached adults are due it, how many had a check-up,
    and the first `WORKLIST_ROWS` of the others, the oldest first."""

    due: int
    done: int
    waiting: list[Due]


def checkup_day(condition: JSON, year: int) -> str | None:
    """The day in `year` of the check-up this Condition records (an ICD-10 Z00.0 or Z00.8 diagnosis not refuted),
    or None."""
    codings = (condition.get("code") or {}).get("coding") or []
    codes = {c.get("code") for c in codings if isinstance(c, dict) and c.get("system") == ICD10}
    verification = (condition.get("verificationStatus") or {}).get("coding") or [{}]
    day = str(condition.get("recordedDate") or "")[:10]
    if codes.isdisjoint(CHECKUP_CODES) or verification[0].get("code") in NOT_COUNTED or day[:4] != str(year):
        return None
    return day


def checkup_days(tx: Tx, year: int, restrict: Restriction | None) -> dict[str, str]:
    """Patient → the day of their first check-up in `year`, for the patients `restrict` lets the caller see."""
    params = [("code", ",".join(f"{ICD10}|{code}" for code in CHECKUP_CODES)),
              ("recorded-date", f"ge{year}-01-01"), ("recorded-date", f"lt{year + 1}-01-01"),
              ("_sort", "recorded-date"), ("_count", str(WORKLIST_ADULTS)), ("_total", "none")]  # fmt: skip
    found = tx.search("Condition", params, restrict=restrict, first_page_only=True, max_count=WORKLIST_ADULTS)
    days: dict[str, str] = {}
    for stored in found.matches:
        day = checkup_day(stored.resource, year)
        if stored.patient and day:
            days.setdefault(stored.patient, day)
    return days


def invited(tx: Tx, year: int, patients: list[str]) -> set[str]:
    """Which of `patients` were invited to this year's check-up."""
    return {p for p in patients if tx.current("Communication", invitation_id(p, year)) is not None}


def invitation_id(patient: str, year: int) -> str:
    """One invitation per patient and year: its id says which, so inviting again writes nothing."""
    return f"checkup-{year}-{patient}"[:64]


def coverage(tx: Tx, *, organization: str, today: date, restrict: Restriction | None) -> Coverage:
    adult_born_before = date(today.year - 17, 1, 1)  # 18 or more this year
    adults = attached(tx, organization=organization, birthdate=f"lt{adult_born_before.isoformat()}", restrict=restrict,
                      limit=WORKLIST_ADULTS)  # fmt: skip
    due = [(a, birth) for a in adults if (birth := birth_of(a.resource)) and due_kind(birth, today.year) == DISPENSARY]
    done = checkup_days(tx, today.year, restrict)
    waiting = sorted((a for a, _birth in due if a.id not in done), key=lambda a: (birth_of(a.resource), a.id))
    shown = waiting[:WORKLIST_ROWS]
    sent = invited(tx, today.year, [a.id for a in shown])
    return Coverage(due=len(due), done=len(due) - len(waiting),
                    waiting=[Due(a, DISPENSARY, a.id in sent) for a in shown])  # fmt: skip


def invite(tx: Tx, *, patient: StoredResource, year: int) -> bool:
    """Invite the patient to their check-up of `year`, once; False when they were invited already."""
    rid = invitation_id(patient.id, year)
    if tx.current("Communication", rid) is not None:
        return False
    birth = birth_of(patient.resource)
    kind = due_kind(birth, year) if birth else None
    if kind is None:
        return False
    lang = notices.language_of(tx, patient.id)
    text = gettext(INVITATION_TEXTS[kind], lang) % {"year": year}
    organization = ref_id(patient.resource.get("managingOrganization"), "Organization")
    sender = {"reference": f"Organization/{organization}"} if organization else None
    notices.prepare(tx, INVITATION, patient=patient.id, lang=lang, text=text, sender=sender,
                    about=[{"reference": f"Patient/{patient.id}"}], rid=rid)  # fmt: skip
    return True


def own_checkup(patient: JSON, resources: list[JSON], today: date) -> dict[str, str]:
    """The patient's check-up of this year, from their record as read (`resources`): its kind, and the day it was
    done ("" when not yet); empty for a child."""
    birth = birth_of(patient)
    kind = due_kind(birth, today.year) if birth else None
    if kind is None:
        return {}
    days = sorted(d for r in resources if r.get("resourceType") == "Condition" and (d := checkup_day(r, today.year)))
    return {"kind": kind, "done": days[0] if days else ""}
