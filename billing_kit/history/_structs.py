"""Raw list pages -> column values through msgspec, decoding only the declared fields.

A Stripe charge is about 2.6 KB of JSON of which a frame needs a tenth. msgspec, given typed
``Struct`` classes that declare just the paths of :mod:`._schema`, skips every other field
without building a Python object for it, and decodes a page faster than Arrow's JSON reader or
orjson do (figures in ``benchmarks/bench_history.py``). The values of each declared path are then
gathered into one list per column and go through the same typed conversions as the other paths
(:func:`._frames.typed_column`), so every path gives an identical frame; the tests hold them to
that.

Anything the declared types cannot hold (a field of another type, a ref expanded into an object
where an id string is declared, a page that is not a list) raises :class:`msgspec.ValidationError`
or :class:`msgspec.DecodeError`, and the caller decodes those pages another way.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, Optional, Union

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from billing_kit.history._arrow import path_tree, paths
from billing_kit.history._schema import Column, Kind, ObjectKind

_LEAF: dict[Kind, type] = {
    "string": str,
    "ref": str,
    "category": str,
    "minor": int,
    "int": int,
    "timestamp": int,
    "bool": bool,
    "float": float,
}
_ID_TYPES = {str, type(None)}
#: Column values cached by path while one chunk is framed (a parent is shared by its children).
Cache = dict[tuple[str, ...], list[Any]]


def _struct_type(name: str, node: dict[str, Any]) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any, None]] = []
    for key, value in node.items():
        if isinstance(value, dict):
            child = _struct_type(f"{name}_{key}", value)
            # A ref with children (balance_transaction) may come as an id or expanded.
            typ: Any = Union[str, child] if "id" in value else child  # noqa: UP007
        else:
            typ = _LEAF[value]
        fields.append((key, Optional[typ], None))  # noqa: UP045 - a runtime type object
    # gc=False: the records hold no cycles, and untracked objects cost nothing to collect.
    return msgspec.defstruct(name, fields, gc=False)


@functools.cache
def _decoder(kind: ObjectKind) -> msgspec.json.Decoder[Any]:
    record: Any = _struct_type(f"_{kind}", path_tree(paths(kind)))
    page = msgspec.defstruct(
        f"_{kind}_page", [("object", str, ""), ("data", list[record], [])], gc=False
    )
    return msgspec.json.Decoder(page)


def read_pages(kind: ObjectKind, pages: Sequence[bytes]) -> list[Any]:
    """Decode raw list pages into one list of records holding only the declared fields.

    Raises
    ------
    msgspec.ValidationError, msgspec.DecodeError
        When a page does not fit the declared shape; the caller then decodes it another way.
    """
    decode = _decoder(kind).decode
    records: list[Any] = []
    for page in pages:
        body = decode(page)
        if body.object not in ("list", "search_result"):
            raise msgspec.ValidationError(f"not a list page: object {body.object!r}")
        records.extend(body.data)
    return records


def _field(parent: Any, key: str) -> Any:
    if parent is None:
        return None
    if type(parent) is str:  # a ref sent as a bare id: its id is the string itself
        return parent if key == "id" else None
    return getattr(parent, key)


def _values(records: Sequence[Any], path: tuple[str, ...], cache: Cache) -> list[Any]:
    """The value at ``path`` in each record; ``None`` where a level is missing."""
    if path in cache:
        return cache[path]
    key = path[-1]
    parents = records if len(path) == 1 else _values(records, path[:-1], cache)
    try:
        # Fast path, at C speed: every parent is present and expanded.
        values = list(map(attrgetter(key), parents))
    except AttributeError:
        # A parent that is None, or a ref sent as a bare id string.
        values = [_field(p, key) for p in parents]
    cache[path] = values
    return values


def _ids(records: Sequence[Any], path: tuple[str, ...], cache: Cache) -> list[Any]:
    values = _values(records, path, cache)
    if set(map(type, values)) - _ID_TYPES:  # some refs came expanded: take their ids
        return _values(records, (*path, "id"), cache)
    return values


def column_values(column: Column, records: Sequence[Any], cache: Cache) -> Any:
    """The values of one declared (non-major) column: a list, or an Arrow array when derived."""
    if column.path:
        if column.kind == "ref":
            return _ids(records, column.path, cache)
        return _values(records, column.path, cache)
    if column.name == "decline_code":
        # Stripe puts the issuer's decline code in outcome.reason; on a successful charge the same
        # field holds a risk reason, which is not a decline.
        failed = pc.equal(pa.array(_values(records, ("status",), cache), pa.string()), "failed")
        reasons = pa.array(_values(records, ("outcome", "reason"), cache), pa.string())
        return pc.if_else(pc.fill_null(failed, False), reasons, pa.nulls(len(records), pa.string()))
    if column.name == "deleted":
        return [v is True for v in _values(records, ("deleted",), cache)]
    raise KeyError(column.name)  # pragma: no cover - every derived column is handled above


__all__ = ["column_values", "read_pages"]
