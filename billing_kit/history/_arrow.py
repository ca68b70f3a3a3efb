"""Raw list pages -> typed frame through Arrow's JSON reader, without a Python object per record.

A Stripe charge is about 2.6 KB of JSON of which a frame needs a tenth. Decoding every page into
dicts (orjson) and walking them costs ~30 µs per charge; Arrow's C++ reader, given an explicit
schema of just the declared paths, skips the rest and builds columns directly (several times
faster, see ``benchmarks/bench_history.py``). The columns then go through the same typed
conversions as the dict path (:func:`._frames.typed_column`), so both paths give identical frames;
the tests hold them to that.

Used for raw pages (bytes) when no metadata is asked for; anything the explicit schema cannot hold
(an expandable field not expanded, a page that is not a list) makes the reader fail, and the
caller falls back to the dict path for those pages.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from billing_kit.history._schema import Column, Kind, ObjectKind, schema

_LEAF: dict[Kind, pa.DataType] = {
    "string": pa.string(),
    "ref": pa.string(),
    "category": pa.string(),
    "minor": pa.int64(),
    "int": pa.int64(),
    "timestamp": pa.int64(),
    "bool": pa.bool_(),
    "float": pa.float64(),
}
#: Fields derived columns read (see ``_frames._DERIVED``).
_DERIVED_PATHS: dict[str, tuple[tuple[tuple[str, ...], Kind], ...]] = {
    "decline_code": ((("status",), "category"), (("outcome", "reason"), "category")),
    "deleted": ((("deleted",), "bool"),),
}


def paths(kind: ObjectKind) -> list[tuple[tuple[str, ...], Kind]]:
    """Every API path a frame of ``kind`` reads, with the kind of its value."""
    found: list[tuple[tuple[str, ...], Kind]] = []
    for column in schema(kind):
        if column.kind == "major":
            continue
        if column.path:
            found.append((column.path, column.kind))
        else:
            found.extend(_DERIVED_PATHS[column.name])
    return found


def path_tree(leaves: Sequence[tuple[tuple[str, ...], Kind]]) -> dict[str, Any]:
    """Nested dict of the paths, leaves holding their kind; a ref that also has children (an
    expanded ``balance_transaction``) becomes a node with an ``id`` leaf."""
    tree: dict[str, Any] = {}
    for path, kind in leaves:
        node = tree
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):  # a ref seen first as a leaf: make it an object
                child = node[key] = {"id": child}
            node = child
        leaf = path[-1]
        if isinstance(node.get(leaf), dict):
            node[leaf].setdefault("id", kind)
        else:
            node.setdefault(leaf, kind)
    return tree


def _struct(leaves: Sequence[tuple[tuple[str, ...], Kind]]) -> pa.StructType:
    """Nested Arrow struct type holding every path."""

    def build(node: dict[str, Any]) -> pa.StructType:
        return pa.struct(
            [(k, build(v) if isinstance(v, dict) else _LEAF[v]) for k, v in node.items()]
        )

    return build(path_tree(leaves))


def read_pages(kind: ObjectKind, pages: Sequence[bytes]) -> pa.StructArray:
    """Parse raw list pages into one struct array of records (only the declared fields).

    Raises
    ------
    pyarrow.ArrowInvalid
        When a page does not fit the declared shape; the caller then decodes those pages as dicts.
    """
    # Raw newlines only ever sit between JSON tokens (inside strings they are escaped), so a
    # pretty-printed page becomes one line, as the reader wants, by turning them into spaces.
    lines = [page.replace(b"\n", b" ") for page in pages]
    if not all(b'"object":"list"' in line[:200].replace(b" ", b"") for line in lines):
        raise pa.ArrowInvalid("not every page is a list page")
    record = _struct(paths(kind))
    table = pj.read_json(
        io.BytesIO(b"\n".join(lines)),
        read_options=pj.ReadOptions(
            use_threads=False, block_size=max(1 << 22, 2 * max(map(len, lines)))
        ),
        parse_options=pj.ParseOptions(
            explicit_schema=pa.schema([("data", pa.list_(record))]),
            unexpected_field_behavior="ignore",
        ),
    )
    data = table.column("data").combine_chunks()
    flat: pa.StructArray = data.flatten()
    return flat


def field(records: pa.StructArray, path: tuple[str, ...]) -> pa.Array:
    """The values at ``path``, null wherever a parent object is null (a ref's id when nested)."""
    array: Any = records
    for key in path:
        if pa.types.is_struct(array.type):
            array = pc.struct_field(array, [array.type.get_field_index(key)])
        else:  # pragma: no cover - schema built from the same paths
            raise KeyError(key)
    if pa.types.is_struct(array.type):  # a ref with children: its id
        array = pc.struct_field(array, [array.type.get_field_index("id")])
    return array


def derived(name: str, records: pa.StructArray) -> pa.Array:
    """Arrow version of the derived columns of ``_frames``."""
    if name == "decline_code":
        failed = pc.equal(field(records, ("status",)), "failed")
        reason = field(records, ("outcome", "reason"))
        return pc.if_else(pc.fill_null(failed, False), reason, pa.nulls(len(records), pa.string()))
    if name == "deleted":
        return pc.fill_null(pc.equal(field(records, ("deleted",)), True), False)
    raise KeyError(name)  # pragma: no cover


def column_values(column: Column, records: pa.StructArray) -> pa.Array:
    """The Arrow values of one declared (non-major) column."""
    if column.path:
        return field(records, column.path)
    return derived(column.name, records)


__all__ = ["column_values", "path_tree", "paths", "read_pages"]
