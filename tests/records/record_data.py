"""A patient whose record was written by several institutions, through the FHIR API, for the record's page tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fhir.helpers import patient, post

LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@dataclass
class Record:
    polyclinic: str
    hospital: str
    lab: str
    patient: str
    other: str
    glucose_high: str


def _id(client: Any, resource: dict[str, Any]) -> str:
    response = post(client, resource)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ref(rtype: str, rid: str) -> dict[str, str]:
    return {"reference": f"{rtype}/{rid}"}


def _condition(pid: str, code: str, text: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": _ref("Patient", pid),
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": status}]},
        "code": {"coding": [{"system": ICD10, "code": code}], "text": text},
        **extra,
    }


def _glucose(pid: str, value: float, when: str, lab: str, flag: str | None) -> dict[str, Any]:
    quantity = {"unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2339-0"}], "text": "Глюкоза"},
        "subject": _ref("Patient", pid),
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, **quantity},
        "referenceRange": [{"low": {"value": 3.9, **quantity}, "high": {"value": 6.1, **quantity}}],
        "performer": [_ref("Organization", lab)],
    }
    if flag:
        data["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag}]}]
    return data


def make_record(client: Any) -> Record:
    """A polyclinic visit, a hospital stay with a discharge summary, laboratory results (the latest glucose high),
    an allergy, a vaccination, a prescription, a risk flag; and another patient with a diagnosis of their own."""
    poly = _id(client, {"resourceType": "Organization", "name": "ГП № 12"})
    hospital = _id(client, {"resourceType": "Organization", "name": "ГКБ № 5"})
    lab = _id(client, {"resourceType": "Organization", "name": "КДЛ Центр"})
    surgeon = _id(client, {"resourceType": "PractitionerRole", "organization": _ref("Organization", hospital)})
    pid = _id(client, patient(family="Петрова", given="Анна", managingOrganization=_ref("Organization", poly)))
    other = _id(client, patient(family="Чужой", given="Иван", managingOrganization=_ref("Organization", poly)))
    visit = _id(client, {
        "resourceType": "Encounter", "status": "finished", "class": {"system": ACT_CODE, "code": "AMB"},
        "subject": _ref("Patient", pid), "serviceProvider": _ref("Organization", poly),
        "period": {"start": "2024-03-01T09:00:00+03:00", "end": "2024-03-01T09:20:00+03:00"},
        "reasonCode": [{"text": "головная боль"}],
    })  # fmt: skip
    stay = _id(client, {
        "resourceType": "Encounter", "status": "finished", "class": {"system": ACT_CODE, "code": "IMP"},
        "subject": _ref("Patient", pid), "serviceProvider": _ref("Organization", hospital),
        "period": {"start": "2024-05-10T22:00:00+03:00", "end": "2024-05-18T12:00:00+03:00"},
    })  # fmt: skip
    # Written at the polyclinic visit: the institution comes from the visit.
    _id(client, _condition(pid, "I10", "Эссенциальная гипертензия", "active", encounter=_ref("Encounter", visit)))
    # Recorded by a surgeon of the hospital: the institution comes from the PractitionerRole.
    surgeon_ref = _ref("PractitionerRole", surgeon)
    appendicitis = _id(client, _condition(pid, "K35.8", "Острый аппендицит", "resolved", recorder=surgeon_ref))
    _id(client, _condition(other, "E11.9", "Сахарный диабет чужого пациента", "active"))
    _id(client, _glucose(pid, 5.1, "2023-01-10T08:00:00Z", lab, "N"))
    _id(client, _glucose(pid, 5.9, "2023-09-10T08:00:00Z", lab, None))
    high = _id(client, _glucose(pid, 8.4, "2024-03-02T08:00:00Z", lab, "H"))
    _id(client, {
        "resourceType": "Composition", "status": "final", "title": "Выписной эпикриз",
        "type": {"coding": [{"system": LOINC, "code": "18842-5"}]}, "subject": _ref("Patient", pid),
        "encounter": _ref("Encounter", stay), "date": "2024-05-18T12:00:00+03:00",
        "author": [_ref("PractitionerRole", surgeon)],
        "section": [{"title": "Диагноз", "code": {"coding": [{"system": LOINC, "code": "11535-2"}]},
                     "entry": [_ref("Condition", appendicitis)], "text": {"status": "generated",
                     "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>K35.8 Острый аппендицит</p></div>'}}],
    })  # fmt: skip
    _id(client, {
        "resourceType": "DiagnosticReport", "status": "final", "code": {"text": "УЗИ брюшной полости"},
        "subject": _ref("Patient", pid), "effectiveDateTime": "2024-05-11T10:00:00+03:00",
        "performer": [_ref("Organization", hospital)], "conclusion": "Признаки аппендицита",
    })  # fmt: skip
    _id(client, {  # a laboratory's report: its values are results, not an imaging or instrumental report
        "resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Биохимия крови"},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
        "subject": _ref("Patient", pid), "effectiveDateTime": "2024-05-11T09:00:00+03:00",
        "performer": [_ref("Organization", lab)],
    })  # fmt: skip
    _id(client, {
        "resourceType": "AllergyIntolerance", "patient": _ref("Patient", pid), "code": {"text": "Пенициллин"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                       "code": "active"}]},
        "recorder": _ref("PractitionerRole", surgeon),
    })  # fmt: skip
    _id(client, {
        "resourceType": "Immunization", "status": "completed", "vaccineCode": {"text": "Грипп, инактивированная"},
        "patient": _ref("Patient", pid), "occurrenceDateTime": "2023-10-05", "encounter": _ref("Encounter", visit),
    })  # fmt: skip
    _id(client, {
        "resourceType": "MedicationRequest", "status": "active", "intent": "order",
        "medicationCodeableConcept": {"text": "Лизиноприл 10 мг"}, "subject": _ref("Patient", pid),
        "authoredOn": "2024-03-01", "encounter": _ref("Encounter", visit),
        "dosageInstruction": [{"text": "по 1 таблетке утром"}],
    })  # fmt: skip
    _id(client, {
        "resourceType": "Flag", "status": "active", "code": {"text": "Высокий сердечно-сосудистый риск"},
        "subject": _ref("Patient", pid), "author": _ref("Organization", poly),
    })  # fmt: skip
    return Record(polyclinic=poly, hospital=hospital, lab=lab, patient=pid, other=other, glucose_high=high)
