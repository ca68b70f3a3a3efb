"""Progress of a history pull: a tqdm bar (notebook or terminal), a callback, or nothing.

The bar counts rows; its total is an estimate that firms up as slices finish (rows so far divided by
the share of the time range already covered), so the rate and ETA tqdm shows are meaningful from the
first finished slice. Pages and requests appear in the postfix.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from tqdm.std import tqdm as base_tqdm

    from billing_kit.history._fetch import FetchStats


@dataclass(frozen=True)
class ProgressUpdate:
    """A snapshot handed to a progress callback (e.g. a widget)."""

    kind: str
    rows: int
    pages: int
    requests: int
    retries: int
    elapsed: float
    covered: float
    estimated_total: int | None
    done: bool

    @property
    def rows_per_second(self) -> float:
        """Rows pulled per second of wall time so far."""
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0


ProgressArg = Union[bool, Callable[[ProgressUpdate], Any], "base_tqdm[Any]", None]


class Progress:
    """Turns fetch statistics into bar updates or callbacks; thread-safe.

    Parameters
    ----------
    progress
        ``True`` for a tqdm bar (``tqdm.auto``: a widget in Jupyter, text in a terminal), ``False``
        or ``None`` for silence, a tqdm instance to drive, or a callable taking a
        :class:`ProgressUpdate`.
    kind
        The object kind, shown as the bar's label.
    """

    def __init__(self, progress: ProgressArg, kind: str, stats: FetchStats) -> None:
        self.kind = kind
        self.stats = stats
        self.callback: Callable[[ProgressUpdate], Any] | None = None
        self.bar: base_tqdm[Any] | None = None
        self._own_bar = False
        # tqdm (with asyncio, for tqdm.auto) is imported only to draw a bar: a bar passed in has
        # imported it already, and a quiet pull starts sooner without it.
        std = sys.modules.get("tqdm.std")
        if std is not None and isinstance(progress, std.tqdm):  # any tqdm, or a subclass
            self.bar = progress
        elif progress is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(desc=f"pull {kind}", unit=" rows", dynamic_ncols=True, leave=True)
            self._own_bar = True
        elif callable(progress):
            self.callback = progress
        self.total_seconds = 0
        self.covered_seconds = 0
        self._lock = threading.Lock()
        self._last = 0.0

    def plan(self, total_seconds: int) -> None:
        """Set the width of the time range this pull covers."""
        self.total_seconds = max(0, total_seconds)

    def advance(self, covered_seconds: int = 0) -> None:
        """Record finished seconds of the range and refresh the display (at most 10 times/s)."""
        with self._lock:
            self.covered_seconds += covered_seconds
            now = time.monotonic()
            if now - self._last < 0.1:
                return
            self._last = now
            self._emit(done=False)

    def close(self) -> None:
        """Show the final numbers and close a bar this object opened."""
        with self._lock:
            self.covered_seconds = self.total_seconds
            # A bar this object opened is drawn one last time by close(); no extra line.
            self._emit(done=True, redraw=not self._own_bar)
            if self.bar is not None and self._own_bar:
                self.bar.close()

    def snapshot(self, *, done: bool) -> ProgressUpdate:
        """The current numbers as a :class:`ProgressUpdate`."""
        stats = self.stats
        covered = (
            1.0
            if done
            else (self.covered_seconds / self.total_seconds if self.total_seconds else 0.0)
        )
        estimate = None
        if done:
            estimate = stats.rows
        elif covered > 0:
            estimate = max(stats.rows, round(stats.rows / covered))
        return ProgressUpdate(
            kind=self.kind,
            rows=stats.rows,
            pages=stats.pages,
            requests=stats.requests,
            retries=stats.retries,
            elapsed=time.monotonic() - stats.started,
            covered=min(1.0, covered),
            estimated_total=estimate,
            done=done,
        )

    def _emit(self, *, done: bool, redraw: bool = True) -> None:
        update = self.snapshot(done=done)
        if self.callback is not None:
            self.callback(update)
        if self.bar is not None:
            if update.estimated_total is not None:
                self.bar.total = update.estimated_total
            self.bar.n = update.rows
            self.bar.set_postfix(pages=update.pages, requests=update.requests, refresh=False)
            if redraw:
                self.bar.refresh()
