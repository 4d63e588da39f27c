"""Visit workflows, each a keyword-only function over one store transaction (`Tx`).

The doctor's day comes from the Appointments of their PractitionerRoles; opening one starts the visit, an
Encounter in progress. The protocol is kept as a draft (a QuestionnaireResponse in progress) until it is signed;
signing writes everything at once — the finished Encounter, the diagnoses (Conditions), the vital signs
(Observations) and the protocol document (a Composition, final) — in the caller's one transaction, after every
check has passed, so a refusal leaves nothing behind. A signed protocol is locked: it changes only by a correction,
which makes a new version of the Composition (status amended) with a Provenance record saying who and why; the
earlier versions stay readable in the history.

Ids of the draft and the protocol are derived from the Encounter's, so that one visit has exactly one of each
even when two signings race (the second one finds the visit finished, or fails on the key)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from medcity.ai import service as ai
from medcity.ai import tables as ai_feedback
from medcity.ai.service import Suggestion
from medcity.kit.errors import NotFound, PreconditionFailed
from medcity.kit.i18n import N_, Label
from medcity.kit.ids import is_valid_id, new_id
from medcity.registry.catalogue import SPECIALTIES, specialty_concept
from medcity.scheduling import service as scheduling
from medcity.scheduling.resources import ref, ref_id
from medcity.scheduling.rules import rules_for
from medcity.store.repository import StoredResource, Tx
from medcity.store.values import now_instant
from medcity.terminology import service as terminology
from medcity.terminology.catalogue import SYSTEM_URL as ICD10
from medcity.visits import protocol, smoking, vitals
from medcity.visits.rules import conflict, diagnosis_code, forbidden, unprocessable

JSON = dict[str, Any]
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
PROVENANCE_ACTIVITY = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
MAX_DIAGNOSES = 5
DAY_LIST_MAX = 200


# ---- the day ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    appointment: str
    start: datetime  # local time of the region
    patient: str
    status: str  # booked | arrived | in-progress | fulfilled | noshow
    encounter: str | None


def day_bounds(region: str, day: date | None = None) -> tuple[date, datetime, datetime]:
    """A local calendar day of the region (today by default) as aware [start, end)."""
    zone = rules_for(region).timezone
    local = day or datetime.now(zone).date()
    start = datetime.combine(local, time(), tzinfo=zone)
    return local, start, start + timedelta(days=1)


def next_working_day(tx: Tx, *, practitioner: str | None, organization: str | None, after: date) -> date | None:
    """The first local day after `after` with an appointment still to be seen (so a doctor whose day is over, or
    empty, is shown where their next patients are), or None."""
    roles = roles_of(tx, practitioner=practitioner, organization=organization)
    if not roles:
        return None
    _local, _start, end = day_bounds(tx.region, after)
    first = tx.search("Appointment", [
        _actors(roles), ("date", f"ge{end.isoformat()}"),
        ("status", ",".join(scheduling.OPEN_APPOINTMENT)), ("_sort", "date"), ("_count", "1"), ("_total", "none"),
    ]).matches  # fmt: skip
    if not first:
        return None
    return _local_start(first[0].resource, end).date()


def _actors(roles: list[str]) -> tuple[str, str]:
    """The Appointment search parameter for the appointments of these PractitionerRoles."""
    return "actor", ",".join(f"PractitionerRole/{r}" for r in roles)


def _local_start(appointment: dict[str, Any], like: datetime) -> datetime:
    """An Appointment's start in the time zone of `like` (the region's)."""
    return datetime.fromisoformat(str(appointment["start"]).replace("Z", "+00:00")).astimezone(like.tzinfo)


def roles_of(tx: Tx, *, practitioner: str | None, organization: str | None) -> list[str]:
    """The PractitionerRoles whose appointments make this user's day: their own, or (a nurse) the organisation's."""
    if practitioner:
        params = [("practitioner", f"Practitioner/{practitioner}")]
    elif organization:
        params = [("organization", f"Organization/{organization}")]
    else:
        return []
    found = tx.search("PractitionerRole", [*params, ("_count", "1000"), ("_total", "none")])
    return [stored.id for stored in found.matches]


def day_list(
    tx: Tx, *, practitioner: str | None, organization: str | None, day: date | None = None
) -> list[QueueEntry]:
    """Today's (or `day`'s) appointments in time order with their queue status; cancelled ones left out."""
    roles = roles_of(tx, practitioner=practitioner, organization=organization)
    if not roles:
        return []
    _local, start, end = day_bounds(tx.region, day)
    appointments = tx.search("Appointment", [
        _actors(roles), ("date", f"ge{start.isoformat()}"),
        ("date", f"lt{end.isoformat()}"), ("_sort", "date"), ("_count", str(DAY_LIST_MAX)), ("_total", "none"),
    ]).matches  # fmt: skip
    live = [a for a in appointments if a.resource.get("status") not in ("cancelled", "entered-in-error")]
    visits: dict[str, StoredResource] = {}
    if live:
        found = tx.search("Encounter", [
            ("appointment", ",".join(f"Appointment/{a.id}" for a in live)), ("_count", str(DAY_LIST_MAX)),
            ("_total", "none"),
        ]).matches  # fmt: skip
        for encounter in found:
            for appointment in encounter.resource.get("appointment") or []:
                if (aid := ref_id(appointment, "Appointment")) is not None:
                    visits[aid] = encounter
    entries = []
    for stored in live:
        data = stored.resource
        encounter = visits.get(stored.id)
        status = str(data.get("status"))
        if encounter is not None:
            status = "fulfilled" if encounter.resource.get("status") == "finished" else "in-progress"
        entries.append(
            QueueEntry(
                appointment=stored.id,
                start=_local_start(data, start),
                patient=_actor(data, "Patient") or "",
                status=status,
                encounter=encounter.id if encounter else None,
            )
        )
    return entries


def _actor(appointment: JSON, rtype: str) -> str | None:
    for participant in appointment.get("participant") or []:
        if (found := ref_id(participant.get("actor"), rtype)) is not None:
            return found
    return None


# ---- starting a visit --------------------------------------------------------------------------------------


def _require_doctor(practitioner: str | None) -> str:
    if not practitioner:
        raise forbidden(N_("Only a doctor linked to a practitioner record writes visit protocols"))
    return practitioner


def _encounter(*, patient: str, practitioner: str, organization: str | None, now: str) -> JSON:
    data: JSON = {
        "resourceType": "Encounter",
        "status": "in-progress",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "subject": ref("Patient", patient),
        "participant": [
            {
                "type": [{"coding": [{"system": PARTICIPATION, "code": "PPRF", "display": "primary performer"}]}],
                "individual": ref("Practitioner", practitioner),
            }
        ],
        "period": {"start": now},
    }
    if organization:
        data["serviceProvider"] = ref("Organization", organization)
    return data


def new_visit_for_appointment(
    tx: Tx, *, appointment_id: str, practitioner: str | None, organization: str | None
) -> JSON | StoredResource:
    """The Encounter to create for an appointment of this doctor (not yet stored, so that the caller can ask the
    access policy about it first), or the stored one when the visit was already started."""
    doctor = _require_doctor(practitioner)
    appointment = tx.read("Appointment", appointment_id)
    data = appointment.resource
    role = _actor(data, "PractitionerRole")
    if role is None or role not in roles_of(tx, practitioner=doctor, organization=None):
        raise forbidden(N_("This appointment is with another doctor"))
    existing = tx.search("Encounter", [("appointment", f"Appointment/{appointment_id}"), ("_count", "1")]).matches
    if existing:
        return existing[0]
    if data.get("status") not in scheduling.OPEN_APPOINTMENT:
        raise conflict(
            N_("This appointment is %(status)s: a visit cannot be started"), status=Label(str(data.get("status")))
        )
    patient = _actor(data, "Patient")
    if patient is None:
        raise unprocessable(N_("The appointment names no patient"))
    encounter = _encounter(patient=patient, practitioner=doctor, organization=organization, now=now_instant())
    encounter["appointment"] = [ref("Appointment", appointment_id)]
    if (location := _actor(data, "Location")) is not None:
        encounter["location"] = [{"location": ref("Location", location)}]
    specialty = _specialty_code(data.get("specialty"))
    if specialty:
        encounter["serviceType"] = specialty_concept(specialty)
    return encounter


def new_walk_in_visit(tx: Tx, *, patient: str, practitioner: str | None, organization: str | None) -> JSON:
    """The Encounter for a patient seen without an appointment: only a patient attached to the doctor's
    organisation (otherwise book an appointment, or use the break-glass access)."""
    doctor = _require_doctor(practitioner)
    stored = tx.read("Patient", patient)
    attached = ref_id(stored.resource.get("managingOrganization"), "Organization")
    if organization is None or attached != organization:
        raise forbidden(
            N_("The patient is not attached to your organisation: a visit needs an appointment or a referral")
        )
    return _encounter(patient=patient, practitioner=doctor, organization=organization, now=now_instant())


def create_visit(tx: Tx, encounter: JSON) -> StoredResource:
    return tx.create(encounter).stored


def _specialty_code(concepts: Any) -> str | None:
    if isinstance(concepts, dict):
        concepts = [concepts]
    for concept in concepts or []:
        for coding in concept.get("coding") or []:
            if coding.get("code") in SPECIALTIES:
                return str(coding["code"])
    return None


# ---- reading a visit ---------------------------------------------------------------------------------------


@dataclass
class Visit:
    encounter: StoredResource
    patient: StoredResource
    draft: dict[str, str] = field(default_factory=dict)
    draft_resource: StoredResource | None = None
    document: StoredResource | None = None

    @property
    def id(self) -> str:
        return self.encounter.id

    @property
    def signed(self) -> bool:
        return self.document is not None and self.document.resource.get("status") in ("final", "amended")

    @property
    def specialty(self) -> str | None:
        return _specialty_code(self.encounter.resource.get("serviceType"))

    @property
    def doctor(self) -> str | None:
        for participant in self.encounter.resource.get("participant") or []:
            if (found := ref_id(participant.get("individual"), "Practitioner")) is not None:
                return found
        return None


def draft_id(encounter_id: str) -> str:
    return _derived("draft", encounter_id)


def document_id(encounter_id: str) -> str:
    return _derived("protocol", encounter_id)


def _derived(kind: str, encounter_id: str) -> str:
    rid = f"{encounter_id}-{kind}"
    if not is_valid_id(rid):
        raise unprocessable(N_("This encounter's id is too long to keep a protocol for it"))
    return rid


def load_visit(tx: Tx, *, encounter_id: str) -> Visit:
    encounter = tx.read("Encounter", encounter_id)
    patient = ref_id(encounter.resource.get("subject"), "Patient")
    if patient is None:
        raise unprocessable(N_("The encounter names no patient"))
    visit = Visit(encounter=encounter, patient=tx.read("Patient", patient))
    draft = tx.current("QuestionnaireResponse", draft_id(encounter_id))
    if draft is not None and not draft.deleted:
        visit.draft_resource = draft
        visit.draft = {
            str(item.get("linkId")): str((item.get("answer") or [{}])[0].get("valueString", ""))
            for item in draft.resource.get("item") or []
        }
    document = tx.current("Composition", document_id(encounter_id))
    if document is not None and not document.deleted:
        visit.document = document
    return visit


def _require_open(visit: Visit, practitioner: str | None) -> str:
    doctor = _require_doctor(practitioner)
    if visit.doctor != doctor:
        raise forbidden(N_("This visit is another doctor's: only they write its protocol"))
    if visit.signed or visit.encounter.resource.get("status") != "in-progress":
        raise conflict(N_("This visit is already signed: it can only be corrected"))
    return doctor


# ---- the protocol form -----------------------------------------------------------------------------------


@dataclass
class ProtocolForm:
    texts: dict[str, str]  # complaints, anamnesis, examination, recommendations
    diagnoses: list[str]  # ICD-10 codes as typed, the main one first
    vitals: dict[str, object]
    suggestion_id: str | None = None
    smoking: str = ""  # a `smoking.ANSWERS` value, or "" when not asked

    def draft_items(self) -> dict[str, str]:
        items = {**self.texts, "diagnosis": ", ".join(self.diagnoses), smoking.FIELD: self.smoking}
        items.update({k: str(v) for k, v in self.vitals.items() if v not in (None, "")})
        if self.suggestion_id:
            items["suggestion_id"] = self.suggestion_id
        return {k: v for k, v in items.items() if v.strip()}


def _check_texts(texts: dict[str, str]) -> dict[str, str]:
    clean = {}
    for name in protocol.TEXT_FIELDS:
        text = (texts.get(name) or "").replace("\r\n", "\n").strip()
        if len(text) > protocol.MAX_TEXT:
            raise unprocessable(N_("The section is longer than %(max)s characters"), field=name, max=protocol.MAX_TEXT)
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise unprocessable(N_("The section contains control characters"), field=name)
        clean[name] = text
    return clean


def _signed_texts(texts: dict[str, str]) -> dict[str, str]:
    """The texts of a protocol to sign or correct: checked, and the complaints written."""
    clean = _check_texts(texts)
    if not clean.get("complaints"):
        raise unprocessable(N_("Write the patient's complaints"), field="complaints")
    return clean


def save_draft(tx: Tx, *, visit: Visit, practitioner: str | None, form: ProtocolForm) -> StoredResource:
    """Keep what was typed so far; nothing is checked but the lock and the sizes (a draft may be incomplete)."""
    doctor = _require_open(visit, practitioner)
    items = replace(form, texts=_check_texts(form.texts)).draft_items()
    return tx.update({
        "resourceType": "QuestionnaireResponse",
        "id": draft_id(visit.id),
        "status": "in-progress",
        "subject": ref("Patient", visit.patient.id),
        "encounter": ref("Encounter", visit.id),
        "author": ref("Practitioner", doctor),
        "authored": now_instant(),
        "item": [{"linkId": k, "answer": [{"valueString": v[: protocol.MAX_TEXT]}]} for k, v in items.items()],
    }).stored  # fmt: skip


@dataclass
class Signed:
    document: StoredResource
    written: list[StoredResource]


@dataclass
class Checked:
    """A protocol that passed every check, ready to be written; `warnings` need the doctor's confirmation."""

    texts: dict[str, str]
    codes: list[str]
    measured: vitals.Vitals
    warnings: list[vitals.VitalWarning]
    smoking: smoking.Answer | None = None


