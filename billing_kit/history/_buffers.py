"""Growable numpy buffers: join framed chunks of numeric columns without a second copy.

Framing a million charges in chunks and concatenating the chunks at the end needs the chunks and
the joined column at once, and the freed chunk pieces, scattered among other live allocations,
mostly stay in the process (its peak RSS grew by 1.5x the frame). Appending each chunk to one
buffer per column as soon as it is framed frees the piece while the next chunk reuses its memory.
The buffer grows and is finally cut to size with ``ndarray.resize``, a ``realloc``: large
buffers are remapped by the kernel rather than copied, and pages never written are never resident.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Rows of a new buffer; it doubles when full.
FIRST_CAPACITY = 1 << 16


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
        self._data: Any = np.empty(0, dtype=dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def extend(self, values: Any) -> None:
        """Append ``values`` (a numpy array of the buffer's dtype or castable to it)."""
        end = self._size + len(values)
        if end > len(self._data):
            capacity = max(FIRST_CAPACITY, len(self._data))
            while capacity < end:
                capacity *= 2
            # refcheck=False: the buffer is never handed out before finish(), so no view exists.
            self._data.resize(capacity, refcheck=False)
        self._data[self._size : end] = values
        self._size = end

    def finish(self) -> Any:
        """The values appended so far, as an array of exactly that length; the buffer is spent."""
        data = self._data
        self._data = np.empty(0, dtype=data.dtype)
        data.resize(self._size, refcheck=False)
        self._size = 0
        return data


__all__ = ["GrowingArray"]
