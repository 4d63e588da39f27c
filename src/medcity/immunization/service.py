"""A patient's vaccinations against the calendar, and recording one.

Each calendar dose is done (when), due (from, to), overdue (since), upcoming (from) or missed (not given before the
age the calendar stops catching it up). A dose is due from its age, but never sooner than the shortest interval
after the previous dose of its series; while the previous dose is not given, the next one waits for it (its date
is then the earliest it could follow a previous dose given today). The doses given are read from completed
Immunization resources: a vaccineCode of the calendar's own names its dose, another vaccine's code (CVX, ATC) or
`protocolApplied.doseNumberPositiveInt` places it in a series; doses without a number fill their series in date
order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from medcity.immunization.calendar import Dose, Series, after, calendar
from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_
from medcity.registry.service import attached
from medcity.store.repository import Restriction, StoredResource, Tx
from medcity.store.search import of_patients

JSON = dict[str, Any]
STATES = ("done", "due", "overdue", "upcoming", "missed")
SITE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActSite"
# Why a dose was not given (R4 Immunization.statusReason, v3-ActReason): a medical exemption (медотвод) or the
# patient's or parent's refusal (отказ).
REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
NOT_GIVEN = {"MEDPREC": N_("medical exemption"), "PATOBJ": N_("refused by the patient or parent")}
SITES = {"LA": N_("left arm"), "RA": N_("right arm"), "LT": N_("left thigh"), "RT": N_("right thigh"),
         "LD": N_("left deltoid"), "RD": N_("right deltoid")}  # fmt: skip
# The worklist reads the attached children of one organisation (at most this many) and shows the longest overdue.
WORKLIST_CHILDREN = 5000
WORKLIST_ROWS = 200


@dataclass(frozen=True)
class Given:
    """A completed Immunization as the calendar reads it."""

    immunization: str
    day: date
    series: Series
    dose: Dose | None  # named by the calendar's own code
    number: int | None  # protocolApplied.doseNumberPositiveInt


@dataclass(frozen=True)
class DoseState:
    dose: Dose
    state: str  # one of STATES
    number: int  # the dose's number (a recurring dose counts on after the series)
    given: date | None = None
    immunization: str | None = None
    earliest: date | None = None
    latest: date | None = None  # None: never overdue
    not_given: tuple[str, date] | None = None  # the latest exemption or refusal of this dose: (reason, day)

    @property
    def overdue_since(self) -> date | None:
        return self.latest + timedelta(days=1) if self.state == "overdue" and self.latest else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def given_of(immunizations: Iterable[JSON]) -> list[Given]:
    """The completed doses among the resources, each placed in its series; others' vaccines are left out."""
    found = []
    for resource in immunizations:
        if resource.get("resourceType") != "Immunization" or resource.get("status") != "completed":
            continue
        day = _day(resource.get("occurrenceDateTime"))
        placed = calendar().series_of(resource.get("vaccineCode"))
        if day is None or placed is None:
            continue
        protocol = (resource.get("protocolApplied") or [{}])[0]
        number = protocol.get("doseNumberPositiveInt") if isinstance(protocol, dict) else None
        number = number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None
        found.append(Given(str(resource.get("id") or ""), day, placed[0], placed[1], number))
    return sorted(found, key=lambda g: (g.day, g.immunization))


def _placed(series: Series, birth: date, given: list[Given]) -> tuple[dict[str, Given], list[Given]]:
    """(dose code → the dose given for it, the recurring doses given): named doses first, then by number, then
    the rest in date order into the first dose still open at the age it was given (an adult's Td is not their
    first DTP)."""
    fixed = [d for d in series.doses if d.every is None]
    placed: dict[str, Given] = {}
    repeated: list[Given] = []
    loose = []
    for g in given:
        dose = g.dose or (series.doses[g.number - 1] if g.number and g.number <= len(series.doses) else None)
        if dose is not None and dose.every is not None:
            repeated.append(g)
        elif dose is not None and dose.code not in placed:
            placed[dose.code] = g
        else:
            loose.append(g)
    for g in loose:
        dose = next((d for d in fixed if d.code not in placed and not (d.until and g.day >= after(birth, d.until))),
                    None)  # fmt: skip
        if dose is None:
            repeated.append(g)
        else:
            placed[dose.code] = g
    return placed, sorted(repeated, key=lambda g: g.day)


def _state(earliest: date, latest: date | None, today: date) -> str:
    if today < earliest:
        return "upcoming"
    return "due" if latest is None or today <= latest else "overdue"


