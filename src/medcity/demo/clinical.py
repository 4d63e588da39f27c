"""Two years of one patient's history: polyclinic visits with complaints and diagnoses, vital signs and
laboratory results consistent with the diagnoses, hospital stays with a discharge summary, vaccinations and
allergies — as FHIR R4 resources.

Frequencies: more visits for children and the elderly and for each chronic disease; chronic diseases by age
(`data.CHRONIC`); lab values drawn around a personal baseline that the diagnoses shift (glucose and HbA1c
high in E11, cholesterol in E78, blood pressure in I10, leukocytes in bronchitis and pneumonia, urine
leukocytes in N39).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from medcity.demo.data import (
    ACUTE,
    ALLERGIES,
    CHOLESTEROL,
    CHRONIC,
    CREATININE,
    GLUCOSE,
    HBA1C,
    HDL,
    HEMOGLOBIN,
    INPATIENT,
    LEUKOCYTES,
    URINE_WBC,
    VACCINES,
    Chronic,
    CityData,
    Diagnosis,
    LabTest,
)
from medcity.demo.people import Address, Person
from medcity.visits import smoking

if TYPE_CHECKING:
    from medcity.demo.generator import City, Polyclinic

JSON = dict[str, Any]
MSK = timezone(timedelta(hours=3))
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
ACT_CODE = f"{TERMINOLOGY}/v3-ActCode"
OBS_CATEGORY = f"{TERMINOLOGY}/observation-category"
INTERPRETATION = f"{TERMINOLOGY}/v3-ObservationInterpretation"
CONDITION_CLINICAL = f"{TERMINOLOGY}/condition-clinical"
CONDITION_VERIFICATION = f"{TERMINOLOGY}/condition-ver-status"
CONDITION_CATEGORY = f"{TERMINOLOGY}/condition-category"
HISTORY_DAYS = 730
# Childhood vaccines whose doses demo.vaccinations writes by the calendar instead.
CALENDAR_PLANS = frozenset({"mmr", "dtap"})


def ref(rtype: str, rid: str) -> JSON:
    return {"reference": f"{rtype}/{rid}"}


def _concept(system: str, code: str, display: str, text: str | None = None) -> JSON:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text or display}


def _when(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def moment(day: date, rng: random.Random, *, start_hour: int = 8, end_hour: int = 20) -> datetime:
    minutes = rng.randrange(start_hour * 60, end_hour * 60, 15)
    return datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=MSK)


def address_json(rng: random.Random, city: CityData) -> JSON:
    """An institution's address."""
    return {
        "use": "work",
        "type": "physical",
        "line": [f"{rng.choice(city.streets)}, д. {rng.randint(1, 150)}"],
        "city": city.city,
        "district": rng.choice(city.districts),
        "country": "RU",
    }


def person_address(where: Address, city: CityData) -> JSON:
    return {
        "use": "home",
        "type": "physical",
        "line": [where.line],
        "city": city.city,
        "district": where.district,
        "postalCode": where.postal_code,
        "country": "RU",
    }


def _choose(rng: random.Random, options: tuple[Diagnosis, ...], age: int) -> Diagnosis:
    fitting = [d for d in options if d.ages[0] <= age < d.ages[1]]
    return rng.choices(fitting, weights=[d.weight for d in fitting])[0]


def _prevalence(chronic: Chronic, age: int) -> float:
    share = 0.0
    for from_age, value in chronic.prevalence:
        if age >= from_age:
            share = value
    return share


