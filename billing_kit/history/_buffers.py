"""Growable numpy buffers: join framed chunks of columns without a second copy.

Framing a million charges in chunks and concatenating the chunks at the end needs the chunks and
the joined column at once. Appending each chunk to one buffer per column as soon as it is framed
frees the chunk while the next one reuses its memory.

Each buffer is an anonymous memory map that doubles when full. On Linux ``mmap.resize`` is
``mremap``: the pages move without a copy, and pages never written are never resident, so a
buffer holding 9 MB occupies 9 MB however large it has grown (``ndarray.resize`` zero-fills the
new half, which made a million charges cost 1.3x their frame). Where a map cannot be resized,
growing falls back to a new map and one copy.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np
import pyarrow as pa

#: Rows of a new buffer; it doubles when full.
FIRST_CAPACITY = 1 << 16


def _anonymous(nbytes: int) -> mmap.mmap:
    # Private: a shared anonymous map is backed by a memory file of its first size, and pages
    # past that size raise SIGBUS after a resize.
    return mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)


class GrowingArray:
    """A one-dimensional numpy buffer that values are appended to.

    Examples
    --------
    >>> buffer = GrowingArray(np.int64)
    >>> buffer.extend(np.array([1, 2])); buffer.extend(np.array([3]))
    >>> buffer.finish().tolist()
    [1, 2, 3]
    """

    def __init__(self, dtype: Any) -> None:
        self._dtype = np.dtype(dtype)
        self._map: mmap.mmap | None = None
        self._data: Any = np.empty(0, dtype=self._dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def dtype(self) -> Any:
        return self._dtype

    def astype(self, dtype: Any) -> GrowingArray:
        """A buffer of ``dtype`` holding the values appended so far; this one is spent."""
        wider = GrowingArray(dtype)
        wider.extend(self.finish())
        return wider

    def extend(self, values: Any) -> None:
        """Append ``values`` (a numpy array of the buffer's dtype or castable to it)."""
        end = self._size + len(values)
        if end > len(self._data):
            capacity = max(FIRST_CAPACITY, len(self._data))
            while capacity < end:
                capacity *= 2
            self._resize(capacity)
        self._data[self._size : end] = values
        self._size = end

    def _resize(self, capacity: int) -> None:
        nbytes = max(capacity, 1) * self._dtype.itemsize
        self._data = None  # the map cannot be resized while a view of it exists
        if self._map is None:
            self._map = _anonymous(nbytes)
        else:
            try:
                self._map.resize(nbytes)
            except (OSError, SystemError, TypeError, ValueError):  # no mremap: copy once
                old = self._map
                self._map = _anonymous(nbytes)
                kept = min(len(old), nbytes)
                self._map[:kept] = old[:kept]
                old.close()
        self._data = np.frombuffer(self._map, dtype=self._dtype, count=capacity)

    def finish(self) -> Any:
        """The values appended so far, as a writable array of exactly that length; the buffer
        is spent."""
        if self._map is None:
            return np.empty(0, dtype=self._dtype)
        if len(self._data) > self._size:
            self._resize(self._size)  # gives the unused tail back
        data = self._data[: self._size]
        self._map = None
        self._data = np.empty(0, dtype=self._dtype)
        self._size = 0
        return data


#: Bytes of text in one Arrow string chunk: its 32-bit offsets must stay below 2**31.
MAX_CHUNK_BYTES = 1 << 30


class GrowingStrings:
    """Arrow string (or binary) arrays appended into one offsets buffer and one data buffer.

    Examples
    --------
    >>> import pyarrow as pa
    >>> text = GrowingStrings()
    >>> text.extend(pa.array(["a", None])); text.extend(pa.array(["bc"]).slice(0))
    >>> text.finish().to_pylist()
    ['a', None, 'bc']
    """

    def __init__(self, type_: pa.DataType | None = None) -> None:
        self.type = type_ or pa.string()  # string or binary: the same buffers
        self._sealed: list[pa.Array] = []
        self._start()

    def _start(self) -> None:
        self._offsets = GrowingArray(np.int32)
        self._offsets.extend(np.zeros(1, dtype=np.int32))
        self._data = GrowingArray(np.uint8)
        self._valid = GrowingArray(np.bool_)

    def extend(self, values: pa.Array | pa.ChunkedArray) -> None:
        """Append the values of ``values`` (of this type, any offset, chunked or not)."""
        chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
        for chunk in chunks:
            n = len(chunk)
            if not n:
                continue
            _, offsets_buffer, data_buffer = chunk.buffers()
            offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[chunk.offset :][: n + 1]
            first, last = int(offsets[0]), int(offsets[-1])
            if len(self._data) + last - first >= MAX_CHUNK_BYTES:
                self._seal()
            base = len(self._data)
            self._offsets.extend(offsets[1:] - first + base)
            if data_buffer is not None:
                self._data.extend(np.frombuffer(data_buffer, dtype=np.uint8)[first:last])
            self._valid.extend(chunk.is_valid().to_numpy(zero_copy_only=False))

    def extend_raw(self, offsets: Any, data: bytes, valid: Any) -> None:
        """Append strings given as Arrow buffers: ``offsets`` (int32, one more than the values,
        starting at 0), UTF-8 ``data`` and a boolean ``valid`` per value."""
        if not len(valid):
            return
        if len(self._data) + len(data) >= MAX_CHUNK_BYTES:
            self._seal()
        self._offsets.extend(offsets[1:] + len(self._data))
        self._data.extend(np.frombuffer(data, dtype=np.uint8))
        self._valid.extend(valid)

    def _seal(self) -> None:
        n = len(self._valid)
        if n:
            valid = self._valid.finish()
            nulls = int(n - valid.sum())
            self._sealed.append(
                pa.Array.from_buffers(
                    self.type,
                    n,
                    [
                        pa.array(valid).buffers()[1] if nulls else None,
                        pa.py_buffer(self._offsets.finish()),
                        pa.py_buffer(self._data.finish()),
                    ],
                    null_count=nulls,
                )
            )
        self._start()

    def finish(self) -> pa.ChunkedArray:
        """Everything appended, as one chunk per 1 GiB of text; the buffer is spent."""
        self._seal()
        sealed, self._sealed = self._sealed, []
        return pa.chunked_array(sealed, self.type)


__all__ = ["GrowingArray", "GrowingStrings"]
