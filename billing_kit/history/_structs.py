"""Raw list pages -> column values through msgspec, decoding only the declared fields.

A Stripe charge is about 2.6 KB of JSON of which a frame needs a tenth. msgspec, given typed
``Struct`` classes that declare just the paths of :mod:`._schema`, skips every other field
without building a Python object for it, and decodes a page faster than Arrow's JSON reader or
generic parsers (figures in ``docs/history.md``). :func:`gather` turns the records of a chunk
into one sequence of values per path, for the same typed conversions as the dict route
(:func:`._frames.typed_column`), so both give identical frames.

Anything the declared types cannot hold (a field of another type, a ref expanded into an object
where an id string is declared, a page that is not a list) raises :class:`msgspec.ValidationError`
or :class:`msgspec.DecodeError`, and the caller decodes those pages another way.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any, Optional, Union

import msgspec
from msgspec.structs import astuple

from billing_kit.history._schema import Kind, ObjectKind, schema

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
#: The Struct class declared at each nested path of a kind (for filling in missing parents).
Types = dict[tuple[str, ...], type[msgspec.Struct]]


#: Fields the derived columns read (see ``_frames._DERIVED``).
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


def _struct_type(
    path: tuple[str, ...], node: dict[str, Any], types: Types, *, metadata: bool = False
) -> type[msgspec.Struct]:
    fields: list[tuple[str, Any, Any]] = []
    if metadata:
        # The metadata object as its raw JSON (b"" when absent), kept as it is for the frame's
        # internal _metadata column. msgspec.Raw cannot be part of a union, hence no Optional.
        fields.append(("metadata", msgspec.Raw, msgspec.Raw()))
    for key, value in node.items():
        if isinstance(value, dict):
            child = _struct_type((*path, key), value, types)
            # A ref with children (balance_transaction) may come as an id or expanded.
            typ: Any = Union[str, child] if "id" in value else child  # noqa: UP007
        else:
            typ = _LEAF[value]
        fields.append((key, Optional[typ], None))  # noqa: UP045 - a runtime type object
    # gc=False: the records hold no cycles, and untracked objects cost nothing to collect.
    name = "_".join(("", *path)) + ("_with_metadata" if metadata else "")
    cls = msgspec.defstruct(name, fields, gc=False)
    types[path] = cls
    return cls


_DECODERS_LOCK = threading.Lock()


def decoder(kind: ObjectKind, *, metadata: bool = False) -> tuple[msgspec.json.Decoder[Any], Types]:
    """The page decoder of ``kind`` and the Struct class of each nested path; with
    ``metadata`` the records also keep their metadata as raw JSON.

    One per kind and process, made under a lock, so records of one kind always share their
    classes (:class:`Records` recognises a nested object by its class).
    """
    with _DECODERS_LOCK:
        return _decoder(kind, metadata)


@functools.cache
def _decoder(kind: ObjectKind, metadata: bool) -> tuple[msgspec.json.Decoder[Any], Types]:
    types: Types = {}
    record: Any = _struct_type((kind,), path_tree(paths(kind)), types, metadata=metadata)
    page = msgspec.defstruct(
        f"_{kind}_page",
        [("object", str, ""), ("data", list[record], []), ("has_more", bool, False)],
        gc=False,
    )
    return msgspec.json.Decoder(page), types


#: The values of each declared path (under the record, e.g. ``("outcome", "reason")``), one
#: sequence per path, in record order; a ref's path holds its ids, expanded or not.
Values = dict[tuple[str, ...], Sequence[Any]]


def gather(kind: ObjectKind, records: Sequence[Any], *, metadata: bool = False) -> Values:
    """The values of every declared path of ``records`` (decoded with the same ``metadata``),
    ``None`` where a level is missing.

    Each record becomes the tuple of its fields (``msgspec.structs.astuple``) and the tuples are
    transposed by ``zip``, both at C speed and in one pass over the records: reading the
    columns one path at a time instead (``attrgetter``) went over every record of a chunk once
    per column, ~40 times, and cost more than the decoding.
    """
    _, types = decoder(kind, metadata=metadata)
    values: Values = {}
    _transpose(records, (kind,), types, values)
    return values


def _transpose(objects: Sequence[Any], path: tuple[str, ...], types: Types, out: Values) -> None:
    cls = types[path]
    names = cls.__struct_fields__
    columns = zip(*map(astuple, objects), strict=True) if objects else [()] * len(names)
    column: Sequence[Any]
    for name, column in zip(names, columns, strict=True):
        here = (*path, name)
        child = types.get(here)
        if child is None:
            out[here[1:]] = column
            continue
        if set(map(type, column)) != {child}:
            # A missing object stands for one with every field missing, and a ref sent as a
            # bare id for an object holding just that id.
            empty = child()
            column = [empty if v is None else child(id=v) if type(v) is str else v for v in column]
        _transpose(column, here, types, out)
        if "id" in child.__struct_fields__:  # a ref: its ids, whether expanded or not
            out[here[1:]] = out[(*here[1:], "id")]


def read_pages(kind: ObjectKind, pages: Sequence[bytes], *, metadata: bool = False) -> Values:
    """Decode raw list pages and gather the values of every declared path of their records (as
    :func:`gather`; with ``metadata`` also each record's metadata as raw JSON).

    A page's records are gathered as soon as it is decoded, while they are still in the CPU's
    caches, and freed at once; the values of a chunk are then read once more (to convert them).
    Category values repeat: each is kept as one shared string per chunk, so the ones of each page
    are freed with it too. In a long-running process the heap is fragmented and a chunk's values
    lie scattered across it, which made each later pass over them slow.

    Raises
    ------
    msgspec.ValidationError, msgspec.DecodeError
        When a page does not fit the declared shape; the caller then decodes it another way.
    """
    decode, _ = decoder(kind, metadata=metadata)
    values: dict[tuple[str, ...], list[Any]] = {
        path: [] for path in gather(kind, [], metadata=metadata)
    }
    categories = {path for path, of in paths(kind) if of == "category"}
    shared: dict[Any, Any] = {}
    for page in pages:
        body = decode.decode(page)
        if body.object not in ("list", "search_result"):
            raise msgspec.ValidationError(f"not a list page: object {body.object!r}")
        for path, column in gather(kind, body.data, metadata=metadata).items():
            values[path].extend(
                map(shared.setdefault, column, column) if path in categories else column
            )
    return dict(values)


__all__ = ["Values", "decoder", "gather", "paths", "read_pages"]
