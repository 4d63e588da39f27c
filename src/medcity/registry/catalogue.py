"""Reference data of the registers, in the spirit of ФРМО (organisations) and ФРМР (staff): organisation
kinds, ownership, the fixed list of doctors' specialties, and the specialties patients reach first (a region's
settings, in `regions.py`, say which of them its patients book without a referral).

Codes are medcity's own and stable (they are stored in resources), under the CodeSystem URLs below; the
specialty names follow the Minzdrav nomenclature of specialties (приказ № 206н), and the first-contact rule
follows the Moscow and St Petersburg practice of direct booking to district doctors and a few specialists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_

BASE = "https://medcity.example/fhir"
ORGANIZATION_KIND_SYSTEM = f"{BASE}/CodeSystem/organization-kind"
OWNERSHIP_SYSTEM = f"{BASE}/CodeSystem/ownership"
SPECIALTY_SYSTEM = f"{BASE}/CodeSystem/specialty"
HL7_ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"


@dataclass(frozen=True)
class Concept:
    code: str
    ru: str
    en: str

    def display(self, lang: str = "ru") -> str:
        return self.en if lang == "en" else self.ru

    def name(self, lang: str) -> str:
        """As a value of an error's message (medcity.kit.i18n.say): its display in the reader's language."""
        return self.display(lang)


@dataclass(frozen=True)
class OrganizationKind(Concept):
    hl7_type: str  # organization-type code: prov (provider), dept (a branch is a department of its parent)
    attachable: bool  # patients can be attached (прикреплены) to it


ORGANIZATION_KINDS = {
    k.code: k
    for k in (
        OrganizationKind("polyclinic", "Городская поликлиника", "City polyclinic", "prov", True),
        OrganizationKind("polyclinic-branch", "Филиал поликлиники", "Polyclinic branch", "dept", True),
        OrganizationKind("hospital", "Больница", "Hospital", "prov", False),
        OrganizationKind("laboratory", "Лаборатория", "Laboratory", "prov", False),
        OrganizationKind("pharmacy", "Аптека", "Pharmacy", "prov", False),
        OrganizationKind("private-clinic", "Частная клиника", "Private clinic", "prov", True),
    )
}

OWNERSHIP = {
    o.code: o for o in (Concept("public", "Государственная", "Public"), Concept("private", "Частная", "Private"))
}

SPECIALTIES = {
    s.code: s
    for s in (
        Concept("therapist-district", "Участковый терапевт", "District therapist"),
        Concept("general-practitioner", "Врач общей практики", "General practitioner"),
        Concept("paediatrician", "Педиатр", "Paediatrician"),
        Concept("surgeon", "Хирург", "Surgeon"),
        Concept("ophthalmologist", "Офтальмолог", "Ophthalmologist"),
        Concept("otorhinolaryngologist", "Оториноларинголог", "Otorhinolaryngologist (ENT)"),
        Concept("dentist", "Стоматолог", "Dentist"),
        Concept("cardiologist", "Кардиолог", "Cardiologist"),
        Concept("neurologist", "Невролог", "Neurologist"),
        Concept("endocrinologist", "Эндокринолог", "Endocrinologist"),
        Concept("gastroenterologist", "Гастроэнтеролог", "Gastroenterologist"),
        Concept("urologist", "Уролог", "Urologist"),
        Concept("gynaecologist", "Акушер-гинеколог", "Obstetrician-gynaecologist"),
        Concept("dermatologist", "Дерматовенеролог", "Dermatovenereologist"),
        Concept("pulmonologist", "Пульмонолог", "Pulmonologist"),
        Concept("rheumatologist", "Ревматолог", "Rheumatologist"),
        Concept("infectious-disease", "Инфекционист", "Infectious disease specialist"),
        Concept("psychiatrist", "Психиатр", "Psychiatrist"),
        Concept("oncologist", "Онколог", "Oncologist"),
        Concept("traumatologist", "Травматолог-ортопед", "Orthopaedic traumatologist"),
        Concept("allergist", "Аллерголог-иммунолог", "Allergist-immunologist"),
        Concept(
            "clinical-laboratory",
            "Врач клинической лабораторной диагностики",
            "Clinical laboratory physician",
        ),
        Concept("pharmacist", "Провизор", "Pharmacist"),
    )
}

# Specialties that see patients: the laboratory's physician and the pharmacist take no appointments and receive no
# referrals, so neither is offered to a patient booking or a doctor referring.
SEES_PATIENTS = frozenset(SPECIALTIES) - {"clinical-laboratory", "pharmacist"}

# Kinds of institution a patient can be referred to (a pharmacy dispenses prescriptions; it receives no patients).
RECEIVES_REFERRALS = frozenset({"polyclinic", "polyclinic-branch", "hospital", "laboratory", "private-clinic"})

# Specialties a patient reaches first, without a referral from a district doctor.
FIRST_CONTACT = frozenset(
    {
        "therapist-district", "general-practitioner", "paediatrician", "surgeon", "ophthalmologist",
        "otorhinolaryngologist", "dentist", "urologist", "gynaecologist",
    }
)  # fmt: skip


def specialty(code: str) -> Concept:
    try:
        return SPECIALTIES[code]
    except KeyError:
        raise InvalidRequest(N_("Unknown specialty '%(code)s'"), code=code) from None


def _coding(system: str, concept: Concept, lang: str) -> dict[str, Any]:
    return {"system": system, "code": concept.code, "display": concept.display(lang)}


def specialty_coding(code: str, lang: str = "ru") -> dict[str, Any]:
    """A specialty's Coding, with its display in `lang`."""
    return _coding(SPECIALTY_SYSTEM, specialty(code), lang)


