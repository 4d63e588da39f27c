"""Referrals on the FHIR face: the referral rules on every ServiceRequest write, whichever door it comes through."""

from __future__ import annotations

from medcity.kit.hooks import before_write
from medcity.referrals.rules import check_write

before_write("ServiceRequest")(check_write)
