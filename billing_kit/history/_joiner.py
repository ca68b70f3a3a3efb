"""The joiner: framed chunks appended as they come into one buffer per column, then one frame.

Chunks arrive as pandas frames (the dict route, :mod:`._frames`) or as raw column buffers (the
compiled route, :mod:`._columns`). Numbers, masks, timestamps, text and booleans are appended to
growing buffers (:mod:`._buffers`) and each chunk's arrays are freed at once; categories are
kept as codes against one value -> code table per column; decimals are computed once at the
end, from the joined amounts and currencies. So a million charges need little more than the
memory of the finished frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from billing_kit.history import _columns
from billing_kit.history._buffers import GrowingArray, GrowingStrings
from billing_kit.history._frames import _METADATA_DTYPE, METADATA_JSON, build_frame, major_units
from billing_kit.history._schema import (
    BOOL_DTYPE,
    INT_DTYPES,
    STRING_DTYPE,
    Column,
    ObjectKind,
    schema,
)

#: Stands for the internal metadata column where a declared column is looked up.
_METADATA_COLUMN = Column(METADATA_JSON, "string", "metadata of the row as JSON (internal)")


class Joiner:
    """Joins framed chunks as they come: numeric and text columns are appended to growing
    buffers (the chunk's arrays are freed at once), categoricals as codes against one category
    list, decimals are computed once at the end; the others (flags, metadata) are kept as pieces
    and joined at the end."""

    def __init__(self, kind: ObjectKind) -> None:
        self.kind = kind
        self.first: pd.DataFrame | None = None
        self.numbers: dict[str, tuple[GrowingArray, GrowingArray | None]] = {}
        self.texts: dict[str, GrowingStrings] = {}
        self.codes: dict[str, tuple[dict[str, int], GrowingArray]] = {}
        self.pieces: dict[str, list[Any]] = {}
        self.flags: dict[str, tuple[GrowingArray, GrowingArray]] = {}
        self.lengths: list[int] = []
        self.majors = {column.name for column in schema(kind) if column.kind == "major"}

    def add(self, chunk: pd.DataFrame) -> None:
        if self.first is None and not self.lengths:
            self.first = chunk  # while there is one chunk only, it is kept as it is
            return
        if self.first is not None:
            first, self.first = self.first, None
            self._append(first)
        self._append(chunk)

    def add_gathered(self, chunks: dict[str, _columns.Chunk], n: int) -> None:
        """Append the raw buffers of one chunk of ``n`` rows (from :func:`._columns.gather`)."""
        if self.first is not None:
            first, self.first = self.first, None
            self._append(first)
        declared = {column.name: column for column in schema(self.kind)}
        # Check narrow integers first: a value out of range fails here, before any column grew.
        for name, chunk in chunks.items():
            if isinstance(chunk, _columns.Numbers) and declared[name].bits != 64:
                _check_fits(name, chunk, _numpy_width(declared[name].bits))
        for name, chunk in chunks.items():
            column = declared.get(name, _METADATA_COLUMN)
            if isinstance(chunk, _columns.Codes):
                self._codes_fitting(name).extend(chunk.codes)
            elif isinstance(chunk, _columns.Text):
                self._text(name).extend_raw(chunk.offsets, chunk.data, chunk.valid)
            elif isinstance(chunk, _columns.Numbers) and column.kind == "timestamp":
                if name not in self.numbers:
                    self._check_first(name)
                    self.numbers[name] = (GrowingArray(np.int64), None)
                nanos = chunk.data * 1_000_000_000
                nanos[~chunk.valid] = np.iinfo(np.int64).min  # NaT
                self.numbers[name][0].extend(nanos)
            elif isinstance(chunk, _columns.Numbers):
                if name not in self.numbers:
                    self._check_first(name)
                    width = _numpy_width(column.bits)
                    self.numbers[name] = (GrowingArray(width), GrowingArray(np.bool_))
                data, valid = self.numbers[name]
                assert valid is not None  # only timestamps have none
                data.extend(chunk.data)
                valid.extend(chunk.valid)
            elif isinstance(chunk, _columns.Floats):
                self._append_piece(name, pd.arrays.FloatingArray(chunk.data, ~chunk.valid))
            else:
                self._append_flags(name, chunk.data, chunk.valid)
        self.lengths.append(n)

    def _append_flags(self, name: str, data: Any, valid: Any) -> None:
        if name not in self.flags:
            self._check_first(name)
            self.flags[name] = (GrowingArray(np.bool_), GrowingArray(np.bool_))
        self.flags[name][0].extend(data)
        self.flags[name][1].extend(valid)

    def _text(self, name: str) -> GrowingStrings:
        if name not in self.texts:
            self._check_first(name)
            binary = name == METADATA_JSON
            self.texts[name] = GrowingStrings(pa.binary() if binary else pa.string())
        return self.texts[name]

    def seen(self) -> dict[str, dict[str, int]]:
        """The value -> code table of each category column, for :func:`._columns.gather`."""
        for column in schema(self.kind):
            if column.kind == "category" and column.name not in self.codes:
                self._check_first(column.name)
                self.codes[column.name] = ({}, GrowingArray(np.int8))
        return {name: seen for name, (seen, _) in self.codes.items()}

    def _append_piece(self, name: str, array: Any) -> None:
        if name not in self.pieces:
            self._check_first(name)
        self.pieces.setdefault(name, []).append(array)

    def _append(self, chunk: pd.DataFrame) -> None:
        n = len(chunk)
        for name in chunk.columns:
            array: Any = chunk[name].array
            if name in self.majors:
                continue  # computed once from the joined columns: no pieces to keep
            if isinstance(array, pd.arrays.DatetimeArray) or _is_integer(array):
                self._append_numbers(name, array)
            elif isinstance(array, pd.Categorical):
                self._append_codes(name, array)
            elif array.dtype in (STRING_DTYPE, _METADATA_DTYPE):
                self._text(name).extend(array.__arrow_array__())
            elif array.dtype == BOOL_DTYPE:
                valid = ~array.isna()
                self._append_flags(name, array.to_numpy(dtype=np.bool_, na_value=False), valid)
            else:
                self._append_piece(name, array)
        self.lengths.append(n)

    def _check_first(self, name: str) -> None:
        if self.lengths:  # pragma: no cover - every chunk has the declared columns
            raise ValueError(f"column {name!r} is missing from earlier chunks")

    def _append_codes(self, name: str, array: pd.Categorical) -> None:
        # Codes are kept against one category list per column (in order seen), so no chunk's
        # Categorical stays alive; the canonical order is applied once at the end.
        if name not in self.codes:
            self._check_first(name)
            self.codes[name] = ({}, GrowingArray(np.int8))
        seen = self.codes[name][0]
        remap = [seen.setdefault(str(value), len(seen)) for value in array.categories]
        codes = self._codes_fitting(name)
        table = np.array([*remap, -1], dtype=codes.dtype)  # code -1 (missing) stays -1
        codes.extend(table[array.codes])

    def _codes_fitting(self, name: str) -> GrowingArray:
        """The codes buffer of ``name``, widened if its table has outgrown the codes' width.

        Codes start as int8, as pandas keeps them for up to 127 categories: a wider buffer
        would cost a second copy when the frame is finished."""
        seen, codes = self.codes[name]
        if len(seen) > np.iinfo(codes.dtype).max:
            codes = codes.astype(np.int16 if len(seen) <= np.iinfo(np.int16).max else np.int32)
            self.codes[name] = (seen, codes)
        return codes

    def _finish_codes(self, column: Column) -> pd.Categorical:
        seen, codes = self.codes.pop(column.name)
        order = category_order(column, seen)
        position = {value: i for i, value in enumerate(order)}
        table = np.array([position[value] for value in seen] + [-1], dtype=codes.dtype)
        categorical: pd.Categorical = pd.Categorical.from_codes(
            table[codes.finish()], categories=cast(Any, order), validate=False
        )
        return categorical

    def _append_numbers(self, name: str, array: Any) -> None:
        if name not in self.numbers:
            self._check_first(name)
            if isinstance(array, pd.arrays.DatetimeArray):
                self.numbers[name] = (GrowingArray(np.int64), None)
            else:
                self.numbers[name] = (GrowingArray(array.dtype.numpy_dtype), GrowingArray(np.bool_))
        data, valid = self.numbers[name]
        if valid is None:
            data.extend(array.asi8)
        else:
            data.extend(array.to_numpy(dtype=array.dtype.numpy_dtype, na_value=0))
            valid.extend(~array.isna())

    def frame(self) -> pd.DataFrame:
        if self.first is not None:
            return self.first
        if not self.lengths:
            return build_frame(self.kind, [])
        declared = {column.name: column for column in schema(self.kind)}
        names = [c.name for c in schema(self.kind)]
        if METADATA_JSON in self.texts:
            names.append(METADATA_JSON)
        columns: dict[str, Any] = {}
        # Decimals last: the other columns have shrunk to their final size by then.
        for name in sorted(names, key=lambda n: n in self.majors):
            column = declared.get(name)
            if column is not None and column.kind == "major":
                columns[name] = major_units(columns[column.minor], columns[column.currency])
            elif name in self.numbers:
                data, valid = self.numbers.pop(name)
                if valid is None:
                    # Localizing copies; the naive buffer goes at once, not at the end.
                    columns[name] = _utc(data.finish())
                else:
                    assert column is not None  # only declared columns are integers
                    type_ = INT_DTYPES[column.bits].pyarrow_dtype
                    columns[name] = _arrow_column(type_, data.finish(), valid.finish())
            elif name in self.codes:
                assert column is not None  # only declared columns are categorical
                columns[name] = self._finish_codes(column)
            elif name in self.texts:
                text = self.texts.pop(name).finish()
                columns[name] = pd.arrays.ArrowExtensionArray(text)
            elif name in self.flags:
                data, valid = (buffer.finish() for buffer in self.flags.pop(name))
                bits = np.packbits(data, bitorder="little")
                columns[name] = _arrow_column(pa.bool_(), bits, valid)
            else:
                columns[name] = concat_pieces(column, self.pieces.pop(name))
        return pd.DataFrame({name: columns[name] for name in names}, copy=False)


def _check_fits(name: str, chunk: _columns.Numbers, width: np.dtype[Any]) -> None:
    """Refuse integers that the column's narrow type cannot hold (instead of wrapping them)."""
    values = chunk.data[chunk.valid]
    limits = np.iinfo(width)
    if values.size and (values.min() < limits.min or values.max() > limits.max):
        bad = values[(values < limits.min) | (values > limits.max)][0]
        raise ValueError(
            f"column {name!r} holds {int(bad)}, outside {width.name}: widen it in "
            "billing_kit/history/_schema.py (bits=64)"
        )


def _arrow_column(type_: pa.DataType, data: Any, valid: Any) -> pd.api.extensions.ExtensionArray:
    """An Arrow column of ``type_`` over the numpy ``data`` (integers, or booleans packed into
    bits), without a copy; ``valid`` (one bool per value) becomes its validity bitmap."""
    nulls = len(valid) - int(np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    array = pa.Array.from_buffers(type_, len(valid), [bitmap, pa.py_buffer(data)], null_count=nulls)
    return pd.arrays.ArrowExtensionArray(array)


def _numpy_width(bits: int) -> np.dtype[Any]:
    width: np.dtype[Any] = np.dtype(f"int{bits}")
    return width


def _is_integer(array: Any) -> bool:
    dtype = getattr(array, "dtype", None)
    return isinstance(dtype, pd.ArrowDtype) and pa.types.is_integer(dtype.pyarrow_dtype)


def _utc(nanos: Any) -> Any:
    return pd.DatetimeIndex(nanos.view("datetime64[ns]")).tz_localize("UTC").array


def category_order(column: Column, seen: Iterable[str]) -> list[str]:
    values = set(seen)
    if column.categories is None:
        return sorted(values)
    return list(column.categories) + sorted(values.difference(column.categories))


def concat_pieces(column: Column | None, pieces: list[Any]) -> Any:
    """One column from the arrays of several chunks, categories unified in canonical order."""
    if column is not None and column.kind == "category":
        order = category_order(column, {str(c) for p in pieces for c in p.categories})
        pieces = [p.set_categories(order) for p in pieces]
    return type(pieces[0])._concat_same_type(pieces)


__all__ = ["Joiner", "category_order", "concat_pieces"]
