"""Fetching history pages: raw requests, token buckets, retries, parallel adaptive time slices.

Each GET goes through ``client.reads`` (:mod:`billing_kit._reads`: the headers, API version and
query encoding stripe-python uses, and its error classes on failure, without importing stripe
before an answer needs it), and no ``StripeObject`` is built per record: the body goes to a
:class:`PageReader`, which for list pulls decodes it with msgspec straight into the few fields the
frame reads (:func:`._loaders.page_reader`), and otherwise into plain dicts (msgspec.json).

List endpoints only filter on ``created``, so a range is cut into half-open ``[gte, lt)`` slices
that worker threads page through in parallel. How the range is cut is explained in
``docs/history.md`` ("How a pull fills the rate"); in short: the first page of a range shows how
dense the data is; right after it the range is cut into the fewest slices whose two ends fill the
rate (5 for 8 pages in flight at 25/s and 0.3 s), sized for :data:`FIRST_WAVE_PAGES` pages in all,
the oldest slice taking whatever lies further back; the token bucket's burst keeps the tokens the
first wave leaves until the round trip after it. Each slice is read newest first from its top with
a cursor (``starting_after``) and, once the slice below has had its first answer (whose newest row
is the cursor), oldest first from its bottom too (``ending_before``): its two fronts meet in
between, so a slice costs one partial page where they meet, and every slice but the oldest is read
by two fronts without a boundary more. A split never re-reads a row. Whenever fewer pages are in
flight than the rate needs (rate x latency, Little's law), or a slice would still be read after the
rest could be done at the rate (the critical path), the slice with the most round trips left is
cut: one read from above only gives away its older part (the oldest slice one part at a time, as
how far back rows go is unknown; the slice above an empty oldest part only on the critical path,
and counted at half its span); one read from both ends is cut between its fronts, the lower part
taking the up front. While the rate is the bound, the slice with the most pages left sends first
(:class:`_Turns`).
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import msgspec

from billing_kit._retry import Pace, RetryPolicy, TokenBucket, is_rate_limited

if TYPE_CHECKING:
    import stripe

    from billing_kit._client import Client
    from billing_kit._reads import Reads

log = logging.getLogger("billing_kit.history")

Record = dict[str, Any]
PAGE_SIZE = 100
#: Stripe's documented default limit for one endpoint, requests/s (rate-limits page, 2026).
ENDPOINT_RATE = 25.0
#: 429s one request may meet before the pull gives up (each may halve the endpoint's rate).
MAX_RATE_LIMITED = 30
#: Pages a range expected to be short is read in order before it may be split after all.
FEW_PAGES = 12
#: No part of a split is planned to hold fewer pages: every slice ends in a partial page.
MIN_PART_PAGES = 2
#: Pages the first split plans for, shared by its slices: an ordinary pull of 10,000 rows is
#: then done by one wave of equal slices read from both ends; a larger one goes on splitting.
FIRST_WAVE_PAGES = 100
#: Seconds of the rate an endpoint's token bucket may spend at once (see :class:`Pacer`).
BURST_SECONDS = 0.5


@dataclass(frozen=True)
class PageReader:
    """How a slice pull reads list pages: ``read(body) -> (records, has_more)``, and each
    record's ``created`` (Unix seconds) and ``id``."""

    read: Callable[[str | bytes], tuple[list[Any], bool]]
    created: Callable[[Any], int]
    ident: Callable[[Any], str]


def _read_dicts(body: str | bytes) -> tuple[list[Any], bool]:
    page = msgspec.json.decode(body)
    return page.get("data") or [], bool(page.get("has_more"))


#: Pages parsed into plain dicts.
DICT_PAGES = PageReader(_read_dicts, lambda r: int(r["created"]), lambda r: str(r["id"]))


