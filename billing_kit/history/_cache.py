"""The local history cache: one parquet file per object kind, a state file, and a pull journal.

Layout under ``client.home / "cache" / client.cache_namespace``::

    charges.parquet          every charge pulled so far, typed as in _schema (plus _metadata JSON)
    charges.state.json       covered created-range, change-feed cursors, and the unfinished pull
    charges.parts/           one parquet file per flush of finished slices of the unfinished pull

Writes never leave a half-written file: everything goes to a temporary file in the same folder and
is moved into place with :func:`os.replace` (atomic on POSIX and Windows). The main parquet file is
only replaced once a pull has finished, so a failed pull leaves the cache as it was; the journal of
finished slices lets the next call resume where the failed or interrupted one stopped.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock
import msgspec

from billing_kit.history._schema import ObjectKind, schema

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from billing_kit._client import Client

# pandas, pyarrow and numpy are imported by the functions that read or write frames: the state
# (a JSON file) and the lock are all a pull needs before its first request.

#: 2: coverage never reaches past the pull's start minus the consistency margin; caches written
#: by version 1 could claim the future (tomorrow 00:00 for ``until=today``) and are re-pulled.
STATE_VERSION = 2
Range = tuple[int, int]


@dataclass
class PullJournal:
    """An unfinished pull: what it set out to cover, what is done, and where the done rows are.

    ``settled`` is the latest created-time the pull may mark covered: the start of the earliest
    call that worked on it, minus the list consistency margin (a resumed pull read some slices
    back then).
    """

    plan: list[Range] = field(default_factory=list)
    finished: list[Range] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    settled: int = 0

    def remaining(self) -> list[Range]:
        """The planned ranges minus the finished ones, merged and in ascending order."""
        return subtract(merge(self.plan), merge(self.finished))


@dataclass
class CacheState:
    """Created-ranges the cache holds completely, change-feed cursors, the unfinished pull.

    All times are Unix seconds; ranges are half-open ``[lo, hi)``.
    """

    covered: list[Range] = field(default_factory=list)
    bt_cursor: int | None = None
    events_cursor: int | None = None
    pull: PullJournal | None = None
    version: int = STATE_VERSION

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CacheState:
        pull = data.get("pull")
        journal = None
        if pull:
            journal = PullJournal(
                plan=[(int(a), int(b)) for a, b in pull["plan"]],
                finished=[(int(a), int(b)) for a, b in pull["finished"]],
                parts=list(pull["parts"]),
                settled=int(pull.get("settled", 0)),
            )
        covered = [(int(a), int(b)) for a, b in data.get("covered", [])]
        return cls(
            covered=covered,
            bt_cursor=data.get("bt_cursor"),
            events_cursor=data.get("events_cursor"),
            pull=journal,
        )


class HistoryCache:
    """The cache of one object kind for one account, mode and base URL.

    Parameters
    ----------
    folder
        ``client.home / "cache" / client.cache_namespace``.
    kind
        Object kind (``"charges"``, ...).
    """

    def __init__(self, folder: Path, kind: ObjectKind) -> None:
        self.folder = folder
        self.kind = kind
        self.frame_path = folder / f"{kind}.parquet"
        self.state_path = folder / f"{kind}.state.json"
        self.parts_dir = folder / f"{kind}.parts"
        #: Parts this process wrote, by name: read back from memory, not from disk.
        self._written: dict[str, pd.DataFrame] = {}

    def locked(self) -> contextlib.AbstractContextManager[None]:
        """Hold this kind's cache for one update, so two kernels pulling at once take turns."""
        return locked(self.folder, self.kind)

    def load_state(self) -> CacheState:
        """Return the saved state, or an empty one (nothing cached yet, or an unreadable file)."""
        try:
            data = msgspec.json.decode(self.state_path.read_bytes())
        except (FileNotFoundError, msgspec.DecodeError):
            return CacheState()
        if data.get("version") != STATE_VERSION or self._older_schema():
            return CacheState()
        state = CacheState.from_json(data)
        if not self.frame_path.exists():
            # The frame was deleted by hand: what the state says is covered is not there any more.
            state.covered, state.bt_cursor, state.events_cursor = [], None, None
        return state

    def load_frame(self) -> pd.DataFrame:
        """Return the cached frame (internal columns included), or an empty typed frame."""
        from billing_kit.history._frames import build_frame
        from billing_kit.history._join import conform

        if not self.frame_path.exists() or not self.state_path.exists() or self._older_schema():
            return build_frame(self.kind, [])
        return conform(self.kind, _read(self.frame_path))

    def _older_schema(self) -> bool:
        """Whether the cached frame lacks a declared column (written before it was added).

        Its rows never held that column's values, so the whole cache is pulled again rather
        than served with a column missing (a cached frame must equal a fresh pull).
        """
        if not self.frame_path.exists():
            return False  # a cold cache: no need to import pyarrow to tell
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            names = set(pq.read_schema(self.frame_path).names)
        except (FileNotFoundError, pa.ArrowInvalid):
            return False
        return any(column.name not in names for column in schema(self.kind))

    def save_state(self, state: CacheState) -> None:
        """Write the state atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.state_path, msgspec.json.encode(asdict(state)))

    def save_frame(self, frame: pd.DataFrame) -> None:
        """Replace the cached frame atomically."""
        save_parquet(self.frame_path, frame)

    def add_part(self, state: CacheState, ranges: Sequence[Range], frame: pd.DataFrame) -> None:
        """Journal finished slices: their rows as a part file first, then the state naming it."""
        assert state.pull is not None
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        name = f"part-{len(state.pull.parts):05d}.parquet"
        handle, tmp = tempfile.mkstemp(dir=self.parts_dir, suffix=".tmp")
        os.close(handle)
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, self.parts_dir / name)
        self._written[name] = frame
        state.pull.parts.append(name)
        state.pull.finished = merge([*state.pull.finished, *ranges])
        self.save_state(state)

    def load_parts(self, journal: PullJournal) -> list[pd.DataFrame]:
        """Frames of the journal's part files (a part lost in a crash is simply re-pulled)."""
        from billing_kit.history._join import conform

        frames = []
        for name in journal.parts:
            path = self.parts_dir / name
            if name in self._written and path.exists():
                frames.append(self._written[name])  # framed by this pull: already conformed
            elif path.exists():
                frames.append(conform(self.kind, _read(path)))
        return frames

    def clear_parts(self) -> None:
        """Delete the journal's part files once their rows are in the main frame."""
        self._written.clear()
        if self.parts_dir.exists():
            for path in self.parts_dir.iterdir():
                path.unlink(missing_ok=True)
            self.parts_dir.rmdir()


