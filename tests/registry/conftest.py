from __future__ import annotations

from typing import Any

from medcity.registry.identifiers import (
    OMS_SYSTEM,
    SNILS_SYSTEM,
    generate_oms,
    generate_snils,
    identifier,
)


def patient(
    family: str,
    given: str,
    patronymic: str | None = None,
    *,
    birth: str = "1980-05-14",
    gender: str = "male",
    snils: str | None = None,
    oms: str | None = None,
    line: str | None = None,
    pid: str | None = None,
) -> dict[str, Any]:
    """A Patient resource for the tests, with only the fields given."""
    data: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": family, "given": [given] + ([patronymic] if patronymic else [])}],
        "birthDate": birth,
        "gender": gender,
    }
    idents = []
    if snils:
        idents.append(identifier(SNILS_SYSTEM, snils))
    if oms:
        idents.append(identifier(OMS_SYSTEM, oms))
    if idents:
        data["identifier"] = idents
    if line:
        data["address"] = [{"city": "Москва", "line": [line]}]
    if pid:
        data["id"] = pid
    return data


__all__ = ["generate_oms", "generate_snils", "patient"]
