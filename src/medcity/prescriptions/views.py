"""What the prescription pages show of a prescription and its dispense: the medicine in the reader's language, the
dosage, the quantity, the validity, the prescriber, the state, and where and when it was dispensed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from medcity.kit.i18n import ngettext
from medcity.prescriptions import rules
from medcity.prescriptions.medicines import atc_of, medicine_name, medicines
from medcity.referrals.views import Names
from medcity.scheduling.resources import ref_id
from medcity.store.repository import JSON, StoredResource, Tx


@dataclass(frozen=True)
class Row:
    """One prescription on a page."""

    id: str
    number: str  # as printed: grouped by four digits
    medicine: str
    dosage: str
    quantity: str
    valid_until: str
    prescriber: str
    state: str  # rules.ACTIVE, DISPENSED, EXPIRED, CANCELLED
    dispensed_on: str  # the latest dispense's day and pharmacy
    pharmacy: str
    left: str  # what is left to collect of a prescription handed over in part; empty otherwise


def grouped(number: str) -> str:
    """A prescription number as it is printed and read out: 0002 3349 0655."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _counted(unit: str, count: int, lang: str) -> str | None:
    """`count` of the catalogue's `unit` (its English name), with the plural the number takes in `lang`."""
    if unit == "tablet":
        return ngettext("%(num)d tablet", "%(num)d tablets", count, lang) % {"num": count}
    if unit == "capsule":
        return ngettext("%(num)d capsule", "%(num)d capsules", count, lang) % {"num": count}
    if unit == "inhaler":
        return ngettext("%(num)d inhaler", "%(num)d inhalers", count, lang) % {"num": count}
    return None


def quantity_text(data: JSON, concept: object, lang: str) -> str:
    """`data`'s quantity (a prescription's dispenseRequest.quantity or a dispense's quantity) in `lang`'s words:
    30 таблеток, 1 inhaler."""
    quantity = data.get("quantity") or {}
    value = quantity.get("value")
    if value is None:
        return ""
    known = medicines().get(atc_of(concept) or "")
    if known and isinstance(value, int | float) and value == int(value):
        counted = _counted(known.unit["en"], int(value), lang)
        if counted:
            return counted
    return f"{value} {quantity.get('unit') or ''}".strip()


def rows(
    tx: Tx, prescriptions: list[StoredResource], dispenses: dict[str, list[JSON]], lang: str, today: date
) -> list[Row]:
    names = Names(
        tx,
        [("Practitioner", ref_id(s.resource.get("requester"), "Practitioner")) for s in prescriptions]
        + [("Organization", rules.pharmacy_of(d)) for handed in dispenses.values() for d in handed[:1]],
    )
    return [row(s, dispenses.get(s.id, []), names, lang, tx.region, today) for s in prescriptions]


def row(stored: StoredResource, dispenses: list[JSON], names: Names, lang: str, region: str, today: date) -> Row:
    """A prescription with its completed dispenses, the latest first."""
    data = stored.resource
    concept = data.get("medicationCodeableConcept")
    dispense = dispenses[0] if dispenses else None
    left = rules.left_of(data, dispenses)
    partly = bool(dispenses) and left is not None and left > 0 and data.get("status") == "active"
    return Row(
        id=stored.id,
        number=grouped(rules.number_of(data) or ""),
        medicine=medicine_name(concept, lang),
        dosage=str((data.get("dosageInstruction") or [{}])[0].get("text") or ""),
        quantity=quantity_text(data.get("dispenseRequest") or {}, concept, lang),
        valid_until=rules.day_text(rules.valid_until(data), region),
        prescriber=names.of("Practitioner", ref_id(data.get("requester"), "Practitioner")),
        state=rules.state_of(data, today),
        dispensed_on=rules.day_text(str((dispense or {}).get("whenHandedOver") or ""), region),
        pharmacy=names.of("Organization", rules.pharmacy_of(dispense)) if dispense else "",
        left=quantity_text({"quantity": {**_prescribed(data), "value": left}}, concept, lang) if partly else "",
    )


def _prescribed(data: JSON) -> JSON:
    quantity = rules.part(data, "dispenseRequest", "quantity")
    return quantity if isinstance(quantity, dict) else {}
