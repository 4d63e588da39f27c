"""Prescription workflows: a doctor prescribes (a MedicationRequest with a prescription number, the patient told in
their language) and may cancel it before it is dispensed; a pharmacy finds it by its number and the patient's
identifier and dispenses it once (a MedicationDispense; the rules in `medcity.prescriptions.rules` complete the
prescription in the same transaction).

Every function takes the caller's `Tx`, so a workflow is one transaction, and every write passes the same write
rules as a FHIR write (`medcity.kit.hooks.apply_write_rules`), so a page cannot store what the API would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from medcity.kit.errors import InvalidRequest, NotFound, Unprocessable
from medcity.kit.hooks import apply_write_rules
from medcity.kit.i18n import N_, gettext
from medcity.prescriptions import rules
from medcity.prescriptions.medicines import medicine_name, medicines
from medcity.registry.identifiers import OMS_SYSTEM, PASSPORT_SYSTEM, SNILS_SYSTEM, normalise_identifier
from medcity.registry.regions import region_of
from medcity.scheduling import notices
from medcity.scheduling.resources import ref, ref_id
from medcity.store.repository import JSON, Restriction, StoredResource, Tx
from medcity.store.search import SearchResult
from medcity.terminology import service as icd10

ICD10 = "http://hl7.org/fhir/sid/icd-10"
# The patient's identifiers a pharmacy may ask for, in the order the form offers them.
PATIENT_SYSTEMS = (SNILS_SYSTEM, OMS_SYSTEM, PASSPORT_SYSTEM)
# The notice's kind among the patient's notices (`medcity.scheduling.notices`).
NOTICE_KIND = "prescription"
NOTICE_TEXT = N_("New prescription %(number)s: %(medicine)s. %(dosage)s. Valid until %(until)s; any pharmacy "
                 "dispenses it on your SNILS or OMS policy number.")  # fmt: skip
MAX_QUANTITY = 1000


@dataclass(frozen=True)
class Draft:
    """A prescription as the doctor fills it in."""

    patient: str
    medicine: str  # ATC code of the catalogue
    dosage: str
    quantity: int  # units of the medicine's form: tablets, capsules, inhalers
    requester: str | None = None  # Practitioner id
    organization: str | None = None  # where the doctor prescribes: the record shows it (as the recorder's role)
    encounter: str | None = None
    reason: str | None = None  # ICD-10 code


def build(draft: Draft, *, region: str, now: datetime) -> JSON:
    """The MedicationRequest for a draft; its number is given by the write rule when it is stored."""
    medicine = medicines().get(draft.medicine)
    if medicine is None:
        raise Unprocessable(N_("'%(typed)s' is not a medicine of the catalogue"), typed=draft.medicine[:20])
    dosage = draft.dosage.strip()
    if not dosage:
        raise Unprocessable(N_("Write how the patient takes the medicine"))
    if not 0 < draft.quantity <= MAX_QUANTITY:
        raise Unprocessable(N_("The quantity is from 1 to %(most)s"), most=MAX_QUANTITY)
    today = rules.local_today(region, now)
    data: JSON = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": medicine.concept(),
        "subject": ref("Patient", draft.patient),
        "authoredOn": now.astimezone(UTC).isoformat(timespec="seconds"),
        "dosageInstruction": [{"text": dosage}],
        "dispenseRequest": {
            "validityPeriod": {
                "start": today.isoformat(),
                "end": (today + timedelta(days=region_of(region).prescriptions.validity_days)).isoformat(),
            },
            "quantity": {"value": draft.quantity, "unit": medicine.unit["en"]},
        },
    }
    if draft.requester:
        data["requester"] = ref("Practitioner", draft.requester)
    if draft.encounter:
        data["encounter"] = ref("Encounter", draft.encounter)
    if draft.reason and draft.reason.strip():
        code = icd10.normalize_code(draft.reason)
        if code is None:
            raise Unprocessable(N_("'%(typed)s' is not an ICD-10 code"), typed=draft.reason[:20])
        data["reasonCode"] = [{"coding": [{"system": ICD10, "code": code, "display": icd10.display(code) or code}]}]
    return data


def _known(tx: Tx, rtype: str, rid: str | None) -> bool:
    stored = tx.current(rtype, rid) if rid else None
    return stored is not None and not stored.deleted


def prescribe(tx: Tx, draft: Draft, *, now: datetime) -> StoredResource:
    """Write the prescription and the patient's notice of it."""
    data = build(draft, region=tx.region, now=now)
    if not _known(tx, "Patient", draft.patient):
        raise Unprocessable(N_("The patient %(id)s is not known"), id=draft.patient[:64])
    if draft.encounter and not _known(tx, "Encounter", draft.encounter):
        raise Unprocessable(N_("The visit %(id)s is not known"), id=draft.encounter[:64])
    role = _role_of(tx, draft.requester, draft.organization)
    if role is not None:
        data["recorder"] = ref("PractitionerRole", role)
    stored = tx.create(apply_write_rules(tx, data)).stored
    _tell_patient(tx, stored.resource, stored.id)
    return stored


