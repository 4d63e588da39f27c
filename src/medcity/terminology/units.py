"""UCUM units as people read them. Records keep the UCUM code (`10*9/L`, `mm[Hg]`, `Cel`), which is exact for
machines and unreadable on a page: a Russian doctor reads ×10⁹/л, мм рт. ст., °C. Units not listed here are shown
as written."""

from __future__ import annotations

from typing import Any

from medcity.kit.i18n import N_, gettext

# UCUM code → its English display (the msgid; locale/ru has the Russian one). Every unit of the test catalogue
# (orders/data/catalogue.json) and of the vital signs (visits/vitals.py) is here.
UNIT_NAMES = {
    "/[HPF]": N_("per HPF"), "10*12/L": N_("×10¹²/L"), "10*9/L": N_("×10⁹/L"), "U/L": N_("U/L"),
    "g/L": N_("g/L"), "m[IU]/L": N_("mIU/L"), "mg/L": N_("mg/L"), "mmol/L": N_("mmol/L"), "umol/L": N_("µmol/L"),
    "mm[Hg]": N_("mmHg"), "/min": N_("/min"), "Cel": N_("°C"), "cm": N_("cm"), "kg": N_("kg"), "kg/m2": N_("kg/m²"),
}  # fmt: skip


def unit_name(code: str, lang: str) -> str:
    """The unit `code` (UCUM) in `lang`; a unit this table does not know, as written."""
    known = UNIT_NAMES.get(code)
    return gettext(known, lang) if known else code


def unit_of(quantity: dict[str, Any]) -> str:
    """What to show as a Quantity's unit: its UCUM code when this table knows it (another system may write the
    human unit differently), else its unit as written."""
    code = quantity.get("code")
    if isinstance(code, str) and code in UNIT_NAMES:
        return code
    return str(quantity.get("unit") or code or "")
