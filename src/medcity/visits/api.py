"""FHIR face of the visit: `POST /fhir/Encounter/{id}/$sign-visit` signs the protocol of a visit in progress, with
the same checks and the same one transaction as the doctor's page.

In: a Parameters resource with `complaints`, `anamnesis`, `examination`, `recommendations` (valueString),
`diagnosis` (valueCoding or valueCode, repeated, the main one first), vital signs `systolic`, `diastolic`,
`pulse`, `temperature` (°C), `height` (cm), `weight` (kg), `waist` (cm), `spo2` (%) as valueDecimal, `smoking`
(valueCode: current, ex or never; written as LOINC 72166-2 with its SNOMED CT answer), optional `suggestion-id`
(from `Condition/$suggest`) and `confirm` (valueBoolean: sign although some vital signs are unusual).
Out: the signed Composition. Refusals: 403 (another doctor's visit), 409 (already signed), 422 (what is wrong).
"""

from __future__ import annotations

from medcity.kit.hooks import JSON, OperationCall, operation
from medcity.kit.i18n import N_
from medcity.kit.parameters import Parameters
from medcity.visits import protocol, service, smoking, vitals
from medcity.visits.rules import unprocessable


def _diagnoses(params: Parameters) -> list[str]:
    codes = []
    for value in params.all("diagnosis"):
        code = value.get("code") if isinstance(value, dict) else value
        if isinstance(code, str):
            codes.append(code)
    return codes


def protocol_form(params: Parameters) -> service.ProtocolForm:
    return service.ProtocolForm(
        texts={name: params.text(name) or "" for name in protocol.TEXT_FIELDS},
        diagnoses=_diagnoses(params),
        vitals={m.field: params.text(m.field) for m in vitals.ENTERED},
        suggestion_id=params.text("suggestion-id"),
        smoking=params.text(smoking.FIELD) or "",
    )


@operation("sign-visit", resource_types=("Encounter",), type_level=False, instance_level=True, affects_state=True,
           description="Sign a visit's protocol: Encounter finished, Conditions, vital signs and the Composition "
           "in one transaction")  # fmt: skip
def sign_visit(call: OperationCall) -> JSON:
    params = Parameters(call.parameters)
    form = protocol_form(params)
    confirmed = params.boolean("confirm") or False
    principal = call.principal
    access = call.access
    with call.store.transaction() as tx:
        visit = service.load_visit(tx, encounter_id=call.resource_id or "")
        if access is not None:
            access.require("update", "Encounter", visit.encounter, tx=tx)
        checked = service.check_protocol(form)
        if checked.warnings and not confirmed:
            unusual = "; ".join(w.text % w.values for w in checked.warnings)
            raise unprocessable(N_("Unusual vital signs (%(unusual)s): check them, and send confirm=true to sign"),
                                field="confirm", unusual=unusual)  # fmt: skip

        def ask(data: JSON) -> None:
            if access is not None:
                access.require("create", data["resourceType"], data, tx=tx)

        signed = service.sign(tx, visit=visit, practitioner=principal.practitioner,
                              organization=principal.organization, form=form, checked=checked, ask=ask)  # fmt: skip
        if access is not None:
            for stored in signed.written:
                access.record("create" if stored.version == 1 else "update", stored.type, stored.id, tx=tx,
                              patient=visit.patient.id)  # fmt: skip
    return signed.document.resource
