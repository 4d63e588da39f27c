"""Reports of instrumental and imaging studies (ECG, X-ray, ultrasound) from the diagnostic department of any
institution: a final DiagnosticReport with the conclusion, optionally the ImagingStudy it reads and the signed
document (PDF or image) stored as a Binary and linked from `presentedForm`."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from medcity.kit.i18n import N_
from medcity.lab.rules import DOCUMENT_TYPES
from medcity.lab.service import addressed_order, report_body, reports_for, test_of
from medcity.orders.catalogue import DIAGNOSTIC
from medcity.orders.errors import Refusal
from medcity.orders.service import now_instant, write
from medcity.scheduling.resources import ref
from medcity.store.repository import JSON, StoredResource, Tx

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# v2-0074 diagnostic service sections: electrocardiac and radiology.
SECTION = {"ecg": ("EC", "Electrocardiac"), "imaging": ("RAD", "Radiology")}


@dataclass(frozen=True)
class Document:
    content_type: str
    data: bytes
    title: str


def _document(tx: Tx, document: Document, patient_ref: JSON) -> JSON:
    if not document.content_type.startswith(DOCUMENT_TYPES):
        raise Refusal(N_("The attached document must be a PDF or an image"))
    if not document.data:
        raise Refusal(N_("The attached document is empty"))
    if len(document.data) > MAX_DOCUMENT_BYTES:
        raise Refusal(N_("The attached document is larger than %(size)s MB"), status=413,
                      size=MAX_DOCUMENT_BYTES // (1024 * 1024))  # fmt: skip
    binary = tx.create({
        "resourceType": "Binary",
        "contentType": document.content_type,
        "securityContext": patient_ref,
        "data": base64.b64encode(document.data).decode("ascii"),
    }).stored  # fmt: skip
    return {"contentType": document.content_type, "url": f"Binary/{binary.id}", "title": document.title[:200],
            "size": len(document.data), "creation": now_instant()}  # fmt: skip


def report_study(
    tx: Tx,
    *,
    order: str,
    organization: str | None,
    conclusion: str,
    interpreter: str | None = None,
    imaging_study: str | None = None,
    document: Document | None = None,
) -> StoredResource:
    """Sign the report of a study ordered from `organization`'s diagnostic department."""
    stored = addressed_order(tx, order=order, organization=organization)
    test = test_of(stored.resource)
    if test is None or test.kind != DIAGNOSTIC:
        raise Refusal(N_("This order is not an instrumental or imaging study of the catalogue"))
    if stored.resource.get("status") != "active":
        raise Refusal(N_("The order is %(state)s; its report cannot be written"), state=stored.resource.get("status"))
    if reports_for(tx, [stored.id]):
        raise Refusal(N_("This study already has a report"))
    body = report_body(stored, test, SECTION[test.category or "imaging"], organization, status="final")
    body.update({"issued": now_instant(), "conclusion": conclusion.strip()})
    if interpreter:
        body["resultsInterpreter"] = [ref("Practitioner", interpreter)]
    if imaging_study:
        found = tx.current("ImagingStudy", imaging_study.strip())
        if found is None or found.deleted:
            raise Refusal(N_("ImagingStudy/%(id)s is not known"), id=imaging_study.strip()[:64])
        body["imagingStudy"] = [ref("ImagingStudy", found.id)]
    if document is not None:
        body["presentedForm"] = [_document(tx, document, stored.resource["subject"])]
    return write(tx, body)
