"""The ICD-10 terminology operations as plain functions returning FHIR resource dicts ($lookup,
$validate-code, $subsumes, $expand) and the small helpers other packages call (`exists`, `display`,
`is_billable`).

Errors, chosen to match HAPI and the R4 operation definitions: a missing required parameter or a malformed
value is `InvalidRequest` (400); a code system or value set this server does not know is `NotFound` (404), and
so is a code that $lookup or $subsumes is asked about (HAPI answers 404 there). $validate-code never raises
for an unknown code: answering "no" is its job (result=false with a message).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from typing import Any

from medcity.kit.errors import InvalidRequest, NotFound
from medcity.terminology import search
from medcity.terminology.catalogue import (
    KIND_NAMES,
    OID_URL,
    SYSTEM_URL,
    TITLE,
    VERSION,
    Catalogue,
    Concept,
    load,
)

JSON = dict[str, Any]

VALUE_SET_URL = f"{SYSTEM_URL}?fhir_vs"
VALUE_SET_URLS = frozenset({VALUE_SET_URL, SYSTEM_URL, OID_URL, f"{OID_URL}?fhir_vs"})
LANGUAGES = ("ru", "en")
DEFAULT_COUNT = 20
MAX_COUNT = 100

# Properties $lookup returns (and the CodeSystem resource declares).
PROPERTIES: dict[str, tuple[str, str]] = {
    "parent": ("code", "The chapter, block or rubric this code belongs to"),
    "child": ("code", "A block, rubric or subcategory directly below this code"),
    "notSelectable": ("boolean", "Chapters and blocks group codes; they are not diagnoses"),
    "inactive": ("boolean", "Withdrawn from the Minzdrav edition; kept so that old records resolve"),
    "kind": ("code", "chapter | block | category (three-character rubric) | subcategory"),
}


@cache
def index() -> search.SearchIndex:
    return search.SearchIndex(load())


def warm() -> None:
    """Load what a first request would (catalogue, index, morphology, typo table): for a server's start-up."""
    search.warm(index())


# -- helpers for other packages ------------------------------------------------------------------------------


def exists(code: str) -> bool:
    return load().get(code) is not None


def display(code: str, lang: str = "ru") -> str | None:
    concept = load().get(code)
    return None if concept is None else _display(concept, language(lang))


def is_billable(code: str) -> bool:
    """A code a diagnosis may carry: a rubric or subcategory that the current edition has not withdrawn."""
    concept = load().get(code)
    return concept is not None and concept.selectable and concept.active


def normalize_code(text: str) -> str | None:
    """The ICD-10 code a person meant by `text` ("i10", "J450", "Ш10" on the Russian layout), or None."""
    code = index().code_reading(text.strip())
    return code if code is not None and exists(code) else None


def language(display_language: str | None) -> str:
    """The display language, "ru" or "en", from a BCP-47 tag or an Accept-Language list; Russian otherwise."""
    for tag in (display_language or "").split(","):
        primary = tag.split(";")[0].strip().split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "ru"


def _display(concept: Concept, lang: str) -> str:
    # The Russian edition has ~140 codes the WHO file lacks and no composed English name covers.
    return concept.name_en or concept.name_ru if lang == "en" else concept.name_ru


def _check_system(system: str | None, what: str = "system") -> None:
    if not system:
        raise InvalidRequest(f"parameter '{what}' is required")
    if system not in (SYSTEM_URL, OID_URL):
        raise NotFound(f"unknown code system '{system}' (this server knows {SYSTEM_URL}, alias {OID_URL})")


def _require(value: str | None, name: str) -> str:
    if not value:
        raise InvalidRequest(f"parameter '{name}' is required")
    return value


def _concept(catalogue: Catalogue, code: str) -> Concept:
    concept = catalogue.get(code)
    if concept is None:
        raise NotFound(f"unknown code '{code[:40]}' in {SYSTEM_URL}")
    return concept


def _parameters(parts: Iterable[JSON]) -> JSON:
    return {"resourceType": "Parameters", "parameter": list(parts)}


# -- $lookup -------------------------------------------------------------------------------------------------


