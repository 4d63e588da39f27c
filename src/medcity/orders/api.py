"""Ordering's part in every write of a ServiceRequest, whichever door it comes through (`medcity.kit.hooks`):
the open-orders table the worklists read is kept in the same transaction."""

from __future__ import annotations

from medcity.kit.hooks import after_write
from medcity.orders.worklist import keep_open_orders

after_write("ServiceRequest")(keep_open_orders)
