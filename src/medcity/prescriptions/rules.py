"""What every prescription and every dispense must be, whichever door it comes through (the doctor's and the
pharmacy's pages, a plain FHIR write, a bundle entry).

A prescription (MedicationRequest with a prescription number) is never dispensed beyond what it prescribes: a
completed MedicationDispense naming it in `authorizingPrescription` locks the prescription's row, checks it is
still active, unexpired and of the same patient, and that its quantity is at most what the prescription's earlier
dispenses left; the dispense that hands over the rest sets the prescription `completed` in its own transaction.
A prescription may so be handed over in parts, at any pharmacies (a course collected month by month, a pharmacy
short of stock). The row lock (PostgreSQL's `SELECT ... FOR UPDATE`; SQLite's writers are serialised from
`BEGIN IMMEDIATE`) makes the second of two pharmacies dispensing at the same moment wait and then find the
prescription completed (409), or less left than it asks (422).
"""

from __future__ import annotations

import math
import secrets
from datetime import date, datetime, timedelta

from medcity.kit.errors import Conflict, Unprocessable
from medcity.kit.i18n import N_, gettext
from medcity.kit.instants import shown_day
from medcity.prescriptions.medicines import medicine_name
from medcity.registry.catalogue import BASE
from medcity.registry.identifiers import luhn_control
from medcity.registry.regions import region_of
from medcity.scheduling import notices
from medcity.scheduling.resources import ref_id
from medcity.scheduling.rules import rules_for
from medcity.store.repository import JSON, StoredResource, Tx

NUMBER_SYSTEM = f"{BASE}/sid/prescription"
# The states a prescription reads as, on every page.
ACTIVE, DISPENSED, EXPIRED, CANCELLED = "active", "dispensed", "expired", "cancelled"
# MedicationRequest statuses after which nothing is dispensed on it any more.
WITHDRAWN = frozenset({"cancelled", "stopped", "entered-in-error"})
CLOSED = WITHDRAWN | {"completed"}
# The patient's notice when a prescription is handed over (a kind of `medcity.scheduling.notices`).
DISPENSED_NOTICE = "dispensed"
DISPENSED_TEXT = N_("Prescription %(number)s (%(medicine)s) was dispensed on %(day)s at %(pharmacy)s. If you did "
                    "not collect it and asked nobody to, tell your polyclinic.")  # fmt: skip
DISPENSED_PART_TEXT = N_("Part of prescription %(number)s (%(medicine)s), %(given)s of %(prescribed)s, was dispensed "
                         "on %(day)s at %(pharmacy)s; the other %(left)s can be collected at any pharmacy until "
                         "%(until)s. If you did not collect it and asked nobody to, tell your polyclinic.")  # fmt: skip
# What a handed-over dispense keeps: changing it would hand over something else than what was given.
_HANDED_OVER_FIELDS = ("status", "subject", "authorizingPrescription", "quantity", "medicationCodeableConcept")
ANNULLED = "entered-in-error"
ANNULLED_NOTICE = "dispense-annulled"
_ANNUL_FIELDS = ("statusReasonCodeableConcept", "whenHandedOver")
ALREADY_ANNULLED = N_("This dispense was already annulled")
ANNULLED_TEXT = N_("The dispense of prescription %(number)s (%(medicine)s) on %(day)s at %(pharmacy)s was annulled: "
                   "%(reason)s. The prescription can be dispensed again until %(until)s.")  # fmt: skip


def annul_hours(region: str) -> int:
    """How long after handing it over a pharmacy of `region` may annul a dispense given by mistake (the wrong
    patient, the wrong medicine); its prescription is then valid again."""
    return region_of(region).prescriptions.annul_hours


def local_today(region: str, now: datetime) -> date:
    """The region's own date at `now` (aware UTC): a prescription valid until the 5th is dispensed all the 5th."""
    return now.astimezone(rules_for(region).timezone).date()


