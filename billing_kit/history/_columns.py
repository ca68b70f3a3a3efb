"""Compiled route: decoded msgspec records -> one chunk of raw column buffers per declared column.

:mod:`._structs` decodes pages into records holding only the declared fields; the compiled
module :mod:`._gather` reads each field straight from its slot into numpy buffers. Together they
frame about three times as many charges per second as gathering the same records through Python
(figures in ``docs/history.md``). The chunks are appended to the final column buffers by
:class:`._joiner.Joiner`; category codes are numbered against the joiner's one
value -> code table per column, so no chunk needs remapping.

The compiled module is built by ``pip install`` (see ``setup.py``). Where it could not be built,
:data:`AVAILABLE` is false and frames go through the pure-Python route instead; both give the
same frame, and the tests hold them to that.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from billing_kit.history import _structs
from billing_kit.history._frames import METADATA_JSON
from billing_kit.history._schema import Column, ObjectKind, schema

_gather: ModuleType | None
try:
    from billing_kit.history import _gather
except ImportError:  # pragma: no cover - exercised only where no C compiler was available
    _gather = None

#: Whether frames go through the compiled module: it is importable (CI requires it) and
#: ``BILLING_KIT_PURE_PYTHON=1`` does not ask for the pure-Python route (to compare the two).
AVAILABLE = _gather is not None and os.environ.get("BILLING_KIT_PURE_PYTHON") != "1"


@dataclass(frozen=True)
class Values:
    """The values of one column of a chunk (numpy) and whether each is present."""

    data: Any
    valid: Any


class Numbers(Values):
    """Integers (or Unix seconds), 0 where missing."""


class Floats(Values):
    """Floats, 0.0 where missing."""


class Flags(Values):
    """Booleans, False where missing."""


@dataclass(frozen=True)
class Text:
    """Arrow string buffers: ``offsets`` (one more than the values), UTF-8 ``data``, ``valid``."""

    offsets: Any
    data: bytes
    valid: Any


@dataclass(frozen=True)
class Codes:
    """Category codes (-1 where missing) against the caller's value -> code table."""

    codes: Any


Chunk = Numbers | Floats | Flags | Text | Codes


@dataclass(frozen=True)
class _Leaf:
    levels: tuple[tuple[type, int], ...]
    ref: tuple[type, int] | None


def _leaf(kind: ObjectKind, path: tuple[str, ...], types: _structs.Types) -> _Leaf:
    assert _gather is not None
    levels = tuple(
        (cls, _gather.slot_offset(cls, key))
        for cls, key in ((types[(kind, *path[:i])], path[i]) for i in range(len(path)))
    )
    expanded = types.get((kind, *path))
    ref = (expanded, _gather.slot_offset(expanded, "id")) if expanded is not None else None
    return _Leaf(levels, ref)


@functools.cache
def _plan(kind: ObjectKind, metadata: bool = False) -> dict[tuple[str, ...], _Leaf]:
    _, types = _structs.decoder(kind, metadata=metadata)
    plan = {path: _leaf(kind, path, types) for path, _ in _structs.paths(kind)}
    if metadata:
        plan[("metadata",)] = _leaf(kind, ("metadata",), types)
    return plan


def gather(
    kind: ObjectKind,
    records: list[Any],
    seen: dict[str, dict[str, int]],
    *,
    metadata: bool = False,
) -> dict[str, Chunk]:
    """The raw buffers of every declared non-major column of ``records``, decoded by
    :func:`._structs.read_pages` with the same ``metadata``; ``seen`` holds each category
    column's value -> code table and gains the new values. With ``metadata`` the chunk also
    holds the internal ``_metadata`` column (raw JSON, missing where empty)."""
    assert _gather is not None
    plan = _plan(kind, metadata)
    n = len(records)
    chunks: dict[str, Chunk] = {}
    if metadata:
        offsets = np.empty(n + 1, np.int32)
        valid = np.empty(n, np.bool_)
        blobs = _gather.blobs(records, plan[("metadata",)].levels, offsets, valid.view(np.uint8))
        chunks[METADATA_JSON] = Text(offsets, blobs, valid)
    for column in schema(kind):
        if column.kind == "major":
            continue
        if not column.path:
            chunks[column.name] = _derived(column, plan, records, seen)
            continue
        leaf = plan[column.path]
        if column.kind in ("minor", "int", "timestamp"):
            data = np.empty(n, np.int64)
            valid = np.empty(n, np.bool_)
            _gather.integers(records, leaf.levels, data, valid.view(np.uint8))
            chunks[column.name] = Numbers(data, valid)
        elif column.kind == "float":
            data = np.empty(n, np.float64)
            valid = np.empty(n, np.bool_)
            _gather.floats(records, leaf.levels, data, valid.view(np.uint8))
            chunks[column.name] = Floats(data, valid)
        elif column.kind == "bool":
            chunks[column.name] = _flags(records, leaf)
        elif column.kind == "category":
            chunks[column.name] = _codes(records, leaf, seen.setdefault(column.name, {}))
        else:  # string, ref
            offsets = np.empty(n + 1, np.int32)
            valid = np.empty(n, np.bool_)
            text = _gather.strings(records, leaf.levels, leaf.ref, offsets, valid.view(np.uint8))
            chunks[column.name] = Text(offsets, text, valid)
    return chunks


def _flags(records: list[Any], leaf: _Leaf) -> Flags:
    assert _gather is not None
    n = len(records)
    data = np.empty(n, np.bool_)
    valid = np.empty(n, np.bool_)
    _gather.booleans(records, leaf.levels, data.view(np.uint8), valid.view(np.uint8))
    return Flags(data, valid)


def _codes(records: list[Any], leaf: _Leaf, seen: dict[str, int]) -> Codes:
    assert _gather is not None
    codes = np.empty(len(records), np.int32)
    _gather.codes(records, leaf.levels, leaf.ref, seen, codes)
    return Codes(codes)


def _derived(
    column: Column,
    plan: dict[tuple[str, ...], _Leaf],
    records: list[Any],
    seen: dict[str, dict[str, int]],
) -> Chunk:
    """The derived columns of ``_frames._DERIVED``, from the gathered fields they read."""
    if column.name == "deleted":
        # Stripe sends "deleted": true only on deleted objects; every other row is not deleted.
        flags = _flags(records, plan[("deleted",)])
        return Flags(flags.data, np.ones(len(records), np.bool_))
    if column.name == "decline_code":
        # The issuer's decline code is outcome.reason on a failed charge only; on a successful
        # charge the same field holds a risk reason, which is not a decline.
        statuses: dict[str, int] = {}
        status = _codes(records, plan[("status",)], statuses).codes
        reasons: dict[str, int] = {}
        reason = _codes(records, plan[("outcome", "reason")], reasons).codes
        failed = status == statuses.get("failed", -2)
        own = seen.setdefault(column.name, {})
        # Number only the reasons seen on failed rows, so no unused category appears.
        table = np.full(len(reasons) + 1, -1, np.int32)  # last slot: a missing reason
        for value, code in reasons.items():
            if np.any(failed & (reason == code)):
                table[code] = own.setdefault(value, len(own))
        return Codes(np.where(failed, table[reason], -1).astype(np.int32))
    raise KeyError(column.name)  # pragma: no cover - every derived column is handled above


__all__ = ["AVAILABLE", "Chunk", "Codes", "Flags", "Floats", "Numbers", "Text", "gather"]