def _series_states(series: Series, birth: date, given: list[Given], today: date) -> list[DoseState]:
    placed, repeated = _placed(series, birth, given)
    states: list[DoseState] = []
    previous: DoseState | None = None
    for dose in (d for d in series.doses if d.every is None):
        start = after(birth, dose.start)
        end = after(birth, dose.end) if dose.end else None
        if dose.code in placed:
            g = placed[dose.code]
            state = DoseState(dose, "done", dose.number, given=g.day, immunization=g.immunization)
        elif dose.until and today >= after(birth, dose.until):
            state = DoseState(dose, "missed", dose.number, earliest=start, latest=end)
        else:
            earliest = start
            if previous is not None and dose.interval:
                # The previous dose given (or, if not yet, given today at the soonest): this one follows it.
                base = previous.given if previous.given else max(previous.earliest or today, today)
                earliest = max(start, after(base, dose.interval))
            # A window pushed later by the interval keeps its length.
            latest = end + (earliest - start) if end else None
            waiting = previous is not None and previous.state != "done" and previous.state != "missed"
            shown = "upcoming" if waiting else _state(earliest, latest, today)
            state = DoseState(dose, shown, dose.number, earliest=earliest, latest=latest)
        states.append(state)
        previous = state
    for dose in (d for d in series.doses if d.every is not None):
        states += _recurring(dose, birth, given, repeated, len(states), today)
    return states


def _recurring(
    dose: Dose, birth: date, given: list[Given], repeated: list[Given], before: int, today: date
) -> list[DoseState]:
    """The recurring doses given, and the next one: its period after the series' last dose of any kind."""
    assert dose.every is not None
    done = [DoseState(dose, "done", before + n, given=g.day, immunization=g.immunization)
            for n, g in enumerate(repeated, 1)]  # fmt: skip
    earliest = after(birth, dose.start)
    if given:
        earliest = max(earliest, after(given[-1].day, dose.every))
    latest = after(earliest, dose.window) if dose.window else None
    following = DoseState(dose, _state(earliest, latest, today), before + len(repeated) + 1, earliest=earliest,
                          latest=latest)  # fmt: skip
    return [*done, following]


def not_given_of(immunizations: Iterable[JSON]) -> dict[str, tuple[str, date]]:
    """Calendar dose → the latest exemption or refusal recorded for it (an Immunization not-done naming it)."""
    found: dict[str, tuple[str, date]] = {}
    for resource in immunizations:
        day = _day(resource.get("occurrenceDateTime"))
        placed = calendar().series_of(resource.get("vaccineCode"))
        if resource.get("resourceType") != "Immunization" or resource.get("status") != "not-done":
            continue
        if day is None or placed is None or placed[1] is None:
            continue
        codings = (resource.get("statusReason") or {}).get("coding") or [{}]
        reason = str(codings[0].get("code") or "") if isinstance(codings[0], dict) else ""
        if placed[1].code not in found or found[placed[1].code][1] <= day:
            found[placed[1].code] = (reason, day)
    return found


def forecast(birth: date, immunizations: Iterable[JSON], today: date) -> list[DoseState]:
    """Every dose of the calendar's series (risk-group series only as far as they were given) for someone born on
    `birth`, from their Immunization resources, as of `today`. A dose exempted or refused keeps its state (it is
    still not given) and carries the exemption or refusal."""
    immunizations = list(immunizations)
    states = _forecast(birth, given_of(immunizations), today)
    not_given = not_given_of(immunizations)
    return [replace(s, not_given=not_given[s.dose.code]) if s.state != "done" and s.dose.code in not_given else s
            for s in states]  # fmt: skip


def _forecast(birth: date, given: list[Given], today: date) -> list[DoseState]:
    states: list[DoseState] = []
    for series in calendar().series.values():
        mine = [g for g in given if g.series.code == series.code]
        if series.forecast:
            states += _series_states(series, birth, mine, today)
        else:
            placed = _placed(series, birth, mine)[0]
            states += [DoseState(d, "done", d.number, given=g.day, immunization=g.immunization)
                       for d in series.doses if (g := placed.get(d.code))]  # fmt: skip
    return states


def birth_of(patient: JSON) -> date | None:
    return _day(patient.get("birthDate")) if len(str(patient.get("birthDate") or "")) >= 10 else None


def next_doses(states: list[DoseState]) -> list[DoseState]:
    """Per series, the first dose not given that is still given (not missed), soonest first."""
    first: dict[str, DoseState] = {}
    for s in states:
        if s.state in ("due", "overdue", "upcoming") and s.dose.series not in first:
            first[s.dose.series] = s
    return sorted(first.values(), key=lambda s: (s.state != "overdue", s.earliest or date.max))


def overdue(states: list[DoseState]) -> list[DoseState]:
    """The overdue doses, the longest overdue first."""
    return sorted((s for s in states if s.state == "overdue"), key=lambda s: s.overdue_since or date.max)


# ---- reading and writing the record ------------------------------------------------------------------------


def immunizations_of(tx: Tx, patient: str, restrict: Restriction | None) -> list[JSON]:
    return [s.resource for s in of_patients(tx, "Immunization", [patient], restrict)]


@dataclass(frozen=True)
class Record:
    """A vaccination to record, as the nurse or doctor entered it."""

    patient: str
    dose: str  # a calendar dose code
    day: date
    lot: str
    site: str  # a key of SITES, or ""
    performer: JSON  # a reference: the PractitionerRole (else the organisation) of whoever gave it
    not_given: str = ""  # a key of NOT_GIVEN: an exemption or refusal recorded instead of a dose


