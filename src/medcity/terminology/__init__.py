"""ICD-10 terminology: the Russian МКБ-10 with WHO English names as one FHIR code system
(`http://hl7.org/fhir/sid/icd-10`, alias `urn:oid:1.2.643.5.1.13.13.11.1005`).

Importing the package registers CodeSystem/$lookup, $validate-code, $subsumes and ValueSet/$expand with
`medcity.kit.hooks`. The data loads on first use (about half a second); `warm()` does it up front.
"""

from medcity.terminology import api as _api  # noqa: F401 - registers the FHIR operations
from medcity.terminology.catalogue import OID_URL, SYSTEM_URL, VERSION
from medcity.terminology.service import (
    VALUE_SET_URL,
    code_system_resource,
    display,
    exists,
    expand,
    is_billable,
    language,
    lookup,
    normalize_code,
    subsumes,
    validate_code,
    value_set_resource,
    warm,
)

__all__ = [
    "OID_URL",
    "SYSTEM_URL",
    "VALUE_SET_URL",
    "VERSION",
    "code_system_resource",
    "display",
    "exists",
    "expand",
    "is_billable",
    "language",
    "lookup",
    "normalize_code",
    "subsumes",
    "validate_code",
    "value_set_resource",
    "warm",
]
