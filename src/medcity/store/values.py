"""Normalisation shared by indexing and searching, so that both sides compare the same way."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from medcity.kit import instants

MAX_INDEXED = 500

_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
EPOCH = instants.EPOCH
MIN_MS = -62135596800000  # 0001-01-01
MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999


def normalize_text(value: str) -> str:
    """Case-, accent- and ё-insensitive form used for string search (й keeps its breve: it is a letter)."""
    text = value.casefold().replace("ё", "е")
    if not text.isascii():
        text = text.replace("й", "\0")
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        text = text.replace("\0", "й")
    return text[:MAX_INDEXED]


def date_range(value: str) -> tuple[int, int] | None:
    """The [low, high) interval, in epoch milliseconds, that a FHIR date/dateTime/instant at its precision covers."""
    m = _DATE.match(value.strip())
    if not m:
        return None
    g = m.groupdict()
    tz = UTC
    if g["tz"] and g["tz"] != "Z":
        sign = 1 if g["tz"][0] == "+" else -1
        tz_hours, tz_minutes = int(g["tz"][1:3]), int(g["tz"][4:6])
        tz = timezone(sign * timedelta(hours=tz_hours, minutes=tz_minutes))
    try:
        year = int(g["y"])
        if g["m"] is None:
            low = datetime(year, 1, 1, tzinfo=tz)
            high = datetime(year + 1, 1, 1, tzinfo=tz) if year < 9999 else None
        elif g["d"] is None:
            month = int(g["m"])
            low = datetime(year, month, 1, tzinfo=tz)
            high = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz) if year < 9999 or month < 12 else None
        elif g["H"] is None:
            low = datetime(year, int(g["m"]), int(g["d"]), tzinfo=tz)
            high = low + timedelta(days=1)
        else:
            low = datetime(year, int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]), tzinfo=tz)
            if g["S"] is None:
                high = low + timedelta(minutes=1)
            else:
                low = low.replace(second=int(g["S"]))
                if g["f"]:
                    micro = int((g["f"] + "000000")[:6])
                    low = low.replace(microsecond=micro)
                    high = low + timedelta(milliseconds=1)
                else:
                    high = low + timedelta(seconds=1)
    except (ValueError, OverflowError):
        return None
    low_ms = instants.to_ms(low)
    return low_ms, (instants.to_ms(high) if high is not None else MAX_MS)


def now_instant() -> str:
    """The current time as a FHIR instant in UTC with microseconds; sortable as text."""
    return instants.now_text()
