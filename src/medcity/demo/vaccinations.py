"""A demo child's vaccinations by the national calendar: each dose given in its window, some a few days late, a
few not at all (and the doses of that series after it then wait), and some due now not given yet, so that the
demo paediatrician's worklist has overdue children and a parent's portal a next vaccination. Drawn from a random
stream of its own, so that adding it changed nothing else in the demo city."""

from __future__ import annotations

import random
from datetime import date, timedelta

from medcity.immunization import service
from medcity.immunization.service import JSON

# Chance that a dose a child should have had is never given (its series then waits); that one due now is not
# given yet.
MISSED = 0.02
NOT_YET = 0.5
SITES = tuple(service.SITES)


def _due_now(states: list[service.DoseState], decided: set[str]) -> list[service.DoseState]:
    return [s for s in states if s.state in ("due", "overdue") and s.dose.every is None and s.dose.code not in decided]


def calendar_history(rng: random.Random, *, patient_id: str, born: date, as_of: date, performer: str) -> list[JSON]:
    """The Immunizations of a child born on `born`, as of `as_of`, given by `performer` (a PractitionerRole)."""
    out: list[JSON] = []
    decided: set[str] = set()
    while due := _due_now(service.forecast(born, out, as_of), decided):
        for state in due:
            decided.add(state.dose.code)
            still_open = state.state == "due"
            if rng.random() < MISSED or (still_open and rng.random() < NOT_YET):
                continue
            earliest = state.earliest or born
            day = min(as_of, earliest + timedelta(days=rng.choice((0, 0, 1, 2, 3, 5, 7, 10))))
            record = service.Record(patient=patient_id, dose=state.dose.code, day=day,
                                    lot=f"{rng.randint(100, 999)}-{day.year % 100:02d}", site=rng.choice(SITES),
                                    performer={"reference": f"PractitionerRole/{performer}"})  # fmt: skip
            body = service.build(record, birth=born, today=as_of, recorded=day.isoformat())
            out.append({**body, "id": f"{patient_id}-v{len(out) + 1}"})
    return out
