"""Slices read from both ends: every row once, whatever the order the answers come back in.

A slice whose range below has answered is read from its oldest row up (``ending_before``) as well
as from its newest row down (``starting_after``); the two fronts meet in between, may both read
rows of the second where they meet, and a slice read from both ends may be cut between them.
These tests run the real slice pull against charges held in memory, listed as Stripe lists them
(newest first, ties in a fixed order, https://docs.stripe.com/api/pagination), with answers
delayed at random so the fronts, splits and hand-ons interleave differently in each example.
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_kit.history._fetch import Fetcher, PageReader

Row = tuple[int, str]
READER = PageReader(lambda page: (list(page[0]), page[1]), lambda row: row[0], lambda row: row[1])
#: Across the examples: pages read from below, and slices cut between their two fronts.
SEEN = {"up": 0, "between": 0}


class ListFetcher(Fetcher):
    """GETs answered from ``rows`` (newest first) after a random few milliseconds."""

    def __init__(self, rows: list[Row], seed: int, *, latency: float = 0.003) -> None:
        client: Any = SimpleNamespace(reads=None, rate_limit=2_000, default_rate_limit=2_000)
        super().__init__(client, workers=8, endpoint_rate=2_000)
        self.rows = rows
        self.keys = [-created for created, _ in rows]
        self.position = {ident: i for i, (_, ident) in enumerate(rows)}
        self.random = random.Random(seed)
        self.max_latency = latency
        self.lock = threading.Lock()
        self.queries: list[dict[str, Any]] = []

    def get_raw(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        endpoint: str = "",
        lane: Any = None,
    ) -> Any:
        query = dict(params or {})
        with self.lock:
            self.queries.append(query)
            delay = self.random.uniform(0.3, 1.0) * self.max_latency
        self.stats.add(requests=1)
        created = query.get("created", {})
        lo, hi = created.get("gte", 0), created.get("lt", 2**62)
        limit = query["limit"]
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


def history(seed: int, count: int, span: int, bursts: int) -> list[Row]:
    """``count`` rows over ``span`` seconds, some seconds holding a burst of many rows."""
    rnd = random.Random(seed)
    stamps = [rnd.randrange(1_000, 1_000 + span) for _ in range(count)]
    for _ in range(bursts):  # more rows in one second than a page holds, now and then
        second = rnd.randrange(1_000, 1_000 + span)
        stamps += [second] * rnd.randrange(2, 150)
    rows = [(created, f"ch_{n:06d}") for n, created in enumerate(stamps)]
    rows.sort(reverse=True)  # Stripe's order: newest first, ties in a fixed order
    return rows


def pull(fetcher: ListFetcher, ranges: list[tuple[int, int]]) -> list[tuple[int, int, list[Row]]]:
    finished: list[tuple[int, int, list[Row]]] = []
    lock = threading.Lock()

    def keep(lo: int, hi: int, records: list[Row]) -> None:
        with lock:
            finished.append((lo, hi, records))

    fetcher.pull_range("/v1/charges", {}, ranges, keep, reader=READER)
    return finished


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**16),
    count=st.integers(0, 15_000),
    span=st.sampled_from([1, 50, 5_000, 500_000]),
    bursts=st.integers(0, 4),
    cut=st.sampled_from([None, 0.3, 0.7]),
)
def test_every_row_is_handed_on_once_in_ranges_that_meet_exactly(
    seed: int, count: int, span: int, bursts: int, cut: float | None
) -> None:
    rows = history(seed, count, span, bursts)
    fetcher = ListFetcher(rows, seed)
    top = 1_000 + span + 10
    # One range, or two that meet (a pull resumed after an interruption asks for several).
    ranges = [(0, top)] if cut is None else [(0, int(top * cut)), (int(top * cut), top)]
    finished = pull(fetcher, ranges)
    spans = sorted((lo, hi) for lo, hi, _ in finished)
    covered = []
    for lo, hi in spans:
        if covered and covered[-1][1] == lo:
            covered[-1] = (covered[-1][0], hi)
        else:
            covered.append((lo, hi))
    assert covered == [(0, top)]  # no gap, no overlap
    for lo, hi, records in finished:
        assert all(lo <= created < hi for created, _ in records)
    handed = sorted(r for _, _, records in finished for r in records)
    assert handed == sorted(rows)  # every row once
    SEEN["up"] += sum("ending_before" in q for q in fetcher.queries)


def test_some_examples_read_from_below() -> None:
    """The property above ran the up fronts (it runs first: tests run in file order)."""
    assert SEEN["up"] > 0


def test_a_slice_read_from_both_ends_costs_few_requests_more_than_its_pages() -> None:
    """15,000 rows in 150 full pages, read by many fronts at once: the fronts meet with at most
    a partial page each, and pages read twice where they meet stay few."""
    rows = history(7, 15_000, 200_000, 0)
    fetcher = ListFetcher(rows, 7, latency=0.01)
    finished = pull(fetcher, [(0, 201_010)])
    assert sorted(r for _, _, records in finished for r in records) == sorted(rows)
    up = sum("ending_before" in q for q in fetcher.queries)
    print(up, fetcher.stats.requests)
    assert up >= 10  # read from below as well
    assert fetcher.stats.requests <= 150 + 15
