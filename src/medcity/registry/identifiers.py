"""Russian personal identifiers on a Patient (or Practitioner): validation, normalisation and generation.

Identifier systems (FHIR `Identifier.system`):

- СНИЛС (страховой номер индивидуального лицевого счёта, pension insurance number), `urn:oid:1.2.643.100.3`
  — the OID the ЕГИСЗ and the qualified-certificate profile (приказ ФСБ № 795) use for СНИЛС. Stored as 11
  digits without separators. Checksum (Постановление Правления ПФР № 11п, 1996): the first 9 digits weighted
  9..1 are summed; a sum below 100 is the control number itself, 100 and 101 give 00, a larger sum is taken
  mod 101 and then treated the same way. Numbers up to 001-001-998 were issued before the rule and are not
  checked.
- ОМС единый номер полиса (ЕНП, the single compulsory-insurance policy number, 16 digits),
  `urn:oid:1.2.643.5.1.13.2.1.1.725` (ФОМС register of insured persons, as chosen for this project; check it
  against ФНСИ before exchanging with an outside system). The 16th digit is a control digit computed by the
  ФФОМС algorithm: the odd-position digits of the first 15 (counted from the right) form a number that is
  doubled, the even-position digits are written before it, and the control digit tops the digit sum up to a
  multiple of 10 — which is, digit for digit, the Luhn check over all 16 digits, and is validated as such.
- Passport of a citizen of the Russian Federation (series: 4 digits, number: 6 digits),
  `urn:oid:1.2.643.5.1.13.13.99.2.48.1` (ФНСИ "Документы, удостоверяющие личность"
  1.2.643.5.1.13.13.99.2.48, with the passport's code 1 appended — our convention, to be checked like the
  ОМС OID). Stored as "SSSS NNNNNN". A passport has no checksum, so only its format is checked.

Every `validate_*` returns the normalised value or raises `InvalidRequest`; `check_patient_identifiers`
collects every problem on one resource into a single `Unprocessable`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from medcity.kit.errors import InvalidRequest, Issue, Unprocessable
from medcity.kit.i18n import N_

SNILS_SYSTEM = "urn:oid:1.2.643.100.3"
OMS_SYSTEM = "urn:oid:1.2.643.5.1.13.2.1.1.725"
PASSPORT_SYSTEM = "urn:oid:1.2.643.5.1.13.13.99.2.48.1"

# Identifiers that belong to one person for life: two records with different values are two people.
PERSONAL_SYSTEMS = frozenset({SNILS_SYSTEM, OMS_SYSTEM})

# The HL7 v2-0203 identifier type each system is labelled with, so that a client without our OIDs still
# knows it.
TYPE_CODES = {
    SNILS_SYSTEM: ("SB", "СНИЛС"),
    OMS_SYSTEM: ("NH", "Полис ОМС"),
    PASSPORT_SYSTEM: ("PPN", "Паспорт РФ"),
}

_SEPARATORS = re.compile(r"[\s\-]+")
_SNILS_UNCHECKED_UP_TO = 1_001_998


def _digits(value: str, label: str, length: int) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(N_("%(label)s: expected a string of %(length)s digits"), label=label, length=length)
    digits = _SEPARATORS.sub("", value)
    if len(digits) != length or not digits.isdigit():
        raise InvalidRequest(
            N_("%(label)s '%(value)s': must be %(length)s digits, got '%(digits)s'"),
            label=label,
            value=value[:40],
            length=length,
            digits=digits[:40],
        )
    return digits


def snils_control(first9: str) -> int:
    total = sum(int(d) * w for d, w in zip(first9, range(9, 0, -1), strict=True))
    if total > 101:
        total %= 101
    return 0 if total in (100, 101) else total


def validate_snils(value: str) -> str:
    """11 digits (separators allowed on input) with the ПФР control number; returns the bare digits."""
    digits = _digits(value, "СНИЛС (SNILS)", 11)
    if int(digits[:9]) > _SNILS_UNCHECKED_UP_TO and snils_control(digits[:9]) != int(digits[9:]):
        raise InvalidRequest(
            N_("СНИЛС (SNILS) '%(value)s': control number %(control)s does not match, expected %(expected)s"),
            value=value[:40],
            control=digits[9:],
            expected=f"{snils_control(digits[:9]):02d}",
        )
    return digits


def luhn_control(payload: str) -> int:
    """The digit that makes payload+digit pass the Luhn check (the ФФОМС ЕНП control digit)."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:  # the payload's rightmost digit sits next to the control digit and is doubled
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return (10 - total % 10) % 10