class Pacer:
    """Token buckets shared by all workers: one for the account, one per endpoint.

    A 429 halves the endpoint's rate and pauses it (:meth:`TokenBucket.slow_down`), so every
    worker slows down at once; each success then adds a little back, up to the configured rate.
    """

    def __init__(self, account_rate: float, endpoint_rate: float | None = None) -> None:
        # Half a second's worth of burst: a pull's first round trip is one request, and the tokens
        # of that round trip (rate x latency, 7.5 at 25/s and 0.3 s) are kept until there are
        # pages to send with them: its first wave has one per slice, the round trip after it two
        # per slice (both ends). With strictly spaced tokens, they and every late wake-up of a
        # busy thread would be capacity lost for good. Stripe limits requests with token buckets
        # (https://stripe.com/blog/rate-limiters); the sandbox's allow a second's burst.
        self.account = TokenBucket(account_rate, burst=account_rate * BURST_SECONDS)
        self.endpoint_rate = min(endpoint_rate or ENDPOINT_RATE, account_rate)
        self._endpoints: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, endpoint: str) -> TokenBucket:
        with self._lock:
            bucket = self._endpoints.get(endpoint)
            if bucket is None:
                bucket = self._endpoints[endpoint] = TokenBucket(
                    self.endpoint_rate, burst=self.endpoint_rate * BURST_SECONDS
                )
            return bucket

    def lane(self, endpoint: str) -> _Lane:
        """The pace for requests to ``endpoint`` (what :meth:`RetryPolicy.send` draws from)."""
        return _Lane(self._bucket(endpoint), self.account)


@dataclass(frozen=True)
class _Lane:
    """One endpoint's bucket, then the account's: 429s slow down only the endpoint."""

    endpoint: TokenBucket
    account: TokenBucket

    def acquire(self) -> None:
        self.endpoint.acquire()
        self.account.acquire()

    def slow_down(self) -> float:
        return self.endpoint.slow_down()

    def pause(self, seconds: float) -> None:
        self.endpoint.pause(seconds)

    def speed_up(self) -> None:
        self.endpoint.speed_up()


class _Turns:
    """Who sends next among a pull's waiting slices: the one with the most pages left.

    While the rate is what bounds a pull, every slice waits for its endpoint's tokens. Handing
    them out longest-first (the classic rule for finishing parallel work together) lets the
    slices with the most pages read at their round-trip pace, so they do not end up as the last
    ones, read one round trip at a time while the rate goes unused.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[tuple[float, int]] = []
        self._order = itertools.count()
        self._busy = False

    def take(self, acquire: Callable[[], object], pages_left: float) -> None:
        """Wait for this slice's turn, then for a token (``acquire``)."""
        entry = (-pages_left, next(self._order))
        with self._cond:
            heapq.heappush(self._waiting, entry)
            while self._busy or self._waiting[0] != entry:
                self._cond.wait()
            heapq.heappop(self._waiting)
            self._busy = True
        try:
            acquire()
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()


@dataclass(frozen=True)
class _InTurn(_Lane):
    """A lane whose tokens are taken in a pull's order (:class:`_Turns`)."""

    turns: _Turns
    pages_left: float

    def acquire(self) -> None:
        self.turns.take(super().acquire, self.pages_left)


@dataclass
class FetchStats:
    """What one pull cost (reported by the progress bar, the benchmark and the tests)."""

    requests: int = 0
    pages: int = 0
    rows: int = 0
    retries: int = 0
    rate_limited: int = 0
    #: List pages parsed into dicts because they did not fit the declared shape (slow route).
    dict_pages: int = 0
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self,
        *,
        requests: int = 0,
        pages: int = 0,
        rows: int = 0,
        retries: int = 0,
        rate_limited: int = 0,
        dict_pages: int = 0,
    ) -> None:
        with self._lock:
            self.requests += requests
            self.pages += pages
            self.rows += rows
            self.retries += retries
            self.rate_limited += rate_limited
            self.dict_pages += dict_pages


