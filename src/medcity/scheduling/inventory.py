"""Reading and changing slot rows. Every status change goes through `set_status`, which also rewrites the FHIR
Slot, so the two can never disagree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, bindparam, select, update

from medcity.kit.errors import Conflict, NotFound
from medcity.kit.i18n import N_
from medcity.scheduling.resources import slot_resource
from medcity.scheduling.tables import sched_slot
from medcity.store.repository import Tx

# Built once (a booking's hottest statement): SQLAlchemy walks a new statement for its cache key on every run.
_SET_STATUS = (
    update(sched_slot)
    .where(
        sched_slot.c.partition == bindparam("key_partition"),
        sched_slot.c.id == bindparam("slot"),
        sched_slot.c.status.in_(bindparam("expect", expanding=True)),
    )
    .values(status=bindparam("to"), hold_until=bindparam("hold"), version=sched_slot.c.version + 1)
    .returning(*sched_slot.c)
)


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
    changed = tx.execute(_SET_STATUS, {"key_partition": tx.region, "slot": slot_id, "expect": list(expect),
                                       "to": status, "hold": hold_until}).first()  # fmt: skip
    if changed is None:
        get_slot(tx, slot_id)  # NotFound when there is no such slot at all
        raise Conflict(N_("Slot/%(slot_id)s has just been taken; choose another"), slot_id=slot_id)
    tx.update(slot_resource(changed._mapping), trusted=True)
    return changed
