"""What a package's ``pages.py`` needs besides ``render``: the app's store, the Patient a page is about read under
the policy, and rendering from its own templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from medcity.auth.gate import Access
from medcity.store.repository import Store, StoredResource, Tx
from medcity.web.render import add_template_package, render


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def package_page(
    request: Request, package: str, template: str, context: Mapping[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render ``<package>/<template>`` from ``medcity.<package>``'s templates. The package is registered on first
    use rather than at import, so that merely importing its FHIR api changes no renderer."""
    add_template_package(f"medcity.{package}")
    return render(request, f"{package}/{template}", context, status_code=status_code)


def patient_of_page(tx: Tx, access: Access, patient: str) -> StoredResource:
    """The Patient a page is about, read under the policy (another's answers 404 as an unknown one does, or 403
    outside the caller's care with the break-glass offered, as the chart does)."""
    stored = tx.read("Patient", patient)
    access.require("read", "Patient", stored, tx=tx)
    return stored