def check_protocol(form: ProtocolForm) -> Checked:
    """Every check signing makes, before anything is written: texts, diagnoses, vital signs."""
    texts = _signed_texts(form.texts)
    typed = [d for d in form.diagnoses if d.strip()]
    if not typed:
        raise unprocessable(N_("Choose a diagnosis (an ICD-10 code)"), field="diagnosis")
    if len(typed) > MAX_DIAGNOSES:
        raise unprocessable(N_("At most %(max)s diagnoses per visit"), field="diagnosis", max=MAX_DIAGNOSES)
    codes = list(dict.fromkeys(diagnosis_code(d) for d in typed))
    measured = vitals.check(form.vitals)
    return Checked(texts=texts, codes=codes, measured=measured, warnings=measured.warnings,
                   smoking=smoking.check(form.smoking))  # fmt: skip


def planned_resources(checked: Checked, *, visit: Visit, practitioner: str, when: str) -> list[JSON]:
    """The resources signing creates (Conditions, then vital signs and smoking status), for the caller to ask the
    policy about."""
    subject, encounter = ref("Patient", visit.patient.id), ref("Encounter", visit.id)
    doctor = ref("Practitioner", practitioner)
    out: list[JSON] = [_condition(code, subject=subject, encounter=encounter, doctor=doctor, when=when)
                       for code in checked.codes]  # fmt: skip
    out += vitals.observations(checked.measured, subject=subject, encounter=encounter, performer=doctor, when=when)
    if checked.smoking is not None:
        out.append(smoking.observation(checked.smoking, subject=subject, encounter=encounter, performer=doctor,
                                       when=when))  # fmt: skip
    return out


