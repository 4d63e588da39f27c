"""The database engine: SQLite (embedded default) or PostgreSQL (production), configured so that an acknowledged
write survives a crash and concurrent writers serialise where they must."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url

WRITE = {"medcity_write": True}


class Executor(Protocol):
    """What runs a statement: a connection, or a store transaction (which first writes the rows it has queued for
    the tables the statement reads)."""

    def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[*tuple[Any, ...]]: ...


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # As many kept connections as the thread pool has workers: a connection beyond the pool is opened and
            # closed per checkout, and opening one (its pragmas, the WAL's shared memory) costs more than a read.
            kwargs.setdefault("pool_size", 40)
            kwargs.setdefault("max_overflow", 40)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 80)
    kwargs.setdefault("pool_recycle", 1800)  # instead of a ping per checkout, which costs a round trip per request
    # The most recently used connection first: psycopg prepares a statement once one connection has run it five
    # times, so the same few connections should serve the requests (first in, first out spreads them over the pool).
    kwargs.setdefault("pool_use_lifo", True)
    # No JIT compilation: the access policy's subqueries make a search's estimated cost look large, and PostgreSQL
    # then spends ~100 ms compiling a query that runs in a few (a doctor's search on the city-scale demo: 126 ms
    # with JIT, 18 ms of it running). medcity's queries are short; JIT pays off only for long analytic scans.
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("options", "-c jit=off")
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    # Statements that stand alone (a read by id, the policy's check of a row) get connections of their own, kept
    # in autocommit: turning a pooled connection's autocommit on and back off again costs more driver calls than
    # the read itself. As many as the thread pool has workers; they go with the engine.
    alone = create_engine(
        parsed, connect_args=connect_args, isolation_level="AUTOCOMMIT", pool_size=20, max_overflow=20,
        pool_use_lifo=True, pool_recycle=1800, pool_reset_on_return=None,
    )  # fmt: skip
    _autocommit[engine] = alone
    event.listen(engine, "engine_disposed", lambda _engine: alone.dispose())
    return engine


_autocommit: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


T = TypeVar("T")


class PerEngine(Generic[T]):
    """One `T` per engine, made by `make` on first use and dropped with the engine: state that a process keeps
    about one database (its audit writer, the revoked tokens)."""

    def __init__(self, make: Callable[[Engine], T]) -> None:
        self._make = make
        self._made: weakref.WeakKeyDictionary[Engine, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, engine: Engine) -> T:
        with self._lock:
            found = self._made.get(engine)
            if found is None:
                found = self._made[engine] = self._make(engine)
            return found


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads, whose transaction ends in COMMIT rather than the ROLLBACK a plain `connect()` leaves
    to its close: psycopg forgets all of a connection's prepared statements on every rollback, so each read would
    be planned anew by PostgreSQL (milliseconds for the access policy's queries)."""
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def single_statements(engine: Engine) -> Iterator[Connection]:
    """A connection whose statements each stand alone (autocommit): one read asked on its own (the access policy's
    check of a row) costs one round trip instead of three with BEGIN and COMMIT, and no ROLLBACK follows to drop
    psycopg's prepared statements."""
    alone = _autocommit.get(engine)
    with alone.connect() if alone else engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


@contextmanager
def single_statement_cursor(engine: Engine) -> Iterator[Any]:
    """A driver cursor of a `single_statements` connection: for the hottest reads, without SQLAlchemy's execution
    layer (nor its Connection, where the engine has a pool kept in autocommit)."""
    alone = _autocommit.get(engine)
    if alone is None:  # an engine made elsewhere than make_engine
        with single_statements(engine) as conn:
            yield conn.connection.cursor()
        return
    raw = alone.raw_connection()
    try:
        yield raw.cursor()
    finally:
        raw.close()


def refresh_statistics(engine: Engine) -> None:
    """After a bulk load on PostgreSQL, give the planner the tables' new sizes at once (autovacuum would only within
    a minute or so): with an empty table's statistics it reads a resource by id through the wrong index, ever
    slower as the table grows, and a search can take seconds."""
    if is_postgres(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below): pysqlite's implicit transactions cannot take the write lock up front.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # WAL + FULL: a committed write survives power loss
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # a single statement is atomic by itself
        # Writers take the lock at BEGIN, so two of them never deadlock upgrading a read lock.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("medcity_write") else "BEGIN")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
