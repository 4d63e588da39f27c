"""The check-in kiosk in a polyclinic's hall.

A kiosk is a public device, so nobody logs in at it: the device itself is logged in, once, by staff, with a
kiosk account of the polyclinic — a user with the role `registrar` linked to the organisation (for example
`medcity users add --username kiosk-hall-1 --role registrar --organization ...`), on a browser locked to this
page. A patient identifies themselves with their ОМС policy number and birth date. The kiosk checks in only
today's appointments at its own polyclinic, shows times, doctors and queue numbers but never a name, answers
"nothing found" alike for an unknown person, a wrong birth date or no appointment, and every check-in is audited
under the kiosk's account.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.auth.sessions import require_csrf
from medcity.kit.errors import MedcityError
from medcity.registry.service import find_by_oms
from medcity.scheduling import checkin
from medcity.scheduling.display import Names, ticket
from medcity.scheduling.pages.common import BOOKING, local_day, page, staff_organization, store_of
from medcity.scheduling.resources import day_bounds

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk_page(request: Request, access: PageAccess) -> Response:
    staff_organization(access, "registrar")
    return page(request, "kiosk.html", {"checked": [], "failed": False})


@router.post("/kiosk", response_class=HTMLResponse, dependencies=[Depends(require_csrf)])
def kiosk(
    request: Request,
    access: PageAccess,
    oms: Annotated[str, Form(max_length=40)],
    birth_date: Annotated[date, Form()],
) -> Response:
    organization = staff_organization(access, "registrar")
    try:
        with store_of(request).transaction() as tx:
            patient = find_by_oms(tx, oms=oms, birth_date=birth_date)
            if patient is None:
                raise LookupError
            access.require(BOOKING, "Patient", patient)
            _start, day_end = day_bounds(tx.region, local_day(tx, None))
            checked = checkin.check_in_patient(tx, patient=patient, organization=organization, day_end=day_end)
            names = Names(tx)
            shown = [(names.clock(a.start), names.of("PractitionerRole", a.role), ticket(a.id)) for a in checked]
    except (LookupError, MedcityError):
        return page(request, "kiosk.html", {"checked": [], "failed": True}, status_code=404)
    for appointment in checked:
        access.record("update", "Appointment", appointment.id)
    return page(request, "kiosk.html", {"checked": shown, "failed": False})