def _condition(code: str, *, subject: JSON, encounter: JSON, doctor: JSON, when: str) -> JSON:
    name = terminology.display(code, "ru") or code
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": ICD10, "code": code, "display": name}], "text": name},
        "subject": subject,
        "encounter": encounter,
        "onsetDateTime": when,
        "recordedDate": when,
        "recorder": doctor,
        "asserter": doctor,
    }


def sign(
    tx: Tx,
    *,
    visit: Visit,
    practitioner: str | None,
    organization: str | None,
    form: ProtocolForm,
    checked: Checked | None = None,
    ask: Callable[[JSON], None] | None = None,
    when: str | None = None,
) -> Signed:
    """Sign the protocol: everything is written in `tx`, after every check; a second signing is 409. `ask` is
    shown each resource to be created first (the caller's access policy), and may refuse by raising."""
    doctor = _require_open(visit, practitioner)
    when = when or now_instant()
    checked = checked or check_protocol(form)
    planned = planned_resources(checked, visit=visit, practitioner=doctor, when=when)
    for data in planned:
        if ask is not None:
            ask(data)
    # Ids first, so that the Encounter and the document can point at the Conditions before they are written.
    ids = [new_id() for _ in planned]
    conditions = [ref("Condition", rid) for rid, data in zip(ids, planned, strict=True)
                  if data["resourceType"] == "Condition"]  # fmt: skip
    finished = {**visit.encounter.resource, "status": "finished"}
    finished["period"] = {**(finished.get("period") or {}), "end": when}
    finished["diagnosis"] = [{"condition": c, "rank": rank} for rank, c in enumerate(conditions, start=1)]
    finished["reasonCode"] = [{"text": checked.texts["complaints"][:500]}]
    # The update locks the encounter's row (PostgreSQL; SQLite holds the write lock already) and fails when it
    # changed since the visit was read, so two signings of one visit cannot both pass. Updates go first and
    # creates last, so that the creates are written together, in bulk, at the end.
    try:
        written = [tx.update(finished, if_match=visit.encounter.version).stored]
    except PreconditionFailed:
        raise conflict(N_("This visit was changed at the same time: reload the page")) from None
    if visit.draft_resource is not None:
        completed = {**visit.draft_resource.resource, "status": "completed", "authored": when}
        written.append(tx.update(completed, if_match=visit.draft_resource.version).stored)
    for appointment in visit.encounter.resource.get("appointment") or []:
        if (aid := ref_id(appointment, "Appointment")) and (fulfilled := scheduling.fulfil(tx, appointment_id=aid)):
            written.append(fulfilled)
    written += [tx.create(data, rid=rid).stored for rid, data in zip(ids, planned, strict=True)]
    diagnosis_text = "\n".join(f"{code} {terminology.display(code, 'ru') or ''}".strip() for code in checked.codes)
    document = protocol.composition(
        texts=checked.texts, diagnosis_text=diagnosis_text, conditions=conditions,
        subject=ref("Patient", visit.patient.id), encounter=ref("Encounter", visit.id),
        author=ref("Practitioner", doctor), custodian=ref("Organization", organization) if organization else None,
        when=when,
    )  # fmt: skip
    stored_document = tx.create(document, rid=document_id(visit.id)).stored
    if form.suggestion_id:
        _record_choice(tx, suggestion_id=form.suggestion_id, code=checked.codes[0])
    return Signed(document=stored_document, written=[*written, stored_document])


