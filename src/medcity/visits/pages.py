"""The doctor's workstation: the day list at /doctor, the visit protocol, diagnosis suggestions that refresh as the
complaints are typed (htmx), the ICD-10 catalogue search, signing, and corrections with the version history.

Every page takes the logged-in user from the gate, asks the policy before showing or writing patient data, and
records what it touched (the audit). The rules live in `medcity.visits.service`; refusals are shown in the user's
language on the protocol page itself, with what was typed kept.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from medcity.auth.gate import Access, page_access
from medcity.auth.pages import ROLE_HOME
from medcity.auth.sessions import require_csrf
from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_, gettext, say
from medcity.kit.instants import shown_day
from medcity.records.chart import concept_text, patient_name
from medcity.referrals.views import Names
from medcity.registry.catalogue import SPECIALTIES
from medcity.scheduling.resources import ref_id
from medcity.store.repository import StoredResource, Tx
from medcity.terminology import service as terminology
from medcity.terminology.units import unit_name, unit_of
from medcity.visits import protocol, service, smoking, vitals
from medcity.visits.rules import VisitError
from medcity.web.pages_kit import package_page, store_of
from medcity.web.render import request_language

ROLE_HOME["doctor"] = ROLE_HOME["nurse"] = "/doctor"

router = APIRouter(include_in_schema=False)
CSRF = [Depends(require_csrf)]
PageAccess = Annotated[Access, Depends(page_access)]


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> HTMLResponse:
    return package_page(request, "visits", template, context, status_code=status_code)


def worded(request: Request, error: VisitError) -> str:
    return error.say(request_language(request))


def _refused(request: Request, error: VisitError, back: str) -> HTMLResponse:
    return _page(request, "refused.html", {"reason": worded(request, error), "back": back},
                 status_code=error.status)  # fmt: skip


# ---- the day ---------------------------------------------------------------------------------------------


def _organization(reference: Any) -> tuple[str, str | None]:
    return "Organization", ref_id(reference, "Organization")


def _name(names: Names, named: tuple[str, str | None]) -> str:
    """The name, or nothing when nobody is named (the page then leaves the place out)."""
    return names.of(*named) if named[1] else ""


@router.get("/doctor", response_class=HTMLResponse)
def day_page(request: Request, access: PageAccess, day: str | None = None) -> Response:
    principal = access.principal
    access.require("search", "Appointment")
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        raise InvalidRequest(N_("day must be a date, YYYY-MM-DD")) from None
    with store_of(request).reader() as tx:
        local, _start, _end = service.day_bounds(tx.region, chosen)
        entries = service.day_list(tx, practitioner=principal.practitioner, organization=principal.organization,
                                   day=local)  # fmt: skip
        following = (
            None
            if entries
            else service.next_working_day(
                tx, practitioner=principal.practitioner, organization=principal.organization, after=local
            )
        )
        me = ("Practitioner", principal.practitioner)
        names = Names(tx, [me, *(("Patient", e.patient) for e in entries)])
    rows = [{"entry": e, "patient": _name(names, ("Patient", e.patient))} for e in entries]
    doctor = _name(names, me)
    for entry in entries:
        access.record("read", "Appointment", entry.appointment)
    context = {"day": local, "rows": rows, "doctor": doctor, "can_open": bool(principal.practitioner),
               "next_working_day": following, "one_day": timedelta(days=1)}  # fmt: skip
    return _page(request, "day.html", context)


@router.post("/doctor/queue/{appointment}/visit", dependencies=CSRF)
def open_visit(request: Request, appointment: str, access: PageAccess) -> Response:
    """Opening an appointment starts the visit (or returns to the one already started)."""
    principal = access.principal
    try:
        with store_of(request).transaction() as tx:
            found = service.new_visit_for_appointment(tx, appointment_id=appointment,
                                                      practitioner=principal.practitioner,
                                                      organization=principal.organization)  # fmt: skip
            encounter = found if isinstance(found, StoredResource) else _create(tx, access, found)
    except VisitError as refused:
        return _refused(request, refused, back="/doctor")
    return RedirectResponse(f"/doctor/visits/{encounter.id}", status_code=303)


@router.post("/doctor/walk-in/{patient}", dependencies=CSRF)
def walk_in(request: Request, patient: str, access: PageAccess) -> Response:
    """A visit without an appointment, for a patient attached to the doctor's organisation."""
    principal = access.principal
    try:
        with store_of(request).transaction() as tx:
            data = service.new_walk_in_visit(tx, patient=patient, practitioner=principal.practitioner,
                                             organization=principal.organization)  # fmt: skip
            encounter = _create(tx, access, data)
    except VisitError as refused:
        return _refused(request, refused, back="/doctor")
    return RedirectResponse(f"/doctor/visits/{encounter.id}", status_code=303)