@dataclass
class History:
    rng: random.Random
    city: City
    clinic: Polyclinic
    doctor: str  # the district doctor's PractitionerRole
    patient_id: str
    who: Person
    as_of: date
    out: list[JSON] = field(default_factory=list)
    chronic: list[tuple[Chronic, str]] = field(default_factory=list)  # with the Condition id
    _seq: int = 0

    def _id(self, kind: str) -> str:
        self._seq += 1
        return f"{self.patient_id}-{kind}{self._seq}"

    @property
    def subject(self) -> JSON:
        return ref("Patient", self.patient_id)

    def _day(self) -> date:
        day = self.as_of - timedelta(days=self.rng.randint(1, HISTORY_DAYS))
        return day - timedelta(days=max(0, day.weekday() - 4))  # polyclinics see planned visits on weekdays

    def resources(self) -> list[JSON]:
        age = self.who.age(self.as_of)
        for chronic in CHRONIC:
            if self.rng.random() < _prevalence(chronic, age):
                self.chronic.append((chronic, self._condition_chronic(chronic)))
        visits = self.rng.choices((0, 1, 2, 3, 4), weights=(3, 5, 3, 2, 1))[0]
        visits += len(self.chronic) + (1 if age < 6 or age >= 65 else 0)
        for day in sorted(self._day() for _ in range(visits)):
            self._visit(day, age)
        if self.rng.random() < 0.015 + (0.04 if age >= 65 else 0.0):
            self._hospital_stay(age)
        self._immunizations(age)
        if self.rng.random() < 0.08:
            self._allergy()
        return self.out

    # ---- conditions ---------------------------------------------------------------------------------------

    def _condition(
        self, code: str, name: str, *, category: str, onset: str, encounter: str | None, resolved: str | None
    ) -> str:
        cid = self._id("c")
        data: JSON = {
            "resourceType": "Condition",
            "id": cid,
            "clinicalStatus": {
                "coding": [{"system": CONDITION_CLINICAL, "code": "resolved" if resolved else "active"}]
            },
            "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
            "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": category}]}],
            "code": _concept(ICD10, code, name),
            "subject": self.subject,
            "onsetDateTime": onset,
            "recordedDate": onset,
            "recorder": ref("PractitionerRole", self.doctor),
        }
        if encounter:
            data["encounter"] = ref("Encounter", encounter)
        if resolved:
            data["abatementDateTime"] = resolved
        self.out.append(data)
        return cid

    def _condition_chronic(self, chronic: Chronic) -> str:
        years = self.rng.randint(1, 12)
        onset = max(self.who.birth_date, self.as_of - timedelta(days=HISTORY_DAYS + 365 * years))
        return self._condition(
            chronic.code,
            chronic.ru,
            category="problem-list-item",
            onset=onset.isoformat(),
            encounter=None,
            resolved=None,
        )

    # ---- encounters ---------------------------------------------------------------------------------------

    def _encounter(
        self,
        eid: str,
        *,
        start: datetime,
        end: datetime,
        klass: str,
        provider: str,
        location: str,
        role: str,
        complaint: str,
        diagnoses: list[str],
    ) -> None:
        data: JSON = {
            "resourceType": "Encounter",
            "id": eid,
            "status": "finished",
            "class": {
                "system": ACT_CODE,
                "code": klass,
                "display": "inpatient encounter" if klass == "IMP" else "ambulatory",
            },
            "subject": self.subject,
            "participant": [{"individual": ref("PractitionerRole", role)}],
            "period": {"start": _when(start), "end": _when(end)},
            "reasonCode": [{"text": complaint}],
            "location": [{"location": ref("Location", location)}],
            "serviceProvider": ref("Organization", provider),
        }
        if diagnoses:
            data["diagnosis"] = [
                {"condition": ref("Condition", cid), "rank": rank} for rank, cid in enumerate(diagnoses, start=1)
            ]
        if klass == "IMP":
            data["hospitalization"] = {
                "dischargeDisposition": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                            "code": "home",
                        }
                    ]
                }
            }
        self.out.append(data)

    def _visit(self, day: date, age: int) -> None:
        start = moment(day, self.rng)
        end = start + timedelta(minutes=15)
        if self.chronic and self.rng.random() < 0.5:
            chronic, condition = self.rng.choice(self.chronic)
            role = self.clinic.specialists.get(chronic.specialty, self.doctor)
            eid = self._id("e")
            self._encounter(
                eid,
                start=start,
                end=end,
                klass="AMB",
                provider=self.clinic.org_id,
                location=self.clinic.location_id,
                role=role,
                complaint=self.rng.choice(chronic.complaints),
                diagnoses=[condition],
            )
            self._measure(eid, start, {chronic.code}, age)
            return
        diagnosis = _choose(self.rng, ACUTE, age)
        role = self.doctor
        if diagnosis.specialty not in ("therapist-district", "paediatrician"):
            role = self.clinic.specialists.get(diagnosis.specialty, self.doctor)
        eid = self._id("e")
        conditions = []
        if not diagnosis.code.startswith("Z"):
            resolved = _when(start + timedelta(days=self.rng.randint(5, 14)))
            conditions.append(
                self._condition(
                    diagnosis.code,
                    diagnosis.ru,
                    category="encounter-diagnosis",
                    onset=_when(start),
                    encounter=eid,
                    resolved=resolved,
                )
            )
        self._encounter(
            eid,
            start=start,
            end=end,
            klass="AMB",
            provider=self.clinic.org_id,
            location=self.clinic.location_id,
            role=role,
            complaint=self.rng.choice(diagnosis.complaints),
            diagnoses=conditions,
        )
        codes = {diagnosis.code} | {c.code for c, _ in self.chronic}
        self._measure(eid, start, codes, age)

    # ---- measurements -------------------------------------------------------------------------------------

    def _measure(self, encounter: str, when: datetime, codes: set[str], age: int) -> None:
        """Blood pressure for adults at most visits, and then whether they smoke; the tests a doctor orders for these
        diagnoses (with the total cholesterol, its HDL part, so that a cardiovascular risk can be computed)."""
        if age >= 18 and self.rng.random() < 0.45:
            self._blood_pressure(encounter, when, "I10" in codes, age)
            self._smoking(encounter, when)
        lab_day = when + timedelta(days=1, hours=2)
        tests: list[LabTest] = []
        if "E11.9" in codes:
            tests += [GLUCOSE, HBA1C]
        if "E78.0" in codes:
            tests.append(CHOLESTEROL)
        if "Z00.0" in codes:
            tests += [GLUCOSE, CHOLESTEROL, HEMOGLOBIN]
        if codes & {"J20.9", "J18.9"}:
            tests.append(LEUKOCYTES)
        if "N39.0" in codes:
            tests.append(URINE_WBC)
        if "I10" in codes and self.rng.random() < 0.3:
            tests.append(CREATININE)
        for test in dict.fromkeys(tests):
            self._lab(encounter, lab_day, test, codes)
        if CHOLESTEROL in tests:
            # Its own generator, so that the rest of the city stays as it was generated before HDL was.
            self._lab(encounter, lab_day, HDL, codes, rng=random.Random(f"{encounter}/hdl"))

    def _smoking(self, encounter: str, when: datetime) -> None:
        """The patient's smoking status, the same at every visit (drawn from the patient's own generator, which
        leaves the city's sequence as it was)."""
        own = random.Random(f"{self.patient_id}/smoking")
        smokes = 0.3 if self.who.gender == "male" else 0.12
        answer = own.choices(smoking.ANSWERS, weights=(smokes, 0.15, 0.85 - smokes))[0]
        asked_by, at = ref("PractitionerRole", self.doctor), ref("Encounter", encounter)
        data = smoking.observation(answer, subject=self.subject, encounter=at, performer=asked_by, when=_when(when))
        self.out.append({"id": self._id("o"), **data})

    def _observation(self, encounter: str, when: datetime, category: str, code: JSON) -> JSON:
        return {
            "resourceType": "Observation",
            "id": self._id("o"),
            "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": category}]}],
            "code": code,
            "subject": self.subject,
            "encounter": ref("Encounter", encounter),
            "effectiveDateTime": _when(when),
        }

    def _blood_pressure(self, encounter: str, when: datetime, hypertensive: bool, age: int) -> None:
        systolic = self.rng.gauss(152 if hypertensive else 112 + age * 0.25, 10)
        diastolic = self.rng.gauss(94 if hypertensive else 72 + age * 0.1, 7)
        data = self._observation(
            encounter,
            when,
            "vital-signs",
            _concept(LOINC, "85354-9", "Blood pressure panel", "Артериальное давление"),
        )
        data["component"] = [
            {
                "code": _concept(LOINC, code, display),
                "valueQuantity": {"value": round(value), "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"},
                "interpretation": [self._interpretation(value, 0, limit)],
            }
            for code, display, value, limit in (
                ("8480-6", "Systolic blood pressure", systolic, 140),
                ("8462-4", "Diastolic blood pressure", diastolic, 90),
            )
        ]
        self.out.append(data)

    def _interpretation(self, value: float, low: float, high: float) -> JSON:
        code = "H" if value > high else "L" if value < low else "N"
        return {"coding": [{"system": INTERPRETATION, "code": code}]}

    def _lab_value(self, test: LabTest, codes: set[str], rng: random.Random) -> float:
        female = self.who.gender == "female"
        mean_sd = {
            GLUCOSE.loinc: (8.6, 1.8) if "E11.9" in codes else (5.0, 0.5),
            HBA1C.loinc: (7.8, 0.9) if "E11.9" in codes else (5.3, 0.3),
            CHOLESTEROL.loinc: (6.9, 0.7) if "E78.0" in codes else (4.7, 0.6),
            HDL.loinc: (1.5, 0.3) if female else (1.2, 0.25),
            HEMOGLOBIN.loinc: (132.0, 9.0) if female else (148.0, 10.0),
            LEUKOCYTES.loinc: (12.5, 2.0) if codes & {"J20.9", "J18.9"} else (6.3, 1.2),
            CREATININE.loinc: (72.0, 10.0) if female else (92.0, 12.0),
            URINE_WBC.loinc: (28.0, 9.0) if "N39.0" in codes else (2.0, 1.0),
        }[test.loinc]
        return max(0.0, round(rng.gauss(*mean_sd), test.decimals))

    def _lab(
        self, encounter: str, when: datetime, test: LabTest, codes: set[str], *, rng: random.Random | None = None
    ) -> None:
        rng = rng or self.rng
        value = self._lab_value(test, codes, rng)
        lab = rng.choice(self.city.laboratories) if self.city.laboratories else None
        data = self._observation(encounter, when, "laboratory", _concept(LOINC, test.loinc, test.display, test.ru))
        quantity = {"unit": test.unit, "system": UCUM, "code": test.unit}
        data["valueQuantity"] = {"value": value, **quantity}
        data["referenceRange"] = [{"low": {"value": test.low, **quantity}, "high": {"value": test.high, **quantity}}]
        data["interpretation"] = [self._interpretation(value, test.low, test.high)]
        data["issued"] = _when(when + timedelta(hours=6))
        if lab is not None:
            data["performer"] = [ref("Organization", lab.org_id)]
        self.out.append(data)

    # ---- hospital, vaccinations, allergies ----------------------------------------------------------------

    def _hospital_stay(self, age: int) -> None:
        if not self.city.hospitals:
            return
        hospital = self.rng.choice(self.city.hospitals)
        reason = _choose(self.rng, INPATIENT, age)
        role = hospital.roles.get(reason.specialty) or next(iter(hospital.roles.values()))
        admitted = moment(self._day(), self.rng, start_hour=0, end_hour=24)
        discharged = admitted + timedelta(days=self.rng.randint(4, 12), hours=self.rng.randint(1, 6))
        eid = self._id("e")
        condition = self._condition(
            reason.code,
            reason.ru,
            category="encounter-diagnosis",
            onset=_when(admitted),
            encounter=eid,
            resolved=_when(discharged),
        )
        self._encounter(
            eid,
            start=admitted,
            end=discharged,
            klass="IMP",
            provider=hospital.org_id,
            location=hospital.location_id,
            role=role,
            complaint=self.rng.choice(reason.complaints),
            diagnoses=[condition],
        )
        days = (discharged.date() - admitted.date()).days
        self._lab(eid, admitted + timedelta(hours=2), LEUKOCYTES, {reason.code})
        self.out.append(
            {
                "resourceType": "Composition",
                "id": self._id("d"),
                "status": "final",
                "type": _concept(LOINC, "18842-5", "Discharge summary", "Выписной эпикриз"),
                "subject": self.subject,
                "encounter": ref("Encounter", eid),
                "date": _when(discharged),
                "author": [ref("PractitionerRole", role)],
                "title": "Выписной эпикриз",
                "section": [
                    _section("Диагноз", f"{reason.code} {reason.ru}"),
                    _section("Жалобы при поступлении", reason.complaints[0]),
                    _section(
                        "Течение",
                        f"Находился на лечении {days} дн. Состояние при выписке удовлетворительное.",
                    ),
                    _section("Рекомендации", "Наблюдение участкового врача по месту прикрепления."),
                ],
            }
        )

    def _immunizations(self, age: int) -> None:
        plans: list[str] = []
        if age < 7 and self.rng.random() < 0.6:
            plans.append("mmr" if age >= 1 else "dtap")
        for _year in range(2):
            if self.rng.random() < (0.35 if age >= 60 else 0.15):
                plans.append("influenza")
        if age >= 18 and self.rng.random() < 0.05:
            plans.append("td")
        for plan in plans:
            code, display, ru = VACCINES[plan]
            given = moment(self._day(), self.rng)
            rid, lot = self._id("i"), f"{self.rng.randint(100, 999)}-{given.year % 100:02d}"
            if plan in CALENDAR_PLANS:
                # A child's vaccinations by the calendar come from demo.vaccinations; the draws stay, so that the
                # rest of the history is the same as before.
                continue
            self.out.append(
                {
                    "resourceType": "Immunization",
                    "id": rid,
                    "status": "completed",
                    "vaccineCode": _concept(CVX, code, display, ru),
                    "patient": self.subject,
                    "occurrenceDateTime": _when(given),
                    "primarySource": True,
                    "lotNumber": lot,
                    "performer": [{"actor": ref("PractitionerRole", self.doctor)}],
                }
            )

    def _allergy(self) -> None:
        code, display, ru, category, _ = self.rng.choices(ALLERGIES, weights=[a[4] for a in ALLERGIES])[0]
        self.out.append(
            {
                "resourceType": "AllergyIntolerance",
                "id": self._id("a"),
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                            "code": "active",
                        }
                    ]
                },
                "verificationStatus": {
                    "coding": [
                        {
                            "system": f"{TERMINOLOGY}/allergyintolerance-verification",
                            "code": "confirmed",
                        }
                    ]
                },
                "type": "allergy",
                "category": [category],
                "criticality": "low",
                "code": _concept(SNOMED, code, display, ru),
                "patient": self.subject,
                "recordedDate": (self.as_of - timedelta(days=HISTORY_DAYS + self.rng.randint(0, 3000))).isoformat(),
                "recorder": ref("PractitionerRole", self.doctor),
            }
        )


def _section(title: str, text: str) -> JSON:
    return {
        "title": title,
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{text}</p></div>',
        },
    }


def private_visit(rng: random.Random, *, city: City, patient_id: str, who: Person, as_of: date) -> list[JSON]:
    """A visit to a private clinic under a duplicate registration (so a merge has references to move)."""
    clinic = rng.choice(city.private_clinics)
    history = History(
        rng=rng,
        city=city,
        clinic=city.polyclinics[0],
        doctor=clinic.roles["general-practitioner"],
        patient_id=patient_id,
        who=who,
        as_of=as_of,
    )
    start = moment(history._day(), rng)
    history._encounter(
        history._id("e"),
        start=start,
        end=start + timedelta(minutes=30),
        klass="AMB",
        provider=clinic.org_id,
        location=clinic.location_id,
        role=clinic.roles["general-practitioner"],
        complaint="консультация, жалобы на общую слабость",
        diagnoses=[],
    )
    return history.out
