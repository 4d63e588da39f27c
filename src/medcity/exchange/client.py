"""Asking another region for a patient's summary: SMART Backend Services against its medcity (discovery, a
client_credentials token for `medcity/exchange` bought with a private_key_jwt assertion, then
`Patient/$exchange-summary`). The other region registered this one as a client named `region-<our code>` with
this server's public key (`medcity exchange jwks`). Every failure is said as what the doctor can do about it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from joserfc import jwt

from medcity.kit.errors import MedcityError, NotFound
from medcity.kit.i18n import N_
from medcity.records.service import SECTIONS
from medcity.registry.regions import regions
from medcity.store.validate import validate

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHM = "RS384"  # SMART Backend Services: RS384 or ES384
SCOPE = "medcity/exchange"
TIMEOUT_S = 10.0
FHIR_JSON = "application/fhir+json"
# What a summary's sections cite, and the page shows.
SHOWN = frozenset(rtype for _code, _title, rtype, _name in SECTIONS)


class PeerUnavailable(MedcityError):
    """The other region did not answer, or not as a medcity region answers (a 502 of ours)."""

    status = 502
    issue_code = "transient"


def client_id(region: str) -> str:
    """The name a region's system is registered under at its peers."""
    return f"region-{region}"


def peer_of(username: str) -> str | None:
    """The region whose system an account is (`client_id`'s name), when the region is one medcity knows."""
    code = username.removeprefix("region-")
    return code if code != username and code in regions() else None


def fetch_summary(
    *,
    base: str,
    region_name: str,
    own_region: str,
    key: Any,
    identifier: tuple[str, str],
    now: datetime,
) -> dict[str, Any]:
    """The summary document the region at FHIR base `base` holds of the patient with `identifier` (system,
    value). `key` is this server's private RSA key (its public half is what the peer registered)."""
    base = base.rstrip("/")
    try:
        with httpx.Client(timeout=TIMEOUT_S) as http:
            found = _json(http.get(f"{base}/.well-known/smart-configuration"), region_name)
            endpoint = found.get("token_endpoint")
            if not isinstance(endpoint, str):
                raise PeerUnavailable(N_("%(region)s did not answer as a medcity region does"), region=region_name)
            token = _token(http, endpoint, _assertion(key, client_id(own_region), endpoint, now), region_name)
            parameters = {"resourceType": "Parameters", "parameter": [
                {"name": "identifier", "valueIdentifier": {"system": identifier[0], "value": identifier[1]}},
            ]}  # fmt: skip
            answer = http.post(f"{base}/Patient/$exchange-summary", json=parameters,
                               headers={"Authorization": f"Bearer {token}", "Accept": FHIR_JSON})  # fmt: skip
    except httpx.HTTPError:
        raise PeerUnavailable(N_("%(region)s cannot be reached now; try again later"), region=region_name) from None
    if answer.status_code == 404:
        raise NotFound(N_("%(region)s holds no patient with this СНИЛС or ЕНП"), region=region_name)
    document = _json(answer, region_name)
    if document.get("resourceType") != "Bundle" or document.get("type") != "document":
        raise PeerUnavailable(N_("%(region)s did not answer as a medcity region does"), region=region_name)
    return document


def summary_resources(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The clinical resources of a summary document's sections that are valid R4: what another region sent is
    checked as a client's write would be, and what is not valid is left out rather than shown half-read."""
    kept = []
    for entry in document.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") not in SHOWN:
            continue
        try:
            validate(resource)
        except MedcityError:
            continue
        kept.append(resource)
    return kept


def _assertion(key: Any, issuer: str, audience: str, now: datetime) -> str:
    claims = {
        "iss": issuer, "sub": issuer, "aud": audience, "jti": str(uuid.uuid4()),
        "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=4)).timestamp()),
    }  # fmt: skip
    header = {"alg": ASSERTION_ALGORITHM, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[ASSERTION_ALGORITHM])


def _token(http: httpx.Client, endpoint: str, assertion: str, region_name: str) -> str:
    form = {"grant_type": "client_credentials", "scope": SCOPE, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion}  # fmt: skip
    answer = http.post(endpoint, data=form)
    if answer.status_code in (400, 401, 403):
        raise PeerUnavailable(N_("%(region)s does not exchange records with this region"), region=region_name)
    token = _json(answer, region_name).get("access_token")
    if not isinstance(token, str):
        raise PeerUnavailable(N_("%(region)s did not answer as a medcity region does"), region=region_name)
    return token


def _json(answer: httpx.Response, region_name: str) -> dict[str, Any]:
    if answer.status_code in (401, 403):
        raise PeerUnavailable(N_("%(region)s does not exchange records with this region"), region=region_name)
    try:
        body = answer.json() if answer.status_code == 200 else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PeerUnavailable(
            N_("%(region)s did not answer as a medcity region does (%(status)s)"),
            region=region_name, status=answer.status_code,
        )  # fmt: skip
    return body
