"""Framing pages or records into one frame, and joining frames of one kind (cache, refresh).

:func:`frame_from_pages` decodes and frames pages a chunk at a time (msgspec records, or dicts
for a page that does not fit the declared shape, both through :mod:`._frames`) and joins the
chunks column by column at the end, freeing each chunk's column as it is joined; Arrow columns
are joined without a copy (one chunk each). :func:`concat_frames` and :func:`conform` keep dtypes
and canonical category order when frames are joined or read back.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa

from billing_kit.history import _structs
from billing_kit.history._frames import (
    _METADATA_DTYPE,
    CHUNK_ROWS,
    METADATA_JSON,
    Columns,
    Record,
    build_frame,
    decode,
    dict_columns,
    finish_frame,
    from_codes,
    gc_paused,
    struct_columns,
    value_columns,
)
from billing_kit.history._schema import Column, ObjectKind, schema


def _null_blobs(n: int) -> pd.api.extensions.ExtensionArray:
    return pd.arrays.ArrowExtensionArray(pa.nulls(n, pa.binary()))


def frame_from_pages(
    kind: ObjectKind,
    pages: Iterable[bytes | str | Record],
    *,
    keep_metadata: bool = True,
    chunk_rows: int = CHUNK_ROWS,
) -> pd.DataFrame:
    """Decode and frame many pages in chunks of ``chunk_rows`` records, then join the chunks.

    Only one chunk of decoded records is alive at a time, so a million charges need little more
    than the memory of the finished frame.
    """
    chunks: list[Columns] = []
    batch: list[Record] = []
    raw: list[bytes] = []
    raw_pages = max(chunk_rows // 100, 1)  # a list page holds up to 100 rows

    def flush_raw() -> None:
        try:
            values = _structs.read_pages(kind, raw, metadata=keep_metadata)
            chunks.append(value_columns(kind, values, metadata=keep_metadata))
            del values
            if len(chunks) % 10 == 0:
                _trim()  # every 50,000 rows: the heap stays near what the chunks hold
        except (msgspec.ValidationError, msgspec.DecodeError):
            # Not the declared shape (say, an expandable field expanded): decode as dicts.
            chunks.append(dict_columns(kind, decode(raw), keep_metadata=keep_metadata))
        raw.clear()

    with gc_paused():
        for page in pages:
            if isinstance(page, bytes):
                raw.append(page)
                if len(raw) >= raw_pages:
                    flush_raw()
                continue
            batch.extend(decode([page]))
            if len(batch) >= chunk_rows:
                chunks.append(dict_columns(kind, batch, keep_metadata=keep_metadata))
                batch = []
        if raw:
            flush_raw()
        if batch or not chunks:
            chunks.append(dict_columns(kind, batch, keep_metadata=keep_metadata))
    return join_columns(kind, chunks)


def frame_records(kind: ObjectKind, records: Sequence[Any]) -> pd.DataFrame:
    """The frame (with its internal ``_metadata`` column) of records as a pull holds them:
    msgspec records from :func:`._structs.decoder` with ``metadata=True``, and dicts (pages
    that did not fit the declared shape)."""
    chunks: list[Columns] = []
    structs = [r for r in records if type(r) is not dict]
    dicts = [r for r in records if type(r) is dict]
    with gc_paused():
        for start in range(0, len(structs), CHUNK_ROWS):
            part = structs[start : start + CHUNK_ROWS]
            chunks.append(struct_columns(kind, part, metadata=True))
        for start in range(0, len(dicts), CHUNK_ROWS):
            chunks.append(dict_columns(kind, dicts[start : start + CHUNK_ROWS], keep_metadata=True))
        if not chunks:
            chunks.append(dict_columns(kind, [], keep_metadata=True))
    return join_columns(kind, chunks)


def join_columns(kind: ObjectKind, chunks: list[Columns]) -> pd.DataFrame:
    """One frame of the columns of several chunks (the list is emptied): joined one column at a
    time, each chunk's piece dropped as soon as it is joined, so memory peaks at the chunks plus
    one column. Arrow columns are joined without a copy (one Arrow chunk each)."""
    parts = list(chunks)
    chunks.clear()
    declared = {column.name: column for column in schema(kind)}
    names = [column.name for column in schema(kind)]
    if any(METADATA_JSON in part for part in parts):
        names.append(METADATA_JSON)
    lengths = [len(part[names[0]]) for part in parts]
    columns: Columns = {}
    for name in names:
        pieces = [
            part.pop(name) if name in part else _null_blobs(n)
            for part, n in zip(parts, lengths, strict=True)
        ]
        columns[name] = pieces[0] if len(pieces) == 1 else concat_pieces(declared.get(name), pieces)
        del pieces
        _trim()
    return pd.DataFrame(columns, copy=False)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return cast(Callable[[int], int], ctypes.CDLL(None).malloc_trim)
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def _trim() -> None:
    """Give the heap pages freed while framing back to the system (glibc's ``malloc_trim``).

    A chunk's small arrays and temporaries interleave on the heap; freed, they stay resident
    unless trimmed: ~25 MB of a million-charge frame's peak. Nothing happens elsewhere.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def records_to_frame(
    kind: ObjectKind,
    records: Iterable[Record | bytes | str],
    *,
    tz: str | None = None,
    metadata: bool | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Typed frame of ``kind`` from API objects or raw pages: :func:`decode`, build, finish.

    Examples
    --------
    >>> frame = records_to_frame("refunds", [{"id": "re_1", "amount": 500, "currency": "jpy",
    ...                                         "created": 0, "status": "succeeded"}])
    >>> frame.loc[0, "amount"], str(frame.loc[0, "created"])
    (Decimal('500.000'), '1970-01-01 00:00:00+00:00')
    """
    frame = frame_from_pages(kind, records, keep_metadata=bool(metadata))
    return finish_frame(frame, kind, tz=tz, metadata=metadata)


def conform(kind: ObjectKind, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the declared columns, order and dtypes of ``kind`` (after parquet IO).

    Categories are put in their canonical order (fixed ones first, the rest sorted); the internal
    ``_metadata`` column is kept when present.
    """
    columns: dict[str, Any] = {}
    for column in schema(kind):
        series = frame[column.name]
        if column.kind == "category":
            if not isinstance(series.dtype, pd.CategoricalDtype):
                series = series.astype("category")
            order = category_order(column, (str(c) for c in series.cat.categories))
            series = series.cat.set_categories(order)
        elif series.dtype != column.dtype:
            series = series.astype(column.dtype)  # type: ignore[call-overload]
        columns[column.name] = series.array
    if METADATA_JSON in frame.columns:
        blobs = frame[METADATA_JSON]
        if blobs.dtype != _METADATA_DTYPE:
            blobs = blobs.astype(_METADATA_DTYPE)
        columns[METADATA_JSON] = blobs.array
    return pd.DataFrame(columns, copy=False)


def trim_categories(kind: ObjectKind, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with each category column listing only the values present (and the fixed
    ones), in canonical order: what a frame built from exactly these rows has, so a frame cut
    from the cache shows no phantom categories in ``value_counts()``."""
    out = frame.copy(deep=False)
    for column in schema(kind):
        if column.kind == "category":
            values = out[column.name].array
            present = values.categories[np.unique(values.codes[values.codes >= 0])]
            order = category_order(column, (str(c) for c in present))
            if list(values.categories) != order:
                out[column.name] = values.set_categories(order)
    return out


def concat_frames(
    kind: ObjectKind, frames: Sequence[pd.DataFrame], *, consume: bool = False
) -> pd.DataFrame:
    """Concatenate frames of one kind without losing a dtype.

    ``pd.concat`` turns categoricals with different categories into ``object``; here each category
    column first gets the union of the categories, in canonical order. Columns are joined one at a
    time; with ``consume`` the caller's list is emptied first and each piece let go as soon as its
    column is joined, so memory peaks at the frames plus one column rather than twice the frames
    (as long as the caller keeps no other reference to them).
    """
    if not frames:
        return build_frame(kind, [])
    # Each frame as its column arrays (no copy): once the frames themselves are let go, a
    # column popped from here is freed (deleting columns from a frame one by one costs pandas a
    # rebuild of its block layout each time, 40 ms for two 10,000-row parts).
    parts = [({name: frame[name].array for name in frame.columns}, len(frame)) for frame in frames]
    if consume and isinstance(frames, list):
        frames.clear()
    keep_metadata = any(METADATA_JSON in arrays for arrays, _ in parts)
    names = [column.name for column in schema(kind)]
    if keep_metadata:
        names.append(METADATA_JSON)
    declared = {column.name: column for column in schema(kind)}
    columns: dict[str, Any] = {}
    for name in names:
        pieces = [
            (arrays.pop(name) if consume else arrays[name]) if name in arrays else _null_blobs(rows)
            for arrays, rows in parts
        ]
        columns[name] = concat_pieces(declared.get(name), pieces)
        del pieces
    return pd.DataFrame(columns, copy=False)


def category_order(column: Column, seen: Iterable[str]) -> list[str]:
    """Fixed categories first (in their documented order), then the others sorted."""
    values = set(seen)
    if column.categories is None:
        return sorted(values)
    return list(column.categories) + sorted(values.difference(column.categories))


def concat_pieces(column: Column | None, pieces: list[Any]) -> Any:
    """One column from the arrays of several chunks, categories unified in canonical order."""
    if column is not None and column.kind == "category":
        order = category_order(column, {str(c) for p in pieces for c in p.categories})
        position = {value: i for i, value in enumerate(order)}
        # Each piece's codes mapped onto the joined categories (the last slot keeps -1 missing).
        codes = [
            np.array([position[str(c)] for c in p.categories] + [-1], dtype=np.int32)[p.codes]
            for p in pieces
        ]
        return from_codes(np.concatenate(codes) if codes else np.zeros(0, np.int32), order)
    return type(pieces[0])._concat_same_type(pieces)
