"""Fixtures of the prescription page tests: the referral pages' template clean-up serves them as it is."""

from __future__ import annotations

from tests.referrals.conftest import _template_packages

__all__ = ["_template_packages"]