class Fetcher:
    """Paced, retrying GETs against one client, with parallel slice pulls.

    Parameters
    ----------
    client
        A :class:`billing_kit.Client`; its ``reads`` send the requests.
    rate_limit
        Account-wide requests/s; default the client's (``connect(rate_limit=...)``, else
        ``client.default_rate_limit``: 25 test/sandbox, 100 live).
    endpoint_rate
        Requests/s for one endpoint; default 25, Stripe's documented per-endpoint limit.
    workers
        Most threads pulling at once; default enough for the rate at ~1.2 s per page. How many
        slices actually run follows the latency measured (:meth:`wanted_slices`).
    policy
        Retries and backoff for faults; default the client's (``connect(max_retries=...)``).
    """

    def __init__(
        self,
        client: Client,
        *,
        rate_limit: float | None = None,
        endpoint_rate: float | None = None,
        workers: int | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.reads: Reads = client.reads
        account_rate = float(
            rate_limit or getattr(client, "rate_limit", None) or client.default_rate_limit
        )
        self.pacer = Pacer(account_rate, endpoint_rate)
        # Little's law: requests in flight = rate x latency. Pages with expansions take up to a
        # second or more at Stripe; idle threads cost little, waiting on the token bucket.
        self.workers = workers or max(4, min(48, math.ceil(self.pacer.endpoint_rate * 1.2)))
        # The retries and backoff given to connect() hold for history pulls too.
        base: RetryPolicy = getattr(client, "_policy", None) or RetryPolicy()
        # ... except for 429s: many workers find the rate limit by meeting it, so a pull
        # allows more of them than one of the client's own requests does.
        self.policy = policy or dataclasses.replace(base, max_rate_limited=MAX_RATE_LIMITED)
        self.stats = FetchStats()
        self.latency = 0.5  # seconds per request (moving average of the answers so far)
        self._answers = 0
        self._latency_lock = threading.Lock()

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, endpoint: str = ""
    ) -> Record:
        """One paced GET, retried on 429s and faults; return the parsed JSON body.

        Raises
        ------
        billing_kit.StripeRequestError
            As :meth:`get_raw`.
        """
        body: Record = msgspec.json.decode(self.get_raw(path, params, endpoint=endpoint))
        return body

    def get_raw(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        endpoint: str = "",
        lane: Pace | None = None,
    ) -> str | bytes:
        """One paced GET, retried on 429s and faults; return the JSON body as sent.

        ``lane`` paces it instead of the endpoint's own lane (a slice pull hands out its
        endpoint's tokens in its own order, :class:`_Turns`).

        Raises
        ------
        billing_kit.StripeRequestError
            The mapped error once retries are exhausted or for a definitive answer (400, 401, 404).
        """
        lane = lane or self.pacer.lane(endpoint or path)

        def once() -> str | bytes:
            sent = time.monotonic()
            body = self.reads.get(path, params)
            self._observe(time.monotonic() - sent)
            return body

        def retrying(exc: stripe.StripeError, delay: float) -> None:
            if is_rate_limited(exc):
                self.stats.add(rate_limited=1)
                return
            self.stats.add(retries=1)
            log.info("GET %s failed (HTTP %s); retry in %.2fs", path, exc.http_status, delay)

        try:
            body, _ = self.policy.send(
                once, lane, on_attempt=lambda: self.stats.add(requests=1), on_retry=retrying
            )
        except Exception as exc:
            import stripe  # a failed read has imported it

            if not isinstance(exc, stripe.StripeError):
                raise
            from billing_kit._stripe_errors import map_stripe_error

            raise map_stripe_error(exc) from exc
        return body

    def _observe(self, seconds: float) -> None:
        with self._latency_lock:
            # The first answer replaces the guess: the first split is sized from it.
            self._answers += 1
            self.latency += (1.0 if self._answers == 1 else 0.2) * (seconds - self.latency)

    def wanted_slices(self) -> int:
        """Pages worth having in flight at once: rate x latency (Little's law), rounded up.

        Fewer would leave the rate unused; more would only add slices, each of which ends in a
        partial page (the token bucket holds the pace either way). A slice read from both ends
        has two in flight.
        """
        needed = self.pacer.endpoint_rate * self.latency
        return max(2, min(self.workers, math.ceil(needed)))

    def list_pages(self, path: str, params: Mapping[str, Any]) -> Iterator[list[Record]]:
        """Page through one list query with ``starting_after``; yield the data of each page."""
        cursor: str | None = None
        while True:
            query = dict(params, limit=PAGE_SIZE)
            if cursor is not None:
                query["starting_after"] = cursor
            data, has_more = DICT_PAGES.read(self.get_raw(path, query))
            self.stats.add(pages=1, rows=len(data))
            if data:
                yield data
            if not has_more or not data:
                return
            cursor = DICT_PAGES.ident(data[-1])

    def retrieve_many(
        self, path: str, ids: Iterable[str], params: Mapping[str, Any]
    ) -> list[Record]:
        """GET ``path/{id}`` for each id, in parallel; ids that no longer exist are skipped."""
        from billing_kit._exceptions import ResourceNotFound

        ids = list(dict.fromkeys(ids))
        found: list[Record] = []
        lock = threading.Lock()

        def one(object_id: str) -> None:
            try:
                # Ids come from Stripe's change feed; escaped all the same, like every path segment.
                record = self.get(
                    f"{path}/{quote(object_id, safe='')}", params, endpoint=f"{path}/:id"
                )
            except ResourceNotFound:
                return
            self.stats.add(rows=1)
            with lock:
                found.append(record)

        _run_parallel([functools.partial(one, i) for i in ids], self.workers)
        return found

    def pull_range(
        self,
        path: str,
        params: Mapping[str, Any],
        ranges: Sequence[tuple[int, int]],
        on_finished: Callable[[int, int, list[Any]], None],
        stop: threading.Event | None = None,
        *,
        few: Sequence[tuple[int, int]] = (),
        reader: PageReader = DICT_PAGES,
    ) -> None:
        """Pull every object created in ``ranges`` (half-open ``[lo, hi)`` Unix seconds).

        ``on_finished(lo, hi, records)`` is called from the worker threads, concurrently, each time
        a sub-range is complete: every object created in ``[lo, hi)`` is in ``records``.

        Ranges listed in ``few`` are expected to hold only a few pages (a refresh): they are paged
        through with the cursor and only split if they turn out to hold more than
        ``FEW_PAGES``, since every split costs requests a short pull does not win back.

        ``reader`` parses each page (plain dicts unless told otherwise; the history loaders pass
        one that decodes straight into the records their compiled framing reads).
        """
        pull = _SlicePull(self, path, params, on_finished, stop or threading.Event(), reader)
        pull.run(ranges, few=few)


