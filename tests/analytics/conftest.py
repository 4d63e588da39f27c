"""Fixtures of the analytics tests: the referral pages' template clean-up serves the morbidity page as it is."""

from __future__ import annotations

from tests.referrals.conftest import _template_packages

__all__ = ["_template_packages"]
