"""The synthetic city: organisations, staff and patients with two years of history, as FHIR R4 resources.

Deterministic: the same (seed, region, scale, as_of) gives the same resources, byte for byte. Each patient
draws from a random stream of its own (seeded by seed, region and number), so a patient does not change when
another one does, and the population can be generated in parallel. Ids are assigned here (`77-p0000042`,
`77-p0000042-e3`, `77-org-pc1`, ...) so that references are known before anything is written.

Duplicates: `scale.duplicates` of the patients are registered a second time by another clinic, with the
errors of `people.duplicate`; `City.duplicates` records the truth (duplicate id, original id, errors) for
the patient index's evaluation. Twins (same family, birth date and home; different given names and numbers)
are there to test the index's precision.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from medcity.demo import clinical, vaccinations
from medcity.demo.clinical import ref
from medcity.demo.data import CITIES, CityData
from medcity.demo.people import Person, duplicate, person, twin
from medcity.registry.catalogue import organization_types, specialty_concept
from medcity.registry.identifiers import OMS_SYSTEM, PASSPORT_SYSTEM, SNILS_SYSTEM, generate_snils, identifier
from medcity.registry.regions import region as region_settings
from medcity.registry.service import attachment_extension

JSON = dict[str, Any]


@dataclass(frozen=True)
class Scale:
    patients: int
    polyclinics: int
    branches: int  # per polyclinic
    hospitals: int
    laboratories: int
    pharmacies: int
    private_clinics: int
    duplicates: float  # share of patients registered twice
    twins: float  # share of patients that are a twin of the one before
    history: bool = True


SCALES = {
    "small": Scale(2_000, 3, 1, 1, 2, 3, 1, duplicates=0.01, twins=0.01),
    "city": Scale(200_000, 40, 2, 8, 10, 60, 15, duplicates=0.01, twins=0.01),
}

POLYCLINIC_SPECIALISTS = (
    "surgeon",
    "ophthalmologist",
    "otorhinolaryngologist",
    "dentist",
    "cardiologist",
    "neurologist",
    "endocrinologist",
    "gastroenterologist",
    "urologist",
    "gynaecologist",
    "dermatologist",
    "pulmonologist",
)
HOSPITAL_SPECIALISTS = ("surgeon", "cardiologist", "neurologist", "pulmonologist", "therapist-district")
PRIVATE_SPECIALISTS = (
    "general-practitioner",
    "dentist",
    "gynaecologist",
    "dermatologist",
    "cardiologist",
    "ophthalmologist",
    "urologist",
)
# Adults per district therapist: small scales keep a district small so that there are several of them.
ADULTS_PER_DISTRICT = 700


@dataclass
class Polyclinic:
    org_id: str
    location_id: str
    branch_ids: list[str]
    districts: list[str]  # the city districts (районы) it serves
    therapists: list[str]  # PractitionerRole ids, one per участок
    paediatricians: list[str]
    specialists: dict[str, str]  # specialty → PractitionerRole id


@dataclass
class Facility:
    org_id: str
    location_id: str
    roles: dict[str, str] = field(default_factory=dict)


@dataclass
class City:
    """The infrastructure every patient's history refers to."""

    region: str
    data: CityData
    resources: list[JSON] = field(default_factory=list)
    polyclinics: list[Polyclinic] = field(default_factory=list)
    hospitals: list[Facility] = field(default_factory=list)
    laboratories: list[Facility] = field(default_factory=list)
    pharmacies: list[Facility] = field(default_factory=list)
    private_clinics: list[Facility] = field(default_factory=list)
    duplicates: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def polyclinic_for(self, district: str, street: str) -> Polyclinic:
        """The polyclinic serving an address: where several serve the district, each takes some streets."""
        serving = [clinic for clinic in self.polyclinics if district in clinic.districts] or self.polyclinics
        return serving[sum(ord(c) for c in street) % len(serving)]