def day_text(text: str, region: str) -> str:
    """A FHIR date or instant as the pages and messages say it: dd.mm.yyyy, an instant on the region's own day."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if len(text) > 10 else None
    except ValueError:
        moment = None
    return shown_day(local_today(region, moment).isoformat() if moment and moment.tzinfo else text)


def new_number() -> str:
    """Twelve digits, the last a Luhn check digit, so that a mistyped digit at the pharmacy counter is caught."""
    body = f"{secrets.randbelow(10**11):011d}"
    return body + str(luhn_control(body))


def clean_number(text: str) -> str:
    """The number as typed (grouped by spaces or dashes) in its stored form."""
    return "".join(ch for ch in text if ch.isalnum())[:32]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def number_of(data: JSON) -> str | None:
    for identifier in _list(data.get("identifier")):
        if isinstance(identifier, dict) and identifier.get("system") == NUMBER_SYSTEM:
            value = identifier.get("value")
            return value if isinstance(value, str) else None
    return None


def part(data: object, *path: str) -> object:
    """`data[path...]`, or None where a step is missing or not an object: the rules read a client's body before
    it is validated, and a malformed one is the validator's to refuse (400), never a crash here."""
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def valid_until(data: JSON) -> str:
    return str(part(data, "dispenseRequest", "validityPeriod", "end") or "")[:10]


def prescribed_quantity(data: JSON) -> float | None:
    value = part(data, "dispenseRequest", "quantity", "value")
    return float(value) if isinstance(value, int | float) else None


def state_of(data: JSON, today: date) -> str:
    status = data.get("status")
    if status == "completed":
        return DISPENSED
    if status in WITHDRAWN:
        return CANCELLED
    until = valid_until(data)
    return EXPIRED if until and until < today.isoformat() else ACTIVE


# ---- dispensing ------------------------------------------------------------------------------------------------


def completed_dispenses(tx: Tx, prescription: str) -> list[StoredResource]:
    """The dispenses that handed a prescription over (in parts, or whole), the latest first."""
    found: list[StoredResource] = tx.search(
        "MedicationDispense",
        [("prescription", f"MedicationRequest/{prescription}"), ("status", "completed"),
         ("_sort", "-whenhandedover,-_lastUpdated"), ("_count", "1000")],
    ).matches  # fmt: skip
    return found


def handed_over(dispenses: list[JSON]) -> float:
    """How much these dispenses handed over; one that states no quantity handed over all there was."""
    total = 0.0
    for dispense in dispenses:
        value = part(dispense, "quantity", "value")
        if not isinstance(value, int | float):
            return math.inf
        total += float(value)
    return total


def left_of(data: JSON, dispenses: list[JSON]) -> float | None:
    """What a prescription still allows after these dispenses of it; None when it prescribes no quantity."""
    prescribed = prescribed_quantity(data)
    return None if prescribed is None else max(prescribed - handed_over(dispenses), 0.0)


def pharmacy_of(dispense: JSON) -> str | None:
    found = [o for p in dispense.get("performer") or [] if (o := ref_id((p or {}).get("actor"), "Organization"))]
    return found[0] if found else None


def _pharmacy_name(tx: Tx, dispense: JSON) -> str:
    pharmacy = pharmacy_of(dispense)
    found = tx.current("Organization", pharmacy) if pharmacy else None
    return str(found.resource.get("name") or pharmacy) if found is not None and not found.deleted else "—"


def already_dispensed(tx: Tx, stored: StoredResource, number: str) -> Conflict:
    dispenses = completed_dispenses(tx, stored.id)
    data = dispenses[0].resource if dispenses else {}
    when = day_text(str(data.get("whenHandedOver") or stored.last_updated), tx.region)
    name = _pharmacy_name(tx, data)
    return Conflict(
        N_("Prescription %(number)s was already dispensed on %(date)s at %(pharmacy)s"),
        number=number, date=when, pharmacy=name,
    )  # fmt: skip