def _create(tx: Tx, access: Access, data: dict[str, Any]) -> StoredResource:
    access.require("create", "Encounter", data, tx=tx)
    stored = service.create_visit(tx, data)
    access.record("create", "Encounter", stored.id, tx=tx, patient=stored.patient)
    return stored


# ---- the visit -------------------------------------------------------------------------------------------


def _load(tx: Tx, access: Access, encounter: str) -> service.Visit:
    visit = service.load_visit(tx, encounter_id=encounter)
    access.require("read", "Encounter", visit.encounter, tx=tx)
    access.require("read", "Patient", visit.patient, tx=tx)
    access.record("read", "Encounter", visit.id)
    access.record("read", "Patient", visit.patient.id)
    return visit


def _summary(tx: Tx, access: Access, visit: service.Visit) -> tuple[dict[str, Any], Names]:
    """The patient at a glance: active problems and recent visits with the institution that wrote each; with the
    names of everyone the visit page mentions, read together."""
    pid = visit.patient.id
    restrict = access.restriction
    problems = tx.search("Condition", [("patient", f"Patient/{pid}"), ("clinical-status", "active"),
                                       ("_count", "20"), ("_total", "none")], restrict=restrict).matches  # fmt: skip
    encounters = tx.search("Encounter", [("patient", f"Patient/{pid}"), ("_sort", "-date"), ("_count", "8"),
                                         ("_total", "none")], restrict=restrict).matches  # fmt: skip
    for stored in (*problems, *encounters):
        access.record("read", stored.type, stored.id)
    data = visit.patient.resource
    earlier = [e for e in encounters if e.id != visit.id]
    providers = [_organization(e.resource.get("serviceProvider")) for e in earlier]
    attached = _organization(data.get("managingOrganization"))
    names = Names(tx, [*providers, attached, ("Practitioner", visit.doctor),
                       _organization(visit.encounter.resource.get("serviceProvider"))])  # fmt: skip
    history = [
        {"date": shown_day((e.resource.get("period") or {}).get("start")),
         "kind": (e.resource.get("class") or {}).get("code", ""),
         "institution": _name(names, provider),
         "reason": "; ".join(str(r.get("text", "")) for r in e.resource.get("reasonCode") or [])}
        for e, provider in zip(earlier, providers, strict=True)
    ]  # fmt: skip
    summary = {
        "id": pid,
        "name": patient_name(data) or pid,
        "birth": shown_day(data.get("birthDate")),
        "age": service.patient_age(data),
        "gender": data.get("gender", ""),
        "attached": _name(names, attached),
        "problems": [_coded(p.resource.get("code")) for p in problems],
        "history": history,
        "institutions": sorted({h["institution"] for h in history if h["institution"]}),
    }
    return summary, names


def _coded(concept: Any) -> dict[str, str]:
    coding = ((concept or {}).get("coding") or [{}])[0]
    return {"code": str(coding.get("code", "")), "display": concept_text(concept)}


