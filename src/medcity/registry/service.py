"""Patient register workflows: attachment to a polyclinic (прикрепление), the master patient index (match),
and the merge of duplicates. Every function works inside the caller's transaction (`Tx`), so a failure writes
nothing.

Attachment is recorded on the Patient: `managingOrganization` and `generalPractitioner` name the polyclinic
(and the district doctor's PractitionerRole when given), and the extension `ATTACHMENT_URL` holds the
district (участок) number and the date of attachment:

    {"url": ATTACHMENT_URL, "extension": [{"url": "district", "valueString": "12"},
                                          {"url": "start", "valueDate": "2025-03-01"}]}

A merge keeps both records: the surviving one gets `link` type `replaces`, the merged one becomes inactive
with `link` type `replaced-by`, and every resource whose reference pointed at the merged record is updated
to point at the survivor, so references resolve to one person's record without following links.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from medcity.kit.errors import Conflict, InvalidRequest, Unprocessable
from medcity.kit.i18n import N_
from medcity.registry import rules
from medcity.registry.catalogue import BASE, ORGANIZATION_KINDS, organization_kind
from medcity.registry.identifiers import (
    OMS_SYSTEM,
    PERSONAL_SYSTEMS,
    TYPE_CODES,
    check_patient_identifiers,
    validate_oms,
)
from medcity.registry.names import spellings
from medcity.store.repository import Restriction, StoredResource, Tx
from medcity.store.searchparams import registry
from medcity.store.values import date_range

JSON = dict[str, Any]
ATTACHMENT_URL = f"{BASE}/StructureDefinition/patient-attachment"
# How many records one blocking search may bring; a common surname prefix in a city stays well under it.
BLOCK_SIZE = 200
# Blocking by name uses this many leading letters of the family and given names (typos are rarer at the
# start).
FAMILY_PREFIX, GIVEN_PREFIX = 3, 2
REPOINT_PAGE = 500


@dataclass(frozen=True)
class Match:
    patient: StoredResource
    score: float
    grade: str


@dataclass(frozen=True)
class MergeResult:
    target: StoredResource
    source: StoredResource
    repointed: list[str]  # "Type/id" of every resource moved from the source to the target


def _link_to(patient: JSON, link_type: str) -> str | None:
    for link in patient.get("link") or []:
        if link.get("type") == link_type:
            return str((link.get("other") or {}).get("reference", ""))
    return None


def _patient(tx: Tx, patient_id: str) -> StoredResource:
    if not patient_id:
        raise InvalidRequest(N_("A patient id is required"))
    return tx.read("Patient", patient_id)


# ---- registration ---------------------------------------------------------------------------------------


def find_by_oms(tx: Tx, *, oms: str, birth_date: date) -> str | None:
    """The patient with this ОМС policy number and birth date, or None (also for a malformed number)."""
    try:
        number = validate_oms(oms)
    except InvalidRequest:
        return None
    found = tx.search(
        "Patient", [("identifier", f"{OMS_SYSTEM}|{number}"), ("birthdate", birth_date.isoformat()), ("_count", "2")]
    ).matches
    return found[0].id if len(found) == 1 else None


def find_by_name(
    tx: Tx, *, family: str, birth_date: date, restrict: Restriction | None = None, count: int = 10
) -> list[StoredResource]:
    """Patients born on `birth_date` whose family name starts as typed (any case): the desk's search for a
    patient without their policy at hand. `restrict` is the caller's access condition."""
    params = [("family", family.strip()[:64]), ("birthdate", birth_date.isoformat()), ("_count", str(count))]
    return tx.search("Patient", params, restrict=restrict).matches


def check_identifiers(tx: Tx, patient: JSON) -> JSON:
    """The Patient with its known identifiers validated and normalised; refuses (409) a lifelong identifier
    (СНИЛС, ЕНП) that another current record already holds: registering the same person again must go
    through `$match` and a merge, not create a duplicate. For creates and updates alike."""
    data = check_patient_identifiers(patient)
    for ident in data.get("identifier") or []:
        system, value = ident.get("system"), ident.get("value")
        if system not in PERSONAL_SYSTEMS:
            continue
        found = tx.search("Patient", [("identifier", f"{system}|{value}"), ("_count", "10")]).matches
        holders = [p.id for p in found if p.id != data.get("id") and not _link_to(p.resource, "replaced-by")]
        if holders:
            raise Conflict(
                N_("%(kind)s %(value)s already belongs to Patient/%(holder)s"),
                kind=TYPE_CODES[system][1],
                value=value,
                holder=holders[0],
            )
    return data