def suggest(tx: Tx, *, visit: Visit, text: str, practitioner: str | None) -> tuple[Suggestion, str]:
    """The assistant's top three codes for the complaints typed so far, kept (without the text) with the visit, so
    that the code finally signed measures the assistant; returns the suggestion and its id."""
    data = visit.patient.resource
    sex = data.get("gender") if data.get("gender") in ("male", "female") else None
    found = ai.suggest(text, age=patient_age(data), sex=sex, count=3)
    suggestion_id = ai_feedback.record_suggestion(
        tx.conn, region=tx.region, suggestion=found, encounter=f"Encounter/{visit.id}", practitioner=practitioner,
        specialty=visit.specialty,
    )  # fmt: skip
    return found, suggestion_id


def _record_choice(tx: Tx, *, suggestion_id: str, code: str) -> None:
    try:
        ai_feedback.record_choice(tx.conn, region=tx.region, suggestion_id=suggestion_id, chosen_code=code)
    except NotFound:
        raise unprocessable(N_("The diagnosis suggestion shown is not known: refresh the suggestions"),
                            field="suggestion_id") from None  # fmt: skip


# ---- corrections and history -------------------------------------------------------------------------------


def correct(
    tx: Tx,
    *,
    visit: Visit,
    practitioner: str | None,
    texts: dict[str, str],
    reason: str,
    when: str | None = None,
) -> tuple[StoredResource, StoredResource]:
    """A correction of a signed protocol's texts: a new Composition version (amended) and its Provenance."""
    doctor = _require_doctor(practitioner)
    if visit.doctor != doctor:
        raise forbidden(N_("This visit is another doctor's: only they correct its protocol"))
    if not visit.signed or visit.document is None:
        raise conflict(N_("This visit is not signed yet: edit the draft instead"))
    reason = reason.strip()
    if not reason:
        raise unprocessable(N_("Say why the protocol is corrected"), field="reason")
    if len(reason) > 1000:
        raise unprocessable(N_("The reason is longer than %(max)s characters"), field="reason", max=1000)
    clean = _signed_texts(texts)
    when = when or now_instant()
    old = visit.document.resource
    by_field = {s.loinc: s.field for s in protocol.SECTIONS}
    sections = []
    for section in old.get("section") or []:
        code = ((section.get("code") or {}).get("coding") or [{}])[0].get("code")
        name = by_field.get(code)
        sections.append({**section, "text": protocol.narrative(clean[name])} if name in clean else section)
    amended = {**old, "status": "amended", "date": when, "section": sections}
    stored = tx.update(amended, if_match=visit.document.version).stored
    provenance = tx.create({
        "resourceType": "Provenance",
        "target": [{"reference": f"Composition/{stored.id}/_history/{stored.version}"}],
        "recorded": when,
        "reason": [{"text": reason}],
        "activity": {"coding": [{"system": PROVENANCE_ACTIVITY, "code": "UPDATE", "display": "revise"}],
                     "text": "correction"},
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "author"}]}, "who": ref("Practitioner", doctor)}],
        "entity": [{"role": "revision", "what": {
            "reference": f"Composition/{stored.id}/_history/{visit.document.version}"}}],
    }).stored  # fmt: skip
    return stored, provenance


def versions(tx: Tx, *, visit: Visit) -> list[StoredResource]:
    """Every version of the visit's protocol, newest first."""
    if visit.document is None:
        return []
    found, _total = tx.history("Composition", visit.document.id, at_most=100)
    return [stored for stored, _method in found]


def corrections(tx: Tx, *, visit: Visit) -> list[StoredResource]:
    if visit.document is None:
        return []
    return tx.search("Provenance", [("target", f"Composition/{visit.document.id}"), ("_count", "100")]).matches


def patient_age(patient: JSON, today: date | None = None) -> int | None:
    birth = patient.get("birthDate")
    if not isinstance(birth, str) or len(birth) < 10:
        return None
    born = date.fromisoformat(birth[:10])
    today = today or datetime.now(UTC).date()
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
