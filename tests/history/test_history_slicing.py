"""How a pull shares the rate among its slices: whose turn it is, and when a slice is split."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

from benchmarks.bench_slicing import READER, ListFetcher
from billing_kit.history._fetch import (
    DICT_PAGES,
    FetchStats,
    Pacer,
    _Slice,
    _SlicePull,
    _Turns,
)


class _Gate:
    """Tokens: the first waits for ``opened``; it records who took each one."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.order: list[str] = []
        self.name = threading.local()

    def acquire(self) -> None:
        if not self.order:
            self.order.append(self.name.value)
            self.opened.wait(10)
            return
        self.order.append(self.name.value)


def test_tokens_go_to_the_waiting_slice_with_the_most_pages_left() -> None:
    """While the rate is the bound, the longest slices read first, so they do not end up as the
    last ones, read one round trip at a time (arrival order would serve the shortest first)."""
    turns, gate = _Turns(), _Gate()

    def take(name: str, pages_left: float) -> None:
        gate.name.value = name
        turns.take(gate.acquire, pages_left)

    holder = threading.Thread(target=take, args=("holder", 1.0))
    holder.start()
    while not gate.order:
        time.sleep(0.001)
    waiters = []
    # They arrive shortest first: each is seen waiting before the next one comes.
    for name, pages in [("two pages", 2.0), ("five pages", 5.0), ("nine pages", 9.0)]:
        waiter = threading.Thread(target=take, args=(name, pages))
        waiter.start()
        waiters.append(waiter)
        while len(turns._waiting) < len(waiters):
            time.sleep(0.001)
    gate.opened.set()
    for thread in [holder, *waiters]:
        thread.join(10)
    assert gate.order == ["holder", "nine pages", "five pages", "two pages"]


def _pull(wanted: int, *, latency: float = 0.3) -> _SlicePull:
    fetcher: Any = SimpleNamespace(
        pacer=Pacer(25.0),
        latency=latency,
        wanted_slices=lambda: wanted,
        stats=FetchStats(pages=20),
        workers=8,
    )
    return _SlicePull(fetcher, "/v1/charges", {}, lambda *_: None, threading.Event(), DICT_PAGES)


def _running(pull: _SlicePull, lo: int, hi: int, *, per_page: float) -> _Slice:
    piece = _Slice(lo, hi, cursor="ch_last", seconds_per_page=per_page, fresh=True)
    pull.slices[id(piece)] = piece
    pull.running += 1
    return piece


def _split(pull: _SlicePull) -> bool:
    with pull.cond:  # as the workers call it
        return pull._split()


def test_a_slice_on_the_critical_path_is_split_with_no_worker_idle() -> None:
    """Ten slices run, as many as 25 requests/s at 0.3 s need. Nine hold 4 pages, one 40: read
    one page per round trip, that one takes 12 s while all 76 pages at the rate take about 3 s.
    It gives its older part away although no worker is idle (the old rule split only for idle
    workers, so this slice was left to be read alone at the end)."""
    pull = _pull(wanted=10)
    long = _running(pull, 0, 40_000, per_page=1_000.0)
    for n in range(9):
        _running(pull, 40_000 + 4_000 * n, 44_000 + 4_000 * n, per_page=1_000.0)
    assert _split(pull)
    (given,) = pull.queue
    assert given.lo == 0 and given.hi == long.lo  # the older part, meeting the slice exactly
    # It keeps its page in flight and what a chain reads while the others are read: their 36
    # pages at 7.5 requests in flight (25/s x 0.3 s), 4.8 pages.
    assert long.hi - long.lo == 1_000 + 4_800
    # The part given away holds 34 pages: it is not split before its first answer (it may
    # hold nothing), and is split in turn once it has one, once per answer.
    assert not _split(pull)
    pull.queue.remove(given)
    given.cursor, given.fresh = "ch_first_of_part", True
    pull.slices[id(given)] = given
    pull.running += 1
    assert _split(pull)
    assert [(s.lo, s.hi) for s in pull.queue] == [(0, given.lo)]
    assert not _split(pull)


def test_slices_that_end_together_are_not_split_while_every_wanted_slice_runs() -> None:
    """Each split costs a partial page; ten slices of five pages at 25 requests/s need none."""
    pull = _pull(wanted=10)
    for n in range(10):
        _running(pull, 5_000 * n, 5_000 * (n + 1), per_page=1_000.0)
    assert not _split(pull)
    assert not pull.queue


def test_a_slice_is_read_from_below_once_the_slice_below_has_answered() -> None:
    """The newest row below a slice's start is where its up front starts (``ending_before``):
    known once the slice below has had its first answer, not before."""
    pull = _pull(wanted=10)
    upper = _running(pull, 10_000, 30_000, per_page=1_000.0)
    assert pull._upward() is None  # nothing known below 10,000 yet
    pull.tops[10_000] = "ch_newest_below"
    front = pull._upward()
    assert front is not None and front.piece is upper
    assert upper.up_cursor == "ch_newest_below"
    assert pull._upward() is None  # one up front per slice