class Generator:
    def __init__(self, *, seed: int, region: str, as_of: date, scale: Scale) -> None:
        self.seed = seed
        self.region = region
        self.okato = region_settings(region).okato
        self.as_of = as_of
        self.scale = scale
        self.data = CITIES[region]
        self._staff = 0

    def _rng(self, *parts: object) -> random.Random:
        return random.Random("/".join(str(p) for p in (self.seed, self.region, *parts)))

    # ---- infrastructure -----------------------------------------------------------------------------------

    def _organization(
        self, city: City, oid: str, *, kind: str, name: str, part_of: str | None = None, rng: random.Random
    ) -> str:
        """An Organization and its building (Location); returns the Location id."""
        where = clinical.address_json(rng, self.data)
        org: JSON = {
            "resourceType": "Organization",
            "id": oid,
            "active": True,
            "type": organization_types(kind, "private" if kind == "private-clinic" else "public"),
            "name": name,
            "telecom": [
                {
                    "system": "phone",
                    "value": f"+7 {self.data.phone_code} {rng.randint(100, 999)}-{rng.randint(10, 99)}-00",
                }
            ],
            "address": [where],
        }
        if part_of:
            org["partOf"] = ref("Organization", part_of)
        location_id = f"{oid}-loc"
        city.resources += [
            org,
            {
                "resourceType": "Location",
                "id": location_id,
                "status": "active",
                "mode": "instance",
                "name": name,
                "address": where,
                "physicalType": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/location-physical-type",
                            "code": "bu",
                        }
                    ]
                },
                "managingOrganization": ref("Organization", oid),
            },
        ]
        return location_id

    def _role(self, city: City, rng: random.Random, *, org_id: str, location_id: str, specialty: str) -> str:
        """A Practitioner and the PractitionerRole in which they work; returns the role id."""
        self._staff += 1
        pid = f"{self.region}-pr{self._staff:05d}"
        doctor = person(rng, city=self.data, okato=self.okato, as_of=self.as_of)
        while doctor.age(self.as_of) < 25 or doctor.age(self.as_of) > 70:
            doctor = person(rng, city=self.data, okato=self.okato, as_of=self.as_of)
        city.resources += [
            {
                "resourceType": "Practitioner",
                "id": pid,
                "active": True,
                "identifier": [identifier(SNILS_SYSTEM, generate_snils(rng))],
                "name": [{"use": "official", "family": doctor.family, "given": [doctor.given, doctor.patronymic]}],
                "gender": doctor.gender,
                "birthDate": doctor.birth_date.isoformat(),
            },
            {
                "resourceType": "PractitionerRole",
                "id": f"{pid}-role",
                "active": True,
                "practitioner": ref("Practitioner", pid),
                "organization": ref("Organization", org_id),
                "code": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/practitioner-role",
                                "code": "pharmacist" if specialty == "pharmacist" else "doctor",
                            }
                        ]
                    }
                ],
                "specialty": [specialty_concept(specialty)],
                "location": [ref("Location", location_id)],
            },
        ]
        return f"{pid}-role"

    def _facility(self, city: City, oid: str, *, kind: str, name: str, specialties: tuple[str, ...]) -> Facility:
        rng = self._rng("org", oid)
        location = self._organization(city, oid, kind=kind, name=name, rng=rng)
        facility = Facility(oid, location)
        for spec in specialties:
            facility.roles[spec] = self._role(city, rng, org_id=oid, location_id=location, specialty=spec)
        return facility

    def city(self) -> City:
        city = City(region=self.region, data=self.data)
        s, public = self.scale, self.data.public_name
        districts = self.data.districts
        adults_per_clinic = s.patients * 0.8 / s.polyclinics
        n_districts = max(2, round(adults_per_clinic / ADULTS_PER_DISTRICT))
        for i in range(s.polyclinics):
            oid = f"{self.region}-org-pc{i + 1}"
            rng = self._rng("org", oid)
            number = 2 + i * 7
            location = self._organization(
                city, oid, kind="polyclinic", name=public(f"Городская поликлиника № {number}"), rng=rng
            )
            branches = []
            for b in range(s.branches):
                bid = f"{oid}-b{b + 1}"
                self._organization(
                    city,
                    bid,
                    kind="polyclinic-branch",
                    part_of=oid,
                    name=f"Филиал № {b + 1} " + public(f"Городская поликлиника № {number}"),
                    rng=rng,
                )
                branches.append(bid)

            def roles(
                spec: str, count: int, oid: str = oid, location: str = location, rng: random.Random = rng
            ) -> list[str]:
                return [self._role(city, rng, org_id=oid, location_id=location, specialty=spec) for _ in range(count)]

            city.polyclinics.append(
                Polyclinic(
                    org_id=oid,
                    location_id=location,
                    branch_ids=branches,
                    # each district has a polyclinic; in a big city several share one
                    districts=[d for k, d in enumerate(districts) if i in (k % s.polyclinics, k)]
                    or [districts[i % len(districts)]],
                    therapists=roles("therapist-district", n_districts),
                    paediatricians=roles("paediatrician", max(1, n_districts // 3)),
                    specialists={spec: roles(spec, 1)[0] for spec in POLYCLINIC_SPECIALISTS},
                )
            )
        for i in range(s.hospitals):
            city.hospitals.append(
                self._facility(
                    city,
                    f"{self.region}-org-h{i + 1}",
                    kind="hospital",
                    name=public(f"Городская клиническая больница № {15 + i * 4}"),
                    specialties=HOSPITAL_SPECIALISTS,
                )
            )
        for i in range(s.laboratories):
            city.laboratories.append(
                self._facility(
                    city,
                    f"{self.region}-org-lab{i + 1}",
                    kind="laboratory",
                    name=f"Централизованная клинико-диагностическая лаборатория № {i + 1}",
                    specialties=("clinical-laboratory",),
                )
            )
        for i in range(s.pharmacies):
            city.pharmacies.append(
                self._facility(
                    city,
                    f"{self.region}-org-ph{i + 1}",
                    kind="pharmacy",
                    name=f"Аптека № {101 + i * 3}",
                    specialties=("pharmacist",),
                )
            )
        for i in range(s.private_clinics):
            city.private_clinics.append(
                self._facility(
                    city,
                    f"{self.region}-org-pr{i + 1}",
                    kind="private-clinic",
                    name=f"Клиника «Семейный доктор{'' if i == 0 else f' {i + 1}'}»",
                    specialties=PRIVATE_SPECIALISTS,
                )
            )
        return city

    # ---- patients -----------------------------------------------------------------------------------------

    def _person(self, n: int, previous: Person | None) -> Person:
        rng = self._rng("p", n)
        if rng.random() < self.scale.twins and n > 1:
            return twin(rng, previous or self._person(n - 1, None), okato=self.okato)
        return person(rng, city=self.data, okato=self.okato, as_of=self.as_of)

    def people(self, start: int = 1, stop: int | None = None) -> Iterator[tuple[int, Person]]:
        """People number `start` to `stop` - 1 (all by default); a twin is made from the person before."""
        previous: Person | None = None
        for n in range(start, self.scale.patients + 1 if stop is None else stop):
            previous = self._person(n, previous)
            yield n, previous

    @staticmethod
    def patient_id(n: int, *, region: str) -> str:
        """The id of the n-th Patient of a region (a duplicate of n is n + scale.patients)."""
        return f"{region}-p{n:07d}"

    def patient(self, pid: str, who: Person, *, clinic: Polyclinic | None, district: str | None) -> JSON:
        idents = [
            identifier(system, value)
            for system, value in (
                (SNILS_SYSTEM, who.snils),
                (OMS_SYSTEM, who.oms),
                (PASSPORT_SYSTEM, who.passport),
            )
            if value
        ]
        data: JSON = {
            "resourceType": "Patient",
            "id": pid,
            "active": True,
            "name": [
                {
                    "use": "official",
                    "family": who.family,
                    "given": [g for g in (who.given, who.patronymic) if g],
                }
            ],
            "telecom": [{"system": "phone", "value": who.phone, "use": "mobile"}],
            "gender": who.gender,
            "birthDate": who.birth_date.isoformat(),
            "address": [clinical.person_address(who.address, self.data)],
        }
        if idents:
            data["identifier"] = idents
        if clinic is not None and district is not None:
            data["managingOrganization"] = ref("Organization", clinic.org_id)
            data["generalPractitioner"] = [ref("Organization", clinic.org_id)]
            start = max(who.birth_date, self.as_of - timedelta(days=365 * 5))
            data["extension"] = [attachment_extension(district, start)]
        return data

    def patients(self, city: City, start: int = 1, stop: int | None = None) -> Iterator[list[JSON]]:
        """Per person: the Patient and their history, and after it, if the person was registered twice, the
        duplicate record with a visit of its own (numbered `scale.patients` after the original)."""
        for n, who in self.people(start, stop):
            rng = self._rng("h", n)
            clinic = city.polyclinic_for(who.address.district, who.address.street)
            staff = clinic.therapists if who.age(self.as_of) >= 18 else clinic.paediatricians
            slot = hash_district(who.address.street, who.address.house, len(staff))
            pid = self.patient_id(n, region=self.region)
            resources = [self.patient(pid, who, clinic=clinic, district=str(slot + 1))]
            if self.scale.history:
                history = clinical.History(
                    rng=rng,
                    city=city,
                    clinic=clinic,
                    doctor=staff[slot],
                    patient_id=pid,
                    who=who,
                    as_of=self.as_of,
                )
                resources += history.resources()
                if who.age(self.as_of) < 18:
                    resources += vaccinations.calendar_history(
                        self._rng("vacc", n), patient_id=pid, born=who.birth_date, as_of=self.as_of,
                        performer=staff[slot],
                    )  # fmt: skip
            yield resources
            if rng.random() < self.scale.duplicates:
                yield self._duplicate(city, n, who)

    def _duplicate(self, city: City, n: int, who: Person) -> list[JSON]:
        rng = self._rng("dup", n)
        dup, errors = duplicate(rng, who, city=self.data)
        did = self.patient_id(self.scale.patients + n, region=self.region)
        city.duplicates.append((did, self.patient_id(n, region=self.region), errors))
        resources = [self.patient(did, dup, clinic=None, district=None)]
        if self.scale.history and city.private_clinics:
            resources += clinical.private_visit(rng, city=city, patient_id=did, who=dup, as_of=self.as_of)
        return resources


def hash_district(street: str, house: int, count: int) -> int:
    """The участок of a house: stable for the address, spread over the clinic's districts."""
    return (sum(ord(c) for c in street) * 31 + house) % count