def lookup(
    code: str | None,
    system: str | None,
    *,
    display_language: str | None = None,
    properties: Iterable[str] = (),
) -> JSON:
    """CodeSystem/$lookup: name, version, display, both languages' designations and the requested properties
    (all of them when none are asked for)."""
    _check_system(system)
    catalogue = load()
    concept = _concept(catalogue, _require(code, "code"))
    lang = language(display_language)
    wanted = set(properties) or set(PROPERTIES)
    out: list[JSON] = [
        {"name": "name", "valueString": "МКБ-10" if lang == "ru" else "ICD-10"},
        {"name": "version", "valueString": VERSION},
        {"name": "display", "valueString": _display(concept, lang)},
    ]
    for designation_lang, name in (("ru", concept.name_ru), ("en", concept.name_en)):
        if name:
            out.append(
                {
                    "name": "designation",
                    "part": [
                        {"name": "language", "valueCode": designation_lang},
                        {"name": "value", "valueString": name},
                    ],
                }
            )
    values: list[tuple[str, JSON]] = []
    if concept.parent >= 0:
        values.append(("parent", {"valueCode": catalogue.concepts[concept.parent].code}))
    values.extend(("child", {"valueCode": catalogue.concepts[i].code}) for i in catalogue.children[concept.index])
    values.append(("notSelectable", {"valueBoolean": not concept.selectable}))
    values.append(("inactive", {"valueBoolean": not concept.active}))
    values.append(("kind", {"valueCode": KIND_NAMES[concept.kind]}))
    for name, value in values:
        if name in wanted:
            out.append(
                {
                    "name": "property",
                    "part": [{"name": "code", "valueCode": name}, {"name": "value", **value}],
                }
            )
    return _parameters(out)


# -- $validate-code ------------------------------------------------------------------------------------------


def _same_text(a: str, b: str) -> bool:
    return " ".join(search.fold(a).split()) == " ".join(search.fold(b).split())


def validate_code(
    code: str | None,
    system: str | None,
    *,
    display: str | None = None,
    display_language: str | None = None,
) -> JSON:
    """CodeSystem/$validate-code. A display that is neither language's name leaves the code valid and says so
    in `message` (R4: "the server will check that the display is valid ... and return a warning if not")."""
    _check_system(system, "url")
    code = _require(code, "code")
    concept = load().get(code)
    if concept is None:
        return _parameters(
            [
                {"name": "result", "valueBoolean": False},
                {
                    "name": "message",
                    "valueString": f"Unknown code '{code[:40]}' in {SYSTEM_URL} version {VERSION}",
                },
            ]
        )
    lang = language(display_language)
    warnings: list[str] = []
    names = [n for n in (concept.name_ru, concept.name_en) if n]
    if display is not None and not any(_same_text(display, n) for n in names):
        valid = " or ".join(f"'{n}'" for n in names)
        warnings.append(f"Wrong display '{display[:200]}' for {SYSTEM_URL}#{code}: should be {valid}")
    if not concept.active:
        warnings.append(f"{code} is inactive: withdrawn from the Minzdrav edition {VERSION}")
    if not concept.selectable:
        warnings.append(f"{code} is a {KIND_NAMES[concept.kind]}: it groups codes and is not a diagnosis")
    out: list[JSON] = [{"name": "result", "valueBoolean": True}]
    if warnings:
        out.append({"name": "message", "valueString": "; ".join(warnings)})
    out.append({"name": "display", "valueString": _display(concept, lang)})
    return _parameters(out)


# -- $subsumes -----------------------------------------------------------------------------------------------


def subsumes(code_a: str | None, code_b: str | None, system: str | None) -> JSON:
    """CodeSystem/$subsumes over chapter > block > rubric > subcategory: does A subsume B, or B subsume A?"""
    _check_system(system)
    catalogue = load()
    a = _concept(catalogue, _require(code_a, "codeA"))
    b = _concept(catalogue, _require(code_b, "codeB"))
    if a.index == b.index:
        outcome = "equivalent"
    elif a in catalogue.ancestors(b):
        outcome = "subsumes"
    elif b in catalogue.ancestors(a):
        outcome = "subsumed-by"
    else:
        outcome = "not-subsumed"
    return _parameters([{"name": "outcome", "valueCode": outcome}])


# -- $expand -------------------------------------------------------------------------------------------------