def take(
    tx: Tx, prescription: str, *, patient: str | None, quantity: float | None, now: datetime
) -> tuple[JSON, float | None]:
    """Lock the prescription a dispense is authorised by and check it may be dispensed now, to this patient, in
    this quantity; returns the prescription as it stands under the lock, and what its earlier dispenses left."""
    stored = tx.current("MedicationRequest", prescription, for_update=True)
    if stored is None or stored.deleted:
        raise Unprocessable(N_("MedicationRequest/%(id)s is not a known prescription"), id=prescription[:64])
    data = stored.resource
    number = number_of(data) or stored.id
    if patient is None or ref_id(data.get("subject"), "Patient") != patient:
        raise Unprocessable(N_("A dispense is for the patient of its prescription (subject)"))
    if data.get("status") == "completed":
        raise already_dispensed(tx, stored, number)
    if data.get("status") in WITHDRAWN:
        raise Unprocessable(N_("Prescription %(number)s was cancelled by the doctor"), number=number)
    if data.get("status") != "active":
        raise Unprocessable(N_("Prescription %(number)s is not active"), number=number)
    until = valid_until(data)
    if until and until < local_today(tx.region, now).isoformat():
        raise Unprocessable(
            N_("Prescription %(number)s expired on %(date)s"), number=number, date=day_text(until, tx.region)
        )
    if quantity is not None and quantity <= 0:
        raise Unprocessable(N_("A dispensed quantity is more than zero"))
    prescribed = prescribed_quantity(data)
    # Read under the lock: a dispense another pharmacy committed meanwhile is counted.
    left = left_of(data, [d.resource for d in completed_dispenses(tx, stored.id)])
    if quantity is not None and prescribed is not None and left is not None and quantity > left:
        if left < prescribed:
            raise Unprocessable(
                N_("%(asked)s is more than the %(left)s left of the %(prescribed)s prescribed"),
                asked=_count(quantity), left=_count(left), prescribed=_count(prescribed),
            )  # fmt: skip
        raise Unprocessable(
            N_("%(asked)s is more than the %(prescribed)s prescribed"),
            asked=_count(quantity),
            prescribed=_count(prescribed),
        )
    return data, left