def register(tx: Tx, *, patient: JSON) -> StoredResource:
    """Create a Patient (with the id it carries, if any) after `check_identifiers`."""
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise InvalidRequest(N_("Registration needs a Patient resource"))
    data = check_identifiers(tx, patient)
    return tx.create(data, rid=data.get("id")).stored


# ---- attachment -------------------------------------------------------------------------------------------


def attach(
    tx: Tx,
    *,
    patient_id: str,
    organization_id: str,
    district: str,
    practitioner_role_id: str | None = None,
    on: date | None = None,
) -> StoredResource:
    """Attach the patient to a polyclinic and a district (участок); a new attachment replaces the old one."""
    district = district.strip() if isinstance(district, str) else ""
    if not district or len(district) > 20:
        raise InvalidRequest(N_("The district (участок) must be given, at most 20 characters"))
    patient = _patient(tx, patient_id)
    if _link_to(patient.resource, "replaced-by"):
        raise Unprocessable(
            N_("Patient/%(patient_id)s was merged into another record; attach that one instead"), patient_id=patient_id
        )
    organization = tx.read("Organization", organization_id)
    kind = organization_kind(organization.resource)
    if kind is not None and not ORGANIZATION_KINDS[kind].attachable:
        raise Unprocessable(
            N_("Organization/%(organization)s is a %(kind)s: patients are attached to polyclinics and clinics only"),
            organization=organization_id,
            kind=ORGANIZATION_KINDS[kind].en.lower(),
        )
    practitioners = [{"reference": f"Organization/{organization_id}"}]
    if practitioner_role_id:
        tx.read("PractitionerRole", practitioner_role_id)
        practitioners.insert(0, {"reference": f"PractitionerRole/{practitioner_role_id}"})
    data = dict(patient.resource)
    data["managingOrganization"] = {"reference": f"Organization/{organization_id}"}
    data["generalPractitioner"] = practitioners
    data["extension"] = [e for e in data.get("extension") or [] if e.get("url") != ATTACHMENT_URL] + [
        attachment_extension(district, on or date.today())
    ]
    return tx.update(data, if_match=patient.version).stored


def attached(
    tx: Tx, *, organization: str, birthdate: str, restrict: Restriction | None, limit: int
) -> list[StoredResource]:
    """The patients attached to `organization` born as `birthdate` says (a FHIR date search value, such as
    `gt2008-12-03`), under the caller's restriction, at most `limit`: a worklist's one read of its population."""
    found: list[StoredResource] = tx.search(
        "Patient",
        [("organization", f"Organization/{organization}"), ("birthdate", birthdate), ("_count", str(limit)),
         ("_total", "none")],
        restrict=restrict, first_page_only=True, max_count=limit,
    ).matches  # fmt: skip
    return found


def attachment_extension(district: str, start: date) -> JSON:
    return {
        "url": ATTACHMENT_URL,
        "extension": [
            {"url": "district", "valueString": district},
            {"url": "start", "valueDate": start.isoformat()},
        ],
    }


# ---- master patient index ---------------------------------------------------------------------------------


def _blocks(f: rules.Facts) -> Iterator[list[tuple[str, str]]]:
    """The searches that gather candidates: each catches what the others miss."""
    for system, value in f.identifiers.items():
        yield [("identifier", f"{system}|{value}")]
    if f.birth_date:
        yield [("birthdate", f"eq{f.birth_date}")]
        swapped = rules.transposed_date(f.birth_date)
        if swapped:
            yield [("birthdate", f"eq{swapped}")]
    # By name, in both scripts, also with given and family swapped: catches a wrong or missing birth date.
    for family, given in ((f.family, f.given), (f.given, f.family)):
        if not family:
            continue
        given_prefixes = [g[:GIVEN_PREFIX] for g in spellings(given)] or [""]
        for fam in spellings(family):
            for giv in given_prefixes:
                params = [("family", fam[:FAMILY_PREFIX])]
                if giv:
                    params.append(("given", giv))
                yield params


def match(tx: Tx, patient: JSON, *, count: int = 10, only_certain: bool = False) -> list[Match]:
    """Records that may be the same person as `patient`, best first (the FHIR `$match` semantics)."""
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise InvalidRequest(N_("$match needs a Patient resource"))
    wanted = rules.facts(patient)
    if wanted.birth_date and date_range(wanted.birth_date) is None:
        raise InvalidRequest(
            N_("birthDate '%(birth_date)s' is not a date (YYYY-MM-DD)"), birth_date=wanted.birth_date[:40]
        )
    if not (wanted.identifiers or (wanted.family and (wanted.given or wanted.birth_date))):
        raise Unprocessable(N_("$match needs an identifier, or a family name with a given name or a birth date"))
    candidates: dict[str, StoredResource] = {}
    seen_blocks: set[tuple[tuple[str, str], ...]] = set()
    for params in _blocks(wanted):
        key = tuple(params)
        if key in seen_blocks:
            continue
        seen_blocks.add(key)
        for found in tx.search("Patient", [*params, ("_count", str(BLOCK_SIZE))]).matches:
            candidates.setdefault(found.id, found)
    results = []
    for cid, candidate in candidates.items():
        if cid == patient.get("id") or _link_to(candidate.resource, "replaced-by"):
            continue
        total, conflict = rules.points(wanted, rules.facts(candidate.resource))
        grade = rules.grade(total, conflict)
        if grade is None or (only_certain and grade != rules.CERTAIN):
            continue
        results.append(Match(candidate, rules.score(total), grade))
    results.sort(key=lambda m: (-m.score, m.patient.id))
    return results[: max(count, 0)]


