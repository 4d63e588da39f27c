"""Notices to patients — about their bookings (booked, moved, cancelled, the day-before reminder, a waiting-list
offer) and from other workflows (results ready) — as FHIR Communication resources, sent through a pluggable channel.

A workflow writes its notice in its own transaction (status `preparation`), so a notice exists exactly when what
it tells about happened; `deliver_pending` hands prepared notices to the channel afterwards and marks them
`completed`. A notice a channel could not send stays prepared and is tried again on the next tick. Reminders
have an id made from the appointment's, so a reminder can never be written twice, however often the tick runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from medcity.kit.config import get_settings
from medcity.kit.i18n import N_, SUPPORTED_LANGUAGES, gettext
from medcity.kit.ids import new_id
from medcity.registry.catalogue import BASE
from medcity.scheduling.display import Names, specialty_name
from medcity.scheduling.resources import instant, ref
from medcity.scheduling.tables import sched_appointment
from medcity.store.repository import JSON, StoredResource, Tx

NOTICE_SYSTEM = f"{BASE}/CodeSystem/booking-notice"
REMIND_AHEAD = timedelta(hours=24)

TEXTS = {
    "booked": N_("You are booked to see %(doctor)s (%(specialty)s), %(place)s, on %(when)s. Appointment number "
                 "%(number)s."),
    "rescheduled": N_("Your appointment has been moved: %(doctor)s (%(specialty)s), %(place)s, on %(when)s. "
                      "Appointment number %(number)s."),
    "cancelled": N_("Your appointment with %(doctor)s (%(specialty)s) on %(when)s has been cancelled."),
    "closed": N_("The doctor cannot see you on %(when)s: your appointment with %(doctor)s (%(specialty)s) has "
                 "been cancelled. Please choose another time; we apologise."),
    "moved": N_("The doctor cannot see you at the time you booked: your appointment has been moved to %(when)s, "
                "%(doctor)s (%(specialty)s), %(place)s. You may cancel or reschedule it."),
    "reminder": N_("Reminder: you are booked to see %(doctor)s (%(specialty)s), %(place)s, on %(when)s. If you "
                   "cannot come, please cancel the appointment so that someone else can take the time."),
    "offer": N_("A time has become free for you: %(doctor)s (%(specialty)s), %(place)s, on %(when)s. It is held "
                "for you until %(until)s: take it or decline it on the My appointments page."),
}  # fmt: skip
# What staff read in the outbox for a notice's kind and state.
KIND_NAMES = {
    "booked": N_("Appointment booked"), "rescheduled": N_("Appointment rescheduled"),
    "cancelled": N_("Appointment cancelled"), "closed": N_("Cancelled: the doctor is away"),
    "moved": N_("Moved: the doctor is away"), "reminder": N_("Day-before reminder"),
    "offer": N_("Offer from the waiting list"), "results": N_("Results are ready"),
    "prescription": N_("New prescription"), "dispensed": N_("Prescription dispensed"),
    "dispense-annulled": N_("Dispense annulled"), "checkup": N_("Invitation to a check-up"),
}  # fmt: skip
STATE_NAMES = {"preparation": N_("To be sent"), "completed": N_("Sent to the patient")}


class Channel(Protocol):
    """Where notices go: SMS, e-mail, a push service. `send` raises when it could not send; the notice is then
    tried again on the next tick."""

    name: str

    def send(self, notice: JSON) -> None: ...


class OutboxChannel:
    """The demo channel: the stored Communication is itself the message, read by the patient on their notices
    page and by staff on the outbox page; there is nothing further to send."""

    name = "outbox"

    def send(self, notice: JSON) -> None:
        return None


def language_of(tx: Tx, patient: str) -> str:
    """The patient's preferred language (Patient.communication), when we speak it; else the region's."""
    stored = tx.current("Patient", patient)
    return preferred_language(stored.resource if stored is not None and not stored.deleted else {})


def preferred_language(data: JSON) -> str:
    """`language_of` for a Patient resource the caller has read already."""
    communication = data.get("communication") or []
    preferred = sorted(communication, key=lambda c: not c.get("preferred")) if isinstance(communication, list) else []
    for entry in preferred:
        for coding in (entry.get("language") or {}).get("coding") or []:
            code = str(coding.get("code", "")).split("-")[0].lower()
            if code in SUPPORTED_LANGUAGES:
                return code
    return get_settings().default_language


def notify(
    tx: Tx,
    kind: str,
    *,
    patient: str,
    about: tuple[str, str],
    slot: JSON,
    now: datetime,
    until: datetime | None = None,
    rid: str | None = None,
) -> str:
    """Write a prepared notice of `kind` to the patient about `about` (an Appointment, or the Slot offered);
    `slot` carries the role, organization, location, specialty and start the text tells about."""
    lang = language_of(tx, patient)
    names = Names(tx)
    values = {
        "doctor": names.of("PractitionerRole", slot["role"]),
        "specialty": specialty_name(slot["specialty"], lang),
        "place": names.of("Organization", slot["organization"]),
        "when": names.when(slot["start"]),
        "until": names.when(until) if until else "",
        "number": about[1],
    }
    return prepare(
        tx, kind, patient=patient, lang=lang, text=gettext(TEXTS[kind], lang) % values,
        sender=ref("Organization", slot["organization"]), about=[ref(*about)], rid=rid,
    ).id  # fmt: skip


def prepare(
    tx: Tx,
    kind: str,
    *,
    patient: str,
    lang: str,
    text: str,
    sender: JSON | None,
    about: list[JSON],
    rid: str | None = None,
    categories: tuple[JSON, ...] = (),
    reason: JSON | None = None,
) -> StoredResource:
    """Write a notice to the patient, prepared for the channel (any workflow's: a booking's, a result's): `text` is
    said in `lang` (see `language_of`); `categories` are added to the notice's own, `reason` is its reasonCode."""
    data: JSON = {
        "resourceType": "Communication",
        "language": lang,
        "status": "preparation",
        "category": [{"coding": [{"system": NOTICE_SYSTEM, "code": kind}]}, *categories],
        "subject": ref("Patient", patient),
        "recipient": [ref("Patient", patient)],
        "about": about,
        "payload": [{"contentString": text}],
    }
    if sender is not None:
        data["sender"] = sender
    if reason is not None:
        data["reasonCode"] = [reason]
    return tx.create(data, rid=rid or new_id(), trusted=True).stored


def notify_appointment(tx: Tx, kind: str, *, appointment: JSON, now: datetime, rid: str | None = None) -> str:
    """A notice about an appointment row (`sched_appointment` joined with its slot's location and end)."""
    return notify(
        tx, kind, patient=appointment["patient"], about=("Appointment", appointment["id"]), slot=appointment,
        now=now, rid=rid,
    )  # fmt: skip


def kind_of(notice: JSON) -> str | None:
    for category in notice.get("category") or []:
        for coding in category.get("coding") or []:
            if coding.get("system") == NOTICE_SYSTEM:
                return str(coding.get("code"))
    return None


def text_of(notice: JSON) -> str:
    return "\n".join(str(part.get("contentString", "")) for part in notice.get("payload") or [])


def remind(tx: Tx, *, now: datetime) -> int:
    """Write the day-before reminders of booked appointments starting within the next 24 hours that have none
    yet (and were booked earlier than that); returns how many were written. Idempotent: a reminder's id is
    `remind-<appointment>`."""
    a = sched_appointment
    due = tx.execute(
        select(a).where(
            a.c.partition == tx.region, a.c.status == "booked", a.c.start > now, a.c.start <= now + REMIND_AHEAD
        )
    ).all()
    written = 0
    for row in due:
        if row.start - row.requested <= REMIND_AHEAD:
            continue  # booked within the last day: the booking notice itself was the reminder
        rid = reminder_id(row.id)
        if tx.current("Communication", rid) is None:
            notify_appointment(tx, "reminder", appointment=dict(row._mapping), now=now, rid=rid)
            written += 1
    return written


def reminder_id(appointment_id: str) -> str:
    return f"remind-{appointment_id}"[:64]


def pending(tx: Tx, *, limit: int = 500) -> list[StoredResource]:
    found = tx.search("Communication", [("status", "preparation"), ("_sort", "_lastUpdated"), ("_count", str(limit))])
    return [notice for notice in found.matches if kind_of(notice.resource) is not None]


def mark_sent(tx: Tx, notice_id: str, *, channel: str, now: datetime) -> None:
    current = tx.current("Communication", notice_id, for_update=True)
    if current is None or current.resource.get("status") != "preparation":
        return  # another tick got there first
    medium = [{"coding": [{"system": f"{BASE}/CodeSystem/notice-channel", "code": channel}]}]
    tx.update({**current.resource, "status": "completed", "sent": instant(now), "medium": medium})


def notices_of(tx: Tx, *, patient: str, count: int = 50) -> list[StoredResource]:
    """The patient's notices, newest first."""
    found = tx.search(
        "Communication", [("subject", f"Patient/{patient}"), ("_sort", "-_lastUpdated"), ("_count", str(count))]
    )
    return [notice for notice in found.matches if kind_of(notice.resource) is not None]


def outbox_of(tx: Tx, *, organization: str, count: int = 100) -> list[StoredResource]:
    """What an organisation has sent or is about to send, newest first."""
    found = tx.search(
        "Communication",
        [("sender", f"Organization/{organization}"), ("_sort", "-_lastUpdated"), ("_count", str(count))],
    )
    return [notice for notice in found.matches if kind_of(notice.resource) is not None]
