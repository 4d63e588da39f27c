"""The registering modules are found through the package's entry points; without them nothing may be written
as if there were no rules."""

from __future__ import annotations

import pytest

from medcity.kit import hooks


def test_every_domain_module_registers_on_first_use() -> None:
    hooks.load_domains()
    assert hooks.find_operation("Condition", "suggest") is not None
    assert hooks.derived_tables("ServiceRequest")  # the open orders and the care links


def test_an_environment_without_the_entry_points_refuses_instead_of_writing_without_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hooks, "_loaded", False)
    monkeypatch.setattr(hooks, "entry_points", lambda group: [])
    with pytest.raises(RuntimeError, match="make install"):
        hooks.derived_tables("ServiceRequest")
