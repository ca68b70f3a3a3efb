"""Slices read from both ends: every row once, whatever the order the answers come back in.

A slice whose range below has answered is read from its oldest row up (``ending_before``) as well
as from its newest row down (``starting_after``); the two fronts meet in between, may both read
rows of the second where they meet, and a slice read from both ends may be cut between them.
These tests run the real slice pull against charges held in memory (the slicing benchmark's
``ListFetcher``), listed as Stripe lists them
(newest first, ties in a fixed order, https://docs.stripe.com/api/pagination), with answers
delayed at random so the fronts, splits and hand-ons interleave differently in each example.
"""

from __future__ import annotations

import random
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_slicing import READER, ListFetcher, Row

#: Across the examples: pages read from below.
SEEN = {"up": 0}


def fetcher(rows: list[Row], seed: int, *, latency: float = 0.003) -> ListFetcher:
    """Answers after a random 30-100% of ``latency``, fast enough that the rate never binds."""
    rnd = random.Random(seed)
    return ListFetcher(rows, rate=2_000, workers=8, delay=lambda: rnd.uniform(0.3, 1.0) * latency)


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


def pull(source: ListFetcher, ranges: list[tuple[int, int]]) -> list[tuple[int, int, list[Row]]]:
    finished: list[tuple[int, int, list[Row]]] = []
    lock = threading.Lock()

    def keep(lo: int, hi: int, records: list[Row]) -> None:
        with lock:
            finished.append((lo, hi, records))

    source.pull_range("/v1/charges", {}, ranges, keep, reader=READER)
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
    pulled = fetcher(rows, seed)
    top = 1_000 + span + 10
    # One range, or two that meet (a pull resumed after an interruption asks for several).
    ranges = [(0, top)] if cut is None else [(0, int(top * cut)), (int(top * cut), top)]
    finished = pull(pulled, ranges)
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
    SEEN["up"] += sum("ending_before" in q for q in pulled.queries)


def test_some_examples_read_from_below() -> None:
    """The property above ran the up fronts (it runs first: tests run in file order)."""
    assert SEEN["up"] > 0


def test_a_slice_read_from_both_ends_costs_few_requests_more_than_its_pages() -> None:
    """15,000 rows in 150 full pages, read by many fronts at once: the fronts meet with at most
    a partial page each, and pages read twice where they meet stay few."""
    rows = history(7, 15_000, 200_000, 0)
    pulled = fetcher(rows, 7, latency=0.01)
    finished = pull(pulled, [(0, 201_010)])
    assert sorted(r for _, _, records in finished for r in records) == sorted(rows)
    up = sum("ending_before" in q for q in pulled.queries)
    assert up >= 10  # read from below as well
    assert pulled.stats.requests <= 150 + 15