def _form_values(visit: service.Visit, lang: str, template: str | None) -> dict[str, str]:
    """What the form shows: the draft, or the specialty's default texts for a visit not yet written."""
    values = dict(visit.draft)
    chosen = template if template in protocol.TEMPLATES else None
    if chosen or not values:
        for name, text in protocol.template(chosen or visit.specialty, lang).items():
            if not values.get(name):
                values[name] = text
    return values


def _visit_page(
    request: Request,
    tx: Tx,
    access: Access,
    visit: service.Visit,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    warnings: list[str] | None = None,
    notice: str | None = None,
    template: str | None = None,
    version: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = request_language(request)
    summary, names = _summary(tx, access, visit)
    context: dict[str, Any] = {
        "visit": visit,
        "patient": summary,
        "doctor": _name(names, ("Practitioner", visit.doctor)),
        "institution": _name(names, _organization(visit.encounter.resource.get("serviceProvider"))),
        "sections": protocol.SECTIONS,
        "measures": [(m, unit_name(m.unit, lang)) for m in vitals.ENTERED],
        "smoking": smoking,
        "templates": [(code, SPECIALTIES[code].display(lang)) for code in protocol.TEMPLATES],
        "error": error,
        "error_field": error_field,
        "warnings": warnings or [],
        "notice": notice,
        "can_write": visit.doctor == access.principal.practitioner,
    }
    if visit.signed and visit.document is not None:
        history = service.versions(tx, visit=visit)
        shown = next((v for v in history if v.version == version), history[0]) if history else visit.document
        observations = tx.search("Observation", [
            ("encounter", f"Encounter/{visit.id}"), ("category", f"{vitals.OBS_CATEGORY}|vital-signs"),
            ("_count", "50"), ("_total", "none"),
        ], restrict=access.restriction).matches  # fmt: skip
        smoked = tx.search("Observation", [
            ("encounter", f"Encounter/{visit.id}"), ("code", f"{vitals.LOINC}|{smoking.CODE}"), ("_count", "1"),
            ("_total", "none"),
        ], restrict=access.restriction).matches  # fmt: skip
        conditions = tx.search("Condition", [("encounter", f"Encounter/{visit.id}"), ("_count", "20"),
                                             ("_total", "none")], restrict=access.restriction).matches  # fmt: skip
        context.update({
            "document": shown, "texts": protocol.section_texts(shown.resource), "versions": history,
            "current_version": visit.document.version,
            "corrections": [p.resource for p in service.corrections(tx, visit=visit)],
            "diagnoses": [_coded(c.resource.get("code")) for c in conditions],
            "vitals": [_vital(o.resource, lang) for o in observations],
            "smoked": smoking.answer_of(smoked[0].resource) if smoked else None,
            "values": values or protocol.section_texts(visit.document.resource),
        })  # fmt: skip
        return _page(request, "signed.html", context, status_code=status_code)
    form_values = values if values is not None else _form_values(visit, lang, template)
    code = form_values.get("diagnosis", "").split(",")[0].strip()
    context.update({"values": form_values, "diagnosis": _diagnosis(code, lang)})
    return _page(request, "visit.html", context, status_code=status_code)


def _vital(observation: dict[str, Any], lang: str) -> dict[str, str]:
    coding = ((observation.get("code") or {}).get("coding") or [{}])[0]
    if observation.get("component"):
        numbers = "/".join(str(c["valueQuantity"]["value"]) for c in observation["component"])
        unit = unit_of(observation["component"][0]["valueQuantity"])
    else:
        numbers, unit = str(observation["valueQuantity"]["value"]), unit_of(observation["valueQuantity"])
    code = str(coding.get("code"))
    return {"code": code, "label": vitals.LABELS.get(code, code), "value": numbers, "unit": unit_name(unit, lang)}


def _diagnosis(code: str, lang: str) -> dict[str, str]:
    return {"code": code, "display": terminology.display(code, lang) or "" if code else ""}


@router.get("/doctor/visits/{encounter}", response_class=HTMLResponse)
def visit_page(
    request: Request, encounter: str, access: PageAccess, template: str | None = None, version: int | None = None,
    saved: str | None = None,
) -> Response:  # fmt: skip
    lang = request_language(request)
    notice = {"draft": gettext("The draft is saved.", lang), "signed": gettext("The protocol is signed.", lang),
              "corrected": gettext("The correction is saved as a new version.", lang)}.get(saved or "")  # fmt: skip
    with store_of(request).reader() as tx:
        visit = _load(tx, access, encounter)
        return _visit_page(request, tx, access, visit, template=template, version=version, notice=notice)


def _protocol_form(form: FormData) -> service.ProtocolForm:
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    diagnoses = [text("diagnosis"), *text("diagnosis_extra").split(",")]
    return service.ProtocolForm(
        texts={name: text(name) for name in protocol.TEXT_FIELDS},
        diagnoses=[d.strip() for d in diagnoses if d.strip()],
        vitals={m.field: text(m.field) for m in vitals.ENTERED},
        suggestion_id=text("suggestion_id").strip() or None,
        smoking=text(smoking.FIELD),
    )


def _typed(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


@router.post("/doctor/visits/{encounter}/protocol", dependencies=CSRF)
async def save_protocol(request: Request, encounter: str, access: PageAccess) -> Response:
    """One form, two buttons: keep the draft, or sign (after every check; unusual vitals need a confirmation)."""
    form = await request.form()
    signing = form.get("action") == "sign"
    parsed = _protocol_form(form)
    return await run_in_threadpool(
        _save, request, encounter, access, parsed, signing=signing, confirmed=form.get("confirm") == "yes",
        typed=_typed(form),
    )  # fmt: skip


def _save(
    request: Request, encounter: str, access: Access, parsed: service.ProtocolForm, *, signing: bool,
    confirmed: bool, typed: dict[str, str],
) -> Response:  # fmt: skip
    store = store_of(request)
    principal = access.principal
    lang = request_language(request)
    try:
        with store.transaction() as tx:
            visit = _load(tx, access, encounter)
            if not signing:
                subject = {"subject": {"reference": f"Patient/{visit.patient.id}"}}
                access.require("update", "QuestionnaireResponse", subject, tx=tx)
                draft = service.save_draft(tx, visit=visit, practitioner=principal.practitioner, form=parsed)
                access.record("update", "QuestionnaireResponse", draft.id, tx=tx, patient=visit.patient.id)
                return RedirectResponse(f"/doctor/visits/{encounter}?saved=draft", status_code=303)
            checked = service.check_protocol(parsed)
            if checked.warnings and not confirmed:
                warnings = [say(w.text, w.values, lang) for w in checked.warnings]
                return _visit_page(request, tx, access, visit, values=typed, warnings=warnings)
            access.require("update", "Encounter", visit.encounter, tx=tx)
            signed = service.sign(
                tx, visit=visit, practitioner=principal.practitioner, organization=principal.organization,
                form=parsed, checked=checked,
                ask=lambda data: access.require("create", data["resourceType"], data, tx=tx),
            )  # fmt: skip
            for stored in signed.written:
                access.record("create" if stored.version == 1 else "update", stored.type, stored.id, tx=tx,
                              patient=visit.patient.id)  # fmt: skip
    except VisitError as refused:
        return _protocol_refused(request, access, encounter, typed, refused)
    return RedirectResponse(f"/doctor/visits/{encounter}?saved=signed", status_code=303)


def _protocol_refused(
    request: Request, access: Access, encounter: str, typed: dict[str, str], refused: VisitError
) -> Response:
    """The protocol page again, with what was typed, saying what is wrong (nothing was saved)."""
    with store_of(request).reader() as tx:
        visit = service.load_visit(tx, encounter_id=encounter)
        return _visit_page(request, tx, access, visit, values=typed, error=worded(request, refused),
                           error_field=refused.field, status_code=refused.status)  # fmt: skip


@router.post("/doctor/visits/{encounter}/correction", dependencies=CSRF)
async def correct(request: Request, encounter: str, access: PageAccess) -> Response:
    form = await request.form()
    typed = _typed(form)
    return await run_in_threadpool(_correct, request, encounter, access, typed)


def _correct(request: Request, encounter: str, access: Access, typed: dict[str, str]) -> Response:
    store = store_of(request)
    try:
        with store.transaction() as tx:
            visit = _load(tx, access, encounter)
            if visit.document is not None:
                access.require("update", "Composition", visit.document, tx=tx)
            document, provenance = service.correct(
                tx, visit=visit, practitioner=access.principal.practitioner,
                texts={name: typed.get(name, "") for name in protocol.TEXT_FIELDS}, reason=typed.get("reason", ""),
            )  # fmt: skip
            access.record("update", "Composition", document.id, tx=tx, patient=visit.patient.id)
            access.record("create", "Provenance", provenance.id, tx=tx, patient=visit.patient.id)
    except VisitError as refused:
        return _protocol_refused(request, access, encounter, typed, refused)
    return RedirectResponse(f"/doctor/visits/{encounter}?saved=corrected", status_code=303)


# ---- htmx fragments --------------------------------------------------------------------------------------


@router.post("/doctor/visits/{encounter}/suggestions", response_class=HTMLResponse, dependencies=CSRF)
async def suggestions(request: Request, encounter: str, access: PageAccess) -> Response:
    """The top three diagnoses for the complaints typed so far (a fragment; each shown set is kept)."""
    form = await request.form()
    text = form.get("complaints")
    return await run_in_threadpool(_suggestions, request, encounter, access, text if isinstance(text, str) else "")


def _suggestions(request: Request, encounter: str, access: Access, text: str) -> Response:
    lang = request_language(request)
    context: dict[str, Any] = {"encounter": encounter, "items": [], "suggestion_id": "", "doubt": None}
    if text.strip():
        try:
            with store_of(request).transaction() as tx:
                visit = _load(tx, access, encounter)
                found, suggestion_id = service.suggest(tx, visit=visit, text=text,
                                                       practitioner=access.principal.practitioner)  # fmt: skip
        except InvalidRequest:
            return _page(request, "_suggestions.html", context)
        context.update({
            "suggestion_id": suggestion_id, "doubt": None if found.confident else True,
            "items": [{"code": i.code, "display": (i.display_en if lang == "en" else i.display_ru) or i.code,
                       "percent": round(i.probability * 100)} for i in found.items],
        })  # fmt: skip
    return _page(request, "_suggestions.html", context)


@router.post("/doctor/visits/{encounter}/diagnosis", response_class=HTMLResponse, dependencies=CSRF)
async def choose_diagnosis(request: Request, encounter: str, access: PageAccess) -> Response:
    """The diagnosis field with a code chosen from the suggestions or the catalogue."""
    form = await request.form()
    chosen = form.get("choose")
    code = terminology.normalize_code(chosen) if isinstance(chosen, str) else None
    lang = request_language(request)
    return _page(request, "_diagnosis.html", {"diagnosis": _diagnosis(code or "", lang), "encounter": encounter})


@router.get("/doctor/icd", response_class=HTMLResponse)
def icd_search(request: Request, access: PageAccess, q: str = "", visit: str = "") -> Response:
    """ICD-10 catalogue search for the diagnosis field (chapters and blocks shown, but not choosable)."""
    lang = request_language(request)
    found: list[dict[str, Any]] = []
    if q.strip():
        expansion = terminology.expand(terminology.VALUE_SET_URL, filter=q[:200], count=12, display_language=lang)
        found = expansion["expansion"]["contains"]
    return _page(request, "_icd.html", {"found": found, "q": q, "visit": visit})
