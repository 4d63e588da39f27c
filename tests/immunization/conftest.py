"""Fixtures of the vaccination page tests: the visit tests' polyclinic (a doctor of an attached patient, and a
doctor of another polyclinic), and the referral pages' template clean-up."""

from __future__ import annotations

from tests.referrals.conftest import _template_packages
from tests.visits.conftest import clinic, doctor

__all__ = ["_template_packages", "clinic", "doctor"]
