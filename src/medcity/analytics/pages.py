"""The morbidity page of the situation centre (`/analytics/morbidity`): what patients were diagnosed with in a
period against the period before, what is rising, and for one rubric or chapter where and in whom. Decided by the
access policy as `Condition/$morbidity` is (aggregate figures: analysts and the region's administrators)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from medcity.analytics.morbidity import UNKNOWN, asked
from medcity.auth.gate import Access, page_access
from medcity.kit.errors import InvalidRequest
from medcity.kit.i18n import N_
from medcity.scheduling.display import Names
from medcity.terminology import service as terminology
from medcity.web.pages_kit import package_page, store_of
from medcity.web.render import request_language

router = APIRouter(include_in_schema=False)
PageAccess = Annotated[Access, Depends(page_access)]
SEX_NAMES = {"female": N_("women"), "male": N_("men"), "other": N_("other"), UNKNOWN: N_("not stated")}
BAND_NAMES = {"0-14": N_("0–14 years"), "15-17": N_("15–17 years"), "18-64": N_("18–64 years"),
              "65+": N_("65 years and over"), UNKNOWN: N_("age not stated")}  # fmt: skip


@router.get("/analytics/morbidity", response_class=HTMLResponse)
def morbidity_page(
    request: Request, access: PageAccess, start: str | None = None, end: str | None = None, code: str | None = None
) -> Response:
    access.require("operation:morbidity", "Condition")
    lang = request_language(request)
    context: dict[str, Any] = {"start": start or "", "end": end or "", "code": code or "", "error": None,
                               "figures": None, "sex_names": SEX_NAMES, "band_names": BAND_NAMES,
                               "rate": partial(_rate, lang=lang)}  # fmt: skip
    with store_of(request).reader() as tx:
        try:
            figures = asked(tx, start=start, end=end, code=code, now=datetime.now(UTC))
        except InvalidRequest as refused:
            context["error"] = refused.say(lang)
            return package_page(request, "analytics", "morbidity.html", context, status_code=refused.status)
        names = Names(tx)
        organizations = {s.key: names.of("Organization", s.key) for s in figures.organizations}
    displays = {r.code: terminology.display(r.code, lang) or r.code
                for r in (*figures.rubrics, *figures.chapters)}  # fmt: skip
    if figures.focus:
        displays[figures.focus] = terminology.display(figures.focus, lang) or figures.focus
    context |= {"figures": figures, "displays": displays, "organizations": organizations,
                "start": figures.start.isoformat(), "end": figures.end.isoformat()}  # fmt: skip
    return package_page(request, "analytics", "morbidity.html", context)


def _rate(value: float | None, *, lang: str) -> str:
    """A rate per 1,000 as the reader writes a decimal; a suppressed one as a dash."""
    return "—" if value is None else format_decimal(value, format="0.00", locale=lang)