def specialty_concept(code: str, lang: str = "ru") -> dict[str, Any]:
    """A CodeableConcept for PractitionerRole.specialty."""
    return {"coding": [specialty_coding(code, lang)], "text": specialty(code).display(lang)}


def specialty_choices(lang: str) -> list[tuple[str, str]]:
    """(code, name) of the specialties that see patients, by name in the reader's language: what a form offers."""
    return sorted(((code, SPECIALTIES[code].display(lang)) for code in SEES_PATIENTS), key=lambda s: s[1])


def specialty_code(concepts: Iterable[Any]) -> str | None:
    """The first specialty of the catalogue named in these CodeableConcepts (PractitionerRole.specialty,
    ServiceRequest.performerType), if any."""
    codings = (c for concept in concepts if isinstance(concept, dict) for c in concept.get("coding") or [])
    for coding in codings:
        if isinstance(coding, dict) and coding.get("system") == SPECIALTY_SYSTEM and coding.get("code") in SPECIALTIES:
            return str(coding["code"])
    return None


def organization_types(kind: str, ownership: str, lang: str = "ru") -> list[dict[str, Any]]:
    """Organization.type: the HL7 type with medcity's kind, then the ownership (public/private)."""
    try:
        k, own = ORGANIZATION_KINDS[kind], OWNERSHIP[ownership]
    except KeyError:
        raise InvalidRequest(
            N_("Unknown organisation kind '%(kind)s' or ownership '%(ownership)s'"), kind=kind, ownership=ownership
        ) from None
    return [
        {
            "coding": [
                {"system": HL7_ORGANIZATION_TYPE, "code": k.hl7_type},
                _coding(ORGANIZATION_KIND_SYSTEM, k, lang),
            ]
        },
        {"coding": [_coding(OWNERSHIP_SYSTEM, own, lang)]},
    ]


def receives_referrals(organization: dict[str, Any]) -> bool:
    """Whether patients can be referred to this Organization: another system's may carry no medcity kind, and only
    a kind known to receive no one (a pharmacy) says no."""
    kind = organization_kind(organization)
    return kind is None or kind in RECEIVES_REFERRALS


def organization_kind(organization: dict[str, Any]) -> str | None:
    """The medcity kind recorded on an Organization resource, if any."""
    for concept in organization.get("type") or []:
        for coding in concept.get("coding") or []:
            if coding.get("system") == ORGANIZATION_KIND_SYSTEM:
                return str(coding.get("code"))
    return None