@dataclass
class _Slice:
    """A half-open range ``[lo, hi)`` of seconds not yet read, read newest first from ``hi``
    (the down front, with ``cursor``) and, once the range below has had its first answer,
    oldest first from ``lo`` too (the up front, with ``up_cursor``): the two meet in between."""

    lo: int
    hi: int
    cursor: str | None = None
    #: Seconds one page spans, from this slice's last page (or its parent's): ``None`` unknown.
    seconds_per_page: float | None = None
    #: Pages to fetch before the slice may be split (see ``Fetcher.pull_range``'s ``few``).
    patience: int = 0
    #: A range as asked for, not yet split: its first split plans the first wave.
    first: bool = False
    #: Its start is where the asked range starts: how far back rows go there is unknown.
    open: bool = False
    #: Rows of second ``hi - 1`` read by the down front, not yet handed on (more may follow).
    held: list[Any] = field(default_factory=list)
    #: Answered since it was last split for being on the critical path.
    fresh: bool = False
    #: The up front: the newest row it has read (its ``ending_before``), once it runs.
    up_cursor: str | None = None
    #: Rows of second ``lo`` read by the up front, not yet handed on.
    held_up: list[Any] = field(default_factory=list)
    #: Pages in flight, by front ("down", "up").
    flying: set[str] = field(default_factory=set)
    #: Every row of the range is read and handed on (a page still in flight is dropped).
    done: bool = False
    #: The up front reading it, if any.
    front: _Front | None = None
    #: The part below was empty: this slice holds the oldest rows somewhere, so a part it gives
    #: away may hold none (it is cut only on the critical path).
    bottomed: bool = False

    def pages_left(self) -> float:
        """Estimated pages still to read (infinite while nothing is known of the density).

        Examples
        --------
        >>> _Slice(0, 3600, seconds_per_page=600.0).pages_left()
        6.0
        >>> _Slice(0, 3600).pages_left()
        inf
        >>> _Slice(0, 3600, seconds_per_page=600.0, bottomed=True).pages_left()
        3.0
        """
        if self.seconds_per_page is None:
            return math.inf
        if self.bottomed:
            # Its rows start somewhere in it: half its span is the estimate, so that it is not
            # cut on the critical path for rows it most likely does not hold (a part below its
            # rows would come back empty, a request for nothing).
            return (self.hi - self.lo) / self.seconds_per_page / 2
        return (self.hi - self.lo) / self.seconds_per_page

    def rounds_left(self) -> float:
        """Round trips still needed: two fronts read two pages per round trip."""
        return self.pages_left() / (2 if self.up_cursor is not None else 1)


