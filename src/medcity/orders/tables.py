"""The ordering hot path's own table: the open orders per performing organisation, oldest first.

A laboratory's worklist is the hundred oldest of its open orders. Asked of the generic search, that is every open
order addressed to the laboratory tested against the status, category and performer index rows and sorted by its
date: ten thousand open orders cost hundreds of milliseconds. This table holds one row per open (`active`) order,
performer and worklist category, keyed so that the worklist is one index range of a hundred rows. It is derived
from the ServiceRequests in the transaction that writes them (`medcity.orders.worklist.keep_open_orders`), so it
never says more than the resources do, and the resources stay the record.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, PrimaryKeyConstraint, String, Table

from medcity.store.schema import PARTITION, metadata

open_order = Table(
    "open_order",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("id", String(64), nullable=False),  # the ServiceRequest id
    Column("performer", String(64), nullable=False),  # Organization id
    Column("category", String(32), nullable=False),  # SNOMED CT code of the worklist's kind
    Column("authored", BigInteger, nullable=False),  # epoch milliseconds; an order without a date sorts last
    PrimaryKeyConstraint("partition", "id", "performer", "category", name="pk_open_order"),
)
Index(
    "ix_open_order_worklist",
    open_order.c.partition,
    open_order.c.performer,
    open_order.c.category,
    open_order.c.authored,
    open_order.c.id,
)
