"""What scheduling does by the clock, once a minute: lapse the waiting-list offers whose hold window has passed
(passing their slots on), write the day-before reminders, and deliver the prepared notices.

Every step is idempotent, so running the tick twice, or from two processes at once, sends nothing twice: offers
are lapsed under row locks, a reminder's id is derived from its appointment, and a notice is marked sent only
while it is still prepared. Run by `medcity scheduling tick` (from cron) and by the served app in the background.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from medcity.scheduling import notices, waiting
from medcity.scheduling.notices import Channel, OutboxChannel
from medcity.scheduling.resources import utcnow
from medcity.store.repository import Store

log = logging.getLogger("medcity.scheduling")
TICK_SECONDS = 60


@dataclass(frozen=True)
class TickReport:
    offers_lapsed: int
    reminders: int
    delivered: int
    failed: int


def tick(store: Store, *, now: datetime | None = None, channel: Channel | None = None) -> TickReport:
    now = now or utcnow()
    with store.transaction() as tx:
        lapsed = waiting.expire_offers(tx, now=now)
    with store.transaction() as tx:
        reminders = notices.remind(tx, now=now)
    delivered, failed = deliver_pending(store, channel=channel or OutboxChannel(), now=now)
    return TickReport(lapsed, reminders, delivered, failed)


def deliver_pending(store: Store, *, channel: Channel, now: datetime | None = None) -> tuple[int, int]:
    """Hand every prepared notice to the channel, outside any transaction (a slow gateway must not hold locks);
    returns (delivered, failed). A failed one stays prepared for the next tick."""
    with store.reader() as tx:
        prepared = notices.pending(tx)
    delivered = failed = 0
    for notice in prepared:
        try:
            channel.send(notice.resource)
        except Exception as exc:  # any gateway failure: try again next tick, never stop the others
            log.warning("notice channel %s failed: %s", channel.name, type(exc).__name__)
            failed += 1
            continue
        with store.transaction() as tx:
            notices.mark_sent(tx, notice.id, channel=channel.name, now=now or utcnow())
        delivered += 1
    return delivered, failed