@dataclass(eq=False)
class _Front:
    """An up front: the slice it reads (a cut between the fronts hands it to the lower part)."""

    piece: _Slice


class _SlicePull:
    """One parallel pull over time slices (see the module docstring for the splitting rule)."""

    def __init__(
        self,
        fetcher: Fetcher,
        path: str,
        params: Mapping[str, Any],
        on_finished: Callable[[int, int, list[Any]], None],
        stop: threading.Event,
        reader: PageReader,
    ) -> None:
        self.fetcher = fetcher
        self.reader = reader
        self.path = path
        self.params = dict(params)
        self.on_finished = on_finished
        self.stop = stop
        self.queue: list[_Slice] = []
        self.slices: dict[int, _Slice] = {}
        #: The newest row below each second where a slice began, by that second: where an up
        #: front starts (``ending_before``) for the slice that ends there.
        self.tops: dict[int, str] = {}
        self.running = 0
        self.cond = threading.Condition()
        self.error: BaseException | None = None
        self.turns = _Turns()
        self.lane = fetcher.pacer.lane(path)

    def run(
        self, ranges: Sequence[tuple[int, int]], *, few: Sequence[tuple[int, int]] = ()
    ) -> None:
        workers = self.fetcher.workers
        # One slice per range: its first page shows how dense the data is, and the split that
        # follows sizes the parts from that (a probe that costs nothing extra).
        self.queue = sorted(
            (
                _Slice(lo, hi, patience=FEW_PAGES if (lo, hi) in few else 0, first=True, open=True)
                for lo, hi in ranges
                if hi > lo
            ),
            key=lambda s: s.hi,
        )
        threads = [threading.Thread(target=self._work, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        try:
            with self.cond:
                while (self.queue or self.running) and self.error is None:
                    self.cond.wait(0.2)
        except BaseException:
            # KeyboardInterrupt in a notebook: let the workers finish their page and stop.
            self.stop.set()
            raise
        finally:
            self.stop.set()
            with self.cond:
                self.cond.notify_all()
            for thread in threads:
                thread.join()
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        while True:
            with self.cond:
                # A worker with nothing queued reads a slice from below, or shares out the
                # slice with the most pages left, without waiting for that slice's next answer.
                task: Callable[[], None] | None = None
                while task is None:
                    if self.stop.is_set():
                        return
                    if self.queue:
                        piece = self.queue.pop()
                        self.slices[id(piece)] = piece
                        task = functools.partial(self._advance, piece)
                        continue
                    front = self._upward()
                    if front is not None:
                        task = functools.partial(self._advance_up, front)
                        continue
                    if not self.running:
                        return
                    if not self._split():
                        self.cond.wait(0.2)
                self.running += 1
            try:
                task()
            except BaseException as exc:
                with self.cond:
                    self.error = self.error or exc
                    self.running -= 1
                    self.stop.set()
                    self.cond.notify_all()
                return
            with self.cond:
                self.running -= 1
                self.cond.notify_all()

    def _upward(self) -> _Front | None:
        """A running slice to read from below as well (the one with the most pages left), its
        up front started; called with ``cond`` held."""
        ready = [
            s
            for s in self.slices.values()
            if s.up_cursor is None
            and not s.done
            and s.patience <= 0
            and s.lo in self.tops
            and s.pages_left() >= 2 * MIN_PART_PAGES
        ]
        if not ready:
            return None
        piece = max(ready, key=_Slice.pages_left)
        piece.up_cursor = self.tops[piece.lo]
        piece.front = _Front(piece)
        return piece.front

    def _advance(self, piece: _Slice) -> None:
        """Page through ``piece`` from its newest row, handing on finished seconds after every
        page, until it meets the up front or the range's start.

        Another worker may give away the older part of ``piece`` meanwhile (:meth:`_split`), or
        read it from below (:meth:`_advance_up`): ``lo`` then rises, and rows of a page in flight
        that fall below it are left to the part or front that took them.
        """
        while not self.stop.is_set():
            with self.cond:
                # With less than two pages left and the up front's page in flight, that page is
                # expected to finish the slice: wait for it (its rows may show more left).
                while "up" in piece.flying and piece.pages_left() < 2 and not self._over(piece):
                    self.cond.wait(0.2)
                if self._over(piece):
                    return
                query = dict(
                    self.params, limit=PAGE_SIZE, created={"gte": piece.lo, "lt": piece.hi}
                )
                if piece.cursor is not None:
                    query["starting_after"] = piece.cursor
                lane = _InTurn(
                    self.lane.endpoint, self.lane.account, self.turns, piece.rounds_left()
                )
                first, top = piece.cursor is None, piece.hi
                piece.flying.add("down")
            data, created, has_more = self._page(query, lane)
            with self.cond:
                piece.flying.discard("down")
                if first and data:
                    self.tops[top] = self.reader.ident(data[0])
                elif first and piece.open and not data:
                    # Nothing this far back: the slice above holds the oldest rows.
                    for other in itertools.chain(self.slices.values(), self.queue):
                        if other.lo == top:
                            other.open = other.bottomed = True
                if piece.done:
                    return
                lo = piece.lo
                if data and created[-1] < lo:
                    # The page reached rows an up front or a part given away has handed on.
                    data, created = _within(data, created, lo, piece.hi)
                    has_more = False
                if not has_more or not data:
                    records, hi = self._close(piece, data), piece.hi
                else:
                    oldest = created[-1]
                    # Every second after the oldest on this page is complete: hand it on now
                    # (the progress bar shows rows from the first answer on). Rows of the
                    # oldest second wait: the next page may hold more of them.
                    records, piece.held = self._hold(piece.held, data, created, oldest)
                    hi = piece.hi
                    piece.hi = oldest + 1
                    piece.cursor = self.reader.ident(data[-1])
                    # Density from this page's rows (the slice may reach far past them).
                    piece.seconds_per_page = _seconds_per_page(created)
                    piece.patience -= 1
                    piece.fresh = True
                    self.cond.notify_all()
            if not has_more or not data:
                self._finish(lo, hi, records)
                return
            self._finish(oldest + 1, hi, records)

    def _advance_up(self, front: _Front) -> None:
        """Page through the front's slice from its oldest row (``ending_before``: Stripe returns the
        page nearest the cursor, newest first, https://docs.stripe.com/api/pagination), handing
        on finished seconds after every page, until it meets the down front."""
        while not self.stop.is_set():
            with self.cond:
                piece = front.piece
                while "down" in piece.flying and piece.pages_left() < 2 and not self._over(piece):
                    self.cond.wait(0.2)  # as in _advance
                    piece = front.piece
                if self._over(piece):
                    return
                query = dict(
                    self.params,
                    limit=PAGE_SIZE,
                    created={"gte": piece.lo, "lt": piece.hi},
                    ending_before=piece.up_cursor,
                )
                lane = _InTurn(
                    self.lane.endpoint, self.lane.account, self.turns, piece.rounds_left()
                )
                piece.flying.add("up")
            data, created, has_more = self._page(query, lane)
            with self.cond:
                piece = front.piece  # the lower part, if split meanwhile
                piece.flying.discard("up")
                if piece.done:
                    return
                lo, hi = piece.lo, piece.hi
                if data and created[0] >= hi:
                    # The page reached rows the down front has handed on.
                    data, created = _within(data, created, lo, hi)
                    has_more = False
                if not has_more or not data:
                    records = self._close(piece, data)
                else:
                    newest = created[0]
                    records, piece.held_up = self._hold(piece.held_up, data, created, newest)
                    piece.lo = newest
                    piece.up_cursor = self.reader.ident(data[0])
                    # Density where the fronts will meet, as the down front's pages give it too.
                    piece.seconds_per_page = _seconds_per_page(created)
                    self.cond.notify_all()
            if not has_more or not data:
                self._finish(lo, hi, records)
                return
            self._finish(lo, newest, records)

    def _hold(
        self, held: list[Any], data: list[Any], created: list[int], edge: int
    ) -> tuple[list[Any], list[Any]]:
        """What a front held back and its new page, parted into the rows of seconds it has
        finished (handed on now) and those of second ``edge``, the last it reached: the next
        page may hold more of them."""
        rows = [*held, *data]
        stamps = [*map(self.reader.created, held), *created]
        done = [r for r, c in zip(rows, stamps, strict=True) if c != edge]
        return done, [r for r, c in zip(rows, stamps, strict=True) if c == edge]

    def _over(self, piece: _Slice) -> bool:
        """Whether a front of ``piece`` has nothing more to do (read, or the pull stopped)."""
        return piece.done or self.stop.is_set()

    def _page(self, query: dict[str, Any], lane: Pace) -> tuple[list[Any], list[int], bool]:
        """One page: its records, their ``created`` and ``has_more``."""
        data, has_more = self.reader.read(self.fetcher.get_raw(self.path, query, lane=lane))
        self.fetcher.stats.add(pages=1)
        return data, list(map(self.reader.created, data)), has_more

    def _close(self, piece: _Slice, data: list[Any]) -> list[Any]:
        """The last page of ``piece`` is in: its rows, with what each front held back, once
        each (the fronts may both have read rows of the second where they met); called with
        ``cond`` held."""
        piece.done = True
        self.slices.pop(id(piece), None)
        # A lower part read to its end from below before its down front started.
        self.queue = [s for s in self.queue if s is not piece]
        self.cond.notify_all()
        rows = [*piece.held, *data, *piece.held_up]
        if piece.up_cursor is None:
            return rows
        ident = self.reader.ident
        return list({ident(r): r for r in rows}.values())

    def _split(self) -> bool:
        """Give away the older part of the running slice with the most pages left, in as many
        parts as the rate needs more fronts, or in two if it is on the critical path
        (:meth:`_critical`); called with ``cond`` held. Whether it did."""
        # Slices whose range below has not answered yet will be read from below too.
        every = [*self.slices.values(), *self.queue]
        waiting = {s.hi for s in every if not s.cursor}
        pending = sum(1 for s in every if s.up_cursor is None and s.lo in waiting)
        idle = self.fetcher.wanted_slices() - self.running - len(self.queue) - pending
        # Only slices that have had an answer (one not yet answered may hold nothing at all),
        # and none about to be read from below (the range below has answered, or will).
        ready = [
            s
            for s in self.slices.values()
            if s.patience <= 0
            and s.cursor is not None
            and not s.done
            and (s.up_cursor is not None or (s.lo not in waiting and s.lo not in self.tops))
        ]
        if not ready:
            return False
        # Where rows are known to end but not where (above an empty oldest part), a part given
        # away may find nothing: such a slice is cut only on the critical path, and an idle
        # worker shares out the largest slice known to go on instead.
        ordered = sorted(ready, key=_Slice.rounds_left, reverse=True)
        piece = ordered[0]
        if piece.bottomed and idle > 0 and not self._critical(piece, piece.pages_left()):
            piece = next((s for s in ordered if not s.bottomed), piece)
        # Its pages in flight are not shared: what is left beyond them is.
        left = piece.pages_left() - len(piece.flying)
        if left < 2 * MIN_PART_PAGES:
            return False
        critical = 0.0
        if idle <= 0 or piece.bottomed:
            critical = self._critical(piece, left)
            if not (piece.fresh and critical):
                return False
            idle = 1
        piece.fresh = False
        if piece.up_cursor is not None:
            self._split_between(piece)
            return True
        parts = idle + 1
        # Where the slice reaches back past what its parts can hold, how many rows lie there is
        # unknown: it gives away blocks and the oldest part takes the rest. The first wave plans
        # for FIRST_WAVE_PAGES pages (each slice will be read from both ends but the oldest, so
        # it has more pages in flight than slices). Later blocks hold a slice's share of half
        # the pages read so far: small enough that a remainder near its end is shared out,
        # large enough that a big account is covered in a few waves that grow by half each
        # time.
        wanted = self.fetcher.wanted_slices()
        if piece.first:
            # The fewest slices that fill the rate once read from both ends: n slices have n
            # pages in flight in the first wave, then 2n - 1 (all but the oldest read from below
            # too). Each slice ends in a partial page; the burst keeps the tokens the first wave
            # leaves for the round trip after it (Pacer).
            parts = max(2, math.ceil((wanted + 1) / 2))
            block = FIRST_WAVE_PAGES / (parts - 1)
        elif piece.open:
            # How far back rows go is unknown: one part at a time, so at most one holds none.
            parts = 2
            block = max(MIN_PART_PAGES, self.fetcher.stats.pages / wanted)
        else:
            block = min(left / parts, max(MIN_PART_PAGES, self.fetcher.stats.pages / wanted))
        if critical:
            block = max(MIN_PART_PAGES, critical)
        if block < MIN_PART_PAGES:
            parts = int(left // MIN_PART_PAGES)
            block = left / parts
        assert piece.seconds_per_page is not None
        width = max(1, int(block * piece.seconds_per_page))
        # The slice keeps its page in flight and one block more.
        top = piece.hi - int(piece.seconds_per_page)
        edges = [top - width * i for i in range(1, parts) if top - width * i > piece.lo]
        if not edges:
            return False
        bounds = [*edges, piece.lo]
        self.queue.extend(
            _Slice(
                lo, hi, seconds_per_page=piece.seconds_per_page, open=piece.open and lo == piece.lo
            )
            for hi, lo in itertools.pairwise(bounds)
        )
        piece.open = False
        piece.lo = edges[0]
        piece.first = False
        self.cond.notify_all()
        return True

    def _split_between(self, piece: _Slice) -> None:
        """Cut a slice read from both ends in the middle: the lower part takes the up front
        and gets a down front of its own; the upper part keeps its down front and gets an up
        front once the lower part's first page is in; called with ``cond`` held."""
        middle = (piece.lo + piece.hi) // 2
        lower = _Slice(
            piece.lo,
            middle,
            seconds_per_page=piece.seconds_per_page,
            up_cursor=piece.up_cursor,
            held_up=piece.held_up,
            front=piece.front,
        )
        if "up" in piece.flying:
            piece.flying.discard("up")
            lower.flying.add("up")
        if lower.front is not None:
            lower.front.piece = lower
        piece.lo, piece.up_cursor, piece.held_up, piece.front = middle, None, [], None
        self.queue.append(lower)
        self.cond.notify_all()

    def _critical(self, piece: _Slice, left: float) -> float:
        """If ``piece``, read a page per round trip by each of its fronts, would still run after
        the rest of the pull could be done at the rate: the pages a front can read meanwhile,
        at least :data:`MIN_PART_PAGES` (else 0)."""
        others = sum(
            min(s.pages_left(), left)
            for s in itertools.chain(self.slices.values(), self.queue)
            if s is not piece
        )
        latency = self.fetcher.latency
        rate = self.fetcher.pacer.endpoint_rate
        rounds = left / (2 if piece.up_cursor is not None else 1)
        if rounds * latency <= (left + others) / rate + latency:
            return 0.0
        return max(float(MIN_PART_PAGES), others / (rate * latency))

    def _finish(self, lo: int, hi: int, records: list[Any]) -> None:
        if hi <= lo:
            return
        self.fetcher.stats.add(rows=len(records))
        self.on_finished(lo, hi, records)


def _seconds_per_page(created: list[int]) -> float:
    """Seconds a full page spans where a page (newest first) was read.

    >>> _seconds_per_page([1_000, 990, 980, 970])
    775.0
    """
    return max(1.0, (created[0] + 1 - created[-1]) * PAGE_SIZE / len(created))


def _within(data: list[Any], created: list[int], lo: int, hi: int) -> tuple[list[Any], list[int]]:
    """The records of a page created in ``[lo, hi)``, and their ``created``."""
    pairs = [(r, c) for r, c in zip(data, created, strict=True) if lo <= c < hi]
    return [r for r, _ in pairs], [c for _, c in pairs]


def _run_parallel(tasks: Sequence[Callable[[], None]], workers: int) -> None:
    """Run ``tasks`` on up to ``workers`` threads; re-raise the first error."""
    if not tasks:
        return
    lock = threading.Lock()
    pending = list(reversed(tasks))
    errors: list[BaseException] = []

    def loop() -> None:
        while True:
            with lock:
                if not pending or errors:
                    return
                task = pending.pop()
            try:
                task()
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(min(workers, len(tasks)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
