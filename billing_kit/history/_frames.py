"""The pure step of the history loaders: raw API records -> typed DataFrame, per :mod:`._schema`.

No IO here. Pages arrive as raw JSON (bytes) or as already-decoded dicts; :func:`decode` parses raw
pages (msgspec.json), and :func:`build_frame` builds each declared column (one Python list per
column, then one typed array) instead of going through ``pd.json_normalize``: several times
faster (figures in ``benchmarks/bench_history.py``). Raw pages are usually decoded by msgspec
instead (:mod:`._structs`): :func:`value_columns` converts the values gathered from those records
with the same :func:`typed_column`, so there is one conversion for both. Chunks are
joined into one frame by :mod:`._join`. The cyclic garbage collector is paused while
pages are decoded: the records hold no cycles, and its passes over millions of fresh dicts would
otherwise cost more than the decoding itself.

Money never passes through a float. The ``major`` decimal of each row is the minor-unit integer
scaled by ``10 ** (MAJOR_SCALE - exponent)`` in integer arithmetic and written straight into a
``decimal128`` buffer.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from billing_kit._money import currency_exponent
from billing_kit.history import _structs
from billing_kit.history._schema import (
    MAJOR_DTYPE,
    MAJOR_SCALE,
    METADATA_PREFIX,
    Column,
    ObjectKind,
    schema,
)

Record = Mapping[str, Any]
#: Internal column carrying each row's metadata as JSON, so metadata columns can be made on request
#: from a cached frame. Dropped by :func:`finish_frame`.
METADATA_JSON = "_metadata"
_METADATA_DTYPE = pd.ArrowDtype(pa.binary())
_EMPTY: dict[str, Any] = {}
#: Rows per chunk when framing many pages: bounds the memory held in Python dicts at once.
CHUNK_ROWS = 5_000
#: Arrow memory for frames comes from the C library's allocator: Arrow's default (mimalloc) kept
#: ~30 MB more resident per million charges, the small per-chunk arrays a frame is joined from
#: pinning its pages. Each array call below names this pool; no global setting is changed.
POOL = pa.system_memory_pool()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (API records hold no cycles; refcounting frees them)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def decode(pages: Iterable[bytes | bytearray | memoryview | str | Record]) -> list[Record]:
    """Parse raw pages into a flat list of API objects.

    Each page may be a list object (``{"object": "list", "data": [...]}``), a single API object, or
    either of those as raw JSON text or bytes (parsed with msgspec.json).

    Examples
    --------
    >>> decode([b'{"object":"list","data":[{"id":"ch_1"},{"id":"ch_2"}],"has_more":false}'])
    [{'id': 'ch_1'}, {'id': 'ch_2'}]
    """
    records: list[Record] = []
    for page in pages:
        obj = page if isinstance(page, Mapping) else msgspec.json.decode(page)
        data = obj.get("data")
        if obj.get("object") in ("list", "search_result") and isinstance(data, list):
            records.extend(data)
        else:
            records.append(obj)
    return records


def _values(
    records: Sequence[Record], path: tuple[str, ...], cache: dict[tuple[str, ...], list[Any]]
) -> list[Any]:
    """The value at ``path`` in each record; ``None`` where a level is missing or not expanded."""
    if path in cache:
        return cache[path]
    key = path[-1]
    parents = records if len(path) == 1 else _values(records, path[:-1], cache)
    try:
        # Fast path: Stripe sends every documented key, nulls included, so a plain item lookup
        # almost always works and runs at C speed.
        values = list(map(itemgetter(key), parents))
    except (KeyError, TypeError, IndexError):
        # A missing key, or a parent that is None or a bare id string (not expanded).
        values = [p.get(key) if type(p) is dict else None for p in parents]
    cache[path] = values
    return values


#: The values at a path, one per record (``None`` where a level is missing or not expanded).
Values = Callable[[tuple[str, ...]], Sequence[Any]]


def _decline_codes(values: Values) -> list[Any]:
    # Stripe puts the issuer's decline code in outcome.reason; on a successful charge the same field
    # holds a risk reason (e.g. elevated_risk_level), which is not a decline.
    statuses = values(("status",))
    reasons = values(("outcome", "reason"))
    return [r if s == "failed" else None for s, r in zip(statuses, reasons, strict=True)]


def _deleted(values: Values) -> list[Any]:
    # Stripe sends "deleted": true only on deleted objects; every other row is simply not deleted.
    return [v is True for v in values(("deleted",))]


_DERIVED: dict[str, Callable[[Values], list[Any]]] = {
    "decline_code": _decline_codes,
    "deleted": _deleted,
}


def _arrow(values: Sequence[Any], type_: pa.DataType) -> pa.Array:
    """Python values as an Arrow array of ``type_``."""
    return pa.array(values, type_, memory_pool=POOL)


def _strings(values: Any) -> pd.api.extensions.ExtensionArray:
    return pd.arrays.ArrowExtensionArray(_arrow(values, pa.string()))


def _refs(values: Any) -> pd.api.extensions.ExtensionArray:
    if dict in set(map(type, values)):
        values = [v["id"] if type(v) is dict else v for v in values]  # expanded objects
    return _strings(values)


def _categorical(values: Any, fixed: tuple[str, ...] | None) -> pd.Categorical:
    encoded = pc.dictionary_encode(_arrow(values, pa.string()), memory_pool=POOL)
    seen = encoded.dictionary.to_pylist()
    if fixed is None:
        categories = sorted(seen)
    else:
        # A value Stripe added after this schema was written is kept (appended), never NaN.
        categories = list(fixed) + sorted(set(seen).difference(fixed))
    position = {value: i for i, value in enumerate(categories)}
    remap = np.array([position[value] for value in seen] + [-1], dtype=np.int32)
    indices = pc.if_else(
        pc.is_null(encoded.indices), len(seen), encoded.indices, memory_pool=POOL
    ).to_numpy()
    return from_codes(remap[indices], categories)


@functools.lru_cache(maxsize=256)
def _category_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    # pandas checks the categories (an Index, a uniqueness test) each time a dtype is made:
    # ~0.7 ms, for every category column of every chunk, unless the dtype is made once.
    return pd.CategoricalDtype(list(categories))


def from_codes(codes: Any, categories: Sequence[str]) -> pd.Categorical:
    """A categorical of ``codes`` (``-1`` missing) over ``categories`` (unique, in order), with
    int16 codes unless there are more categories than they can number."""
    dtype = _category_dtype(tuple(categories))
    width = np.int16 if len(categories) <= np.iinfo(np.int16).max else np.int32
    result: pd.Categorical = pd.Categorical.from_codes(
        np.asarray(codes, dtype=width), dtype=dtype, validate=False
    )
    return result


def _integers(name: str, values: Any, bits: int) -> pd.api.extensions.ExtensionArray:
    array = _arrow(values, pa.int64())
    if bits == 64:
        return pd.arrays.ArrowExtensionArray(array)
    try:  # a safe cast: a value too wide for a narrow column raises instead of wrapping
        return pd.arrays.ArrowExtensionArray(array.cast(f"int{bits}", memory_pool=POOL))
    except pa.ArrowInvalid:
        limit = 2 ** (bits - 1)
        outside = pc.or_(pc.less(array, -limit), pc.greater_equal(array, limit))
        bad = array.filter(pc.fill_null(outside, False))[0].as_py()
        raise ValueError(
            f"column {name!r} holds {bad}, outside int{bits}: widen it in "
            "billing_kit/history/_schema.py (bits=64)"
        ) from None


def _booleans(values: Any) -> pd.api.extensions.ExtensionArray:
    return pd.arrays.ArrowExtensionArray(_arrow(values, pa.bool_()))


def _floats(values: Any) -> pd.arrays.FloatingArray:
    array = _arrow(values, pa.float64())
    data = pc.coalesce(array, 0.0, memory_pool=POOL).to_numpy(zero_copy_only=False, writable=True)
    mask = array.is_null().to_numpy(zero_copy_only=False)
    return pd.arrays.FloatingArray(data, mask)


def _timestamps(values: Any) -> Any:
    array = _arrow(values, pa.int64())
    seconds = pc.coalesce(array, 0, memory_pool=POOL).to_numpy(zero_copy_only=False)
    nanos = (seconds * 1_000_000_000).view("datetime64[ns]")
    nanos[array.is_null().to_numpy(zero_copy_only=False)] = np.datetime64("NaT")
    return pd.DatetimeIndex(nanos).tz_localize("UTC").array


def _scale_factors(categories: Iterable[Any]) -> Any:
    """Per currency category, ``10 ** (MAJOR_SCALE - exponent)``; a last 0 for a missing one."""
    codes = [str(code) for code in categories]
    factors = np.zeros(len(codes) + 1, dtype=np.int64)  # last slot: code -1
    for i, code in enumerate(codes):
        exponent = currency_exponent(code)
        if not 0 <= exponent <= MAJOR_SCALE:
            raise ValueError(
                f"currency {code!r} has {exponent} decimals; history frames hold at most "
                f"{MAJOR_SCALE}: raise MAJOR_SCALE in billing_kit/history/_schema.py"
            )
        factors[i] = 10 ** (MAJOR_SCALE - exponent)
    return factors


#: Rows converted at a time by :func:`major_units`: bounds its temporary arrays.
_MAJOR_BLOCK = 1 << 16


def _int64_view(minor: Any) -> tuple[Any, Callable[[int, int], Any]]:
    """The int64 values of a minor-unit column, read in place where they are int64 already, and
    a function giving the presence of rows ``[start, stop)`` as numpy bools (unpacked from the
    validity bitmap, so no Arrow allocation is made: its pool would keep the memory)."""
    array: Any = minor
    if isinstance(minor, pd.arrays.ArrowExtensionArray):
        array = minor.__arrow_array__()
        if isinstance(array, pa.ChunkedArray):
            array = array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()
    if isinstance(array, pa.Array) and array.type == pa.int64() and len(array):
        first, n = array.offset, len(array)
        bitmap, data = array.buffers()
        values = np.frombuffer(data, dtype=np.int64)[first : first + n]
        if bitmap is None or array.null_count == 0:
            return values, lambda start, stop: np.ones(stop - start, dtype=np.bool_)
        bits = np.frombuffer(bitmap, dtype=np.uint8)

        def present(start: int, stop: int) -> Any:
            lo, hi = first + start, first + stop
            unpacked = np.unpackbits(bits[lo // 8 : (hi + 7) // 8], bitorder="little")
            return unpacked[lo % 8 : lo % 8 + hi - lo].astype(np.bool_)

        return values, present
    values = np.asarray(pd.array(minor, dtype="Int64").to_numpy(dtype=np.int64, na_value=0))
    missing = np.asarray(pd.isna(minor))
    return values, lambda start, stop: ~missing[start:stop]


def major_units(
    minor: pd.api.extensions.ExtensionArray, currencies: pd.Categorical
) -> pd.api.extensions.ExtensionArray:
    """Exact major-unit decimals from minor-unit integers and each row's currency.

    Examples
    --------
    >>> import pandas as pd
    >>> minor = pd.array([500, 1234, 1230, None], dtype="int64[pyarrow]")
    >>> list(major_units(minor, pd.Categorical(["jpy", "usd", "kwd", "usd"])))
    [Decimal('500.000'), Decimal('12.340'), Decimal('1.230'), <NA>]
    """
    n = len(minor)
    table = _scale_factors(currencies.categories)
    codes = currencies.codes
    # decimal128 stores each value as a little-endian 128-bit integer: the low word is the scaled
    # amount, the high word its sign extension. Filled a block at a time, so that a million rows
    # need no million-row temporaries.
    words = np.empty((n, 2), dtype=np.int64)
    # The validity bitmap (Arrow's: bit i of byte i // 8, least significant first), packed a
    # block at a time; blocks are a multiple of 8 rows, so each fills whole bytes.
    bitmap = np.empty((n + 7) // 8, dtype=np.uint8)
    nulls = 0
    amounts, present = _int64_view(minor)
    for start in range(0, n, _MAJOR_BLOCK):
        stop = min(start + _MAJOR_BLOCK, n)
        block_codes = codes[start:stop]
        low = words[start:stop, 0]
        # Values under a null are whatever the buffer holds: the validity below hides them.
        np.multiply(amounts[start:stop], table[block_codes], out=low)
        np.right_shift(low, 63, out=words[start:stop, 1])  # sign extension: -1 or 0
        valid = present(start, stop) & (block_codes >= 0)
        nulls += len(valid) - int(np.count_nonzero(valid))
        bitmap[start // 8 : (stop + 7) // 8] = np.packbits(valid, bitorder="little")
    array = pa.Array.from_buffers(
        MAJOR_DTYPE.pyarrow_dtype,
        n,
        [pa.py_buffer(bitmap) if nulls else None, pa.py_buffer(words)],
        null_count=nulls,
    )
    return pd.arrays.ArrowExtensionArray(array)


def build_frame(
    kind: ObjectKind, records: Sequence[Record], *, keep_metadata: bool = True
) -> pd.DataFrame:
    """Build the declared frame of ``kind`` from API objects (dicts), one typed column at a time.

    With ``keep_metadata`` the frame carries an internal ``_metadata`` column (JSON bytes per row)
    that :func:`finish_frame` turns into ``metadata.<key>`` columns on request.
    """
    return pd.DataFrame(dict_columns(kind, records, keep_metadata=keep_metadata), copy=False)


Columns = dict[str, Any]


def dict_columns(kind: ObjectKind, records: Sequence[Record], *, keep_metadata: bool) -> Columns:
    """The columns of :func:`build_frame` (name -> pandas array), not yet a frame."""
    cache: dict[tuple[str, ...], list[Any]] = {}
    with gc_paused():
        columns = typed_columns(kind, lambda path: _values(records, path, cache))
        if keep_metadata:
            metadata = _values(records, ("metadata",), cache)
            columns[METADATA_JSON] = pd.arrays.ArrowExtensionArray(
                pa.array([msgspec.json.encode(m) if m else None for m in metadata], pa.binary())
            )
    return columns


def typed_columns(kind: ObjectKind, values: Values) -> Columns:
    """Every declared column of ``kind``, typed, from the values at each path."""
    columns: Columns = {}
    for column in schema(kind):
        if column.kind == "major":
            columns[column.name] = major_units(columns[column.minor], columns[column.currency])
        elif column.path:
            columns[column.name] = typed_column(column, values(column.path))
        else:
            columns[column.name] = typed_column(column, _DERIVED[column.name](values))
    return columns


def typed_column(column: Column, values: Any) -> Any:
    """The pandas array of a declared (non-major) column from its Python values."""
    if column.kind == "string":
        return _strings(values)
    if column.kind == "ref":
        return _refs(values)
    if column.kind == "category":
        return _categorical(values, column.categories)
    if column.kind in ("minor", "int"):
        return _integers(column.name, values, column.bits)
    if column.kind == "bool":
        return _booleans(values)
    if column.kind == "timestamp":
        return _timestamps(values)
    return _floats(values)


def _build_from_structs(kind: ObjectKind, pages: Sequence[bytes]) -> pd.DataFrame:
    """The frame of raw pages decoded by msgspec (:func:`._structs.read_pages`), no metadata."""
    return pd.DataFrame(value_columns(kind, _structs.read_pages(kind, pages)), copy=False)


def struct_columns(kind: ObjectKind, records: list[Any], *, metadata: bool) -> Columns:
    """The columns (name -> pandas array) of msgspec records from :func:`._structs.decoder`
    (decoded with the same ``metadata``)."""
    values = _structs.gather(kind, records, metadata=metadata)
    return value_columns(kind, values, metadata=metadata)


def value_columns(kind: ObjectKind, values: _structs.Values, *, metadata: bool = False) -> Columns:
    """The columns (name -> pandas array) of the values :mod:`._structs` gathered from msgspec
    records, converted by :func:`typed_column` exactly as dicts are; with ``metadata`` the
    internal ``_metadata`` column holds each record's raw metadata JSON (missing where absent,
    ``null`` or ``{}``)."""
    with gc_paused():
        columns = typed_columns(kind, values.__getitem__)
        if metadata:
            blobs = list(map(_blob, values[("metadata",)]))
            columns[METADATA_JSON] = pd.arrays.ArrowExtensionArray(
                pa.array(blobs, pa.binary(), memory_pool=POOL)
            )
    return columns


_EMPTY_JSON = (b"", b"null", b"{}")


def _blob(raw: Any) -> bytes | None:
    """Raw metadata JSON as bytes, ``None`` where it is nothing, ``null`` or an empty object."""
    text = bytes(raw)
    if len(text) > 2 and text[:1] == b"{" and text[1:2] == b'"':
        return text  # compact and not empty: the common case, decided without stripping
    stripped = text.strip()
    if stripped in _EMPTY_JSON or (stripped[:1] == b"{" and stripped[1:-1].strip() == b""):
        return None
    return text


def finish_frame(
    frame: pd.DataFrame,
    kind: ObjectKind,
    *,
    tz: str | None = None,
    metadata: bool | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Apply the caller's presentation options to a built frame.

    ``tz`` converts every timestamp column to that time zone; ``metadata=["order_id"]`` adds a
    ``metadata.order_id`` column (``<NA>`` where unset), ``metadata=True`` one column per key seen,
    in sorted order. The internal ``_metadata`` column is dropped.
    """
    out = frame.drop(columns=[METADATA_JSON], errors="ignore")
    if tz is not None:
        for column in schema(kind):
            if column.kind == "timestamp":
                out[column.name] = out[column.name].dt.tz_convert(tz)
    if metadata and METADATA_JSON in frame.columns:
        blobs = frame[METADATA_JSON].array
        parsed = [
            msgspec.json.decode(b) if b is not None and b is not pd.NA else _EMPTY for b in blobs
        ]
        if metadata is True:
            keys: list[str] = sorted({key for m in parsed for key in m})
        else:
            keys = list(metadata)
        extra = {METADATA_PREFIX + key: _strings([m.get(key) for m in parsed]) for key in keys}
        out = pd.concat([out, pd.DataFrame(extra, index=out.index)], axis=1)
    elif metadata and metadata is not True:
        for key in metadata:
            out[METADATA_PREFIX + key] = _strings([None] * len(out))
    return out
