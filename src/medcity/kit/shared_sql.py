"""A SQL condition that many statements embed, whose cache key SQLAlchemy computes once instead of per statement.

SQLAlchemy finds a statement's compiled form in its cache by a key it builds by walking the whole statement on
every execution. The access policy's conditions (care links, the patient's consent: ~120 elements) are built once
per caller and minute and then embedded in every search that caller makes, each a new statement because the search
values differ: walking them cost most of a search's time in Python. `shared(cond)` compiles exactly as `(cond)`
and answers the walk with the key and bound parameters it found the first time.

This is sound as long as the condition is immutable (SQLAlchemy expressions are) and shares no bound parameter
object with the statement around it (the policy's are its own): the key still describes the condition's whole
structure, and its parameters are handed over in the same order on every execution.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Dialect, Executable
from sqlalchemy.sql.cache_key import NO_CACHE, anon_map
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, Grouping


class SharedCondition(Grouping[bool]):
    inherit_cache = True
    # `and_()` merges a nested AND into its own list by asking for `operator`, which a Grouping passes on to what
    # it wraps: answering None keeps the wrapper (and its remembered key) whole.
    operator = None

    def __init__(self, element: ColumnElement[bool]) -> None:
        super().__init__(element)
        self._remembered: tuple[Any, list[Any]] | None = None

    def self_group(self, against: Any = None) -> SharedCondition:
        return self

    def _ungroup(self) -> SharedCondition:
        return self

    def _copy_internals(self, **kw: Any) -> None:
        super()._copy_internals(**kw)
        self._remembered = None  # a deep copy has bound parameters of its own

    def _gen_cache_key(self, anon_map_: Any, bindparams: list[Any]) -> Any:
        if self._remembered is None:
            own_map, own_binds = anon_map(), list[Any]()
            key = self.element._gen_cache_key(own_map, own_binds)
            cacheable = key is not None and NO_CACHE not in own_map
            self._remembered = (("shared", key) if cacheable else None, own_binds)
        key, binds = self._remembered
        if key is None:
            anon_map_[NO_CACHE] = True
            return None
        if bindparams is not None:
            bindparams.extend(binds)
        return key


def shared(cond: ColumnElement[bool]) -> ColumnElement[bool]:
    return SharedCondition(cond)


STATEMENTS = 4096
S = TypeVar("S", bound=Executable)
T = TypeVar("T")
# What was made once per SQL object (a statement around a condition, a statement's rendering), by the object's id
# and what was made: the object is kept beside it, as an id is reused only once its object is gone.
_made: dict[tuple[int, Any], tuple[Any, Any]] = {}


def _once_per(owner: Any, what: Any, make: Callable[[], T]) -> T:
    key = (id(owner), what)
    found = _made.get(key)
    if found is None or found[0] is not owner:
        if len(_made) >= STATEMENTS:
            _made.clear()
        found = _made[key] = (owner, make())
    return found[1]


def statement_for(cond: ColumnElement[bool], build: Callable[[ColumnElement[bool]], S]) -> S:
    """The statement `build` makes around `cond` (its own values as bound parameters), made once per condition:
    a statement object computes its cache key once, and a shared condition is asked again and again."""
    return _once_per(cond, build, lambda: build(cond))


def rendered(statement: ClauseElement, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """The SQL text `statement` compiles to for `dialect`, and its own bound values as the driver takes them,
    compiled once per statement object: for the hottest statements, run on a driver cursor without SQLAlchemy's
    execution layer (its cache lookup and parameter handling cost more than the database's answer). The caller
    passes the values of the statement's own parameters (bound with a stand-in value); they must need no
    conversion by their SQL type."""
    return _once_per(statement, dialect.name, lambda: _render(statement, dialect))


def _render(statement: ClauseElement, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))
    values = {}
    for name, value in compiled.params.items():
        bind = compiled.binds.get(name)
        convert = bind.type.bind_processor(dialect) if bind is not None else None
        values[name] = convert(value) if convert is not None and value is not None else value
    return compiled.string, values