def validate_oms(value: str) -> str:
    """ЕНП: 16 digits, the last a control digit (see the module docstring); returns the bare digits."""
    digits = _digits(value, "Полис ОМС (OMS policy)", 16)
    if luhn_control(digits[:15]) != int(digits[15]):
        raise InvalidRequest(
            N_("Полис ОМС (OMS policy) '%(value)s': control digit %(control)s does not match, expected %(expected)s"),
            value=value[:40],
            control=digits[15],
            expected=luhn_control(digits[:15]),
        )
    return digits


def validate_passport(value: str) -> str:
    """Series (4 digits) and number (6 digits), separated or not; returns "SSSS NNNNNN"."""
    digits = _digits(value, "Паспорт РФ (passport)", 10)
    return f"{digits[:4]} {digits[4:]}"


VALIDATORS: dict[str, Callable[[str], str]] = {
    SNILS_SYSTEM: validate_snils,
    OMS_SYSTEM: validate_oms,
    PASSPORT_SYSTEM: validate_passport,
}


def normalise_identifier(system: str | None, value: str) -> str:
    """The stored form of a known identifier (raises InvalidRequest); other systems are left as they are."""
    validator = VALIDATORS.get(system or "")
    return validator(value) if validator else value


def check_patient_identifiers(patient: dict[str, Any]) -> dict[str, Any]:
    """Validate every known identifier on the resource; return a copy with them normalised.

    Raises Unprocessable listing each invalid identifier, and each known system given twice with different
    values.
    """
    issues: list[Issue] = []
    seen: dict[str, str] = {}
    normalised = []
    for i, ident in enumerate(patient.get("identifier") or []):
        system, value = ident.get("system"), ident.get("value")
        if system not in VALIDATORS or not isinstance(value, str):
            normalised.append(ident)
            continue
        where = f"{patient.get('resourceType', 'Patient')}.identifier[{i}]"
        try:
            clean = VALIDATORS[system](value)
        except InvalidRequest as exc:
            issues.append(Issue(code="value", diagnostics=exc.diagnostics, expression=[where]))
            continue
        if system in seen and seen[system] != clean:
            issues.append(
                Issue(
                    code="business-rule",
                    diagnostics=f"{system}: two different values given",
                    expression=[where],
                )
            )
        seen[system] = clean
        normalised.append({**ident, "value": clean})
    if issues:
        raise Unprocessable("; ".join(issue.diagnostics for issue in issues), issues=issues)
    return {**patient, "identifier": normalised} if "identifier" in patient else dict(patient)


def identifier(system: str, value: str) -> dict[str, Any]:
    """A FHIR Identifier of a known system, labelled with its v2-0203 type."""
    code, text = TYPE_CODES[system]
    return {
        "use": "official",
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": code}],
            "text": text,
        },
        "system": system,
        "value": VALIDATORS[system](value),
    }


def generate_snils(rng: random.Random) -> str:
    body = f"{rng.randint(_SNILS_UNCHECKED_UP_TO + 1, 999_999_999):09d}"
    return f"{body}{snils_control(body):02d}"


def generate_oms(rng: random.Random, *, okato: str = "45") -> str:
    """A valid ЕНП starting with the region's ОКАТО code (45 Moscow, 40 St Petersburg), as real ones do."""
    body = f"{okato}{rng.randint(0, 10**13 - 1):013d}"
    return f"{body}{luhn_control(body)}"


def generate_passport(rng: random.Random, *, okato: str = "45") -> str:
    """Series: ОКАТО region code and the two-digit year of issue; then a six-digit number."""
    return f"{okato}{rng.randint(0, 24):02d} {rng.randint(100_000, 999_999)}"
