"""What the referral and hospital pages show of the resources they list: names, states, kinds, dates."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from html import unescape

from medcity.kit.instants import shown_day
from medcity.referrals.codes import JSON, KIND_NAMES, kind_of
from medcity.referrals.rules import performer_organization, specialty_of
from medcity.registry.catalogue import SPECIALTIES
from medcity.scheduling.resources import ref_id
from medcity.store.repository import StoredResource, Tx


class Names:
    """Display names of the patients, doctors and organisations a page mentions, read together."""

    def __init__(self, tx: Tx, refs: Iterable[tuple[str, str | None]]) -> None:
        wanted = list(dict.fromkeys((t, i) for t, i in refs if i))
        self._data = {(s.type, s.id): s.resource for s in tx.read_many(wanted)}

    def of(self, rtype: str, rid: str | None) -> str:
        if not rid:
            return "—"
        data = self._data.get((rtype, rid), {})
        if isinstance(data.get("name"), str):
            return str(data["name"])
        name = (data.get("name") or [{}])[0]
        return " ".join([name.get("family", ""), *name.get("given", [])]).strip() or rid


def kind_name(data: JSON, lang: str) -> str:
    kind = kind_of(data) or ""
    ru, en = KIND_NAMES.get(kind, (kind, kind))
    specialty = SPECIALTIES.get(specialty_of(data) or "")
    text = en if lang == "en" else ru
    return f"{text}: {specialty.display(lang)}" if specialty else text


def reasons(data: JSON) -> str:
    return ", ".join(
        f"{c.get('code')} {c.get('display', '')}".strip()
        for concept in data.get("reasonCode") or []
        for c in (concept.get("coding") or [])[:1]
    )


@dataclass(frozen=True)
class Row:
    """One referral on a list."""

    id: str
    patient: str
    state: str
    kind: str
    kind_code: str
    reasons: str
    to: str
    sender: str
    valid_until: str
    documents: list[str]


def rows(tx: Tx, referrals: list[StoredResource], states: dict[str, str], lang: str) -> list[Row]:
    refs: list[tuple[str, str | None]] = []
    for stored in referrals:
        data = stored.resource
        refs += [("Patient", ref_id(data.get("subject"), "Patient")), ("Organization", performer_organization(data)),
                 ("Practitioner", ref_id(data.get("requester"), "Practitioner"))]  # fmt: skip
    names = Names(tx, refs)
    return [
        Row(
            id=s.id,
            patient=names.of("Patient", ref_id(s.resource.get("subject"), "Patient")),
            state=states[s.id],
            kind=kind_name(s.resource, lang),
            kind_code=kind_of(s.resource) or "",
            reasons=reasons(s.resource),
            to=names.of("Organization", performer_organization(s.resource)),
            sender=names.of("Practitioner", ref_id(s.resource.get("requester"), "Practitioner")),
            valid_until=shown_day((s.resource.get("occurrencePeriod") or {}).get("end")),
            documents=[str(d.get("reference")) for d in s.resource.get("supportingInfo") or []],
        )
        for s in referrals
    ]


def local_time(text: str | None, zone: tzinfo) -> str:
    """An instant as the pages show it: dd.mm.yyyy hh:mm in the region's time zone."""
    if not text:
        return ""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return text


def plain_text(div: object) -> list[str]:
    """The paragraphs of a narrative div as plain text: stored XHTML is never put on a page as it is."""
    if not isinstance(div, str):
        return []
    lines = (unescape(re.sub(r"<[^>]*>", "", part)).strip() for part in re.split(r"</p>|<br\s*/?>", div))
    return [line for line in lines if line]
