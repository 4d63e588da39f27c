"""The booking part of the situation centre (`/analytics/booking`): waits by specialty, the first free time, how
full the polyclinics' coming week is, the waiting list and the booking channels. For analysts and the region's
administrators (decided by the access policy as `Appointment/$booking-situation` is); aggregates only, so it reads
no patient and records no patient's access."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from medcity.auth.gate import Access, page_access
from medcity.kit.i18n import N_
from medcity.registry.catalogue import SPECIALTIES
from medcity.scheduling.display import Names
from medcity.scheduling.pages.common import page, store_of
from medcity.scheduling.resources import utcnow
from medcity.scheduling.situation import SITUATION_AHEAD_DAYS, SITUATION_PERIOD_DAYS, situation
from medcity.web.render import request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
CHANNEL_NAMES = {
    "self": N_("the patient online"), "registry": N_("the registry"), "doctor": N_("a doctor"),
    "waiting-list": N_("the waiting list"), "kiosk": N_("a kiosk"), "api": N_("another system"),
}  # fmt: skip


@router.get("/analytics/booking", response_class=HTMLResponse)
def booking_figures(request: Request, access: PageAccess) -> Response:
    access.require("operation:booking-situation", "Appointment")
    lang = request_language(request)
    with store_of(request).reader() as tx:
        figures = situation(tx, now=utcnow(), period_days=SITUATION_PERIOD_DAYS, ahead_days=SITUATION_AHEAD_DAYS)
        names = Names(tx)
        named = {code: concept.display(lang) for code, concept in SPECIALTIES.items()}
        shown = set(figures.first_free_days) | set(figures.waiting_list) | {w.specialty for w in figures.waits}
        context = {
            "figures": figures, "names": names,
            "period_days": SITUATION_PERIOD_DAYS, "ahead_days": SITUATION_AHEAD_DAYS,
            "specialty": named, "channel_names": CHANNEL_NAMES,
            "specialties": sorted(shown, key=lambda code: named.get(code, code)),
        }  # fmt: skip
        return page(request, "situation.html", context)
