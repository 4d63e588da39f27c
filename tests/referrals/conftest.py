"""Fixtures of the referral and hospital page tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _template_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages register their templates with the process-wide renderer; undo it after each test, as tests/web and
    tests/scheduling do, so that tests elsewhere see the renderer as they expect."""
    from medcity.web import render

    monkeypatch.setattr(render._loader, "loaders", list(render._loader.loaders))
    monkeypatch.setattr(render, "_packages", set(render._packages))
