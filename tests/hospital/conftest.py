"""The hospital tests share the referral tests' fixtures."""

from tests.referrals.conftest import _template_packages

__all__ = ["_template_packages"]
