"""Discovery routes: the public signing keys and SMART configuration. Mount before the FHIR router, whose
`/fhir/{type}/{id}` route would otherwise answer `/fhir/.well-known/smart-configuration`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from medcity.auth import tokens
from medcity.auth.gate import fhir_base
from medcity.kit.config import Settings

router = APIRouter(include_in_schema=False)


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    return tokens.jwks(settings.secret_dir)


@router.get("/fhir/.well-known/smart-configuration")
def smart_configuration(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    base = settings.base_url.rstrip("/")
    # Only what is served today is advertised: tokens come from `medcity token` until the OAuth endpoints land.
    return {
        "issuer": settings.base_url,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "fhir_base": fhir_base(settings),
        "grant_types_supported": [],
        "scopes_supported": ["patient/*.rs", "user/*.cruds", "user/*.rs", "system/*.rs", "system/*.cruds"],
        "capabilities": ["permission-v2", "context-standalone-patient"],
        "code_challenge_methods_supported": ["S256"],
    }
