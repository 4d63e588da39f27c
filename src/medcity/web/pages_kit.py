"""What a package's ``pages.py`` needs besides ``render``: the app's store, and rendering from its own templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from medcity.store.repository import Store
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
