"""Builds the FastAPI app: mounts the FHIR face, the web pages and the static files; nothing else."""

from __future__ import annotations

import gc
import importlib
import logging
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from medcity import __version__
from medcity.auth import tokens
from medcity.auth.api import router as auth_router
from medcity.auth.verified import VerifiedTokens
from medcity.fhir.outcome import error_response
from medcity.fhir.routes import fast_read_route
from medcity.fhir.routes import router as fhir_router
from medcity.kit.config import Settings, get_settings
from medcity.kit.db import make_engine
from medcity.kit.errors import InvalidRequest, MedcityError, MethodNotAllowed, NotFound
from medcity.kit.hooks import load_domains
from medcity.orders.catalogue import check_region_packages
from medcity.store.repository import Store
from medcity.web.errors import error_page

log = logging.getLogger("medcity")

# Domain packages with web pages: each `pages` module exposes `router`.
DOMAIN_PAGES = (
    "medcity.scheduling.pages",
    "medcity.auth.pages",
    "medcity.records.pages",
    "medcity.auth.breakglass_pages",
    "medcity.auth.audit_pages",
    "medcity.auth.access_log_pages",
    "medcity.auth.proxy_pages",
    "medcity.orders.pages",
    "medcity.lab.pages",
    "medcity.referrals.pages",
    "medcity.hospital.pages",
    "medcity.visits.pages",
    "medcity.prescriptions.pages",
    "medcity.analytics.pages",
    "medcity.risk.pages",
    "medcity.exchange.pages",
    "medcity.immunization.pages",
    "medcity.checkups.pages",
)


def _is_fhir(request: Request) -> bool:
    """Machine interfaces, which answer errors as OperationOutcome; everything else is a page for people."""
    return request.url.path.startswith(("/fhir", "/.well-known", "/oauth"))


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The app over `settings`; tests pass an `engine` to share one pool across many apps."""
    settings = settings or get_settings()
    load_domains()
    check_region_packages()  # a region's settings file with a mistake stops the start, not a request later
    tokens.jwks(settings.secret_dir)  # the signing keys exist from the first start on (generated once, then kept)
    app = FastAPI(title="medcity", version=__version__, description="Unified medical information system")
    engine = engine or make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = Store(engine, settings.region)
    app.state.verified_tokens = VerifiedTokens()

    @app.exception_handler(MedcityError)
    async def medcity_error(request: Request, exc: MedcityError) -> Response:
        return error_response(exc) if _is_fhir(request) else error_page(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not _is_fhir(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        if exc.status_code == 404:
            return error_response(NotFound(f"No FHIR endpoint at {request.url.path[:120]}"))
        if exc.status_code == 405:
            return error_response(MethodNotAllowed(f"{request.method} is not allowed on {request.url.path[:120]}"))
        return error_response(MedcityError(str(exc.detail), status=exc.status_code))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        return error_response(InvalidRequest(f"Invalid request: {exc.errors()[:3]}"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        # A 500 is a bug. Log the type and the route only: messages may carry patient data.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.scope.get("route", ""))
        return error_response(MedcityError("Internal error; it has been logged", status=500))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    # Before the FHIR router, whose /fhir/{type}/{id} would otherwise answer /fhir/.well-known/...
    app.include_router(auth_router)
    app.router.routes.append(fast_read_route)
    app.include_router(fhir_router)
    _mount_web(app)
    # What exists now (the app, its libraries, models and catalogues: about 250,000 objects) lives as long as the
    # process; left out of the collector's full passes, which otherwise walk all of it and stall a request.
    gc.collect()
    gc.freeze()
    return app


def _mount_web(app: FastAPI) -> None:
    try:
        pages = importlib.import_module("medcity.web.pages")
    except ModuleNotFoundError:
        return
    app.include_router(pages.router)
    for module in DOMAIN_PAGES:
        app.include_router(importlib.import_module(module).router)
    static = Path(str(pages.__file__)).parent / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
