"""How the people, places and times of scheduling read to a person: names from the FHIR directory, times in the
region's own time zone. Shared by the pages and the notices, so both say the same thing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from medcity.registry.catalogue import SPECIALTIES
from medcity.scheduling.resources import ref_id
from medcity.scheduling.rules import rules_for
from medcity.store.repository import Tx


class Names:
    """Display names of the people and places on a page or in a notice, each read once."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.zone = rules_for(tx.region).timezone
        self._cache: dict[tuple[str, str], str] = {}

    def of(self, rtype: str, rid: str) -> str:
        if (rtype, rid) not in self._cache:
            stored = self.tx.current(rtype, rid)
            data = stored.resource if stored is not None and not stored.deleted else {}
            self._cache[(rtype, rid)] = self._name(rtype, data) or rid
        return self._cache[(rtype, rid)]

    def _name(self, rtype: str, data: dict[str, Any]) -> str | None:
        if rtype == "PractitionerRole":
            practitioner = ref_id(data.get("practitioner"), "Practitioner")
            return self.of("Practitioner", practitioner) if practitioner else None
        if rtype in ("Patient", "Practitioner"):
            name = (data.get("name") or [{}])[0]
            return " ".join([name.get("family", ""), *name.get("given", [])]).strip() or None
        name = data.get("name")
        return name if isinstance(name, str) else None

    def when(self, moment: datetime) -> str:
        return self.local(moment).strftime("%d.%m.%Y %H:%M")

    def clock(self, moment: datetime) -> str:
        return self.local(moment).strftime("%H:%M")

    def local(self, moment: datetime) -> datetime:
        return moment.replace(tzinfo=UTC).astimezone(self.zone)


def specialty_name(code: str, lang: str) -> str:
    concept = SPECIALTIES.get(code)
    return concept.display(lang) if concept is not None else code


def ticket(appointment_id: str) -> str:
    """The short number a queue display calls instead of a name (the tail of the id, which is random)."""
    return appointment_id.replace("-", "")[-4:].upper()
