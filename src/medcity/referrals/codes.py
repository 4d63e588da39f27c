"""How a referral is written as a FHIR ServiceRequest, so that every package reads it the same way.

The booking workflow (`medcity.scheduling.service._check_referral`) recognises a specialist referral as an active
ServiceRequest of the patient whose `performerType` is the specialty (registry's specialty system); referrals
written here always carry that, and the SNOMED CT category 3457005 "Patient referral" besides, which tells them
apart from laboratory and imaging orders.
"""

from __future__ import annotations

from typing import Any

from medcity.registry.catalogue import BASE

JSON = dict[str, Any]

CATEGORY_SYSTEM = "http://snomed.info/sct"
CATEGORY_CODE = "3457005"
CATEGORY_TOKEN = f"{CATEGORY_SYSTEM}|{CATEGORY_CODE}"
KIND_SYSTEM = f"{BASE}/CodeSystem/referral-kind"
# Why a revoked referral was closed: cancelled by its sender, or expired (its validity period passed).
CLOSED_EXTENSION = f"{BASE}/StructureDefinition/referral-closed"
ICD10 = "http://hl7.org/fhir/sid/icd-10"

SPECIALIST, INSTITUTION, HOSPITALISATION = "specialist", "institution", "hospitalisation"
KINDS = (SPECIALIST, INSTITUTION, HOSPITALISATION)
KIND_NAMES = {
    SPECIALIST: ("Консультация специалиста", "Specialist consultation"),
    INSTITUTION: ("Направление в другое учреждение", "Referral to another institution"),
    HOSPITALISATION: ("Плановая госпитализация", "Planned hospitalisation"),
}

# The lifecycle people see. FHIR status: issued and booked are `active`, completed is `completed`, cancelled
# and expired are `revoked` (with CLOSED_EXTENSION saying which); an active referral past its validity reads as
# expired before the expiry command has written it.
ISSUED, BOOKED, COMPLETED, EXPIRED, CANCELLED = "issued", "booked", "completed", "expired", "cancelled"
STATES = (ISSUED, BOOKED, COMPLETED, EXPIRED, CANCELLED)

# The documents a receiving institution may be sent along with a referral.
SUPPORTING_TYPES = ("DocumentReference", "Observation", "DiagnosticReport")
VALID_DAYS = 30


def is_referral(data: JSON) -> bool:
    return any(
        coding.get("system") == CATEGORY_SYSTEM and coding.get("code") == CATEGORY_CODE
        for concept in data.get("category") or []
        if isinstance(concept, dict)
        for coding in concept.get("coding") or []
        if isinstance(coding, dict)
    )


def kind_of(data: JSON) -> str | None:
    for coding in (data.get("code") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == KIND_SYSTEM and coding.get("code") in KINDS:
            return str(coding["code"])
    return None


def closed_reason(data: JSON) -> str | None:
    for extension in data.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == CLOSED_EXTENSION:
            return str(extension.get("valueCode"))
    return None
