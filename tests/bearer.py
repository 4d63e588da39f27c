"""Bearer tokens for API tests of every domain, signed by the test app's own key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from medcity.auth import tokens
from medcity.auth.gate import fhir_base
from medcity.kit.config import Settings


def bearer(settings: Settings, username: str, role: str, scope: str = "user/*.cruds", **claims: Any) -> dict[str, str]:
    """The Authorization header of `username` in `role`; `claims` are organization=, fhir_user=, patient=..."""
    token = tokens.issue(tokens.signing_key(settings.secret_dir), issuer=settings.base_url,
                         audience=fhir_base(settings), region=settings.region, subject=username, role=role,
                         scope=scope, now=datetime.now(UTC), **claims)  # fmt: skip
    return {"authorization": f"Bearer {token}"}