def _count(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _prescriptions(data: JSON) -> list[str]:
    return [rid for p in _list(data.get("authorizingPrescription")) if (rid := ref_id(p, "MedicationRequest"))]


def check_dispense(tx: Tx, data: JSON, *, now: datetime) -> JSON:
    """The rule on every MedicationDispense write (registered in `medcity.prescriptions.api`): a newly completed
    dispense takes its prescription (`take`) and completes it; a handed-over dispense is not changed, except to
    annul it (`_annul`); an annulled one is not written again at all."""
    rid = data.get("id")
    stored = tx.current("MedicationDispense", rid) if isinstance(rid, str) else None
    previous = stored.resource if stored is not None and not stored.deleted else None
    if previous is not None and previous.get("status") in ("completed", ANNULLED):
        annulled = previous.get("status") == ANNULLED
        fields = (*_HANDED_OVER_FIELDS, *(_ANNUL_FIELDS if annulled else ()))
        changed = [f for f in fields if previous.get(f) != data.get(f)]
        if changed == ["status"] and not annulled and data.get("status") == ANNULLED:
            return _annul(tx, previous, data, now=now)
        if annulled and data.get("status") == ANNULLED:
            raise Conflict(ALREADY_ANNULLED)  # annulling again, even with the same words, is not a second annulment
        if annulled and changed:
            raise Unprocessable(N_("An annulled dispense cannot be changed"))
        if changed:
            raise Unprocessable(N_("A handed-over dispense cannot be changed (%(fields)s)"), fields=", ".join(changed))
        return data
    prescriptions = _prescriptions(data)
    if len(prescriptions) > 1:
        raise Unprocessable(N_("A dispense is authorised by one prescription here"))
    if data.get("status") != "completed" or not prescriptions:
        return data
    value = part(data, "quantity", "value")
    given = float(value) if isinstance(value, int | float) else None
    prescription, left = take(
        tx, prescriptions[0], patient=ref_id(data.get("subject"), "Patient"), quantity=given, now=now
    )
    rest = left - given if left is not None and given is not None else 0.0
    if rest <= 0:
        tx.update({**prescription, "status": "completed"})
    _tell_dispensed(tx, prescription, data, given=given, rest=rest, now=now)
    return data


def annullable(dispense: JSON, region: str, now: datetime) -> bool:
    """Whether its pharmacy may still annul this dispense: handed over (completed), at a time it states with its
    zone, no longer ago than the region's `annul_hours`."""
    handed = str(dispense.get("whenHandedOver") or "")
    try:
        moment = datetime.fromisoformat(handed.replace("Z", "+00:00"))
    except ValueError:
        return False
    return (dispense.get("status") == "completed" and moment.tzinfo is not None
            and now - moment <= timedelta(hours=annul_hours(region)))  # fmt: skip


def _annul(tx: Tx, previous: JSON, data: JSON, *, now: datetime) -> JSON:
    """A dispense handed over by mistake, annulled by its pharmacy with a reason within `annul_hours`: its
    prescription is active again (under the prescription's row lock, as a dispense takes it) and the patient told."""
    reason = str(part(data, "statusReasonCodeableConcept", "text") or "").strip()
    if not reason:
        raise Unprocessable(N_("Say why the dispense is annulled"))
    if not annullable(previous, tx.region, now):
        handed = str(previous.get("whenHandedOver") or "")
        raise Unprocessable(
            N_("A dispense is annulled within %(hours)s hours of handing it over; this one was on %(date)s"),
            hours=annul_hours(tx.region), date=day_text(handed, tx.region) if handed else "—",
        )  # fmt: skip
    prescriptions = _prescriptions(previous)
    locked = tx.current("MedicationRequest", prescriptions[0], for_update=True) if prescriptions else None
    # Read again under the lock, past the transaction's memo: another annulment may have committed meanwhile.
    current = tx.current("MedicationDispense", str(data.get("id")), for_update=True)
    if current is None or current.resource.get("status") != "completed":
        raise Conflict(ALREADY_ANNULLED)
    # The prescription allows again what the dispense handed over: whole again after its only dispense, or more
    # left of a course collected in parts. A prescription the doctor cancelled meanwhile stays cancelled.
    if locked is not None and not locked.deleted and locked.resource.get("status") in ("completed", "active"):
        prescription = locked.resource
        if prescription.get("status") == "completed":
            prescription = {**prescription, "status": "active"}
            tx.update(prescription)
        _tell_annulled(tx, prescription, previous, reason, now=now)
    return data


def _tell_dispensed(
    tx: Tx, prescription: JSON, dispense: JSON, *, given: float | None, rest: float, now: datetime
) -> None:
    """The patient's notice that their prescription was handed over (in part: how much, and how much is left), and
    where: one they did not collect themselves (a relative did, or someone who should not have) is noticed at once."""
    patient = ref_id(prescription.get("subject"), "Patient") or ""
    lang = notices.language_of(tx, patient)
    values = {
        "number": number_of(prescription) or str(prescription.get("id")),
        "medicine": medicine_name(prescription.get("medicationCodeableConcept"), lang),
        "day": day_text(str(dispense.get("whenHandedOver") or now.isoformat()), tx.region),
        "pharmacy": _pharmacy_name(tx, dispense),
    }
    text = DISPENSED_TEXT
    if rest > 0 and given is not None:
        until = valid_until(prescription)
        values |= {"given": _count(given), "left": _count(rest), "until": day_text(until, tx.region) if until else "—",
                   "prescribed": _count(prescribed_quantity(prescription) or given + rest)}  # fmt: skip
        text = DISPENSED_PART_TEXT
    notices.prepare(
        tx, DISPENSED_NOTICE, patient=patient, lang=lang, text=gettext(text, lang) % values,
        sender=None, about=[{"reference": f"MedicationRequest/{prescription.get('id')}"}],
    )  # fmt: skip


def _tell_annulled(tx: Tx, prescription: JSON, dispense: JSON, reason: str, *, now: datetime) -> None:
    patient = ref_id(prescription.get("subject"), "Patient") or ""
    lang = notices.language_of(tx, patient)
    until = valid_until(prescription)
    values = {
        "number": number_of(prescription) or str(prescription.get("id")),
        "medicine": medicine_name(prescription.get("medicationCodeableConcept"), lang),
        "day": day_text(str(dispense.get("whenHandedOver") or now.isoformat()), tx.region),
        "pharmacy": _pharmacy_name(tx, dispense), "reason": reason[:200],
        "until": day_text(until, tx.region) if until else "—",
    }  # fmt: skip
    notices.prepare(
        tx, ANNULLED_NOTICE, patient=patient, lang=lang, text=gettext(ANNULLED_TEXT, lang) % values,
        sender=None, about=[{"reference": f"MedicationRequest/{prescription.get('id')}"}],
    )  # fmt: skip


# ---- prescriptions ---------------------------------------------------------------------------------------------


def check_prescription(tx: Tx, data: JSON) -> JSON:
    """The rule on every MedicationRequest write (registered in `medcity.prescriptions.api`): an active order gets
    a prescription number when it has none (any pharmacy finds it by that); a dispensed or cancelled prescription
    stays so (409), and only dispensing completes one."""
    rid = data.get("id")
    found = tx.current("MedicationRequest", rid) if isinstance(rid, str) else None
    stored = found if found is not None and not found.deleted else None
    if stored is not None:
        _check_change(tx, stored, data)
    elif data.get("status") == "active" and data.get("intent") == "order" and number_of(data) is None:
        data = {**data, "identifier": [*_list(data.get("identifier")), unique_number(tx)]}
    quantity = prescribed_quantity(data)
    if quantity is not None and quantity <= 0:
        raise Unprocessable(N_("A prescribed quantity is more than zero"))
    start, end = part(data, "dispenseRequest", "validityPeriod", "start"), valid_until(data)
    if start and end and end < str(start)[:10]:
        raise Unprocessable(N_("A prescription's validity period ends before it starts"))
    return data


def _check_change(tx: Tx, previous: StoredResource, data: JSON) -> None:
    before = previous.resource
    if ref_id(before.get("subject"), "Patient") != ref_id(data.get("subject"), "Patient"):
        raise Unprocessable(N_("A prescription's patient cannot be changed; cancel it and write a new one"))
    number = number_of(before)
    if number != number_of(data):
        raise Unprocessable(N_("A prescription's number cannot be changed"))
    old, new = before.get("status"), data.get("status")
    if old in CLOSED and new != old:
        raise closed(tx, previous)
    if new == "completed" and old != "completed":
        raise Unprocessable(N_("A prescription is completed by dispensing it (a MedicationDispense)"))


def closed(tx: Tx, prescription: StoredResource) -> Conflict:
    """The refusal to change a dispensed or cancelled prescription."""
    number = number_of(prescription.resource) or prescription.id
    if prescription.resource.get("status") == "completed":
        return already_dispensed(tx, prescription, number)
    return Conflict(N_("Prescription %(number)s was cancelled by the doctor"), number=number)


def unique_number(tx: Tx) -> JSON:
    """A prescription number no prescription of the region holds yet."""
    for _attempt in range(5):
        number = new_number()
        if not tx.search("MedicationRequest", [("identifier", f"{NUMBER_SYSTEM}|{number}"), ("_count", "1")]).matches:
            return {"system": NUMBER_SYSTEM, "value": number}
    raise Conflict(N_("No free prescription number was found; try again"))  # 10^11 numbers: not in practice
