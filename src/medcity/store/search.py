"""FHIR search: parse the parameters, build one SQL query over the index tables, page it stably."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    false,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
)

from medcity.kit import instants
from medcity.kit.db import WRITE
from medcity.kit.errors import InvalidRequest, NotFound
from medcity.store.repository import by_restriction
from medcity.store.schema import INDEX_TABLES, resource, search_snapshot
from medcity.store.searchparams import RESULT_PARAMS, SearchParam, check_type, registry
from medcity.store.values import EPOCH, MAX_INDEXED, date_range, normalize_text, now_instant

if TYPE_CHECKING:
    from medcity.store.repository import Restriction, StoredResource, Tx

SNAPSHOT_CAP = 5000
SNAPSHOT_TTL = timedelta(hours=1)  # how long the next/previous links of a search keep working
INCLUDE_CAP = 1000
TOP = "\U0010ffff"
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_PREFIXED = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[-+0-9.])")
_STRING_MODIFIERS = {"exact", "contains", "missing"}
_TOKEN_MODIFIERS = {"not", "text", "missing"}
_OTHER_MODIFIERS = {"missing"}
_REFERENCE_MODIFIERS = {"missing"}
_URI_MODIFIERS = {"missing", "below", "above"}
_SORT_COLUMN = {
    "string": "value", "token": "code", "date": "low", "number": "value", "quantity": "value", "uri": "value",
}  # fmt: skip


@dataclass
class SearchResult:
    resource_type: str
    matches: list[StoredResource]
    included: list[StoredResource] = field(default_factory=list)
    total: int | None = None
    offset: int = 0
    count: int = 20
    params_used: list[tuple[str, str]] = field(default_factory=list)
    snapshot: str | None = None
    has_next: bool = False
    summary: str | None = None
    elements: list[str] | None = None


def split_or(value: str) -> list[str]:
    """Comma separates alternatives; `\\,` is a literal comma."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _split_token(value: str) -> tuple[str | None, str | None, bool]:
    """'system|code' → (system, code, system_given); '|code' → ('', code, True) meaning no system."""
    if "|" in value:
        system, code = value.split("|", 1)
        return system, (code or None), True
    return None, value, False


def _prefixed(value: str) -> tuple[str, str]:
    m = _PREFIXED.match(value)
    return (m.group(1), value[2:]) if m else ("eq", value)


def _decimal(raw: str, name: str) -> tuple[float, float]:
    """The value and half the unit of its last digit (FHIR: `100` means [99.5, 100.5))."""
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise InvalidRequest(f"Search parameter '{name}': '{raw[:40]}' is not a number") from None
    if not number.is_finite():
        raise InvalidRequest(f"Search parameter '{name}': '{raw[:40]}' is not a finite number")
    exponent = number.as_tuple().exponent
    half = 0.5 * 10 ** int(exponent) if isinstance(exponent, int) else 0.0
    return float(number), half


def _number_cond(col: Any, prefix: str, raw: str, name: str) -> ColumnElement[bool]:
    value, half = _decimal(raw, name)
    if prefix == "eq":
        return and_(col >= value - half, col < value + half)
    if prefix == "ne":
        return or_(col < value - half, col >= value + half)
    if prefix in ("gt", "sa"):
        return col > value
    if prefix in ("lt", "eb"):
        return col < value
    if prefix == "ge":
        return col >= value
    if prefix == "le":
        return col <= value
    margin = abs(value) * 0.1  # ap: within 10 %
    return and_(col >= value - margin, col <= value + margin)


def _date_bounds(raw: str, name: str) -> tuple[int, int]:
    span = date_range(raw)
    if span is None:
        raise InvalidRequest(
            f"Search parameter '{name}': '{raw[:40]}' is not a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD or a dateTime)"
        )
    return span