def _role_of(tx: Tx, practitioner: str | None, organization: str | None) -> str | None:
    """The prescriber's PractitionerRole at the organisation they prescribe for: the record names the institution
    behind a prescription through it."""
    if not practitioner or not organization:
        return None
    params = [("practitioner", f"Practitioner/{practitioner}"), ("organization", f"Organization/{organization}"),
              ("_count", "1")]  # fmt: skip
    found = tx.search("PractitionerRole", params).matches
    return found[0].id if found else None


def _tell_patient(tx: Tx, data: JSON, rid: str) -> None:
    patient = ref_id(data.get("subject"), "Patient") or ""
    lang = notices.language_of(tx, patient)
    values = {
        "number": rules.number_of(data) or rid,
        "medicine": medicine_name(data.get("medicationCodeableConcept"), lang),
        "dosage": str((data.get("dosageInstruction") or [{}])[0].get("text") or ""),
        "until": rules.day_text(rules.valid_until(data), tx.region),
    }
    notices.prepare(
        tx, NOTICE_KIND, patient=patient, lang=lang, text=gettext(NOTICE_TEXT, lang) % values,
        sender=data.get("requester"), about=[ref("MedicationRequest", rid)],
    )  # fmt: skip


def get(tx: Tx, prescription: str, *, lock: bool = False) -> StoredResource:
    stored = tx.current("MedicationRequest", prescription, for_update=lock)
    if stored is None or stored.deleted or rules.number_of(stored.resource) is None:
        raise NotFound(N_("MedicationRequest/%(id)s is not a known prescription"), id=prescription[:64])
    return stored


def cancel(tx: Tx, prescription: str, *, now: datetime) -> StoredResource:
    """The doctor withdraws a prescription no pharmacy has dispensed yet."""
    stored = get(tx, prescription, lock=True)
    if stored.resource.get("status") in rules.CLOSED:
        raise rules.closed(tx, stored)
    return tx.update(apply_write_rules(tx, {**stored.resource, "status": "cancelled"})).stored


# ---- the pharmacy ----------------------------------------------------------------------------------------------


def lookup(tx: Tx, *, number: str, system: str, value: str) -> SearchResult:
    """The prescriptions with this number written for the patient with this identifier: at most one, and none
    alike for an unknown number and for another patient's identifier, so that the answer tells nothing about
    either. The number may be typed grouped, as the form prints it; the identifier as the patient says it."""
    if system not in PATIENT_SYSTEMS:
        raise InvalidRequest(N_("Choose the kind of the patient's identifier"))
    person = normalise_identifier(system, value)
    return tx.search(
        "MedicationRequest",
        [("identifier", f"{rules.NUMBER_SYSTEM}|{rules.clean_number(number)}"),
         ("patient.identifier", f"{system}|{person}"), ("_count", "2")],
    )  # fmt: skip


def find(tx: Tx, *, number: str, system: str, value: str) -> StoredResource:
    """The one prescription `lookup` finds, or a NotFound that names the number as typed."""
    found = lookup(tx, number=number, system=system, value=value).matches
    if len(found) != 1:
        raise NotFound(
            N_("No prescription %(number)s was found for this patient"), number=rules.clean_number(number) or "—"
        )
    return found[0]


