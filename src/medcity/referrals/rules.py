"""What every referral must be, whichever door it comes through (the referral form, a plain FHIR write, a bundle
entry), and the changes its lifecycle allows. A ServiceRequest without the referral category (a laboratory
order, say) is none of this module's business."""

from __future__ import annotations

from medcity.kit.errors import Conflict, Unprocessable
from medcity.kit.i18n import N_, Label
from medcity.referrals.codes import (
    JSON,
    KINDS,
    SPECIALIST,
    SUPPORTING_TYPES,
    is_referral,
    kind_of,
)
from medcity.registry.catalogue import SEES_PATIENTS, SPECIALTIES, receives_referrals, specialty_code
from medcity.scheduling.resources import ref_id
from medcity.store.repository import Tx

OPEN_STATUSES = ("draft", "active", "on-hold")


def specialty_of(data: JSON) -> str | None:
    return specialty_code([data.get("performerType")])


def performer_organization(data: JSON) -> str | None:
    found = [o for p in data.get("performer") or [] if (o := ref_id(p, "Organization")) is not None]
    return found[0] if found else None


def _exists(tx: Tx, rtype: str, rid: str) -> bool:
    stored = tx.current(rtype, rid)
    return stored is not None and not stored.deleted


def check_content(tx: Tx, data: JSON) -> None:
    """A referral names an existing patient, its kind, where it sends the patient, and only that patient's
    documents; a 422 says which part is wrong."""
    patient = ref_id(data.get("subject"), "Patient")
    if patient is None or not _exists(tx, "Patient", patient):
        raise Unprocessable(N_("A referral's subject must be a known Patient"))
    kind = kind_of(data)
    if kind is None:
        raise Unprocessable(N_("A referral's code must give its kind (%(kinds)s)"), kinds=", ".join(KINDS))
    specialty = specialty_of(data)
    if kind == SPECIALIST and specialty is None:
        raise Unprocessable(N_("A referral to a specialist names the specialty in performerType"))
    if specialty is not None and specialty not in SEES_PATIENTS:
        raise Unprocessable(N_("%(specialty)s sees no patients: nobody can be referred to one"),
                            specialty=SPECIALTIES[specialty])  # fmt: skip
    organization = performer_organization(data)
    if kind != SPECIALIST and organization is None:
        raise Unprocessable(N_("A referral to an institution or for hospitalisation names the receiving Organization"))
    if organization is not None:
        receiving = tx.current("Organization", organization)
        if receiving is None or receiving.deleted:
            raise Unprocessable(N_("Organization/%(organization)s is not known"), organization=organization)
        if not receives_referrals(receiving.resource):
            raise Unprocessable(N_("%(organization)s receives no referrals"),
                                organization=str(receiving.resource.get("name") or organization))  # fmt: skip
    for info in data.get("supportingInfo") or []:
        _check_document(tx, info, patient)
    period = data.get("occurrencePeriod") or {}
    if period.get("start") and period.get("end") and str(period["end"])[:10] < str(period["start"])[:10]:
        raise Unprocessable(N_("A referral's validity period ends before it starts"))


def _check_document(tx: Tx, info: object, patient: str) -> None:
    text = info.get("reference") if isinstance(info, dict) else None
    rtype = text.split("/", 1)[0] if isinstance(text, str) else None
    if rtype not in SUPPORTING_TYPES:
        raise Unprocessable(
            N_("A referral attaches only %(types)s (supportingInfo)"), types=", ".join(SUPPORTING_TYPES)
        )
    stored = tx.current(rtype, text.split("/", 1)[1]) if isinstance(text, str) else None
    if stored is None or stored.deleted or stored.patient != patient:
        raise Unprocessable(N_("%(typed)s is not a document of this referral's patient"), typed=text)


def check_change(previous: JSON, data: JSON) -> None:
    """A closed referral stays closed: reopening a completed or revoked one is using it twice (409); the patient
    of a referral never changes."""
    if ref_id(previous.get("subject"), "Patient") != ref_id(data.get("subject"), "Patient"):
        raise Unprocessable(N_("A referral's patient cannot be changed; cancel it and write a new one"))
    old, new = previous.get("status"), data.get("status")
    if old not in OPEN_STATUSES and new != old:
        raise Conflict(
            N_("ServiceRequest/%(referral)s is already %(state)s: a referral is used only once"),
            referral=previous.get("id"),
            state=Label(str(old)),
        )


def check_write(tx: Tx, data: JSON) -> JSON:
    """The rule on every ServiceRequest write (registered in `medcity.referrals.api`)."""
    rid = data.get("id")
    stored = tx.current("ServiceRequest", rid) if isinstance(rid, str) else None
    previous = stored.resource if stored is not None and not stored.deleted else None
    if previous is not None and is_referral(previous):
        check_change(previous, data)
    if is_referral(data):
        check_content(tx, data)
    return data
