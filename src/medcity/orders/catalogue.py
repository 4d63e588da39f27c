"""The test catalogue shipped with medcity (`data/catalogue.json`): what a doctor can order (laboratory tests and
instrumental or imaging studies), what each laboratory test reports (LOINC analytes with their UCUM unit), what a
value can physically be, where it is critical, reference ranges by sex and age, and packages of tests per
diagnosis, per region.

It is data rather than code so that a region's laboratories can agree on their own ranges and packages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from medcity.registry.regions import Region, RegionsFileError, region_of, regions

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"

LAB, DIAGNOSTIC = "lab", "diagnostic"
_DATA = Path(__file__).parent / "data" / "catalogue.json"


@dataclass(frozen=True)
class Range:
    """A reference range for people of `sex` (None: either) aged [age_from, age_to) years."""

    low: float | None
    high: float | None
    sex: str | None = None
    age_from: float = 0
    age_to: float = 200

    def fits(self, sex: str | None, age: float | None) -> bool:
        if self.sex is not None and sex != self.sex:
            return False
        return age is None or self.age_from <= age < self.age_to


@dataclass(frozen=True)
class Analyte:
    code: str
    en: str
    ru: str
    unit: str  # UCUM code
    limits: tuple[float, float]  # what is physically possible
    critical: tuple[float | None, float | None]
    decimals: int
    ranges: tuple[Range, ...]

    def name(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en

    def range_for(self, sex: str | None, age: float | None) -> Range | None:
        """The first range that fits; with the sex unknown, a range for either sex only."""
        return next((r for r in self.ranges if r.fits(sex, age)), None)


@dataclass(frozen=True)
class Test:
    """An orderable test (kind lab: reports `analytes`) or study (kind diagnostic: reports a conclusion)."""

    code: str
    kind: str
    en: str
    ru: str
    analytes: tuple[str, ...] = ()
    specimen: str | None = None
    category: str | None = None  # diagnostic studies: ecg or imaging

    def name(self, lang: str) -> str:
        return self.ru if lang == "ru" else self.en


@dataclass(frozen=True)
class SpecimenType:
    code: str
    snomed: str
    en: str
    ru: str


@dataclass(frozen=True)
class Catalogue:
    analytes: dict[str, Analyte]
    tests: dict[str, Test]
    specimens: dict[str, SpecimenType]
    packages: dict[str, dict[str, tuple[str, ...]]]

    def packages_for(self, region: str) -> dict[str, tuple[str, ...]]:
        """Diagnosis (ICD-10) → test codes for a region: the region's own packages (its settings' over the
        catalogue's) over the default ones."""
        return {**self.packages.get("default", {}), **self.packages.get(region, {}), **region_of(region).packages}

    def unknown_tests(self, packages: dict[str, tuple[str, ...]]) -> list[str]:
        """The packages' test codes this catalogue does not know."""
        return sorted({code for tests in packages.values() for code in tests} - set(self.tests))


def package_mistakes(found: dict[str, Region]) -> list[str]:
    """What is wrong with the regions' own packages: test codes the catalogue does not know, by region."""
    return [
        f"{code}.packages: unknown test codes {', '.join(unknown)}"
        for code, settings in sorted(found.items())
        if (unknown := catalogue().unknown_tests(settings.packages))
    ]


def check_region_packages() -> None:
    """Every region's own packages name tests of the catalogue; RegionsFileError names the ones that do not."""
    mistakes = package_mistakes(regions())
    if mistakes:
        raise RegionsFileError("\n".join(mistakes))


def _range(data: dict[str, Any]) -> Range:
    age = data.get("age") or [0, 200]
    return Range(low=data.get("low"), high=data.get("high"), sex=data.get("sex"), age_from=age[0], age_to=age[1])


def _analyte(code: str, data: dict[str, Any]) -> Analyte:
    critical = data.get("critical") or [None, None]
    return Analyte(
        code=code,
        en=data["en"],
        ru=data["ru"],
        unit=data["unit"],
        limits=(float(data["limits"][0]), float(data["limits"][1])),
        critical=(critical[0], critical[1]),
        decimals=int(data.get("decimals", 2)),
        ranges=tuple(_range(r) for r in data.get("ranges") or []),
    )


@cache
def catalogue() -> Catalogue:
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    tests = {
        code: Test(code=code, kind=t["kind"], en=t["en"], ru=t["ru"], analytes=tuple(t.get("analytes") or ()),
                   specimen=t.get("specimen"), category=t.get("category"))
        for code, t in data["tests"].items()
    }  # fmt: skip
    return Catalogue(
        analytes={code: _analyte(code, a) for code, a in data["analytes"].items()},
        tests=tests,
        specimens={code: SpecimenType(code, s["snomed"], s["en"], s["ru"]) for code, s in data["specimens"].items()},
        packages={
            region: {diagnosis: tuple(codes) for diagnosis, codes in packages.items()}
            for region, packages in data["packages"].items()
        },
    )


def loinc_code(concept: Any) -> str | None:
    """The LOINC code of a CodeableConcept, if it has one."""
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == LOINC and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def concept(code: str, display: str, text: str) -> dict[str, Any]:
    """A LOINC concept: the English display with the code, the region's own words as its text (as the demo city
    writes them), which the record shows."""
    return {"coding": [{"system": LOINC, "code": code, "display": display}], "text": text}
