"""Resource ids: time-ordered, so that new rows land at the end of B-tree indexes instead of all over them."""

from __future__ import annotations

import os
import re
import time

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def new_id() -> str:
    millis = time.time_ns() // 1_000_000
    raw = f"{millis:012x}{os.urandom(10).hex()}"
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"


def is_valid_id(value: str) -> bool:
    return bool(FHIR_ID.match(value))
