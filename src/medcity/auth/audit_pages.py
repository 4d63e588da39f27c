"""`/admin/audit`: the region admin's search of the audit trail by user, patient and time — the query behind
`AuditEvent/$audit-log`, under the same policy decision — newest first, times in the region's own zone. Reading
a patient's trail is itself recorded in it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from medcity.auth import audit
from medcity.auth.gate import Access, page_access
from medcity.auth.pages import ROLE_HOME
from medcity.auth.policy import AUDIT_SEARCH
from medcity.auth.users import Role
from medcity.scheduling.resources import day_bounds, parse_instant
from medcity.scheduling.rules import rules_for
from medcity.web.pages_kit import store_of
from medcity.web.render import add_template_package, render

router = APIRouter(include_in_schema=False)
add_template_package("medcity.auth")
ROLE_HOME[Role.ADMIN.value] = "/admin/audit"
SHOWN = 200
Field = Annotated[str, Query(max_length=128)]


def _edge(region: str, day: str, *, end: bool) -> datetime | None:
    """Where the region's local day `day` (YYYY-MM-DD) starts, or (`end`) ends; ValueError for a bad date."""
    if not day:
        return None
    start, stop = day_bounds(region, date.fromisoformat(day))
    return (stop if end else start).replace(tzinfo=UTC)


def _row(row: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    recorded = parse_instant(str(row["recorded"])).replace(tzinfo=UTC).astimezone(zone)
    resource = f"{row['resource_type']}/{row['resource_id']}" if row["resource_type"] and row["resource_id"] else ""
    return {**row, "when": recorded.strftime("%d.%m.%Y %H:%M:%S"), "resource": resource,
            "glass": audit.under_glass(str(row["action"]))}  # fmt: skip


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    access: Annotated[Access, Depends(page_access)],
    user: Field = "",
    patient: Field = "",
    since: Field = "",
    until: Field = "",
) -> HTMLResponse:
    access.require(AUDIT_SEARCH, "AuditEvent")
    store = store_of(request)
    zone = rules_for(store.region).timezone
    form = {"user": user.strip(), "patient": patient.strip(), "since": since.strip(), "until": until.strip()}
    rows: list[dict[str, Any]] = []
    error = None
    searched = bool(form["user"] or form["patient"])
    if searched:
        try:
            first, last = _edge(store.region, form["since"], end=False), _edge(store.region, form["until"], end=True)
        except ValueError:
            error = "dates"
        else:
            rows = audit.search(store.engine, store.region, username=form["user"] or None,
                                patient=form["patient"] or None, since=first, until=last, limit=SHOWN)  # fmt: skip
    audit.note_trail_read(access, rows)
    context = {"form": form, "rows": [_row(r, zone) for r in rows], "error": error, "searched": searched,
               "shown": SHOWN}  # fmt: skip
    return render(request, "auth/audit.html", context, status_code=400 if error else 200)
