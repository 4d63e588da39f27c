"""The ICD-10 catalogue: the Russian МКБ-10 (Minzdrav НСИ 1.2.643.5.1.13.13.11.1005 v2.27) with English names
from the WHO ICD-10 2019, as one in-memory tree that is loaded once per process.

The code set is the Russian edition's (it is what Russian records and reimbursement use); the WHO file only
adds English names. The Russian edition's extra codes (place-of-occurrence 4th characters in chapter XX, the
closed/open 5th characters of fractures) get English names composed from their parent's, so that almost every
code has both.

Parsing the sources and lemmatising their words with pymorphy3 takes about a second, so `python -m
medcity.terminology.catalogue` pre-builds `data/icd10.compact.json.gz` from them and a process reads only that
(tests check it is in step with the sources).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

SYSTEM_URL = "http://hl7.org/fhir/sid/icd-10"
OID_URL = "urn:oid:1.2.643.5.1.13.13.11.1005"
VERSION = "2.27"
NAME = "ICD10"
TITLE = "МКБ-10 / ICD-10 (Minzdrav НСИ 2.27, WHO 2019 English names)"

DATA_DIR = Path(__file__).parent / "data"
RU_SOURCE = DATA_DIR / "mkb10.csv.gz"
EN_SOURCE = DATA_DIR / "icd10_who_2019.xml.gz"
COMPACT = DATA_DIR / "icd10.compact.json.gz"
COMPACT_FORMAT = 1

CHAPTER, BLOCK, CATEGORY, SUBCATEGORY = 0, 1, 2, 3
KIND_NAMES = ("chapter", "block", "category", "subcategory")

_ROMAN = re.compile(r"[IVXL]+")
_CATEGORY = re.compile(r"[A-Z]\d\d")

# WHO place-of-occurrence 4th characters of W00-Y34 (the Russian edition spells them out in each subcategory).
_PLACE_RU_EN = {
    "В доме, квартире, жилом здании": "Home",
    "В специальном учреждении для проживания": "Residential institution",
    "В школе, другом учреждении и общественном административном районе": (
        "School, other institution and public administrative area"
    ),
    "На площадке для занятий спортом и спортивных соревнований": "Sports and athletics area",
    "На улице или автомагистрали": "Street and highway",
    "В учреждении и районе торговли и обслуживания": "Trade and service area",
    "На производственных и строительных площадях и в помещениях": "Industrial and construction area",
    "На ферме": "Farm",
    "В других уточненных местах": "Other specified places",
    "В неуточненном месте": "Unspecified place",
}
# The 5th characters the Russian edition adds to injuries (S/T), as suffixes of the parent's Russian name.
_INJURY_SUFFIX_RU_EN = {
    "закрытый": "closed",
    "закрытые": "closed",
    "открытый": "open",
    "открытые": "open",
    "без открытой раны в брюшную полость": "without open wound into abdominal cavity",
    "с открытой раной в брюшную полость": "with open wound into abdominal cavity",
    "без открытой раны в грудную полость": "without open wound into thoracic cavity",
    "с открытой раной в грудную полость": "with open wound into thoracic cavity",
    "без открытой внутричерепной раны": "without open intracranial wound",
    "с открытой внутричерепной раной": "with open intracranial wound",
}


@dataclass(frozen=True, slots=True)
class Concept:
    index: int
    code: str
    kind: int
    parent: int  # index of the parent, -1 for a chapter
    active: bool
    name_ru: str
    name_en: str | None  # None where neither WHO nor a composed name exists

    @property
    def selectable(self) -> bool:
        """Rubrics and subcategories are diagnoses; chapters and blocks only group them."""
        return self.kind >= CATEGORY


class Catalogue:
    """Concepts in hierarchical order: sorting by `index` gives the order of the printed МКБ-10."""

    def __init__(self, concepts: list[Concept], lemmas: dict[str, list[str]]) -> None:
        self.concepts = concepts
        self.lemmas = lemmas  # Russian name word -> its dictionary forms, from pymorphy3 at build time
        self.by_code = {c.code: c for c in concepts}
        children: list[list[int]] = [[] for _ in concepts]
        for c in concepts:
            if c.parent >= 0:
                children[c.parent].append(c.index)
        self.children = children

    def get(self, code: str) -> Concept | None:
        return self.by_code.get(code)

    def ancestors(self, concept: Concept) -> list[Concept]:
        """Parent first, chapter last."""
        out = []
        while concept.parent >= 0:
            concept = self.concepts[concept.parent]
            out.append(concept)
        return out


def _kind_of(code: str) -> int:
    if _ROMAN.fullmatch(code):
        return CHAPTER
    if "-" in code:
        return BLOCK
    return CATEGORY if _CATEGORY.fullmatch(code) else SUBCATEGORY


def _read_ru(path: Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=";"))


def _read_en(path: Path) -> dict[str, str]:
    with gzip.open(path, "rb") as fh:
        root = ElementTree.parse(io.BytesIO(fh.read())).getroot()  # noqa: S314 - our own packaged file
    names: dict[str, str] = {}
    for item in root.iter("item"):
        code, description = item.findtext("name"), item.findtext("description")
        if code and description:
            names[code.strip()] = " ".join(description.split())
    return names


def _compose_en(name_ru: str, parent_ru: str, parent_en: str | None) -> str | None:
    """English name for a Russian-only subcategory that is its parent plus a standard qualifier."""
    if parent_en is None or not name_ru.startswith(parent_ru):
        return None
    rest = name_ru[len(parent_ru) :]
    if rest.startswith(". ") and rest[2:] in _PLACE_RU_EN:
        return f"{parent_en}: {_PLACE_RU_EN[rest[2:]].lower()}"
    if rest.startswith(" ") and rest[1:] in _INJURY_SUFFIX_RU_EN:
        return f"{parent_en}, {_INJURY_SUFFIX_RU_EN[rest[1:]]}"
    return None


def build_compact(ru_source: Path = RU_SOURCE, en_source: Path = EN_SOURCE) -> dict[str, Any]:
    """Merge both sources into the compact form `load()` reads: rows in hierarchical order, word lemmas."""
    rows = _read_ru(ru_source)
    en = _read_en(en_source)
    by_id = {r["ID"]: r for r in rows}
    kids: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        kids.setdefault(r["ID_PARENT"], []).append(r)
    # Chapters keep the register's order (I..XXII); below them the order is the code's.
    ordered: list[dict[str, str]] = []
    stack = list(reversed(kids[""]))
    while stack:
        r = stack.pop()
        ordered.append(r)
        stack.extend(sorted(kids.get(r["ID"], []), key=lambda k: k["MKB_CODE"], reverse=True))
    position = {r["ID"]: i for i, r in enumerate(ordered)}

    out_rows: list[list[Any]] = []
    names_en: dict[str, str | None] = {}
    for r in ordered:
        code, name_ru = r["MKB_CODE"].strip(), " ".join(r["MKB_NAME"].split())
        parent = by_id.get(r["ID_PARENT"])
        name_en = en.get(code)
        if name_en is None and parent is not None:
            name_en = _compose_en(name_ru, " ".join(parent["MKB_NAME"].split()), names_en[parent["ID"]])
        names_en[r["ID"]] = name_en
        parent_pos = position[parent["ID"]] if parent is not None else -1
        out_rows.append([code, parent_pos, 1 if r["ACTUAL"] == "1" else 0, name_ru, name_en])
    return {"format": COMPACT_FORMAT, "version": VERSION, "rows": out_rows, "lemmas": _lemmatise(out_rows)}


def _lemmatise(rows: list[list[Any]]) -> dict[str, list[str]]:
    # Imported here: only the build needs pymorphy3's dictionaries for the names (queries use search.py's).
    from medcity.terminology.search import lemmas_ru, words

    vocabulary = sorted({w for row in rows for w in words(row[3]) if not w.isascii()})
    lemmas: dict[str, list[str]] = {}
    for word in vocabulary:
        forms = [lemma for lemma in lemmas_ru(word) if lemma != word]
        if forms:
            lemmas[word] = forms
    return lemmas


def _from_compact(data: dict[str, Any]) -> Catalogue:
    if data.get("format") != COMPACT_FORMAT:
        raise RuntimeError(f"{COMPACT.name} has an unknown format; rebuild it (python -m {__name__})")
    concepts = [
        Concept(
            index=i,
            code=code,
            kind=_kind_of(code),
            parent=parent,
            active=bool(active),
            name_ru=ru,
            name_en=en,
        )
        for i, (code, parent, active, ru, en) in enumerate(data["rows"])
    ]
    return Catalogue(concepts, data["lemmas"])


def compact_bytes(data: dict[str, Any]) -> bytes:
    # mtime=0 keeps the file byte-identical between rebuilds, so git only sees real changes.
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return gzip.compress(raw, compresslevel=9, mtime=0)


@cache
def load() -> Catalogue:
    """The process-wide catalogue (about 0.1 s on first use; cached)."""
    with gzip.open(COMPACT, "rb") as fh:
        return _from_compact(json.loads(fh.read()))


def main() -> None:
    COMPACT.write_bytes(compact_bytes(build_compact()))
    print(f"wrote {COMPACT}", file=sys.stderr)


if __name__ == "__main__":
    main()