def _date_cond(low: Any, high: Any, prefix: str, raw: str, name: str) -> ColumnElement[bool]:
    """Compare the resource's [low, high) with the parameter's range, as the FHIR date prefixes define."""
    vlow, vhigh = _date_bounds(raw, name)
    if prefix == "eq":
        # `low < vhigh` follows from the other two, but it bounds the index range on `low` from both sides:
        # without it the planner sees "every later date" and reads a birth date as unselective.
        return and_(low >= vlow, low < vhigh, high <= vhigh)
    if prefix == "ne":
        return or_(low < vlow, high > vhigh)
    if prefix == "gt":
        return high > vhigh
    if prefix == "lt":
        return low < vlow
    if prefix == "ge":
        return high > vlow
    if prefix == "le":
        return low < vhigh
    if prefix == "sa":
        return low >= vhigh
    if prefix == "eb":
        return high <= vlow
    now_ms = instants.to_ms(datetime.now(UTC))
    margin = max(abs(now_ms - vlow) // 10, 86_400_000)  # ap: 10 % of the distance from now, at least a day
    return and_(low < vhigh + margin, high > vlow - margin)


def _iso(ms: int) -> str:
    return instants.to_text(EPOCH + timedelta(milliseconds=ms))


def _instant_cond(col: Any, prefix: str, raw: str, name: str) -> ColumnElement[bool]:
    """`_lastUpdated` against the stored instant (a point, kept as sortable ISO text)."""
    vlow, vhigh = _date_bounds(raw, name)
    low, high = _iso(vlow), _iso(vhigh)
    conds: dict[str, ColumnElement[bool]] = {
        "eq": and_(col >= low, col < high),
        "ne": or_(col < low, col >= high),
        "gt": col >= high,
        "sa": col >= high,
        "lt": col < low,
        "eb": col < low,
        "ge": col >= low,
        "le": col < high,
        "ap": and_(col >= low, col < high),
    }
    return conds[prefix]


class _Builder:
    def __init__(self, tx: Tx, rtype: str) -> None:
        self.tx = tx
        self.region = tx.region
        self.rtype = rtype
        self.reg = registry()

    def rows_of(self, rtype: str, param: SearchParam, value_cond: ColumnElement[bool], t: Any) -> Any:
        return select(t.c.id).where(
            t.c.partition == self.region, t.c.type == rtype, t.c.param == param.code, value_cond
        )

    def value_cond(self, param: SearchParam, modifier: str | None, raw: str, t: Any) -> ColumnElement[bool]:
        kind, name = param.type, param.code
        if len(raw) > 2000:
            raise InvalidRequest(f"Search parameter '{name}': the value is too long")
        if kind == "string":
            norm = normalize_text(raw)
            if modifier == "exact":
                return t.c.exact == raw[:MAX_INDEXED]
            if modifier == "contains":
                escaped = norm.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                return t.c.value.like(f"%{escaped}%", escape="\\")
            return and_(t.c.value >= norm, t.c.value < norm + TOP)
        if kind == "token":
            if modifier == "text":
                norm = normalize_text(raw)
                return and_(t.c.text >= norm, t.c.text < norm + TOP)
            system, code, has_system = _split_token(raw)
            conds = []
            if code is not None:
                conds.append(t.c.code == code)
            if has_system:
                conds.append(t.c.system.is_(None) if system == "" else t.c.system == system)
            if not conds:
                raise InvalidRequest(f"Search parameter '{name}': empty token")
            return and_(*conds)
        if kind == "date":
            prefix, rest = _prefixed(raw)
            return _date_cond(t.c.low, t.c.high, prefix, rest, name)
        if kind == "number":
            prefix, rest = _prefixed(raw)
            return _number_cond(t.c.value, prefix, rest, name)
        if kind == "quantity":
            prefix, rest = _prefixed(raw)
            number, _, unit = rest.partition("|")
            cond = _number_cond(t.c.value, prefix, number, name)
            if unit:
                system, _, code = unit.partition("|")
                if code:
                    cond = and_(cond, t.c.code == code)
                    if system:
                        cond = and_(cond, t.c.system == system)
                else:
                    cond = and_(cond, t.c.code == system)
            return cond
        if kind == "uri":
            if modifier == "below":
                return and_(t.c.value >= raw, t.c.value < raw + TOP)
            if modifier == "above":
                prefixes = [raw[:i] for i in range(1, len(raw) + 1)]
                return t.c.value.in_(prefixes)
            return t.c.value == raw
        raise InvalidRequest(f"Search parameter '{name}' of type {kind} is not supported")

    def reference_cond(self, param: SearchParam, modifier: str | None, raw: str, t: Any) -> ColumnElement[bool]:
        target_type = modifier if modifier and modifier[:1].isupper() else None
        value = raw
        base = self.tx.conn.info.get("medcity_base_url")
        if base and value.startswith(base.rstrip("/") + "/"):
            value = value[len(base.rstrip("/")) + 1 :]
        parts = value.split("/")
        if len(parts) in (2, 4) and parts[0][:1].isupper() and ":" not in parts[0]:
            if target_type and target_type != parts[0]:
                return false()
            return and_(t.c.target_type == parts[0], t.c.target_id == parts[1])
        cond = t.c.target_id == value
        if target_type:
            cond = and_(cond, t.c.target_type == target_type)
        return cond

    def param_cond(self, name: str, raw_value: str, strict: bool) -> ColumnElement[bool] | None:
        """The condition for one `name=value` pair (value may hold OR alternatives); None when ignored."""
        base_name, _, chain = name.partition(".")
        code, _, modifier_str = base_name.partition(":")
        modifier = modifier_str or None
        r = resource
        if code == "_id":
            if modifier:
                raise InvalidRequest(f"Modifier ':{modifier}' is not supported on _id")
            return r.c.id.in_(split_or(raw_value))
        if code == "_lastUpdated":
            if modifier:
                raise InvalidRequest(f"Modifier ':{modifier}' is not supported on _lastUpdated")
            return or_(*(_instant_cond(r.c.last_updated, *_prefixed(v), code) for v in split_or(raw_value)))
        param = self.reg.get(self.rtype, code)
        if param is None:
            if strict:
                raise InvalidRequest(f"Unknown search parameter '{code}' for {self.rtype}")
            return None
        table = INDEX_TABLES[param.type]
        t = table.alias()
        if chain:
            return self.chain_cond(param, modifier, chain, raw_value, t, strict)
        allowed = {
            "string": _STRING_MODIFIERS,
            "token": _TOKEN_MODIFIERS,
            "reference": _REFERENCE_MODIFIERS,
            "uri": _URI_MODIFIERS,
        }.get(param.type, _OTHER_MODIFIERS)
        if modifier and modifier not in allowed and not (param.type == "reference" and modifier[:1].isupper()):
            raise InvalidRequest(f"Modifier ':{modifier}' is not supported on '{code}' ({param.type})")
        if modifier == "missing":
            if raw_value not in ("true", "false"):
                raise InvalidRequest(f"':missing' takes true or false, not '{raw_value[:40]}'")
            has = r.c.id.in_(self.rows_of(self.rtype, param, true(), t))
            return not_(has) if raw_value == "true" else has
        alternatives = []
        for raw in split_or(raw_value):
            if param.type == "reference":
                alternatives.append(self.reference_cond(param, modifier, raw, t))
            else:
                alternatives.append(self.value_cond(param, None if modifier == "not" else modifier, raw, t))
        matching = r.c.id.in_(self.rows_of(self.rtype, param, or_(*alternatives), t))
        return not_(matching) if modifier == "not" else matching

    def chain_cond(
        self, param: SearchParam, modifier: str | None, chain: str, raw: str, t: Any, strict: bool
    ) -> ColumnElement[bool]:
        if param.type != "reference":
            raise InvalidRequest(f"'{param.code}' is not a reference, so it cannot be chained")
        if "." in chain:
            raise InvalidRequest("Only one level of chaining is supported")
        targets = [modifier] if modifier else list(param.targets)
        chained_code, _, chained_modifier = chain.partition(":")
        options = []
        for target in targets:
            chained = self.reg.get(target, chained_code)
            if chained is None:
                continue
            inner = _Builder(self.tx, target)
            ct = INDEX_TABLES[chained.type].alias()
            if chained.type == "reference":
                value_cond = or_(*(inner.reference_cond(chained, None, v, ct) for v in split_or(raw)))
            else:
                value_cond = or_(*(inner.value_cond(chained, chained_modifier or None, v, ct) for v in split_or(raw)))
            ids = inner.rows_of(target, chained, value_cond, ct)
            options.append(and_(t.c.target_type == target, t.c.target_id.in_(ids)))
        if not options:
            raise InvalidRequest(f"Cannot chain '{param.code}' to '{chained_code}': no target type has it")
        return resource.c.id.in_(self.rows_of(self.rtype, param, or_(*options), t))

    def sort_key(self, key: str) -> Any:
        descending = key.startswith("-")
        code = key.lstrip("-")
        if code == "_id":
            col: Any = resource.c.id
        elif code == "_lastUpdated":
            col = resource.c.last_updated
        else:
            param = self.reg.get(self.rtype, code)
            if param is None or param.type == "reference":
                raise InvalidRequest(f"Cannot sort {self.rtype} by '{code}': no such sortable parameter")
            t = INDEX_TABLES[param.type].alias()
            # An expression, not the bare column: SQLite's min/max optimisation would otherwise walk the value
            # index of the whole parameter for every match instead of looking up this resource's rows.
            value = func.coalesce(t.c[_SORT_COLUMN[param.type]], None)
            agg = func.max(value) if descending else func.min(value)
            col = (
                select(agg)
                .where(t.c.partition == self.region, t.c.type == self.rtype, t.c.param == code,
                       t.c.id == resource.c.id)
                .scalar_subquery()
            )  # fmt: skip
        return col.desc() if descending else col.asc()


def _int_param(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidRequest(f"'{name}' must be a whole number, not '{value[:40]}'") from None
    if number < low:
        raise InvalidRequest(f"'{name}' must be at least {low}")
    return min(number, high)


@dataclass
class _Controls:
    count: int
    offset: int = 0
    sort: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)
    revinclude: list[str] = field(default_factory=list)
    summary: str | None = None
    elements: list[str] | None = None
    total: str | None = None


def _controls(params: list[tuple[str, str]], default_count: int, max_count: int) -> _Controls:
    c = _Controls(count=default_count)
    for name, value in params:
        if name == "_count":
            c.count = _int_param(value, name, 0, max_count)
        elif name == "_offset":
            c.offset = _int_param(value, name, 0, SNAPSHOT_CAP)
        elif name == "_sort":
            c.sort.extend(v for v in value.split(",") if v)
        elif name == "_include" or name == "_include:iterate":
            c.include.append(value)
        elif name == "_revinclude" or name == "_revinclude:iterate":
            c.revinclude.append(value)
        elif name == "_summary":
            if value not in ("true", "false", "count", "text", "data"):
                raise InvalidRequest(f"_summary must be true, false, count, text or data, not '{value[:40]}'")
            c.summary = value
        elif name == "_elements":
            c.elements = [v.strip() for v in value.split(",") if v.strip()]
        elif name == "_total":
            if value not in ("none", "estimate", "accurate"):
                raise InvalidRequest(f"_total must be none, estimate or accurate, not '{value[:40]}'")
            c.total = value
    return c


def _include_spec(spec: str, reverse: bool, search_type: str) -> tuple[str, SearchParam, str | None]:
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise InvalidRequest(f"'{spec[:80]}' is not Type:parameter[:targetType]")
    source, code = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if not reverse and source != search_type:
        raise InvalidRequest(f"_include '{spec[:80]}' must start with the searched type {search_type}")
    param = registry().get(source, code)
    if param is None or param.type != "reference":
        raise InvalidRequest(f"'{spec[:80]}': {source} has no reference parameter '{code}'")
    if target and target not in registry().resource_types:
        raise InvalidRequest(f"'{spec[:80]}': unknown target type '{target}'")
    return source, param, target


def run_search(
    tx: Tx,
    rtype: str,
    params: list[tuple[str, str]],
    *,
    restrict: Restriction | None = None,
    strict: bool = False,
    default_count: int = 20,
    max_count: int = 1000,
    first_page_only: bool = False,
) -> SearchResult:
    """`first_page_only`: for a screen that shows the first page and no further (a worklist): no snapshot is kept
    for next links, so only the page is read (with `_total=none`, not even counted)."""
    check_type(rtype)
    if tx.conn.dialect.name == "postgresql" and tx.conn.in_transaction():
        # psycopg prepares a statement after a few runs, and PostgreSQL's generic plan for a prepared search
        # ignores how selective its values are: it can be a hundred times slower than a plan for the values.
        tx.conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    controls = _controls(params, default_count, max_count)
    builder = _Builder(tx, rtype)
    conds: list[ColumnElement[bool]] = [
        resource.c.partition == tx.region,
        resource.c.type == rtype,
        resource.c.deleted.is_(False),
    ]
    used: list[tuple[str, str]] = []
    for name, value in params:
        if name in RESULT_PARAMS or name.split(":")[0] in ("_include", "_revinclude"):
            if name not in ("_format", "_pretty", "_getpages", "_offset"):
                used.append((name, value))
            continue
        if "\x00" in name or "\x00" in value:
            raise InvalidRequest("Search values must not contain NUL characters")
        cond = builder.param_cond(name, value, strict)
        if cond is not None:
            conds.append(cond)
            used.append((name, value))
    extra = restrict(resource, rtype) if restrict else None
    if extra is not None:
        conds.append(extra)
    includes = [_include_spec(s, False, rtype) for s in controls.include]
    revincludes = [_include_spec(s, True, rtype) for s in controls.revinclude]
    order = [builder.sort_key(k) for k in controls.sort] + [resource.c.id.asc()]
    where = and_(*conds)
    result = SearchResult(
        resource_type=rtype, matches=[], count=controls.count, offset=controls.offset, params_used=used,
        summary=controls.summary, elements=controls.elements,
    )  # fmt: skip
    if controls.summary == "count":
        result.total = int(tx.execute(select(func.count()).select_from(resource).where(where)).scalar_one())
        return result
    window = controls.offset + controls.count + 1
    rows = tx.execute(select(resource).where(where).order_by(*order).limit(window)).all()
    page_rows = rows[controls.offset : controls.offset + controls.count]
    result.matches = [tx._row_to_stored(rtype, row) for row in page_rows]
    result.has_next = len(rows) > controls.offset + controls.count
    if not result.has_next:
        result.total = len(rows) if controls.offset == 0 or rows else None
    if result.has_next and not first_page_only:
        # The total comes with the ids, in the same pass over the matches (a count of its own would read them all
        # again: a second or so for a diagnosis that tens of thousands have), unless the client asked for none.
        counted = controls.total != "none"
        columns = [resource.c.id, func.count().over().label("total")] if counted else [resource.c.id]
        id_rows = tx.execute(select(*columns).where(where).order_by(*order).limit(SNAPSHOT_CAP + 1)).all()
        ids = [row.id for row in id_rows]
        if counted:
            result.total = int(id_rows[0].total) if id_rows else 0
        result.snapshot = save_snapshot(tx, rtype, [f"{rtype}/{i}" for i in ids[:SNAPSHOT_CAP]], used)
    if controls.total == "none":
        result.total = None
    elif result.total is None:
        result.total = int(tx.execute(select(func.count()).select_from(resource).where(where)).scalar_one())
    result.included = _includes(tx, rtype, result.matches, includes, revincludes, restrict)
    return result


def save_snapshot(tx: Tx, rtype: str, refs: list[str], used: list[tuple[str, str]]) -> str:
    """Keep the ordered references ("Type/id") in a short transaction of its own, so later pages stay put while
    others write. `rtype` and `used` rebuild the self link and the includes of later pages."""
    sid = uuid.uuid4().hex
    row = {
        "partition": tx.region,
        "id": sid,
        "created": now_instant(),
        "total": len(refs),
        "query": orjson.dumps({"type": rtype, "params": used}).decode(),
        "ids": orjson.dumps(refs),
    }
    if tx.writable:
        _keep_snapshot(tx.conn, row)
    else:
        with tx.conn.engine.connect().execution_options(**WRITE) as conn, conn.begin():
            _keep_snapshot(conn, row)
    return sid


def _keep_snapshot(conn: Any, row: dict[str, Any]) -> None:
    # Whoever keeps a new snapshot drops the region's expired ones: an index range, empty most of the time.
    expired = datetime.now(UTC) - SNAPSHOT_TTL
    conn.execute(
        delete(search_snapshot).where(
            search_snapshot.c.partition == row["partition"],
            search_snapshot.c.created < instants.to_text(expired),
        )
    )
    conn.execute(insert(search_snapshot), [row])


def page_from_snapshot(
    tx: Tx, sid: str, offset: int, count: int, *, restrict: Restriction | None = None
) -> SearchResult:
    """A later page of an earlier search, from the ids it kept."""
    row = tx.execute(
        select(search_snapshot).where(search_snapshot.c.partition == tx.region, search_snapshot.c.id == sid)
    ).first()
    if row is None:
        raise NotFound("This search has expired or was never made; run the search again", status=410)
    query = orjson.loads(row.query)
    refs: list[str] = orjson.loads(row.ids)
    rtype: str = query["type"]
    used = [tuple(p) for p in query["params"]]
    controls = _controls(used, count, 1000)
    page = [ref.split("/", 1) for ref in refs[offset : offset + count]]
    matches = tx.read_many([(t, i) for t, i in page], restrict)
    includes = [_include_spec(s, False, rtype) for s in controls.include]
    revincludes = [_include_spec(s, True, rtype) for s in controls.revinclude]
    return SearchResult(
        resource_type=rtype, matches=matches, total=row.total, offset=offset, count=count,
        params_used=used, snapshot=sid, has_next=offset + count < len(refs),
        included=_includes(tx, rtype, matches, includes, revincludes, restrict),
        summary=controls.summary, elements=controls.elements,
    )  # fmt: skip


def pinned_patient(rtype: str, params: list[tuple[str, str]]) -> str | None:
    """The one patient whose rows a search can match, by its own parameters: a single reference to a Patient in a
    parameter over the elements that file a row under its patient (the type's first compartment parameter, as
    `compartment_patient` reads it), or None. A search with `_include`/`_revinclude` is not pinned: what it
    includes may be filed under other patients."""
    reg = registry()
    compartment = reg.compartment.get(rtype, ())
    filing = reg.get(rtype, compartment[0]) if compartment else None
    if filing is None:
        return None
    filing_keys = {chain.keys for chain in filing.chains}
    found: str | None = None
    for name, value in params:
        code, _, modifier = name.partition(":")
        if code in ("_include", "_revinclude"):
            return None
        param = reg.get(rtype, code)
        if param is None or param.type != "reference" or "." in name or not param.chains:
            continue
        if any(chain.keys not in filing_keys for chain in param.chains):
            continue
        patient = _patient_named(param, modifier, value)
        if patient is None:
            continue
        if found is not None and found != patient:
            return None  # two patients at once match nothing; the general conditions answer that as well
        found = patient
    return found


def _patient_named(param: SearchParam, modifier: str, value: str) -> str | None:
    """The Patient id one reference search value names alone (`Patient/id`, or a bare id where only a Patient can
    be meant), or None."""
    values = split_or(value)
    if modifier not in ("", "Patient") or len(values) != 1:
        return None
    parts = values[0].split("/")
    if len(parts) == 2 and parts[0] == "Patient" and parts[1]:
        return parts[1]
    if len(parts) == 1 and parts[0] and (modifier == "Patient" or param.targets == ("Patient",)):
        return parts[0]
    return None


def compartment_refs(
    tx: Tx,
    patient_id: str,
    *,
    types: list[str] | None = None,
    since: str | None = None,
    restrict: Restriction | None = None,
    referenced_types: tuple[str, ...] = (),
) -> list[tuple[str, str]]:
    """The patient's resource, every resource in their compartment (newest first per type), and the resources
    of `referenced_types` that those point at (practitioners, organisations...), as (type, id) pairs."""
    conds: list[ColumnElement[bool]] = [
        resource.c.partition == tx.region,
        resource.c.patient == patient_id,
        resource.c.deleted.is_(False),
    ]
    if types:
        conds.append(resource.c.type.in_(types))
    if since:
        conds.append(resource.c.last_updated >= since)
    if restrict is not None:
        conds.append(_types_visible(restrict))
    query = select(resource.c.type, resource.c.id).where(and_(*conds))
    rows = tx.execute(query.order_by(resource.c.type, resource.c.last_updated.desc(), resource.c.id)).all()
    refs = [("Patient", patient_id)] + [(r.type, r.id) for r in rows if r.type != "Patient"]
    if referenced_types and rows:
        ref = INDEX_TABLES["reference"]
        targets = tx.execute(
            select(ref.c.target_type, ref.c.target_id).distinct().where(
                ref.c.partition == tx.region, ref.c.target_type.in_(referenced_types),
                tuple_(ref.c.type, ref.c.id).in_(select(resource.c.type, resource.c.id).where(and_(*conds))),
            ).order_by(ref.c.target_type, ref.c.target_id)
        ).all()  # fmt: skip
        refs += [(t.target_type, t.target_id) for t in targets]
    return refs


def of_patients(tx: Tx, rtype: str, patients: list[str], restrict: Restriction | None = None) -> list[StoredResource]:
    """Every current `rtype` resource in the compartments of `patients`, under the caller's restriction, in one
    statement: a worklist reads many records at once, not one query per patient."""
    if not patients:
        return []
    conds = [resource.c.partition == tx.region, resource.c.type == rtype, resource.c.deleted.is_(False),
             resource.c.patient.in_(patients)]  # fmt: skip
    extra = restrict(resource, rtype) if restrict else None
    if extra is not None:
        conds.append(extra)
    rows = tx.execute(select(resource).where(and_(*conds)).order_by(resource.c.patient, resource.c.id)).all()
    return [tx._row_to_stored(rtype, row) for row in rows]


def _types_visible(restrict: Restriction) -> ColumnElement[bool]:
    """The restriction over every type in one condition; types that share a condition object are tested together."""
    return or_(*(resource.c.type.in_(types) if cond is None else and_(resource.c.type.in_(types), cond)
                 for cond, types in by_restriction(restrict, registry().resource_types)))  # fmt: skip


def _includes(
    tx: Tx,
    rtype: str,
    matches: list[StoredResource],
    includes: list[tuple[str, SearchParam, str | None]],
    revincludes: list[tuple[str, SearchParam, str | None]],
    restrict: Restriction | None,
) -> list[StoredResource]:
    if not matches or not (includes or revincludes):
        return []
    ref = INDEX_TABLES["reference"]
    ids = [m.id for m in matches]
    wanted: list[tuple[str, str]] = []
    for _source, param, target in includes:
        query = select(ref.c.target_type, ref.c.target_id).where(
            ref.c.partition == tx.region, ref.c.type == rtype, ref.c.param == param.code, ref.c.id.in_(ids),
            ref.c.target_type.is_not(None) if target is None else ref.c.target_type == target,
        )  # fmt: skip
        wanted.extend((row.target_type, row.target_id) for row in tx.execute(query.limit(INCLUDE_CAP)))
    for source, param, target in revincludes:
        if target and target != rtype:
            continue
        query = select(literal(source).label("type"), ref.c.id).where(
            ref.c.partition == tx.region, ref.c.type == source, ref.c.param == param.code,
            ref.c.target_type == rtype, ref.c.target_id.in_(ids),
        )  # fmt: skip
        wanted.extend((row.type, row.id) for row in tx.execute(query.limit(INCLUDE_CAP)))
    seen = {(m.type, m.id) for m in matches}
    unique = []
    for item in wanted:
        if item not in seen and item[0] in registry().resource_types:
            seen.add(item)
            unique.append(item)
    return tx.read_many(unique, restrict)