# ---- merge ------------------------------------------------------------------------------------------------


def _repoint(node: Any, old: str, new: str) -> Any:
    """A copy of `node` with every reference to `old` (also a versioned one) aimed at `new`."""
    if isinstance(node, list):
        return [_repoint(item, old, new) for item in node]
    if isinstance(node, dict):
        out = {k: _repoint(v, old, new) for k, v in node.items()}
        ref = node.get("reference")
        if isinstance(ref, str) and (ref == old or ref.startswith(old + "/_history/")):
            out["reference"] = new
        return out
    return node


def _referring(tx: Tx, reference: str) -> Iterator[StoredResource]:
    """Every non-Patient resource that refers to `reference` through a patient-compartment parameter."""
    for rtype, params in registry().compartment.items():
        if rtype == "Patient":
            continue
        for code in params:
            if registry().get(rtype, code) is None:
                continue
            yield from tx.search(rtype, [(code, reference), ("_count", str(REPOINT_PAGE))]).matches


def _check_identifiers_agree(source: JSON, target: JSON) -> None:
    a, b = rules.facts(source).identifiers, rules.facts(target).identifiers
    clashes = [s for s in a.keys() & b.keys() if s in PERSONAL_SYSTEMS and a[s] != b[s]]
    if clashes:
        raise Unprocessable(
            N_(
                "The records carry different lifelong identifiers (%(systems)s): they are two people, or one of the "
                "numbers is wrong and must be corrected before a merge"
            ),
            systems=", ".join(sorted(clashes)),
        )


def merge(tx: Tx, *, source_id: str, target_id: str) -> MergeResult:
    """Merge the duplicate `source` into the surviving `target` (see the module docstring)."""
    if source_id == target_id:
        raise Unprocessable(N_("Patient/%(source_id)s cannot be merged into itself"), source_id=source_id)
    source, target = _patient(tx, source_id), _patient(tx, target_id)
    merged_into = _link_to(source.resource, "replaced-by")
    if merged_into:
        raise Conflict(
            N_("Patient/%(source_id)s was already merged into %(merged_into)s"),
            source_id=source_id,
            merged_into=merged_into,
        )
    target_into = _link_to(target.resource, "replaced-by")
    if target_into:
        raise Unprocessable(
            N_("Patient/%(target_id)s was itself merged into %(target_into)s; merge into that record"),
            target_id=target_id,
            target_into=target_into,
        )
    _check_identifiers_agree(source.resource, target.resource)

    old, new = f"Patient/{source_id}", f"Patient/{target_id}"
    repointed: list[str] = []
    moved: set[tuple[str, str]] = set()
    while True:
        batch = [r for r in _referring(tx, old) if (r.type, r.id) not in moved]
        if not batch:
            break
        for found in batch:
            tx.update(_repoint(found.resource, old, new), if_match=found.version)
            moved.add((found.type, found.id))
            repointed.append(found.reference)

    survivor = dict(target.resource)
    survivor["link"] = [*(survivor.get("link") or []), {"other": {"reference": old}, "type": "replaces"}]
    # Identifiers of a kind only the duplicate had (say, its ЕНП) now find the survivor too; where
    # both have one
    # (a replaced passport), the survivor's stays and the old one remains on the retired record.
    systems = {i.get("system") for i in survivor.get("identifier") or []}
    extra = [i for i in source.resource.get("identifier") or [] if i.get("system") not in systems]
    if extra:
        survivor["identifier"] = [*(survivor.get("identifier") or []), *extra]
    survivor = check_patient_identifiers(survivor)
    stored_target = tx.update(survivor, if_match=target.version).stored

    retired = dict(source.resource)
    retired["active"] = False
    retired["link"] = [*(retired.get("link") or []), {"other": {"reference": new}, "type": "replaced-by"}]
    stored_source = tx.update(retired, if_match=source.version).stored
    return MergeResult(target=stored_target, source=stored_source, repointed=repointed)
