"""Raw list pages -> column values through msgspec, decoding only the declared fields.

A Stripe charge is about 2.6 KB of JSON of which a frame needs a tenth. msgspec, given typed
``Struct`` classes that declare just the paths of :mod:`._schema`, skips every other field
without building a Python object for it, and decodes a page faster than Arrow's JSON reader or
generic parsers (figures in ``docs/history.md``). :class:`Records` gathers the values of each path
into one list per column (``attrgetter``, at C speed) for the same typed conversions as the dict
route (:func:`._frames.typed_column`), so both give identical frames.

Anything the declared types cannot hold (a field of another type, a ref expanded into an object
where an id string is declared, a page that is not a list) raises :class:`msgspec.ValidationError`
or :class:`msgspec.DecodeError`, and the caller decodes those pages another way.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, Optional, Union

import msgspec

from billing_kit.history._schema import Column, Kind, ObjectKind, schema

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
#: The Struct class declared at each nested path of a kind (for filling in missing parents).
Types = dict[tuple[str, ...], type]


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
) -> type:
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


class Records:
    """Decoded records of one chunk, and the values of each path gathered from them (cached)."""

    def __init__(self, kind: ObjectKind, records: list[Any], types: Types) -> None:
        self.kind = kind
        self.records = records
        self._types = types
        self._values: dict[tuple[str, ...], list[Any]] = {}
        self._objects: dict[tuple[str, ...], list[Any]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def values(self, path: tuple[str, ...]) -> list[Any]:
        """The value at ``path`` in each record; ``None`` where a level is missing."""
        if path not in self._values:
            parents = self.records if len(path) == 1 else self._parents(path[:-1])
            # attrgetter over a list runs at C speed: no Python call per record.
            self._values[path] = list(map(attrgetter(path[-1]), parents))
        return self._values[path]

    def _parents(self, path: tuple[str, ...]) -> list[Any]:
        """The objects at ``path``, a missing one replaced by an empty object (all fields None)
        and a ref sent as a bare id by an object holding just that id."""
        if path not in self._objects:
            values = self.values(path)
            cls = self._types[(self.kind, *path)]
            if set(map(type, values)) == {cls}:
                self._objects[path] = values
            else:
                empty = cls()
                self._objects[path] = [
                    empty if v is None else cls(id=v) if type(v) is str else v for v in values
                ]
        return self._objects[path]

    def ids(self, path: tuple[str, ...]) -> list[Any]:
        """The ids at ``path``, whether a ref came as an id or expanded into an object."""
        values = self.values(path)
        if set(map(type, values)) - _ID_TYPES:
            return self.values((*path, "id"))
        return values

    def column(self, column: Column) -> Any:
        """The values of one declared (non-major) column: a list, or an Arrow array if derived."""
        if column.path:
            return self.ids(column.path) if column.kind == "ref" else self.values(column.path)
        if column.name == "decline_code":
            # Stripe puts the issuer's decline code in outcome.reason; on a successful charge the
            # same field holds a risk reason, which is not a decline. (pyarrow is imported here:
            # decoding pages, which starts before the first answer, does not need it.)
            import pyarrow as pa
            import pyarrow.compute as pc

            failed = pc.equal(pa.array(self.values(("status",)), pa.string()), "failed")
            reasons = pa.array(self.values(("outcome", "reason")), pa.string())
            return pc.if_else(
                pc.fill_null(failed, False), reasons, pa.nulls(len(self), pa.string())
            )
        if column.name == "deleted":
            return [v is True for v in self.values(("deleted",))]
        raise KeyError(column.name)  # pragma: no cover - every derived column is handled above


def read_pages(kind: ObjectKind, pages: Sequence[bytes], *, metadata: bool = False) -> Records:
    """Decode raw list pages into the records of a chunk, holding only the declared fields
    (and, with ``metadata``, each record's metadata as raw JSON).

    Raises
    ------
    msgspec.ValidationError, msgspec.DecodeError
        When a page does not fit the declared shape; the caller then decodes it another way.
    """
    decode, types = decoder(kind, metadata=metadata)
    records: list[Any] = []
    for page in pages:
        body = decode.decode(page)
        if body.object not in ("list", "search_result"):
            raise msgspec.ValidationError(f"not a list page: object {body.object!r}")
        records.extend(body.data)
    return Records(kind, records, types)


__all__ = ["Records", "decoder", "paths", "read_pages"]
