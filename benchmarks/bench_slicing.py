"""How well the slicing fills the rate, apart from any server: the real slice pull against lists.

``python -m benchmarks slicing [--quick]`` runs ``Fetcher.pull_range`` (the slicing, the token
buckets and the worker threads of a real pull) against charges held in memory, answered after
exactly 300 ms, at 25 requests/s. Nothing else runs: no HTTP, no JSON, no
sandbox sharing the CPU. So what it prints is what the slicing itself costs, for histories of
several shapes: seconds, the share of the 2,500 rows/s ceiling, and requests per 10,000 rows.
The baseline, in the same run, is one slice read with its cursor (what a plain list loop does).
``python -m benchmarks history`` measures the same pulls end to end against the sandbox.

Nothing asserts a time; the issue's targets (85% at 10,000 charges, 92% at 50,000, at most 105
requests per 10,000 rows) are printed next to the figures.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

from billing_kit.history._fetch import Fetcher, PageReader

LATENCY = 0.3
RATE = 25.0
CEILING = RATE * 100
NOW = 1_796_000_000
DAY = 86_400

Row = tuple[int, str]


def history_of(count: int, days: int, shape: str, seed: int = 1) -> list[Row]:
    """``count`` charges over ``days`` before :data:`NOW`, newest first, as Stripe lists them.

    ``shape``: ``uniform`` (busier in the day than at night), ``growing`` (denser recently),
    ``shrinking`` (denser long ago), ``flat`` (no day and night).
    """
    rnd = random.Random(seed)
    rows: list[Row] = []
    while len(rows) < count:
        u = rnd.random()
        if shape == "growing":
            u = math.sqrt(u)
        elif shape == "shrinking":
            u = 1 - math.sqrt(1 - u)
        created = NOW - days * DAY + int(u * days * DAY)
        hour = created // 3600 % 24
        if shape != "flat" and not 8 <= hour <= 20 and rnd.random() > 0.2:
            continue
        rows.append((created, f"ch_{len(rows):08d}"))
    rows.sort(reverse=True)
    return rows


class ListFetcher(Fetcher):
    """A fetcher whose GETs are answered from ``rows`` (newest first, ties in a fixed order, as
    Stripe lists them: https://docs.stripe.com/api/pagination) after ``delay()`` seconds, paced
    as a pull's. ``queries`` keeps every query sent (the slicing tests use it too)."""

    def __init__(
        self,
        rows: list[Row],
        *,
        rate: float = RATE,
        delay: Callable[[], float] = lambda: LATENCY,
        workers: int | None = None,
    ) -> None:
        client: Any = SimpleNamespace(reads=None, rate_limit=rate, default_rate_limit=rate)
        super().__init__(client, endpoint_rate=rate, workers=workers)
        self.rows = rows
        self.keys = [-created for created, _ in rows]
        self.position = {ident: i for i, (_, ident) in enumerate(rows)}
        self.delay = delay
        self.queries: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def get_raw(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        endpoint: str = "",
        lane: Any = None,
    ) -> Any:
        (lane or self.pacer.lane(endpoint or path)).acquire()
        query = dict(params or {})
        with self._lock:
            self.queries.append(query)
            delay = self.delay()
        self.stats.add(requests=1)
        created = query.get("created", {})
        lo, hi, limit = created.get("gte", 0), created.get("lt", 2**62), query["limit"]
        first = bisect.bisect_right(self.keys, -hi)  # the newest row created before hi
        last = bisect.bisect_right(self.keys, -lo)  # past the oldest row created at lo or later
        if "ending_before" in query:  # the rows just before the cursor, still newest first
            end = min(self.position[query["ending_before"]], last)
            start = max(first, end - limit)
            page, more = self.rows[start:end], start > first
        else:
            start = first
            if "starting_after" in query:
                start = max(start, self.position[query["starting_after"]] + 1)
            end = min(last, start + limit)
            page, more = self.rows[start:end], end < last
        time.sleep(delay)
        self._observe(delay)
        return page, more


READER = PageReader(lambda page: (list(page[0]), page[1]), lambda row: row[0], lambda row: row[1])


def pull(rows: list[Row], *, sliced: bool = True) -> tuple[float, int]:
    """Seconds and requests to pull every row (``sliced=False``: one slice, never split)."""
    fetcher = ListFetcher(rows)
    if not sliced:
        fetcher.workers = 1
    got: list[Row] = []
    lock = threading.Lock()

    def keep(lo: int, hi: int, records: list[Row]) -> None:
        with lock:
            got.extend(records)

    started = time.perf_counter()
    fetcher.pull_range("/v1/charges", {}, [(0, NOW + 1)], keep, reader=READER)
    seconds = time.perf_counter() - started
    assert sorted(got) == sorted(rows), "a row was lost or read twice"
    return seconds, fetcher.stats.requests


def run(*, quick: bool = False) -> None:
    cases = [(10_000, 90, "uniform"), (10_000, 30, "growing"), (10_000, 365, "uniform"),
             (10_000, 90, "shrinking"), (10_000, 7, "flat"), (50_000, 90, "uniform")]  # fmt: skip
    if quick:
        cases = [(5_000, 90, "uniform")]
    targets = {10_000: 85, 50_000: 92}
    base_rows = history_of(2_000, 90, "uniform")
    seconds, requests = pull(base_rows, sliced=False)
    baseline = len(base_rows) / seconds
    print(
        f"one slice, read with its cursor (baseline): {baseline:,.0f} rows/s = "
        f"{100 * baseline / CEILING:.0f}% of the ceiling; {requests} requests for "
        f"{len(base_rows):,} rows"
    )
    print(
        f"answers after {LATENCY * 1000:.0f} ms, {RATE:.0f} requests/s, "
        f"ceiling {CEILING:,.0f} rows/s"
    )
    for count, days, shape in cases:
        rows = history_of(count, days, shape)
        seconds, requests = pull(rows)
        rate = count / seconds
        target = targets.get(count)
        print(
            f"{count:>7,} charges, {days:>3} days, {shape:<9} {seconds:5.2f} s = "
            f"{100 * rate / CEILING:3.0f}% of the ceiling"
            + (f" (target >= {target}%)" if target and shape == "uniform" else "")
            + f", {rate / baseline:5.1f}x one slice; "
            f"{requests * 10_000 / count:.0f} requests per 10,000 rows (target <= 105)"
        )
