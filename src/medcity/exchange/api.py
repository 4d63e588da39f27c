"""Regions exchange records: `POST /fhir/Patient/$exchange-summary` answers another region's system with the
summary document (`Patient/$summary`'s International Patient Summary sections) of a patient it names by national
identifier, for a patient of this region now treated there.

In: `identifier` (valueIdentifier, or valueString `system|value`): the patient's СНИЛС or ЕНП (ОМС policy), the
identifiers every region shares.
Out: the summary Bundle (document). 404 when no patient of this region holds the identifier.

Only a system client registered for `medcity/exchange` alone may call it (`auth.policy.is_exchange`); it reads
the patient's record as an outside organisation does, so what the patient's consent keeps to the organisation that
wrote it stays here. Each call is audited here on the patient, naming the other region's system, and the patient
sees it in "who opened my record"; which of its doctors asked, in the patient's care there, is in the other
region's audit.
"""

from __future__ import annotations

from typing import Any

from medcity.kit.errors import InvalidRequest, NotFound, Unprocessable
from medcity.kit.hooks import OperationCall, operation
from medcity.kit.i18n import N_
from medcity.kit.parameters import Parameters
from medcity.records import service as records
from medcity.registry.identifiers import OMS_SYSTEM, SNILS_SYSTEM, normalise_identifier
from medcity.store.values import now_instant

# The identifiers every region's register holds alike: СНИЛС and the single ОМС policy number (ЕНП).
NATIONAL = (SNILS_SYSTEM, OMS_SYSTEM)


def named_identifier(params: Parameters) -> tuple[str, str]:
    """The (system, normalised value) of the `identifier` parameter; a 400 unless it is national."""
    given = params.all("identifier")
    if len(given) != 1:
        raise InvalidRequest(N_("Name the patient by one identifier: their СНИЛС or ЕНП"))
    value = given[0]
    system: object = None
    number: object = None
    if isinstance(value, str) and "|" in value:
        system, number = value.split("|", 1)
    elif isinstance(value, dict):
        system, number = value.get("system"), value.get("value")
    if not isinstance(system, str) or system not in NATIONAL or not isinstance(number, str) or not number.strip():
        raise InvalidRequest(N_("Name the patient by one identifier: their СНИЛС or ЕНП"))
    return system, normalise_identifier(system, number.strip())


@operation("exchange-summary", resource_types=("Patient",), type_level=True, instance_level=False,
           description="Another region's request for a patient's summary, by СНИЛС or ЕНП")  # fmt: skip
def exchange_summary(call: OperationCall) -> dict[str, Any]:
    params = Parameters(call.parameters)
    system, number = named_identifier(params)
    with call.store.reader() as tx:
        found = tx.search("Patient", [("identifier", f"{system}|{number}"), ("_count", "2")]).matches
        if not found:
            raise NotFound(N_("No patient of this region holds this identifier"))
        if len(found) > 1:
            raise Unprocessable(N_("Several patients of this region hold this identifier; ask their polyclinic"))
        patient = found[0].id
        restrict = call.access.exchange_record(tx, patient) if call.access is not None else None
        document = records.summary(tx, patient_id=patient, restrict=restrict, base=call.base_url, now=now_instant())
    if call.access is not None:
        call.access.record("operation:exchange-summary", "Patient", patient)
    return document
