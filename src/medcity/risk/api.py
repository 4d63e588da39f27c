"""Risk on the FHIR face: `GET|POST /fhir/Patient/{id}/$risk-assessment` computes the patient's scores from their
record now and answers a Bundle (collection) of RiskAssessment resources, one per model, not stored.

In: optional `model` (valueCode, repeated: score2, findrisc, framingham; all when absent).
Out: each RiskAssessment names its model in `method`, the figure in `prediction.probabilityDecimal` (FINDRISC: the
form's estimate of its band, the points in `prediction.rationale`), the category in `prediction.qualitativeRisk`,
what it was computed from in `basis`, and in `note` what is missing or older than two years; a score that could not
be computed has status cancelled and says why in `note`.
The patient is read under the access policy like `Patient/$everything`: only whoever may read the record gets it,
a patient their own, and the call is audited as an operation on the Patient.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.hooks import JSON, OperationCall, operation
from medcity.kit.i18n import N_, gettext
from medcity.kit.parameters import Parameters
from medcity.records.api import opened_patient
from medcity.registry.catalogue import BASE
from medcity.risk import scores, service, views
from medcity.risk.scores import Score
from medcity.store.values import now_instant

MODEL_SYSTEM = f"{BASE}/CodeSystem/risk-model"
CATEGORY_SYSTEM = f"{BASE}/CodeSystem/risk-category"
MODELS = ("score2", "findrisc", "framingham")
OUTCOMES = {
    "score2": "Fatal or non-fatal cardiovascular disease (myocardial infarction, stroke)",
    "findrisc": "Type 2 diabetes",
    "framingham": "Cardiovascular disease (coronary, cerebrovascular, peripheral arterial disease, heart failure)",
}
# FINDRISC's own estimate of the 10-year risk in each band ("1 in 3").
FINDRISC_ESTIMATE = {band: 1 / int(share.split("/")[1]) for _top, band, share in scores.FINDRISC_BANDS}


def _models(params: Parameters) -> tuple[str, ...]:
    asked = [value.get("code") if isinstance(value, dict) else value for value in params.all("model")]
    for model in asked:
        if model not in MODELS:
            raise InvalidRequest(N_("model: '%(model)s' is not one of %(models)s"), model=str(model)[:40],
                                 models=", ".join(MODELS))  # fmt: skip
    return tuple(m for m in MODELS if m in asked) or MODELS


def _notes(assessment: service.Assessment, score: Score) -> list[JSON]:
    en = "en"
    notes = []
    for said in (score.not_applicable, score.caveat):
        if said:
            notes.append(gettext(said, en))
    if score.missing:
        names = ", ".join(gettext(views.INPUT_LABELS[m], en) for m in score.missing)
        notes.append(f"Not in the record, so not computed: {names}")
    used = set(scores.INPUTS_OF[score.model]) - set(score.missing)
    for finding in assessment.stale:
        if finding.name in used and finding.source is not None:
            label = gettext(views.INPUT_LABELS[finding.name], en)
            notes.append(f"{label} ({finding.source.when[:10]}): {views.stale_text(en)}")
    return [{"text": text} for text in notes]


def _prediction(score: Score) -> JSON:
    prediction: JSON = {
        "outcome": {"text": OUTCOMES[score.model]},
        "whenRange": {"high": {"value": 10, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}},
    }
    if score.probability is not None:
        prediction["probabilityDecimal"] = round(score.probability, 4)
    elif score.category is not None:
        prediction["probabilityDecimal"] = round(FINDRISC_ESTIMATE[score.category], 4)
    if score.category is not None:
        display = gettext(views.CATEGORY_NAMES[score.category], "en")
        prediction["qualitativeRisk"] = {"coding": [{"system": CATEGORY_SYSTEM, "code": score.category,
                                                     "display": display}], "text": display}  # fmt: skip
    if score.points is not None and score.computed:
        prediction["rationale"] = f"FINDRISC {score.points} points of {scores.reference('findrisc')['max_score']}"
    return prediction


def risk_assessment(assessment: service.Assessment, score: Score, *, when: str) -> JSON:
    """One model's result as a FHIR RiskAssessment."""
    model_name = gettext(views.MODEL_NAMES[score.model], "en")
    resource: JSON = {
        "resourceType": "RiskAssessment",
        "status": "final" if score.computed else "cancelled",
        "subject": {"reference": f"Patient/{assessment.patient}"},
        "occurrenceDateTime": when,
        "method": {"coding": [{"system": MODEL_SYSTEM, "code": score.model, "display": model_name}]},
        "basis": [{"reference": r} for r in assessment.basis(score)],
    }
    if score.computed:
        resource["prediction"] = [_prediction(score)]
    notes = _notes(assessment, score)
    if notes:
        resource["note"] = notes
    return {k: v for k, v in resource.items() if v != []}


@operation("risk-assessment", resource_types=("Patient",), type_level=False, instance_level=True,
           description="The patient's SCORE2, FINDRISC and Framingham risk from their record now, as RiskAssessment "
           "resources naming what each rests on and what is missing")  # fmt: skip
def assess(call: OperationCall) -> dict[str, Any]:
    models = _models(Parameters(call.parameters))
    patient = opened_patient(call)
    with call.store.reader() as tx:
        restrict = call.access.restriction_for(tx, patient.id) if call.access is not None else None
        assessment = service.assess(tx, patient=patient, restrict=restrict, region=tx.region,
                                    today=datetime.now(UTC).date())  # fmt: skip
    when = now_instant()
    by_model = {s.model: s for s in assessment.scores}
    entries = [{"resource": risk_assessment(assessment, by_model[m], when=when)} for m in models]
    return {"resourceType": "Bundle", "type": "collection", "timestamp": when, "entry": entries}
