from __future__ import annotations

import random

import pytest

from medcity.kit.errors import InvalidRequest, Unprocessable
from medcity.registry.identifiers import (
    OMS_SYSTEM,
    PASSPORT_SYSTEM,
    SNILS_SYSTEM,
    check_patient_identifiers,
    generate_oms,
    generate_passport,
    generate_snils,
    luhn_control,
    validate_oms,
    validate_passport,
    validate_snils,
)


@pytest.mark.parametrize("value", ["112-233-445 95", "11223344595", "112 233 445 95"])
def test_snils_valid_forms_normalise(value: str) -> None:
    assert validate_snils(value) == "11223344595"


def test_snils_sum_over_101_and_exactly_100() -> None:
    # 987-654-321: sum 285 → 285 mod 101 = 83
    assert validate_snils("98765432183") == "98765432183"
    # digits summing to 100 with weights 9..1 → control 00
    body = "000000000"
    for candidate in range(1_001_999, 1_200_000):
        body = f"{candidate:09d}"
        if sum(int(d) * w for d, w in zip(body, range(9, 0, -1), strict=True)) == 100:
            break
    assert validate_snils(body + "00") == body + "00"


@pytest.mark.parametrize("value", ["11223344596", "1122334459", "1122334459a", "", "98765432184"])
def test_snils_invalid(value: str) -> None:
    with pytest.raises(InvalidRequest, match="СНИЛС"):
        validate_snils(value)


def test_snils_below_threshold_is_not_checked() -> None:
    assert validate_snils("001-001-998 00") == "00100199800"
    with pytest.raises(InvalidRequest):
        validate_snils("001-001-999 00")


def test_oms_checksum() -> None:
    assert luhn_control("7992739871") == 3  # the textbook Luhn example, 79927398713
    value = "4511113819493805"
    assert validate_oms(value) == value
    assert validate_oms("4511 1138 1949 3805") == value
    with pytest.raises(InvalidRequest, match="ОМС"):
        validate_oms("4511113819493806")
    with pytest.raises(InvalidRequest, match="16 digits"):
        validate_oms("451111381949380")


def test_passport_format() -> None:
    assert validate_passport("4510123456") == "4510 123456"
    assert validate_passport("45 10 123456") == "4510 123456"
    with pytest.raises(InvalidRequest, match="passport"):
        validate_passport("4510 12345")


def test_generated_numbers_are_valid() -> None:
    rng = random.Random(7)
    for _ in range(200):
        validate_snils(generate_snils(rng))
        validate_oms(generate_oms(rng, okato="40"))
        validate_passport(generate_passport(rng))


def test_check_patient_identifiers_lists_every_problem() -> None:
    resource = {
        "resourceType": "Patient",
        "identifier": [
            {"system": SNILS_SYSTEM, "value": "112-233-445 96"},
            {"system": OMS_SYSTEM, "value": "4511113819493806"},
            {"system": PASSPORT_SYSTEM, "value": "4510 123456"},
            {"system": "urn:other", "value": "anything"},
        ],
    }
    with pytest.raises(Unprocessable) as err:
        check_patient_identifiers(resource)
    assert len(err.value.issues) == 2
    assert err.value.issues[0].expression == ["Patient.identifier[0]"]
    assert "ОМС" in err.value.issues[1].diagnostics


def test_check_patient_identifiers_normalises_and_rejects_two_values() -> None:
    ok = check_patient_identifiers(
        {"resourceType": "Patient", "identifier": [{"system": SNILS_SYSTEM, "value": "112-233-445 95"}]}
    )
    assert ok["identifier"][0]["value"] == "11223344595"
    with pytest.raises(Unprocessable, match="two different values"):
        check_patient_identifiers(
            {
                "resourceType": "Patient",
                "identifier": [
                    {"system": SNILS_SYSTEM, "value": "11223344595"},
                    {"system": SNILS_SYSTEM, "value": "98765432183"},
                ],
            }
        )