def dispense_body(
    tx: Tx,
    prescription: StoredResource,
    *,
    pharmacy: str,
    pharmacist: str | None,
    quantity: int | None,
    now: datetime,
) -> JSON:
    """The MedicationDispense a pharmacy hands the prescription over with: all its earlier dispenses left unless
    `quantity` says less (the write rules check it again under the prescription's lock)."""
    data = prescription.resource
    left = rules.left_of(data, [d.resource for d in rules.completed_dispenses(tx, prescription.id)])
    prescribed = (data.get("dispenseRequest") or {}).get("quantity") or {}
    performers = [{"actor": ref("Organization", pharmacy)}]
    if pharmacist:
        performers.append({"actor": ref("Practitioner", pharmacist)})
    body: JSON = {
        "resourceType": "MedicationDispense",
        "status": "completed",
        "medicationCodeableConcept": data.get("medicationCodeableConcept"),
        "subject": data.get("subject"),
        "performer": performers,
        "authorizingPrescription": [ref("MedicationRequest", prescription.id)],
        "whenHandedOver": now.astimezone(UTC).isoformat(timespec="seconds"),
    }
    if quantity is not None or left is not None:
        body["quantity"] = {**prescribed, "value": quantity if quantity is not None else _whole(left or 0.0)}
    if data.get("dosageInstruction"):
        body["dosageInstruction"] = data["dosageInstruction"]
    return body


def _whole(value: float) -> int | float:
    return int(value) if value == int(value) else value


def dispense(tx: Tx, body: JSON) -> StoredResource:
    """Hand over: the write rules take the prescription under its row lock, never beyond what it prescribes, and
    complete it when nothing is left."""
    return tx.create(apply_write_rules(tx, body)).stored


# ---- lists -----------------------------------------------------------------------------------------------------


def of_patient(tx: Tx, *, patient: str, restrict: Restriction | None) -> list[StoredResource]:
    """The patient's prescriptions (MedicationRequests with a number), newest first."""
    found = tx.search(
        "MedicationRequest", [("subject", f"Patient/{patient}"), ("_sort", "-authoredon"), ("_count", "200")],
        restrict=restrict,
    ).matches  # fmt: skip
    return [stored for stored in found if rules.number_of(stored.resource) is not None]


def dispenses_of(tx: Tx, prescriptions: list[str], *, restrict: Restriction | None) -> dict[str, list[JSON]]:
    """The completed dispenses of each of these prescriptions that has any, the latest first."""
    if not prescriptions:
        return {}
    found = tx.search(
        "MedicationDispense",
        [("prescription", ",".join(f"MedicationRequest/{p}" for p in prescriptions)), ("status", "completed"),
         ("_sort", "-whenhandedover,-_lastUpdated"), ("_count", "1000")],
        restrict=restrict,
    ).matches  # fmt: skip
    by_prescription: dict[str, list[JSON]] = {}
    for stored in found:
        for p in stored.resource.get("authorizingPrescription") or []:
            if rid := ref_id(p, "MedicationRequest"):
                by_prescription.setdefault(rid, []).append(stored.resource)
    return by_prescription


def dispensed_by(tx: Tx, *, pharmacy: str, restrict: Restriction | None, count: int = 20) -> list[StoredResource]:
    """The pharmacy's latest dispenses."""
    found: list[StoredResource] = tx.search(
        "MedicationDispense",
        [("performer", f"Organization/{pharmacy}"), ("_sort", "-whenhandedover"), ("_count", str(count))],
        restrict=restrict,
    ).matches
    return found


def get_dispense(tx: Tx, dispense: str) -> StoredResource:
    stored = tx.current("MedicationDispense", dispense)
    if stored is None or stored.deleted:
        raise NotFound(N_("MedicationDispense/%(id)s is not known"), id=dispense[:64])
    return stored


def annul(tx: Tx, dispense: str, *, reason: str) -> StoredResource:
    """The pharmacy takes back a dispense handed over by mistake: the write rules check the reason and the time and
    make its prescription valid again (the time as the rules' clock says, as on every door)."""
    stored = get_dispense(tx, dispense)
    body = {**stored.resource, "status": rules.ANNULLED, "statusReasonCodeableConcept": {"text": reason.strip()}}
    return tx.update(apply_write_rules(tx, body)).stored