def cache_folder(client: Client) -> Path:
    """The folder of ``client``'s caches: one per account, mode and base URL."""
    return Path(client.home) / "cache" / client.cache_namespace


@contextlib.contextmanager
def locked(folder: Path, name: str) -> Iterator[None]:
    """Hold the cache file ``name`` in ``folder`` for one update (other processes wait)."""
    folder.mkdir(parents=True, exist_ok=True)
    # filelock: flock on POSIX, msvcrt locking on Windows. A lock object of its own per
    # call, so two threads of one process take turns as two processes do.
    with filelock.FileLock(folder / f"{name}.lock"):
        yield


def save_parquet(path: Path, frame: pd.DataFrame | pa.Table) -> None:
    """Replace the parquet file ``path`` with ``frame`` atomically (its folder is created)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    os.close(handle)
    try:
        if isinstance(frame, pa.Table):
            pq.write_table(frame, name)
        else:
            frame.to_parquet(name, index=False)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def upsert(
    kind: ObjectKind, frames: Sequence[pd.DataFrame], *, consume: bool = False
) -> pd.DataFrame:
    """Concatenate frames and keep one row per id, the one from the latest frame (newest wins).

    Rows come out newest first (``created`` descending, then ``id``), as Stripe lists them. Each
    column is gathered once, straight into its final order. With ``consume`` the list given is
    emptied and each column is let go once it is joined, then once it is reordered, so a million
    rows need about one frame of memory, not three (as long as the caller keeps no other
    reference to the frames).
    """
    import pandas as pd

    from billing_kit.history._join import concat_frames

    combined = concat_frames(kind, frames, consume=consume)
    order = _newest_first(combined)
    # Popped from a dict of the arrays, not deleted from the frame: each deletion would make
    # pandas rebuild the frame's block layout.
    arrays = {name: combined[name].array for name in combined.columns}
    del combined
    columns: dict[str, Any] = {}
    for name in list(arrays):
        columns[name] = (arrays.pop(name) if consume else arrays[name]).take(order)
    return pd.DataFrame(columns, copy=False)


def _newest_first(frame: pd.DataFrame) -> Any:
    """Positions of the last row of each id, ordered by ``created`` then ``id``, descending.

    Duplicates are found by sorting the ids (stable, so equal ids keep their order and the last
    of each run is the latest) rather than hashing them: a hash table of a million ids took
    ~120 MB, the sort ~20 MB.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(frame)
    if not n:
        return np.zeros(0, dtype=np.int64)
    ids = frame["id"].array.__arrow_array__()
    by_id = pc.sort_indices(ids).to_numpy()
    sorted_ids = ids.take(by_id)
    last = np.ones(n, dtype=np.bool_)  # the last row of each run of equal ids
    if n > 1:
        changes = pc.not_equal(sorted_ids.slice(1), sorted_ids.slice(0, n - 1))
        last[:-1] = pc.fill_null(changes, True).to_numpy(zero_copy_only=False)
    del sorted_ids
    latest = np.sort(by_id[last])
    # A missing time sorts last, as pandas does with NaT: NaT is the smallest int64.
    created = frame["created"].array.asi8[latest]
    keys = pa.table({"created": created, "id": ids.take(latest)})
    ranked = pc.sort_indices(keys, sort_keys=[("created", "descending"), ("id", "descending")])
    return latest[ranked.to_numpy()]


