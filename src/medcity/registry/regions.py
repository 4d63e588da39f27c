"""The settings of each region medcity serves: its name, time zone, booking rules, prescription validity, the ESC
risk region of its forecasts.

They are data, not code, so that another region adopts medcity by writing a file: the regions shipped in
`data/regions.toml` (Moscow, St Petersburg), then those of the file named by MEDCITY_REGIONS_FILE, which adds
regions and replaces a shipped region of the same code. A file is checked as a whole when it is read, and every
mistake in it is named with its place (`54.booking.horizon_days`), so that a server never starts on settings it
misread.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer, field_validator

from medcity.kit.config import get_settings
from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_
from medcity.registry.catalogue import FIRST_CONTACT, SEES_PATIENTS

SHIPPED = Path(__file__).parent / "data" / "regions.toml"
ICD10_CODE = re.compile(r"[A-Z][0-9]{2}(\.[0-9]{1,2})?")


class RegionsFileError(ValueError):
    """A regions file that cannot be used, with every mistake in it, one per line."""


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Names(_Settings):
    ru: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def display(self, lang: str) -> str:
        return self.en if lang == "en" else self.ru


class Booking(_Settings):
    horizon_days: int = Field(default=14, ge=1, le=366)
    booking_window_days: int = Field(default=14, ge=1, le=366)
    one_per_specialty: bool = True
    no_show_limit: int = Field(default=3, ge=1)
    no_show_period_days: int = Field(default=90, ge=1)
    offer_hold_minutes: int = Field(default=120, ge=1)


class Prescriptions(_Settings):
    validity_days: int = Field(default=60, ge=1, le=366)
    annul_hours: int = Field(default=24, ge=0)


# The ESC 2021 cardiovascular risk regions (SCORE2's recalibrations); the Russian Federation is very high.
CvdRiskRegion = Literal["low", "moderate", "high", "very_high"]


class Risk(_Settings):
    cvd_risk_region: CvdRiskRegion = "very_high"


class Region(_Settings):
    code: str = Field(pattern=r"^[0-9A-Za-z_-]{1,16}$")  # the partition's code: a region's number (77, 78, 54)
    name: Names
    okato: str = Field(pattern=r"^[0-9]{2}$")
    timezone: str = "Europe/Moscow"
    self_bookable: frozenset[str] = FIRST_CONTACT
    booking: Booking = Booking()
    prescriptions: Prescriptions = Prescriptions()
    risk: Risk = Risk()
    # Tests ordered together for a diagnosis (ICD-10 code → LOINC codes of the laboratory catalogue, medcity.orders),
    # over the catalogue's own packages; the test codes are checked by the orders package when a server starts.
    packages: dict[str, tuple[str, ...]] = {}
    # Regions this one exchanges records with: region code → the FHIR base of its medcity (medcity.exchange);
    # each registered this region's system there as `region-<code>`.
    peers: dict[str, str] = {}

    @field_validator("peers")
    @classmethod
    def _fhir_bases(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted(code for code, base in value.items() if not base.startswith(("https://", "http://")))
        if wrong:
            raise ValueError(f"not the http(s) address of a FHIR base: {', '.join(wrong)}")
        return value

    @field_validator("packages")
    @classmethod
    def _icd10_keys(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        malformed = sorted(code for code in value if not ICD10_CODE.fullmatch(code))
        if malformed:
            raise ValueError(f"not ICD-10 codes (as I10 or E11.9): {', '.join(malformed)}")
        empty = sorted(code for code, tests in value.items() if not tests)
        if empty:
            raise ValueError(f"packages without tests: {', '.join(empty)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as 'Asia/Novosibirsk')") from None
        return value

    @field_validator("self_bookable")
    @classmethod
    def _known_specialties(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = sorted(value - SEES_PATIENTS)
        if unknown:
            raise ValueError(f"not specialties that see patients: {', '.join(unknown)}")
        return value

    @field_serializer("self_bookable")
    def _in_order(self, value: frozenset[str]) -> list[str]:
        return sorted(value)


# What a partition the catalogue does not know gets (test and staging partitions): every default. Built without
# validation because it has no code, name or ОКАТО of its own.
DEFAULT_REGION = Region.model_construct(code="", name=Names.model_construct(ru="", en=""), okato="")


def read(path: Path) -> dict[str, Region]:
    """The regions of one file, checked; RegionsFileError names every mistake."""
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RegionsFileError(f"{path}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RegionsFileError(f"{path}: not TOML: {exc}") from None
    found: dict[str, Region] = {}
    mistakes: list[str] = []
    for code, table in tables.items():
        if not isinstance(table, dict):
            mistakes.append(f"{code}: a region is a table ([{code}]), not a single value")
            continue
        try:
            found[code] = Region.model_validate({**table, "code": code})
        except ValidationError as exc:
            mistakes.extend(_said(code, error) for error in exc.errors())
    if mistakes:
        raise RegionsFileError("\n".join(f"{path}: {mistake}" for mistake in mistakes))
    return found


def _said(code: str, error: Any) -> str:
    place = ".".join(str(part) for part in (code, *error["loc"]))
    return f"{place}: {error['msg']}"


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    """The shipped regions, with the operator's file (MEDCITY_REGIONS_FILE) over them."""
    own = get_settings().regions_file
    return {**read(SHIPPED), **(read(own) if own else {})}


def region_of(code: str) -> Region:
    """The region's settings; the defaults for a partition the catalogue does not know."""
    return regions().get(code, DEFAULT_REGION)


def region(code: str) -> Region:
    """The region's settings; an unknown region is an error (the demo city and its seed are for real regions)."""
    known = regions()
    try:
        return known[code]
    except KeyError:
        raise InvalidRequest(
            N_("Unknown region '%(code)s': known regions are %(known)s"), code=code, known=", ".join(sorted(known))
        ) from None