def expand(
    url: str | None,
    *,
    filter: str | None = None,
    count: int | None = None,
    offset: int | None = None,
    display_language: str | None = None,
    active_only: bool = True,
    include_designations: bool = False,
) -> JSON:
    """ValueSet/$expand of the whole code system, narrowed by what was typed (`filter`), one page of it.

    Inactive (withdrawn) codes are left out unless `active_only` is false: a doctor picking a diagnosis must
    not be offered them. Chapters and blocks come flagged `abstract` (they cannot be chosen). With
    `include_designations` each code also carries its names in both languages.
    """
    if not url:
        raise InvalidRequest("parameter 'url' is required (the value set, e.g. " + VALUE_SET_URL + ")")
    if url not in VALUE_SET_URLS:
        raise NotFound(f"unknown value set '{url[:200]}' (this server expands {VALUE_SET_URL})")
    count = DEFAULT_COUNT if count is None else count
    offset = 0 if offset is None else offset
    if count < 0 or offset < 0:
        raise InvalidRequest("'count' and 'offset' must not be negative")
    count = min(count, MAX_COUNT)
    if filter is not None and len(filter) > search.MAX_QUERY:
        raise InvalidRequest(f"'filter' is longer than {search.MAX_QUERY} characters")
    lang = language(display_language)
    catalogue = load()
    if filter and filter.strip():
        total, ranked = index().search(filter, active_only=active_only)
        page = list(islice(ranked, offset, offset + count))
    else:
        members = [c.index for c in catalogue.concepts if c.active or not active_only]
        total, page = len(members), members[offset : offset + count]
    contains = []
    for i in page:
        concept = catalogue.concepts[i]
        item: JSON = {"system": SYSTEM_URL, "version": VERSION, "code": concept.code}
        if not concept.selectable:
            item["abstract"] = True
        if not concept.active:
            item["inactive"] = True
        item["display"] = _display(concept, lang)
        if include_designations:
            item["designation"] = [
                {"language": designation_lang, "value": name}
                for designation_lang, name in (("ru", concept.name_ru), ("en", concept.name_en))
                if name
            ]
        contains.append(item)
    parameters: list[JSON] = [{"name": "displayLanguage", "valueCode": lang}]
    if filter:
        parameters.append({"name": "filter", "valueString": filter})
    parameters += [{"name": "count", "valueInteger": count}, {"name": "offset", "valueInteger": offset}]
    return {
        "resourceType": "ValueSet",
        "url": VALUE_SET_URL,
        "status": "active",
        "expansion": {
            "identifier": f"urn:uuid:{uuid.uuid4()}",
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "total": total,
            "offset": offset,
            "parameter": parameters,
            "contains": contains,
        },
    }


# -- resources a server can store ----------------------------------------------------------------------------

_COPYRIGHT = (
    "ICD-10 © World Health Organization. Russian edition (МКБ-10): Minzdrav of Russia НСИ register "
    "OID 1.2.643.5.1.13.13.11.1005, export © Anton Kochnev, MIT licence. English names: WHO ICD-10 2019, CC0."
)


def code_system_resource() -> JSON:
    """A CodeSystem summary (content not-present: the concepts are served by the operations, not stored)."""
    return {
        "resourceType": "CodeSystem",
        "id": "icd-10",
        "url": SYSTEM_URL,
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": OID_URL}],
        "version": VERSION,
        "name": "ICD10",
        "title": TITLE,
        "status": "active",
        "experimental": False,
        "publisher": "WHO; Минздрав России",
        "description": "ICD-10, Russian edition (МКБ-10) with WHO English names; displayLanguage ru or en.",
        "copyright": _COPYRIGHT,
        "caseSensitive": True,
        "valueSet": VALUE_SET_URL,
        "hierarchyMeaning": "is-a",
        "compositional": False,
        "content": "not-present",
        "count": len(load().concepts),
        "property": [
            {"code": code, "type": kind, "description": description} for code, (kind, description) in PROPERTIES.items()
        ],
    }


def value_set_resource() -> JSON:
    """The value set of every ICD-10 code (`?fhir_vs`), which $expand serves."""
    return {
        "resourceType": "ValueSet",
        "id": "icd-10",
        "url": VALUE_SET_URL,
        "version": VERSION,
        "name": "ICD10All",
        "title": f"{TITLE}: all codes",
        "status": "active",
        "experimental": False,
        "copyright": _COPYRIGHT,
        "compose": {"include": [{"system": SYSTEM_URL, "version": VERSION}]},
    }
