"""The waiting list (лист ожидания): instead of a race at opening time, every slot that becomes free is offered to
the longest-waiting patient of the highest priority, held for them for a while, and then to the next.

An entry is `waiting`, then `offered` (with one held slot), then `booked`, or `lapsed` when an offer was declined
or not confirmed in time (a transparent rule: the patient may join again, at the back), or `left`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Row, and_, func, or_, select, update

from medcity.kit.errors import NotFound, Unprocessable
from medcity.kit.i18n import N_, Label
from medcity.kit.ids import new_id
from medcity.registry.catalogue import SPECIALTIES
from medcity.scheduling import inventory, notices
from medcity.scheduling.resources import utcnow
from medcity.scheduling.rules import CHANNELS_BY_KIND, rules_for
from medcity.scheduling.tables import sched_waiting
from medcity.store.repository import Tx

_OPEN = ("waiting", "offered")


def join_waiting_list(
    tx: Tx,
    *,
    patient: str,
    specialty: str,
    organization: str | None = None,
    role: str | None = None,
    referral: str | None = None,
    priority: int = 0,
    now: datetime | None = None,
) -> str:
    """Put the patient in line for a specialty (optionally one polyclinic or one doctor); returns the entry id."""
    rules_for(tx.region).check_specialty(specialty)
    w = sched_waiting
    already = tx.execute(
        select(w.c.id).where(
            w.c.partition == tx.region, w.c.patient == patient, w.c.specialty == specialty, w.c.status.in_(_OPEN)
        )
    ).first()
    if already is not None:
        raise Unprocessable(
            N_("The patient is already on the waiting list for %(specialty)s"),
            specialty=SPECIALTIES.get(specialty, specialty),
        )
    entry_id = new_id()
    tx.execute(
        w.insert().values(
            partition=tx.region, id=entry_id, patient=patient, specialty=specialty, organization=organization,
            role=role, referral=referral, priority=priority, joined=now or utcnow(), status="waiting",
        )
    )  # fmt: skip
    return entry_id


def get_entry(tx: Tx, entry_id: str, *, lock: bool = False) -> Row:
    query = select(sched_waiting).where(sched_waiting.c.partition == tx.region, sched_waiting.c.id == entry_id)
    row = tx.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(N_("Waiting-list entry %(entry_id)s is not known"), entry_id=entry_id)
    return row


def position(tx: Tx, *, entry_id: str) -> int:
    """The entry's place in its line, 1 first (an entry holding an offer is in front)."""
    entry = get_entry(tx, entry_id)
    if entry.status not in _OPEN:
        raise Unprocessable(N_("The entry is %(state)s, no longer in line"), state=Label(entry.status))
    w = sched_waiting
    ahead = tx.execute(
        select(func.count()).where(
            w.c.partition == tx.region,
            w.c.specialty == entry.specialty,
            w.c.status.in_(_OPEN),
            or_(
                w.c.priority > entry.priority,
                and_(w.c.priority == entry.priority, w.c.joined < entry.joined),
            ),
        )
    ).scalar_one()
    return int(ahead) + 1


def leave_waiting_list(tx: Tx, *, entry_id: str, now: datetime | None = None) -> None:
    entry = get_entry(tx, entry_id, lock=True)
    if entry.status not in _OPEN:
        raise Unprocessable(N_("The entry is %(state)s, no longer in line"), state=Label(entry.status))
    _close(tx, entry, "left", now=now or utcnow())


def decline_offer(tx: Tx, *, entry_id: str, now: datetime | None = None) -> None:
    entry = get_entry(tx, entry_id, lock=True)
    if entry.status != "offered":
        raise Unprocessable(N_("There is no open offer on this entry"))
    _close(tx, entry, "lapsed", now=now or utcnow())


def expire_offers(tx: Tx, *, now: datetime | None = None) -> int:
    """Lapse the offers whose hold window has passed and pass their slots on; returns how many lapsed."""
    now = now or utcnow()
    w = sched_waiting
    query = select(w).where(w.c.partition == tx.region, w.c.status == "offered", w.c.offer_until <= now)
    lapsed = tx.execute(query.with_for_update(skip_locked=True)).all()
    for entry in lapsed:
        _close(tx, entry, "lapsed", now=now)
    return len(lapsed)


def _close(tx: Tx, entry: Row, status: str, *, now: datetime) -> None:
    tx.execute(
        update(sched_waiting)
        .where(sched_waiting.c.partition == tx.region, sched_waiting.c.id == entry.id)
        .values(status=status, offer_slot=None, offer_until=None)
    )
    if entry.offer_slot is not None:
        slot = inventory.get_slot(tx, entry.offer_slot, lock=True)
        if slot.status == "held":
            inventory.set_status(tx, slot.id, "free", expect=("held",))
            offer_slot(tx, slot_id=slot.id, now=now)


def offer_slot(tx: Tx, *, slot_id: str, now: datetime | None = None) -> str | None:
    """Offer a free slot to the first fitting entry in line and hold it for them; returns the entry id, if any.

    On PostgreSQL the candidate is taken with FOR UPDATE SKIP LOCKED, so two slots freed at the same moment go to
    two different patients instead of both to the first; the unique index on `offer_slot` and the conditional
    slot update make a double offer impossible even so.
    """
    now = now or utcnow()
    slot = inventory.get_slot(tx, slot_id, lock=True)
    if slot.status != "free" or slot.start <= now or "waiting-list" not in CHANNELS_BY_KIND[slot.kind]:
        return None
    w = sched_waiting
    query = (
        select(w)
        .where(
            w.c.partition == tx.region,
            w.c.specialty == slot.specialty,
            w.c.status == "waiting",
            or_(w.c.organization.is_(None), w.c.organization == slot.organization),
            or_(w.c.role.is_(None), w.c.role == slot.role),
        )
        .order_by(w.c.priority.desc(), w.c.joined, w.c.id)
        .limit(1)
    )
    if tx.postgres:
        query = query.with_for_update(skip_locked=True)
    entry = tx.execute(query).first()
    if entry is None:
        return None
    until = now + timedelta(minutes=rules_for(tx.region).offer_hold_minutes)
    tx.execute(
        update(w)
        .where(w.c.partition == tx.region, w.c.id == entry.id, w.c.status == "waiting")
        .values(status="offered", offer_slot=slot.id, offer_until=until)
    )
    held = inventory.set_status(tx, slot.id, "held", expect=("free",), hold_until=until)
    notices.notify(
        tx, "offer", patient=entry.patient, about=("Slot", slot.id), slot=dict(held._mapping), until=until, now=now
    )
    return str(entry.id)


def mark_booked(tx: Tx, *, entry_id: str, appointment_id: str) -> None:
    tx.execute(
        update(sched_waiting)
        .where(sched_waiting.c.partition == tx.region, sched_waiting.c.id == entry_id)
        .values(status="booked", offer_slot=None, offer_until=None, appointment=appointment_id)
    )


def entries_of(tx: Tx, *, patient: str) -> list[Row]:
    """The patient's open entries (waiting or holding an offer)."""
    w = sched_waiting
    query = select(w).where(w.c.partition == tx.region, w.c.patient == patient, w.c.status.in_(_OPEN))
    return list(tx.execute(query.order_by(w.c.joined)))
