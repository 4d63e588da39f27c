"""The store's face: a `Store` bound to one region, and `Tx`, one database transaction on it.

Write path: id, version and meta → validate → resource, history and index rows in the caller's transaction.
Read path: the stored bytes, untouched.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

import orjson
import psycopg
from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ClauseElement, ColumnElement, TextClause
from sqlalchemy.sql.util import find_tables

from medcity.kit.db import WRITE, is_postgres, reading, single_statement_cursor, single_statements
from medcity.kit.errors import Conflict, Gone, InvalidRequest, NotFound, PreconditionFailed
from medcity.kit.hooks import derived_tables
from medcity.kit.ids import is_valid_id, new_id
from medcity.kit.shared_sql import rendered, statement_for
from medcity.store.index import IndexRows, compartment_patient, extract
from medcity.store.schema import INDEX_TABLES, resource, resource_history
from medcity.store.searchparams import check_type, registry
from medcity.store.validate import validate
from medcity.store.values import now_instant

JSON = dict[str, Any]
# Set to "1" (the test suite does, for every server it starts too), the server's own writes are checked against
# the R4 models like a client's, though they skip the check in production (`trusted`, below).
CHECK_TRUSTED = "MEDCITY_CHECK_TRUSTED_WRITES"
# Given the resource table and a type, the access policy's SQL condition (None: no restriction).
Restriction = Callable[[Any, str], ColumnElement[bool] | None]


# Built once: the hottest statement of all, so SQLAlchemy's compiled-statement cache is hit without re-building it.
_CURRENT = select(resource).where(
    resource.c.partition == bindparam("partition"),
    resource.c.type == bindparam("type"),
    resource.c.id == bindparam("id"),
)
_CURRENT_FOR_UPDATE = _CURRENT.with_for_update()
# Built once: SQLAlchemy computes a statement's cache key by walking it, and building the expression itself costs
# more than the database's answer to it.
_UPDATE_CURRENT = (
    update(resource)
    .where(
        resource.c.partition == bindparam("key_partition"),
        resource.c.type == bindparam("key_type"),
        resource.c.id == bindparam("key_id"),
        resource.c.version == bindparam("seen_version"),
    )
    .values(version=bindparam("new_version"), last_updated=bindparam("when"), deleted=False,
            content=bindparam("new_content"), patient=bindparam("new_patient"))
)  # fmt: skip
_DELETE_INDEX = {
    table.name: delete(table).where(
        table.c.partition == bindparam("partition"), table.c.type == bindparam("type"), table.c.id == bindparam("id")
    )
    for table in INDEX_TABLES.values()
}


@dataclass(frozen=True)
class StoredResource:
    type: str
    id: str
    version: int
    last_updated: str
    deleted: bool
    content: bytes
    patient: str | None = None

    @cached_property
    def resource(self) -> JSON:
        data: JSON = orjson.loads(self.content)
        return data

    @property
    def etag(self) -> str:
        return f'W/"{self.version}"'

    @property
    def reference(self) -> str:
        return f"{self.type}/{self.id}"


# The version a write replaced, with its index rows, as the store hands it to the keepers of derived tables: None
# for a first version, or one written over a deletion (whose rows went with it).
Version = tuple[StoredResource, IndexRows]


@dataclass(frozen=True)
class WriteResult:
    stored: StoredResource
    created: bool
    # True when a conditional create found an existing match and wrote nothing.
    existing: bool = False


class Tx:
    """One transaction on one region. Every method runs inside it; nothing is visible to others until commit."""

    def __init__(self, conn: Connection, region: str, *, writable: bool) -> None:
        self._conn = conn
        self.region = region
        self.writable = writable
        # Rows written in bulk at flush: at commit, before a statement of someone else's (`conn`), and before a
        # statement of the store's own that the rows would change (see `_flush_for`).
        self._pending: dict[Any, list[JSON]] = {}
        # What this transaction read or wrote of a resource, so that workflows reading one resource in several steps
        # read it once; a read for update always goes to the database (and refreshes this).
        self._known: dict[tuple[str, str], StoredResource] = {}

    @property
    def conn(self) -> Connection:
        """The transaction's connection, for statements of the caller's own: what is queued is written first, so that
        they see this transaction's every write."""
        self.flush()
        return self._conn

    @property
    def postgres(self) -> bool:
        """Whether the transaction runs on PostgreSQL (for its locking clauses), asked without writing what is
        queued."""
        return is_postgres_conn(self._conn)

    def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[*tuple[Any, ...]]:
        """Run a statement of the caller's own (a domain table's read or write): what is queued is written first
        when the statement reads or writes one of the tables it is queued for, so that it sees this transaction's
        every write, and stays queued otherwise."""
        if self._pending and _touches(statement, self._pending):
            self.flush()
        return self._conn.execute(statement, parameters)

    def _flush_for(self, table: Any, rtype: str | None = None, rid: str | None = None) -> None:
        """Flush before a statement on `table` (about the resource `rtype`/`rid`, when given) only when a queued
        row would change its outcome: a bundle's writes then go in one bulk write per table, not one per read."""
        rows = self._pending.get(table)
        if rows and (rtype is None or any(row["id"] == rid and row["type"] == rtype for row in rows)):
            self.flush()

    # ---- reads -------------------------------------------------------------------------------------------

    def _row_to_stored(self, rtype: str, row: Any) -> StoredResource:
        return StoredResource(
            type=rtype,
            id=row.id,
            version=row.version,
            last_updated=row.last_updated,
            deleted=row.deleted,
            content=bytes(row.content),
            patient=getattr(row, "patient", None),
        )

    def current(self, rtype: str, rid: str, *, for_update: bool = False) -> StoredResource | None:
        """The current version, deleted or not; None when the id was never used."""
        known = None if for_update else self._known.get((rtype, rid))
        if known is not None:
            return known
        self._flush_for(resource, rtype, rid)
        query = _CURRENT_FOR_UPDATE if for_update and is_postgres_conn(self._conn) else _CURRENT
        row = self._conn.execute(query, {"partition": self.region, "type": rtype, "id": rid}).first()
        if row is None:
            return None
        stored = self._known[(rtype, rid)] = self._row_to_stored(rtype, row)
        return stored

    def read(self, rtype: str, rid: str) -> StoredResource:
        check_type(rtype)
        return _readable(rtype, rid, self.current(rtype, rid))

    def read_many(self, refs: list[tuple[str, str]], restrict: Restriction | None = None) -> list[StoredResource]:
        """Current, not deleted resources for (type, id) pairs, in the given order; missing ones left out."""
        if restrict is None:
            self._flush_for(resource)
        else:
            self.flush()  # the policy's conditions read the index and derived tables too
        found: dict[tuple[str, str], StoredResource] = {}
        by_type: dict[str, list[str]] = {}
        for rtype, rid in refs:
            by_type.setdefault(rtype, []).append(rid)
        for extra, types in by_restriction(restrict, by_type):
            wanted = [and_(resource.c.type == rtype, resource.c.id.in_(by_type[rtype])) for rtype in types]
            conds = [resource.c.partition == self.region, or_(*wanted), resource.c.deleted.is_(False)]
            if extra is not None:
                conds.append(extra)
            for row in self._conn.execute(select(resource).where(and_(*conds))):
                found[(row.type, row.id)] = self._row_to_stored(row.type, row)
        return [found[ref] for ref in refs if ref in found]

    def vread(self, rtype: str, rid: str, version: int) -> StoredResource:
        check_type(rtype)
        self.flush()
        row = self.conn.execute(
            select(resource_history).where(
                resource_history.c.partition == self.region,
                resource_history.c.type == rtype,
                resource_history.c.id == rid,
                resource_history.c.version == version,
            )
        ).first()
        if row is None:
            raise NotFound(f"{rtype}/{rid} has no version {version}")
        if row.deleted:
            raise Gone(f"{rtype}/{rid} version {version} is a deletion")
        return self._row_to_stored(rtype, row)

    # ---- writes ------------------------------------------------------------------------------------------

    def _prepare(self, data: JSON, rid: str, version: int, when: str, *, trusted: bool = False) -> tuple[JSON, bytes]:
        data = dict(data)
        data["id"] = rid
        given = data.get("meta") or {}
        if not isinstance(given, dict):
            raise InvalidRequest(f"{data['resourceType']}.meta must be a Meta object", status=400)
        meta = dict(given)
        meta["versionId"] = str(version)
        meta["lastUpdated"] = when
        data["meta"] = meta
        if not trusted or os.environ.get(CHECK_TRUSTED) == "1":
            validate(data)
        return data, orjson.dumps(data)

    def _queue_index(self, rtype: str, rid: str, data: JSON) -> IndexRows:
        """Queue the index rows of `data`; returns them as extracted (param, *values) per index kind."""
        extracted = extract(data)
        for kind, rows in extracted.items():
            self._queue_index_rows(rtype, rid, kind, rows)
        return extracted

    def _queue_index_rows(self, rtype: str, rid: str, kind: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table = INDEX_TABLES[kind]
        target = self._pending.setdefault(table, [])
        columns = table.c.keys()[3:]  # partition, type, id come first
        for row in rows:
            target.append({"partition": self.region, "type": rtype, "id": rid, **dict(zip(columns, row, strict=True))})

    def _replace_index(self, previous: StoredResource, data: JSON | None) -> tuple[IndexRows, IndexRows]:
        """The index rows of the version being replaced become those of `data` (None: a deletion), in only the
        tables where they differ: a status change rewrites its token rows, not the dates and references. Returns
        the rows of both versions."""
        rtype, rid = previous.type, previous.id
        old = extract(previous.resource)
        new = extract(data) if data is not None else {}
        for kind in old.keys() | new.keys():
            if old.get(kind) == new.get(kind):
                continue
            table = INDEX_TABLES[kind]
            if kind in old:
                self._flush_for(table, rtype, rid)
                self._conn.execute(_DELETE_INDEX[table.name], {"partition": self.region, "type": rtype, "id": rid})
            self._queue_index_rows(rtype, rid, kind, new.get(kind, []))
        return old, new

    def queue(self, table: Any, row: JSON) -> None:
        """Write `row` into `table` with this transaction's next bulk flush (at the latest, at commit): for rows that
        must commit with the transaction's writes, such as their audit."""
        self._require_writable()
        self._pending.setdefault(table, []).append(row)

    def flush(self) -> None:
        """Write the queued rows: a bundle costs one bulk write per table (COPY on PostgreSQL), not one per row."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        try:
            for table, rows in pending.items():
                insert_rows(self._conn, table, rows)
        except (IntegrityError, psycopg.IntegrityError):
            raise Conflict("A resource with this id was created at the same time; try again") from None

    def _history(self, stored: StoredResource, method: str) -> None:
        self._pending.setdefault(resource_history, []).append(
            {
                "partition": self.region,
                "type": stored.type,
                "id": stored.id,
                "version": stored.version,
                "last_updated": stored.last_updated,
                "deleted": stored.deleted,
                "method": method,
                "content": stored.content,
            }
        )

    def _require_writable(self) -> None:
        if not self.writable:
            raise RuntimeError("write in a read-only transaction")

    def create(self, data: JSON, *, rid: str | None = None, trusted: bool = False) -> WriteResult:
        """Create with a server id (or the given one, for update-as-create).

        `trusted` skips the check against the R4 models, the largest cost of a bulk load or a booking: only for
        resources medcity builds itself (the demo city's generator; scheduling's slots, appointments and notices),
        every kind of which tests hold to that check (never for what a client sent).
        """
        self._require_writable()
        rtype = data.get("resourceType")
        if not isinstance(rtype, str):
            raise InvalidRequest("resourceType is missing")
        check_type(rtype)
        rid = rid or new_id()
        when = now_instant()
        data, content = self._prepare(data, rid, 1, when, trusted=trusted)
        patient = compartment_patient(data)
        self._pending.setdefault(resource, []).append(
            {"partition": self.region, "type": rtype, "id": rid, "version": 1, "last_updated": when,
             "deleted": False, "content": content, "patient": patient}
        )  # fmt: skip
        stored = StoredResource(rtype, rid, 1, when, False, content, patient)
        self._history(stored, "POST")
        self._derive(stored, self._queue_index(rtype, rid, data), None)
        return WriteResult(stored=stored, created=True)

    def update(self, data: JSON, *, if_match: int | None = None, trusted: bool = False) -> WriteResult:
        """Update by id; a new id is created (update-as-create). `if_match` is the version the client saw;
        `trusted` as for `create`."""
        self._require_writable()
        rtype, rid = data.get("resourceType"), data.get("id")
        if not isinstance(rtype, str) or not isinstance(rid, str):
            raise InvalidRequest("An update needs resourceType and id in the body")
        check_type(rtype)
        if not is_valid_id(rid):
            raise InvalidRequest(f"'{rid[:80]}' is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)")
        current = self.current(rtype, rid, for_update=True)
        if current is None:
            if if_match is not None:
                raise PreconditionFailed(f"{rtype}/{rid} does not exist, so version {if_match} cannot match")
            return self.create(data, rid=rid, trusted=trusted)
        if if_match is not None and if_match != current.version:
            raise PreconditionFailed(
                f"{rtype}/{rid} is at version {current.version}, not {if_match}: reload and apply your change again"
            )
        version = current.version + 1
        when = now_instant()
        data, content = self._prepare(data, rid, version, when, trusted=trusted)
        patient = compartment_patient(data)
        result = self._conn.execute(_UPDATE_CURRENT, {
            "key_partition": self.region, "key_type": rtype, "key_id": rid, "seen_version": current.version,
            "new_version": version, "when": when, "new_content": content, "new_patient": patient,
        })  # fmt: skip
        if result.rowcount != 1:
            raise Conflict(f"{rtype}/{rid} was changed by someone else at the same time; try again")
        stored = self._known[(rtype, rid)] = StoredResource(rtype, rid, version, when, False, content, patient)
        self._history(stored, "PUT")
        if current.deleted:
            self._derive(stored, self._queue_index(rtype, rid, data), None)
        else:
            old, new = self._replace_index(current, data)
            self._derive(stored, new, (current, old))
        return WriteResult(stored=stored, created=current.deleted)

    def delete(self, rtype: str, rid: str) -> StoredResource | None:
        """Delete (a new, empty version); deleting what is gone or never was is a no-op that returns None."""
        self._require_writable()
        check_type(rtype)
        current = self.current(rtype, rid, for_update=True)
        if current is None or current.deleted:
            return None
        version = current.version + 1
        when = now_instant()
        self._conn.execute(
            update(resource)
            .where(resource.c.partition == self.region, resource.c.type == rtype, resource.c.id == rid)
            .values(version=version, last_updated=when, deleted=True)
        )
        stored = self._known[(rtype, rid)] = StoredResource(
            rtype, rid, version, when, True, current.content, current.patient
        )
        self._history(stored, "DELETE")
        self._derive(stored, {}, (current, self._replace_index(current, None)[0]))
        return stored

    def _derive(self, stored: StoredResource, index: IndexRows, previous: Version | None) -> None:
        """Keep the tables derived from this type in step (`medcity.kit.hooks.after_write`)."""
        for keeper in derived_tables(stored.type):
            keeper(self, stored, index, previous)

    def replace_rows(self, table: Any, where: ColumnElement[bool], old: list[JSON], new: list[JSON]) -> None:
        """For a keeper: the rows of a derived table that stood for the replaced version (`old`, selected by
        `where`) become `new` (queued for the next flush); nothing is written when they are the same."""
        if old == new:
            return
        if old:
            self._flush_for(table)
            self._conn.execute(delete(table).where(where))
        for row in new:
            self.queue(table, row)

    # ---- history -----------------------------------------------------------------------------------------

    def history(
        self,
        rtype: str | None = None,
        rid: str | None = None,
        *,
        since: str | None = None,
        at_most: int = 100,
        offset: int = 0,
        restrict: Restriction | None = None,
    ) -> tuple[list[tuple[StoredResource, str]], int]:
        """Versions newest first, with the HTTP method that made each; and how many there are in all."""
        self.flush()
        h = resource_history
        conds = [h.c.partition == self.region]
        if rtype:
            check_type(rtype)
            conds.append(h.c.type == rtype)
        if rid:
            conds.append(h.c.id == rid)
            if self.current(rtype or "", rid) is None:
                raise NotFound(f"{rtype}/{rid} is not known")
        if since:
            conds.append(h.c.last_updated >= since)
        if restrict is not None:
            conds.append(_history_restriction(h, rtype, restrict))
        total = self.conn.execute(select(func.count()).select_from(h).where(and_(*conds))).scalar_one()
        rows = self.conn.execute(
            select(h)
            .where(and_(*conds))
            .order_by(h.c.last_updated.desc(), h.c.version.desc())
            .limit(at_most)
            .offset(offset)
        )
        return [(self._row_to_stored(row.type, row), row.method) for row in rows], int(total)

    # ---- search ------------------------------------------------------------------------------------------

    def search(self, rtype: str, params: list[tuple[str, str]], **kwargs: Any) -> Any:
        from medcity.store.search import run_search

        self.flush()
        return run_search(self, rtype, params, **kwargs)


def _touches(statement: Executable, tables: Iterable[Any]) -> bool:
    """Whether `statement` reads or writes any of `tables` (in a join, a subquery or through an alias); a textual
    statement might, so it counts as doing so."""
    if not isinstance(statement, ClauseElement) or isinstance(statement, TextClause):
        return True
    named = {table.name for table in tables}
    return any(getattr(found, "name", None) in named for found in find_tables(statement, include_crud=True))


def _readable(rtype: str, rid: str, found: StoredResource | None) -> StoredResource:
    if found is None:
        raise NotFound(f"{rtype}/{rid} is not known")
    if found.deleted:
        raise Gone(f"{rtype}/{rid} was deleted (version {found.version})")
    return found


# Below this many rows one INSERT of arrays costs less than COPY's own protocol round trips.
COPY_FROM_ROWS = 50

_SQLITE_READ = (
    "SELECT id, version, last_updated, deleted, content, patient FROM resource "
    "WHERE partition = ? AND type = ? AND id = ?"
)
_PG_READ = _SQLITE_READ.replace("?", "%s")
# SQLite's SQL with named parameters (":name"), which the sqlite3 module takes from a dict as psycopg does.
_SQLITE_NAMED = sqlite.dialect(paramstyle="named")


def _read_meeting(cond: ColumnElement[bool]) -> Select[Any]:
    r = resource
    return select(r.c.id, r.c.version, r.c.last_updated, r.c.deleted, r.c.content, r.c.patient,
                  case((cond, true()), else_=false()).label("meets")).where(
        # Stand-in values, replaced on each read (`shared_sql.rendered` compiles the statement once, with them).
        r.c.partition == bindparam("read_region", ""), r.c.type == bindparam("read_type", ""),
        r.c.id == bindparam("read_id", ""),
    )  # fmt: skip


def _history_restriction(h: Any, rtype: str | None, restrict: Restriction) -> ColumnElement[bool]:
    """History rows are visible when the current resource they belong to is."""
    types = [rtype] if rtype else list(registry().resource_types)
    allowed = []
    for t in types:
        cond = restrict(resource, t)
        base = and_(h.c.type == t)
        if cond is None:
            allowed.append(base)
        else:
            allowed.append(
                and_(
                    base,
                    exists(
                        select(resource.c.id).where(
                            resource.c.partition == h.c.partition,
                            resource.c.type == h.c.type,
                            resource.c.id == h.c.id,
                            cond,
                        )
                    ),
                )
            )
    return or_(*allowed)


def by_restriction(
    restrict: Restriction | None, types: Iterable[str]
) -> list[tuple[ColumnElement[bool] | None, list[str]]]:
    """`types` grouped by the condition `restrict` sets on the `resource` table for each (None: no limit), so that
    one statement tests the types that share one. Shared means the same object: `policy.restriction` builds each
    condition once per caller."""
    groups: dict[int, tuple[ColumnElement[bool] | None, list[str]]] = {}
    for rtype in types:
        cond = restrict(resource, rtype) if restrict else None
        groups.setdefault(id(cond), (cond, []))[1].append(rtype)
    return list(groups.values())


def insert_rows(conn: Connection, table: Any, rows: list[JSON]) -> None:
    """Insert `rows` (dicts with the same keys) in one bulk write. On PostgreSQL through the driver, without
    SQLAlchemy's executemany (its parameter handling cost more than the write: a fifth of a served lab bundle's
    CPU): COPY when there are many rows, else one `INSERT ... SELECT FROM unnest(...)` of an array per column.
    The driver's errors are its own there (`psycopg.IntegrityError`, not SQLAlchemy's)."""
    if not is_postgres_conn(conn):
        conn.execute(insert(table), rows)
        return
    columns = tuple(rows[0])
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    into = _into(table, columns, conn.dialect)
    if len(rows) >= COPY_FROM_ROWS:
        with cursor.copy(f"COPY {into} FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    else:
        arrays = [[row[c] for row in rows] for c in columns]
        cursor.execute(f"INSERT INTO {into} SELECT * FROM unnest({_arrays_of(table, columns)})", arrays, prepare=True)


@lru_cache(maxsize=256)
def _into(table: Any, columns: tuple[str, ...], dialect: Any) -> str:
    quote = dialect.identifier_preparer.quote  # some columns are SQL words ("start", "end")
    return f"{quote(table.name)} ({', '.join(quote(c) for c in columns)})"


_ARRAY_OF = {str: "text[]", int: "int8[]", float: "float8[]", bool: "bool[]", bytes: "bytea[]"}


@lru_cache(maxsize=256)
def _arrays_of(table: Any, columns: tuple[str, ...]) -> str:
    """A typed placeholder per column: the array's type from the column's Python type (the column's own SQL type
    may carry a collation, which an array cast does not take); the insert casts each element to the column."""

    def array_of(column: Any) -> str:
        kind = column.type.python_type
        if kind is datetime:
            return "timestamptz[]" if column.type.timezone else "timestamp[]"
        return _ARRAY_OF[kind]

    return ", ".join(f"%s::{array_of(table.c[c])}" for c in columns)


def is_postgres_conn(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


class Store:
    """The resource store of one region over one engine."""

    def __init__(self, engine: Engine, region: str) -> None:
        self.engine = engine
        self.region = region
        self.postgres = is_postgres(engine)
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._sqlite_file = database if database and database != ":memory:" else None
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction: all of it commits, or none of it does."""
        with self.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            tx = Tx(conn, self.region, writable=True)
            yield tx
            tx.flush()

    @contextmanager
    def reader(self) -> Iterator[Tx]:
        with reading(self.engine) as conn:
            yield Tx(conn, self.region, writable=False)

    def _read_pooled(self, rtype: str, rid: str) -> StoredResource | None:
        """One statement on a pooled connection in autocommit: no BEGIN/COMMIT round trips, no ORM layers."""
        with single_statement_cursor(self.engine) as cursor:
            cursor.execute(_PG_READ, (self.region, rtype, rid))
            row = cursor.fetchone()
        return StoredResource(rtype, row[0], row[1], row[2], bool(row[3]), bytes(row[4]), row[5]) if row else None

    def read_meeting(self, rtype: str, rid: str, cond: ColumnElement[bool]) -> tuple[StoredResource, bool]:
        """The current version by id and whether it meets `cond` (the access policy's row condition), in one
        statement on its own: a read the policy decides by the row costs one round trip, not two."""
        check_type(rtype)
        statement, own = statement_for(cond, _read_meeting), {"read_region": self.region, "read_type": rtype,
                                                              "read_id": rid}  # fmt: skip
        if self.postgres:
            sql, values = rendered(statement, self.engine.dialect)
            with single_statement_cursor(self.engine) as cursor:
                cursor.execute(sql, {**values, **own})
                row = cursor.fetchone()
        elif self._sqlite_file is not None:
            sql, values = rendered(statement, _SQLITE_NAMED)
            row = self._sqlite_reader().execute(sql, {**values, **own}).fetchone()
        else:
            with single_statements(self.engine) as conn:
                row = conn.execute(statement, own).first()
        found = StoredResource(rtype, row[0], row[1], row[2], bool(row[3]), bytes(row[4]), row[5]) if row else None
        stored = _readable(rtype, rid, found)  # NotFound (no row) or Gone, whatever it meets
        assert row is not None
        return stored, bool(row[6])

    def for_region(self, region: str) -> Store:
        return Store(self.engine, region)

    # Conveniences for one-operation transactions.
    def create(self, data: JSON) -> StoredResource:
        with self.transaction() as tx:
            return tx.create(data).stored

    def update(self, data: JSON, *, if_match: int | None = None) -> StoredResource:
        with self.transaction() as tx:
            return tx.update(data, if_match=if_match).stored

    def read(self, rtype: str, rid: str) -> StoredResource:
        """The current version by id: the hottest read, so on SQLite it skips the pool and SQLAlchemy and runs one
        statement on a read-only connection kept per thread (WAL lets it read beside writers)."""
        check_type(rtype)
        if self._sqlite_file is None:
            return _readable(rtype, rid, self._read_pooled(rtype, rid))
        row = self._sqlite_reader().execute(_SQLITE_READ, (self.region, rtype, rid)).fetchone()
        found = StoredResource(rtype, row[0], row[1], row[2], bool(row[3]), row[4], row[5]) if row else None
        return _readable(rtype, rid, found)

    def _sqlite_reader(self) -> sqlite3.Connection:
        """This thread's read-only connection to the SQLite file, kept for its reads by id (WAL lets it read beside
        writers)."""
        conn: sqlite3.Connection | None = getattr(self._local, "sqlite", None)
        if conn is None:
            assert self._sqlite_file is not None
            conn = sqlite3.connect(self._sqlite_file, timeout=30)
            conn.execute("PRAGMA query_only = 1")
            self._local.sqlite = conn
        return conn
