"""Discovery routes (the public signing keys, SMART configuration) and the OAuth endpoints. Mount before the FHIR
router, whose `/fhir/{type}/{id}` route would otherwise answer `/fhir/.well-known/smart-configuration`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from medcity.auth import oauth, tokens
from medcity.auth.gate import fhir_base
from medcity.auth.oauth_api import router as oauth_router
from medcity.kit.config import Settings

router = APIRouter(include_in_schema=False)
router.include_router(oauth_router)


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    return tokens.jwks(settings.secret_dir)


def _endpoints(request: Request) -> dict[str, Any]:
    """What both discovery documents say alike: the issuer and where its endpoints and keys are."""
    settings: Settings = request.app.state.settings
    base = settings.base_url.rstrip("/")
    return {
        "issuer": settings.base_url,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": oauth.token_url(settings),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
    }


@router.get("/fhir/.well-known/smart-configuration")
def smart_configuration(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    return {
        **_endpoints(request),
        "fhir_base": fhir_base(settings),
        "revocation_endpoint": f"{settings.base_url.rstrip('/')}/oauth/revoke",
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES384", "RS384"],
        "scopes_supported": [
            "patient/*.rs",
            "user/*.rs",
            "user/*.cruds",
            "system/*.rs",
            "system/*.cruds",
            "launch/patient",
            "openid",
            "fhirUser",
            "offline_access",
        ],
        "capabilities": [
            "permission-v2",
            "permission-patient",
            "permission-user",
            "context-standalone-patient",
            "client-public",
            "client-confidential-asymmetric",
            "launch-standalone",
            "sso-openid-connect",
        ],
    }


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> dict[str, Any]:
    """OpenID Connect discovery for the issuer (SMART's `sso-openid-connect`): where an app verifies id_tokens."""
    return {
        **_endpoints(request),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [tokens.ID_TOKEN_ALGORITHM],
        "scopes_supported": ["openid", "fhirUser"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser"],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
    }
