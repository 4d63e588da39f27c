"""The calendar on the FHIR face: `GET|POST /fhir/Patient/{id}/$vaccination-forecast` answers an
ImmunizationRecommendation computed now from the patient's Immunization resources, not stored.

Out: one recommendation per series of the calendar (risk-group series left out): the next dose with its
`forecastStatus` (due, overdue; due with a later date for one not yet due) and `dateCriterion` (LOINC 30980-7 the
date it is due, 59777-3 the latest date to give it, when there is one), or `complete` when the series is done
(a childhood dose past the age the calendar catches it up is not recommended). The doses given are its
`supportingImmunization`. The patient is read under the access policy as for `Patient/$risk-assessment`: only
whoever may read the record gets it, a patient (or their parent) their own, and the call is audited as an
operation on the Patient.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from medcity.immunization import service
from medcity.immunization.calendar import Series, calendar
from medcity.kit.errors import Unprocessable
from medcity.kit.hooks import JSON, OperationCall, operation
from medcity.kit.i18n import N_
from medcity.prescriptions.rules import local_today
from medcity.records.api import opened_patient
from medcity.store.values import now_instant

LOINC = "http://loinc.org"
STATUS_SYSTEM = "http://terminology.hl7.org/CodeSystem/immunization-recommendation-status"
DUE_DATE = {"system": LOINC, "code": "30980-7", "display": "Date vaccine due"}
LATEST_DATE = {"system": LOINC, "code": "59777-3", "display": "Latest date to give immunization"}


def _criteria(state: service.DoseState) -> list[JSON]:
    criteria = []
    if state.earliest is not None:
        criteria.append({"code": {"coding": [DUE_DATE]}, "value": state.earliest.isoformat()})
    if state.latest is not None:
        criteria.append({"code": {"coding": [LATEST_DATE]}, "value": state.latest.isoformat()})
    return criteria


def recommendation(series: Series, states: list[service.DoseState]) -> JSON:
    """The series' next dose (or `complete`), with the doses given that it rests on."""
    mine = [s for s in states if s.dose.series == series.code]
    following = next((s for s in mine if s.state in ("due", "overdue", "upcoming")), None)
    given = [{"reference": f"Immunization/{s.immunization}"} for s in mine if s.state == "done" and s.immunization]
    shown = following.dose if following is not None else series.doses[-1]
    status = "complete" if following is None else "overdue" if following.state == "overdue" else "due"
    item: JSON = {
        "vaccineCode": [{"coding": [{"system": calendar().system, "code": shown.code,
                                     "display": f"{series.vaccine('en')}: {shown.label('en')}"}]}],
        "targetDisease": {"text": series.infection("en")},
        "forecastStatus": {"coding": [{"system": STATUS_SYSTEM, "code": status}]},
        "series": series.code,
    }  # fmt: skip
    if following is not None:
        item["doseNumberPositiveInt"] = following.number
        item["dateCriterion"] = _criteria(following)
    if given:
        item["supportingImmunization"] = given
    return item


def forecast_resource(patient: str, birth: date, immunizations: list[JSON], today: date) -> JSON:
    states = service.forecast(birth, immunizations, today)
    return {
        "resourceType": "ImmunizationRecommendation",
        "patient": {"reference": f"Patient/{patient}"},
        "date": now_instant(),
        "recommendation": [recommendation(s, states) for s in calendar().series.values() if s.forecast],
    }


@operation("vaccination-forecast", resource_types=("Patient",), type_level=False, instance_level=True,
           description="The patient's vaccinations against the national calendar now: each series' next dose, due "
           "or overdue, as an ImmunizationRecommendation")  # fmt: skip
def vaccination_forecast(call: OperationCall) -> JSON:
    patient = opened_patient(call)
    birth = service.birth_of(patient.resource)
    if birth is None:
        raise Unprocessable(N_("The patient's record has no birth date: the calendar cannot be applied"))
    with call.store.reader() as tx:
        restrict = call.access.restriction_for(tx, patient.id) if call.access is not None else None
        given = service.immunizations_of(tx, patient.id, restrict)
    # Today in the region, as the pages count it: a dose due from today is due all of the region's day.
    return forecast_resource(patient.id, birth, given, local_today(call.store.region, datetime.now(UTC)))