def test_a_slice_read_from_both_ends_is_cut_between_its_fronts() -> None:
    """A slice read from both ends that would still run after the rest is cut in the middle:
    the lower part takes the up front (and what it holds back) and gets a down front of its
    own; the upper part keeps its down front, and gets an up front once the lower part's first
    page is in."""
    pull = _pull(wanted=4)
    long = _running(pull, 0, 200_000, per_page=1_000.0)
    pull.tops[0] = "ch_below"
    front = pull._upward()
    assert front is not None
    long.held_up = ["a row of second 0"]
    long.flying.add("up")
    for n in range(3):
        _running(pull, 200_000 + 4_000 * n, 204_000 + 4_000 * n, per_page=1_000.0)
    assert _split(pull)
    (lower,) = pull.queue
    assert (lower.lo, lower.hi) == (0, 100_000) and long.lo == 100_000
    assert front.piece is lower and lower.front is front and long.front is None
    assert lower.up_cursor == "ch_below" and long.up_cursor is None
    assert lower.held_up == ["a row of second 0"] and long.held_up == []
    assert "up" in lower.flying and "up" not in long.flying


def test_where_rows_may_end_one_part_is_given_away_at_a_time() -> None:
    """The oldest slice of a pull without ``since`` does not know how far back rows go: with
    five fronts wanted and none running elsewhere it still gives away one part only (each part
    past the oldest row would cost an empty page)."""
    pull = _pull(wanted=6)
    oldest = _running(pull, 0, 1_000_000, per_page=1_000.0)
    oldest.open = True
    assert _split(pull)
    (part,) = pull.queue
    assert part.lo == 0 and part.hi == oldest.lo and part.open and not oldest.open


def test_the_first_wave_has_the_fewest_slices_whose_two_ends_fill_the_rate() -> None:
    """Eight pages in flight at 25 requests/s and 0.3 s: five slices send five pages with the
    first wave, then nine (all but the oldest read from both ends). Each slice ends in a
    partial page, so the first wave has no more (eight slices, one per page in flight, cost
    three partial pages more for the same rate)."""
    pull = _pull(wanted=8)
    first = _running(pull, 0, 1_000_000, per_page=1_000.0)
    first.first = first.open = True
    assert _split(pull)
    parts = sorted(pull.queue, key=lambda s: s.lo)
    assert len(parts) == 4  # with the first slice's own top: five
    # The blocks plan FIRST_WAVE_PAGES pages (25 each); the oldest part takes what lies further.
    assert [(s.lo, s.hi) for s in parts] == [
        (0, 899_000),
        (899_000, 924_000),
        (924_000, 949_000),
        (949_000, 974_000),
    ]
    assert parts[0].open and not any(s.open for s in parts[1:])
    assert (first.lo, first.hi) == (974_000, 1_000_000) and not first.open


def test_a_slice_above_an_empty_part_is_not_cut_for_rows_it_likely_lacks() -> None:
    """A slice whose part below came back empty holds the oldest rows, starting somewhere in
    it: its estimate is half its span. Twenty pages' span beside six slices of 18 pages read
    from both ends would be on the critical path (6 s against 5.4 s), and cut: the part below
    the cut would likely hold nothing, an empty page. At half the span (3 s against 3.1 s) it
    is left to its front."""

    def pull_with(bottomed: bool) -> _SlicePull:
        pull = _pull(wanted=7)
        oldest = _running(pull, 0, 20_000, per_page=1_000.0)
        oldest.bottomed = bottomed
        for n in range(6):
            other = _running(pull, 20_000 + 18_000 * n, 38_000 + 18_000 * n, per_page=1_000.0)
            other.up_cursor = "ch_below"
        return pull

    assert _split(pull_with(bottomed=False))
    assert not _split(pull_with(bottomed=True))


def test_a_front_waits_for_the_other_fronts_page_and_reads_on_if_rows_are_left() -> None:
    """With under two pages estimated left and the up front's page in flight, the down front
    waits for that page instead of ending: the estimate comes from a page elsewhere in the
    slice, and where it was wrong (300 rows left, not 30), ending left the rest to the up front
    alone, a page per round trip (a 1.5 s tail seen in 50,000-row pulls)."""
    rows = [(created, f"ch_{created}") for created in range(1_299, 999, -1)]  # newest first
    fetcher = ListFetcher(rows, delay=lambda: 0.0)
    got: list[Any] = []
    pull = _SlicePull(
        fetcher, "/v1/charges", {}, lambda lo, hi, r: got.extend(r), threading.Event(), READER
    )
    piece = _Slice(1_000, 1_300, seconds_per_page=1_000.0)  # 0.3 pages, it seems
    piece.flying.add("up")
    down = threading.Thread(target=pull._advance, args=(piece,))
    down.start()
    down.join(0.3)
    assert down.is_alive() and fetcher.queries == []  # waiting, nothing sent
    with pull.cond:  # the up front's page is in: it shows a page per 100 s
        piece.flying.discard("up")
        piece.seconds_per_page = 100.0
        pull.cond.notify_all()
    down.join(10)
    assert not down.is_alive() and piece.done
    assert sorted(got) == sorted(rows) and len(fetcher.queries) == 3