def merge(ranges: Sequence[Range]) -> list[Range]:
    """Merge overlapping or touching half-open ranges.

    Examples
    --------
    >>> merge([(5, 9), (0, 3), (3, 4), (8, 12)])
    [(0, 4), (5, 12)]
    """
    out: list[Range] = []
    for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def clip(ranges: Sequence[Range], limit: int) -> list[Range]:
    """The parts of ``ranges`` before ``limit``.

    Examples
    --------
    >>> clip([(0, 5), (8, 20), (30, 40)], 10)
    [(0, 5), (8, 10)]
    """
    return [(lo, min(hi, limit)) for lo, hi in ranges if lo < limit]


def subtract(ranges: Sequence[Range], holes: Sequence[Range]) -> list[Range]:
    """``ranges`` minus ``holes`` (both merged half-open ranges).

    Examples
    --------
    >>> subtract([(0, 10)], [(2, 4), (6, 7)])
    [(0, 2), (4, 6), (7, 10)]
    """
    out: list[Range] = []
    for lo, hi in ranges:
        start = lo
        for h_lo, h_hi in holes:
            if h_hi <= start or h_lo >= hi:
                continue
            if h_lo > start:
                out.append((start, h_lo))
            start = max(start, h_hi)
        if start < hi:
            out.append((start, hi))
    return out


def _read(path: Path) -> pd.DataFrame:
    # Decimals stay Arrow decimals (read_parquet would make Python Decimal objects, then slowly
    # convert them back); pandas' own metadata restores the other dtypes.
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame: pd.DataFrame = table.to_pandas(
        types_mapper=lambda t: pd.ArrowDtype(t) if pa.types.is_decimal(t) else None
    )
    return frame


def _atomic_write(path: Path, data: bytes) -> None:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


__all__ = [
    "CacheState",
    "HistoryCache",
    "PullJournal",
    "cache_folder",
    "clip",
    "locked",
    "merge",
    "save_parquet",
    "subtract",
    "upsert",
]
