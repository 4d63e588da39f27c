"""Reading and changing slot rows. Every status change goes through `set_status`, which also rewrites the FHIR
Slot, so the two can never disagree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, select, update

from medcity.kit.errors import Conflict, NotFound
from medcity.kit.i18n import N_
from medcity.scheduling.resources import slot_resource
from medcity.scheduling.tables import sched_slot
from medcity.store.repository import Tx


def get_slot(tx: Tx, slot_id: str, *, lock: bool = False) -> Row:
    query = select(sched_slot).where(sched_slot.c.partition == tx.region, sched_slot.c.id == slot_id)
    row = tx.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(N_("Slot/%(slot_id)s is not known"), slot_id=slot_id)
    return row


def set_status(
    tx: Tx, slot_id: str, status: str, *, expect: tuple[str, ...], hold_until: datetime | None = None
) -> Row:
    """Move the slot to `status` if it is still in one of the `expect`ed states; else someone else was first.

    The conditional UPDATE is the race guard: on PostgreSQL a second writer waits for the first to commit and then
    finds the condition false; on SQLite writers are serialised by BEGIN IMMEDIATE. RETURNING saves a read.
    """
    changed = tx.execute(
        update(sched_slot)
        .where(
            sched_slot.c.partition == tx.region,
            sched_slot.c.id == slot_id,
            sched_slot.c.status.in_(expect),
        )
        .values(status=status, hold_until=hold_until, version=sched_slot.c.version + 1)
        .returning(*sched_slot.c)
    ).first()
    if changed is None:
        get_slot(tx, slot_id)  # NotFound when there is no such slot at all
        raise Conflict(N_("Slot/%(slot_id)s has just been taken; choose another"), slot_id=slot_id)
    tx.update(slot_resource(changed._mapping), trusted=True)
    return changed
