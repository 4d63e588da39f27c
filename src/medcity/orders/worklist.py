"""The open orders per performing organisation (`medcity.orders.tables.open_order`): kept in step with every
write of a ServiceRequest, and read by the laboratory's and the diagnostic department's worklists."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select

from medcity.orders.catalogue import SNOMED
from medcity.orders.service import CATEGORY
from medcity.orders.tables import open_order
from medcity.scheduling.resources import ref_id
from medcity.store.index import IndexRows
from medcity.store.repository import JSON, Restriction, StoredResource, Tx, Version
from medcity.store.values import MAX_MS, date_range

OPEN = "active"
WORKLIST_CATEGORIES = frozenset(CATEGORY.values())


def open_order_rows(partition: str, rid: str, order: JSON) -> list[JSON]:
    """The rows of an order in the table: one per performing organisation and worklist category while it is open,
    none otherwise (a referral, whose category no worklist here reads, has none either)."""
    if order.get("status") != OPEN:
        return []
    performers = {found for p in order.get("performer") or [] if (found := ref_id(p, "Organization"))}
    categories: set[str] = {
        coding["code"]
        for concept in order.get("category") or []
        if isinstance(concept, dict)
        for coding in concept.get("coding") or []
        if isinstance(coding, dict) and coding.get("system") == SNOMED and coding.get("code") in WORKLIST_CATEGORIES
    }
    authored = order.get("authoredOn")
    span = date_range(authored) if isinstance(authored, str) else None
    when = span[0] if span else MAX_MS
    return [
        {"partition": partition, "id": rid, "performer": performer, "category": category, "authored": when}
        for performer in sorted(performers)
        for category in sorted(categories)
    ]


def keep_open_orders(tx: Tx, stored: StoredResource, _index: IndexRows, previous: Version | None) -> None:
    """After the store wrote a version of a ServiceRequest: its rows now are those of that version."""
    new = [] if stored.deleted else open_order_rows(tx.region, stored.id, stored.resource)
    old = open_order_rows(tx.region, stored.id, previous[0].resource) if previous else []
    tx.replace_rows(open_order, and_(open_order.c.partition == tx.region, open_order.c.id == stored.id), old, new)


def open_orders(
    tx: Tx, *, performer: str, categories: Iterable[str], count: int, restrict: Restriction | None = None
) -> list[StoredResource]:
    """The `count` oldest open orders addressed to `performer` in these categories (SNOMED CT codes) that the
    caller may see: `restrict` is the access policy's condition, applied as the orders are read, and the next
    oldest are read in their place while any were held back."""
    tx.flush()
    t = open_order
    first = (
        select(t.c.authored, t.c.id)
        .where(t.c.partition == tx.region, t.c.performer == performer, t.c.category.in_(sorted(categories)))
        .order_by(t.c.authored, t.c.id)
        .limit(count)
    )
    found: list[StoredResource] = []
    after: Any = None
    while len(found) < count:
        query = first if after is None else first.where(
            or_(t.c.authored > after.authored, and_(t.c.authored == after.authored, t.c.id > after.id))
        )  # fmt: skip
        rows = tx.execute(query).all()
        ids = dict.fromkeys(row.id for row in rows)  # an order in two of the categories comes twice, side by side
        found += tx.read_many([("ServiceRequest", rid) for rid in ids], restrict=restrict)
        if len(rows) < count:
            break
        after = rows[-1]
    return found[:count]
