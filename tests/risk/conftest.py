"""Fixtures of the risk page tests: the visit tests' polyclinic (a doctor with an appointment of an attached woman
born in 1980, and a doctor of another polyclinic), and the referral pages' template clean-up."""

from __future__ import annotations

from tests.referrals.conftest import _template_packages
from tests.visits.conftest import clinic, doctor

__all__ = ["_template_packages", "clinic", "doctor"]
