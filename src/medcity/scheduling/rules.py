"""Per-region booking rules, in one place, so that the patient can be told exactly which rule refused them.

Their values are the region's settings (`medcity.registry.regions`). The defaults follow the Moscow practice:
first-contact specialties are booked directly, other specialists need a referral; a two-week publishing horizon
and booking window; one active appointment per specialty; three missed appointments within 90 days move a patient
from self-booking to booking at the registry desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from medcity.kit.errors import Unprocessable
from medcity.kit.i18n import N_
from medcity.registry.catalogue import SPECIALTIES
from medcity.registry.regions import Booking, region_of

# Which booking channels may take a slot of each kind. Registry-only and reserve slots are for the desk (and
# walk-ins, who are seen at the desk); a referral slot is open to any channel, with a referral.
CHANNELS_BY_KIND: dict[str, frozenset[str]] = {
    "self": frozenset({"self", "registry", "doctor", "waiting-list", "kiosk", "api"}),
    "referral": frozenset({"self", "registry", "doctor", "waiting-list", "kiosk", "api"}),
    "registry": frozenset({"registry", "doctor", "api"}),
    "reserve": frozenset({"registry", "api"}),
}
CHANNELS = frozenset().union(*CHANNELS_BY_KIND.values())
# Channels through which the patient books for themselves: the no-show policy limits these.
SELF_SERVICE = frozenset({"self", "kiosk"})


@dataclass(frozen=True)
class RegionRules:
    self_bookable: frozenset[str]
    horizon_days: int  # how far ahead slots are published
    booking_window_days: int  # how far ahead a patient may book
    one_per_specialty: bool
    no_show_limit: int  # this many no-shows within the period ...
    no_show_period_days: int  # ... and self-service booking is closed until the oldest one ages out
    offer_hold_minutes: int  # how long a waiting-list offer is held for the patient to confirm
    timezone: ZoneInfo

    def needs_referral(self, *, specialty: str, kind: str) -> bool:
        return kind == "referral" or specialty not in self.self_bookable

    def check_specialty(self, specialty: str) -> None:
        if specialty not in SPECIALTIES:
            raise Unprocessable(N_("Unknown specialty '%(specialty)s'"), specialty=specialty)

    def check_channel(self, *, kind: str, channel: str) -> None:
        if channel not in CHANNELS:
            raise Unprocessable(N_("Unknown booking channel '%(channel)s'"), channel=channel)
        if channel not in CHANNELS_BY_KIND[kind]:
            raise Unprocessable(
                N_("This slot is kept for the registry desk (%(kind)s); it cannot be booked by %(channel)s"),
                kind=kind,
                channel=channel,
            )

    def check_window(self, *, start: datetime, now: datetime) -> None:
        if start <= now:
            raise Unprocessable(N_("This slot has already begun"))
        if start > now + timedelta(days=self.booking_window_days):
            raise Unprocessable(
                N_("Appointments can be booked at most %(days)s days ahead"), days=self.booking_window_days
            )

    def check_no_shows(self, *, channel: str, no_shows: int) -> None:
        if channel in SELF_SERVICE and no_shows >= self.no_show_limit:
            raise Unprocessable(
                N_("%(count)s missed appointments in the last %(days)s days: please book at the registry desk"),
                count=no_shows,
                days=self.no_show_period_days,
            )


def rules_for(region: str) -> RegionRules:
    """The region's rules; partitions the catalogue does not know (test and staging regions) get the defaults."""
    settings = region_of(region)
    return _rules(settings.self_bookable, settings.timezone, settings.booking)


@lru_cache(maxsize=16)
def _rules(self_bookable: frozenset[str], timezone: str, booking: Booking) -> RegionRules:
    return RegionRules(self_bookable=self_bookable, timezone=ZoneInfo(timezone), **booking.model_dump())
