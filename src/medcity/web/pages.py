"""The start page and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from medcity.kit.config import get_settings
from medcity.kit.i18n import SUPPORTED_LANGUAGES
from medcity.web.render import LANG_COOKIE, render

# Pages are for people; the OpenAPI document describes the machine interface only.
router = APIRouter(include_in_schema=False)

_ONE_YEAR = 365 * 24 * 3600


@router.get("/", response_class=HTMLResponse)
def start_page(request: Request) -> HTMLResponse:
    return render(request, "start.html", {"partition": get_settings().region})


@router.get("/lang/{code}")
def switch_language(code: str, request: Request) -> RedirectResponse:
    if code not in SUPPORTED_LANGUAGES:
        raise HTTPException(status_code=404, detail=f"unsupported language {code!r}")
    response = RedirectResponse(_back(request), status_code=303)
    response.set_cookie(LANG_COOKIE, code, max_age=_ONE_YEAR, path="/", httponly=True, samesite="lax")
    return response


def _back(request: Request) -> str:
    """The page the switch was clicked on, if it is on this site; else the start page.

    Only a path is ever returned, so a forged Referer cannot turn this into an open redirect.
    """
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = referer.scheme in ("http", "https") and referer.netloc == request.url.netloc
    # Browsers read "//host" and "/\\host" as another site; "/lang/..." would switch again, in a loop.
    if not same_site or not referer.path.startswith("/") or referer.path.startswith(("//", "/\\", "/lang/")):
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")
