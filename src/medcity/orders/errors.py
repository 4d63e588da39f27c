"""Refusals of the ordering and laboratory rules: an `Unprocessable` (worded for both faces by
`medcity.kit.errors`) of its own class, so that the order form shows these on the form and leaves any other
error to the error page."""

from __future__ import annotations

from medcity.kit.errors import Unprocessable


class Refusal(Unprocessable):
    """An ordering or laboratory rule refused; 422 unless `status` says otherwise."""
