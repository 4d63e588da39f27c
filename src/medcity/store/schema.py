"""The tables: identical on SQLite and PostgreSQL. `partition` (the region) leads every primary key and index,
so one database can hold several regions and can later be partitioned or distributed by it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql

metadata = MetaData()

# Byte order makes prefix ranges (value >= 'abc' AND value < 'abc\U0010ffff') exact and index-friendly;
# a locale collation on PostgreSQL would not.
SortableText = String(512).with_variant(postgresql.VARCHAR(512, collation="C"), "postgresql")
ID = String(64)
PARTITION = String(8)
TYPE = String(64)
PARAM = String(64)
INSTANT = String(32)  # ISO-8601 UTC with microseconds: sorts as text on both engines


def _key_columns() -> list[Column]:
    return [
        Column("partition", PARTITION, nullable=False),
        Column("type", TYPE, nullable=False),
        Column("id", ID, nullable=False),
    ]


resource = Table(
    "resource",
    metadata,
    *_key_columns(),
    Column("version", Integer, nullable=False),
    Column("last_updated", INSTANT, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", LargeBinary, nullable=False),
    # Patient the resource belongs to (compartment), so access control and $everything need no join.
    Column("patient", ID, nullable=True),
    PrimaryKeyConstraint("partition", "type", "id", name="pk_resource"),
)
Index("ix_resource_updated", resource.c.partition, resource.c.last_updated)
Index("ix_resource_type_updated", resource.c.partition, resource.c.type, resource.c.last_updated)
Index("ix_resource_patient", resource.c.partition, resource.c.patient, resource.c.type)

resource_history = Table(
    "resource_history",
    metadata,
    *_key_columns(),
    Column("version", Integer, nullable=False),
    Column("last_updated", INSTANT, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("method", String(8), nullable=False),
    Column("content", LargeBinary, nullable=False),
    PrimaryKeyConstraint("partition", "type", "id", "version", name="pk_resource_history"),
)
Index("ix_history_updated", resource_history.c.partition, resource_history.c.last_updated)
Index(
    "ix_history_type_updated",
    resource_history.c.partition,
    resource_history.c.type,
    resource_history.c.last_updated,
)


def _index_table(name: str, *value_columns: Column, value_index: tuple[str, ...]) -> Table:
    table = Table(name, metadata, *_key_columns(), Column("param", PARAM, nullable=False), *value_columns)
    # With `param` last it also serves the per-resource lookup of one parameter (the _sort key of each match).
    Index(f"ix_{name}_rid", table.c.partition, table.c.type, table.c.id, table.c.param)
    Index(
        f"ix_{name}_value",
        table.c.partition,
        table.c.type,
        table.c.param,
        *(table.c[col] for col in value_index),
    )
    return table


idx_string = _index_table(
    "idx_string",
    Column("value", SortableText, nullable=False),  # normalised: lower case, ё→е, no accents
    Column("exact", String(512), nullable=False),
    value_index=("value",),
)
idx_token = _index_table(
    "idx_token",
    Column("system", String(256), nullable=True),
    Column("code", String(256), nullable=True),
    Column("text", SortableText, nullable=True),
    value_index=("code", "system"),
)
idx_date = _index_table(
    "idx_date",
    Column("low", BigInteger, nullable=False),  # epoch milliseconds, inclusive
    Column("high", BigInteger, nullable=False),  # epoch milliseconds, exclusive
    value_index=("low", "high"),
)
idx_reference = _index_table(
    "idx_reference",
    Column("target_type", TYPE, nullable=True),
    Column("target_id", String(256), nullable=False),  # id, or the whole URL when it is not local
    value_index=("target_id", "target_type"),
)
idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Float, nullable=False),
    Column("system", String(256), nullable=True),
    Column("code", String(64), nullable=True),
    value_index=("value",),
)
idx_number = _index_table("idx_number", Column("value", Float, nullable=False), value_index=("value",))
idx_uri = _index_table("idx_uri", Column("value", SortableText, nullable=False), value_index=("value",))

INDEX_TABLES: dict[str, Table] = {
    "string": idx_string,
    "token": idx_token,
    "date": idx_date,
    "reference": idx_reference,
    "quantity": idx_quantity,
    "number": idx_number,
    "uri": idx_uri,
}

# Stable paging: the ordered ids of a search, kept for a while so that later pages do not shift as others write.
search_snapshot = Table(
    "search_snapshot",
    metadata,
    Column("partition", PARTITION, nullable=False),
    Column("id", String(40), nullable=False),
    Column("created", INSTANT, nullable=False),
    Column("total", Integer, nullable=False),
    Column("query", Text, nullable=False),
    Column("ids", LargeBinary, nullable=False),
    PrimaryKeyConstraint("partition", "id", name="pk_search_snapshot"),
)
Index("ix_search_snapshot_created", search_snapshot.c.partition, search_snapshot.c.created)