def build(record: Record, *, birth: date | None, today: date, recorded: str) -> JSON:
    """The Immunization of `record`, checked: a dose of the calendar, a day neither in the future nor before the
    patient was born, a lot number of sensible length; or, for an exemption or refusal, a not-done one with its
    reason."""
    cal = calendar()
    dose = cal.doses.get(record.dose)
    if dose is None:
        raise InvalidRequest(N_("Choose the vaccination from the calendar"))
    if record.day > today:
        raise InvalidRequest(N_("The vaccination date is in the future"))
    if birth is not None and record.day < birth:
        raise InvalidRequest(N_("The vaccination date is before the patient was born"))
    if record.not_given:
        return _not_given(record, dose, recorded)
    lot = record.lot.strip()
    if not lot or len(lot) > 40:
        raise InvalidRequest(N_("Enter the vaccine's lot number (at most 40 characters)"))
    if record.site and record.site not in SITES:
        raise InvalidRequest(N_("Unknown injection site"))
    series = cal.series[dose.series]
    body: JSON = {
        **_about(record, dose, recorded),
        "status": "completed",
        "primarySource": True,
        "lotNumber": lot,
        "protocolApplied": [
            {"series": series.code, "doseNumberPositiveInt": dose.number,
             "targetDisease": [{"text": series.infection("ru")}]}
        ],
    }  # fmt: skip
    if record.site:
        body["site"] = {"coding": [{"system": SITE_SYSTEM, "code": record.site}]}
    return body


def _about(record: Record, dose: Dose, recorded: str) -> JSON:
    """What a given dose and an exemption or refusal both say: the dose, the patient, the day, who recorded it."""
    cal = calendar()
    series = cal.series[dose.series]
    coding = [{"system": cal.system, "code": dose.code, "display": f"{series.vaccine('ru')}: {dose.label('ru')}"}]
    return {
        "resourceType": "Immunization",
        "vaccineCode": {"coding": coding, "text": series.vaccine("ru")},
        "patient": {"reference": f"Patient/{record.patient}"},
        "occurrenceDateTime": record.day.isoformat(),
        "recorded": recorded,
        "performer": [{"actor": record.performer}],
    }


def _not_given(record: Record, dose: Dose, recorded: str) -> JSON:
    if record.not_given not in NOT_GIVEN:
        raise InvalidRequest(N_("Unknown reason for not giving the vaccination"))
    reason = {"coding": [{"system": REASON_SYSTEM, "code": record.not_given}]}
    return {**_about(record, dose, recorded), "status": "not-done", "statusReason": reason}


def performer_of(tx: Tx, *, practitioner: str | None, organization: str | None) -> JSON:
    """Who gave the vaccination: the user's PractitionerRole at their organisation (a doctor), else the
    organisation (a nurse's account names no practitioner)."""
    if practitioner:
        params = [("practitioner", f"Practitioner/{practitioner}")]
        if organization:
            params.append(("organization", f"Organization/{organization}"))
        roles = tx.search("PractitionerRole", [*params, ("_count", "1"), ("_sort", "_id")]).matches
        if roles:
            return {"reference": f"PractitionerRole/{roles[0].id}"}
        return {"reference": f"Practitioner/{practitioner}"}
    if organization:
        return {"reference": f"Organization/{organization}"}
    raise InvalidRequest(N_("This account is linked to no practitioner or organisation to record as the performer"))


# ---- the overdue worklist -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Behind:
    """An attached child with overdue doses."""

    patient: StoredResource
    doses: list[DoseState]  # overdue, longest first

    @property
    def since(self) -> date:
        return self.doses[0].overdue_since or date.max


def overdue_children(tx: Tx, *, organization: str, today: date, restrict: Restriction | None) -> list[Behind]:
    """The children under 18 attached to `organization` with a dose overdue, the longest overdue first (at most
    `WORKLIST_ROWS`): one search for the children, one statement for all their Immunizations."""
    # Born after this day: not yet 18 (a 29 February birthday of 18 years ago is taken as the 28th).
    adult_birthday = date(today.year - 18, today.month, 28 if (today.month, today.day) == (2, 29) else today.day)
    children = attached(tx, organization=organization, birthdate=f"gt{adult_birthday.isoformat()}",
                        restrict=restrict, limit=WORKLIST_CHILDREN)  # fmt: skip
    by_patient: dict[str, list[JSON]] = {c.id: [] for c in children}
    for stored in of_patients(tx, "Immunization", list(by_patient), restrict):
        if stored.patient in by_patient:
            by_patient[stored.patient].append(stored.resource)
    behind = []
    for child in children:
        birth = birth_of(child.resource)
        if birth is None:
            continue
        late = overdue(forecast(birth, by_patient[child.id], today))
        if late:
            behind.append(Behind(child, late))
    behind.sort(key=lambda b: (b.since, b.patient.id))
    return behind[:WORKLIST_ROWS]
