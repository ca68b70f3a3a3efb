"""Fetching history pages: raw requests, token buckets, retries, parallel adaptive time slices.

The official library still signs every request, pins the API version and talks HTTP
(``client.stripe.raw_request``), but no ``StripeObject`` is built per record: the body goes to a
:class:`PageReader`, which for list pulls decodes it with msgspec straight into the few fields the
frame reads (:func:`._loaders.page_reader`), and otherwise parses it into plain dicts with orjson.

List endpoints only filter on ``created``, so a range is cut into half-open ``[gte, lt)`` slices
that worker threads page through in parallel. A range starts as one slice. When a page comes back
full with more to come and fewer slices run than the rate needs (rate x latency), the slice is
split: everything created after the page's oldest second is finished, and the rest is cut into
parts sized from the density just seen (doubling widths going back for a range not split before,
equal widths after). The oldest second of the page is re-read by the part below it, so charges
sharing a second are never lost; rows are keyed by id, so they are never doubled either.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
import stripe

from billing_kit._retry import RetryPolicy, TokenBucket, is_rate_limited
from billing_kit._stripe_errors import map_stripe_error

if TYPE_CHECKING:
    from billing_kit._client import Client

log = logging.getLogger("billing_kit.history")

Record = dict[str, Any]
PAGE_SIZE = 100
#: Stripe's documented default limit for one endpoint, requests/s (rate-limits page, 2026).
ENDPOINT_RATE = 25.0
#: 429s one request may meet before the pull gives up (each may halve the endpoint's rate).
MAX_RATE_LIMITED = 30
#: Pages a range expected to be short is read in order before it may be split after all.
FEW_PAGES = 12
#: The newest part of a split is sized to hold this many pages (the others double in width).
MIN_PART_PAGES = 4


@dataclass(frozen=True)
class PageReader:
    """How a slice pull reads list pages: ``read(body) -> (records, has_more)``, and each
    record's ``created`` (Unix seconds) and ``id``."""

    read: Callable[[str | bytes], tuple[list[Any], bool]]
    created: Callable[[Any], int]
    ident: Callable[[Any], str]


def _read_dicts(body: str | bytes) -> tuple[list[Any], bool]:
    page = orjson.loads(body)
    return page.get("data") or [], bool(page.get("has_more"))


#: Pages parsed into plain dicts.
DICT_PAGES = PageReader(_read_dicts, lambda r: int(r["created"]), lambda r: str(r["id"]))


class Pacer:
    """Token buckets shared by all workers: one for the account, one per endpoint.

    A 429 halves the endpoint's rate and pauses it (:meth:`TokenBucket.slow_down`), so every
    worker slows down at once; each success then adds a little back, up to the configured rate.
    """

    def __init__(self, account_rate: float, endpoint_rate: float | None = None) -> None:
        # A fifth of a second's worth of burst: with strictly spaced tokens, every late wake-up
        # of a busy machine's thread would be capacity lost for good. Stripe (and the sandbox)
        # count requests over a second, so a burst this small never trips them.
        self.account = TokenBucket(account_rate, burst=account_rate / 5)
        self.endpoint_rate = min(endpoint_rate or ENDPOINT_RATE, account_rate)
        self._endpoints: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, endpoint: str) -> TokenBucket:
        with self._lock:
            bucket = self._endpoints.get(endpoint)
            if bucket is None:
                bucket = self._endpoints[endpoint] = TokenBucket(
                    self.endpoint_rate, burst=self.endpoint_rate / 5
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
        A :class:`billing_kit.Client`; its ``stripe`` client sends the requests.
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
        self.stripe: stripe.StripeClient = client.stripe
        account_rate = float(
            rate_limit or getattr(client, "rate_limit", None) or client.default_rate_limit
        )
        self.pacer = Pacer(account_rate, endpoint_rate)
        # Little's law: requests in flight = rate x latency. Pages with expansions take up to a
        # second or more at Stripe; idle threads cost little, waiting on the token bucket.
        self.workers = workers or max(4, min(48, math.ceil(self.pacer.endpoint_rate * 1.2)))
        # The retries and backoff given to connect() hold for history pulls too.
        transport = getattr(client, "_transport", None)
        base = getattr(transport, "policy", None) or RetryPolicy()
        # ... except for 429s: many workers find the rate limit by meeting it, so a pull
        # allows more of them than one of the client's own requests does.
        self.policy = policy or dataclasses.replace(base, max_rate_limited=MAX_RATE_LIMITED)
        self.stats = FetchStats()
        self.latency = 0.5  # seconds per request (moving average of the answers so far)
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
        body: Record = orjson.loads(self.get_raw(path, params, endpoint=endpoint))
        return body

    def get_raw(
        self, path: str, params: Mapping[str, Any] | None = None, *, endpoint: str = ""
    ) -> str | bytes:
        """One paced GET, retried on 429s and faults; return the JSON body as sent.

        Raises
        ------
        billing_kit.StripeRequestError
            The mapped error once retries are exhausted or for a definitive answer (400, 401, 404).
        """
        lane = self.pacer.lane(endpoint or path)

        def once() -> str | bytes:
            sent = time.monotonic()
            response = self.stripe.raw_request(
                "get", path, **dict(params or {}), max_network_retries=0
            )
            self._observe(time.monotonic() - sent)
            # The library has already parsed this body once (json.loads into OrderedDicts,
            # ~29 µs per charge); the text is handed on as it is for our own decoding.
            body: str | bytes = response.body
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
        except stripe.StripeError as exc:
            raise map_stripe_error(exc) from exc
        return body

    def _observe(self, seconds: float) -> None:
        with self._latency_lock:
            self.latency += 0.2 * (seconds - self.latency)

    def wanted_slices(self) -> int:
        """Slices worth running at once: rate x latency (Little's law), with half again to spare.

        Fewer would leave the rate unused; more would only add slices, each of which ends in a
        partial page.
        """
        needed = self.pacer.endpoint_rate * self.latency * 1.5
        return max(2, min(self.workers, math.ceil(needed) + 1))

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
    lo: int
    hi: int
    cursor: str | None = None
    #: A range as asked for, not yet split: how its rows are spread over time is unknown.
    first: bool = False
    #: Pages to fetch before the slice may be split (see ``Fetcher.pull_range``'s ``few``).
    patience: int = 0
    held: list[Any] = field(default_factory=list)


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
        self.running = 0
        self.cond = threading.Condition()
        self.error: BaseException | None = None
        #: Estimated pages left in each running slice (by ``id``), updated after every page.
        self.left: dict[int, float] = {}

    def run(
        self, ranges: Sequence[tuple[int, int]], *, few: Sequence[tuple[int, int]] = ()
    ) -> None:
        workers = self.fetcher.workers
        # One slice per range: its first page shows how dense the data is, and the split that
        # follows sizes the parts from that (a probe that costs nothing extra).
        self.queue = sorted(
            (
                _Slice(lo, hi, first=True, patience=FEW_PAGES if (lo, hi) in few else 0)
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
                while not self.queue and self.running and not self.stop.is_set():
                    self.cond.wait(0.2)
                if self.stop.is_set() or not self.queue:
                    return
                current = self.queue.pop()
                self.running += 1
            try:
                self._advance(current)
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

    def _advance(self, piece: _Slice) -> None:
        """Page through ``piece`` until it is finished or split."""
        while not self.stop.is_set():
            query = dict(self.params, limit=PAGE_SIZE, created={"gte": piece.lo, "lt": piece.hi})
            if piece.cursor is not None:
                query["starting_after"] = piece.cursor
            data, has_more = self.reader.read(self.fetcher.get_raw(self.path, query))
            self.fetcher.stats.add(pages=1)
            piece.held.extend(data)
            piece.patience -= 1
            if not has_more or not data:
                with self.cond:
                    self.left.pop(id(piece), None)
                self._finish(piece.lo, piece.hi, piece.held)
                return
            created = list(map(self.reader.created, data))
            oldest = min(created)
            # Density from this page's rows (the slice may reach far past the newest of them).
            spread = max(created) + 1 - oldest
            seconds_per_page = max(1.0, spread * PAGE_SIZE / len(data))
            pages_left = (oldest + 1 - piece.lo) / seconds_per_page
            with self.cond:
                idle = self.fetcher.wanted_slices() - self.running - len(self.queue)
                self.left[id(piece)] = pages_left
                # A free slot goes to the slices with the most left, not to whichever page
                # happens to come back first: fewer, longer slices end in fewer partial pages.
                biggest = max(self.left.values())
            if (
                idle > 0
                and oldest + 1 < piece.hi
                and piece.patience <= 0
                and pages_left >= biggest / 2
            ):
                # A slot left idle costs more than a partial page, so near the end even the
                # last few pages of a slice are shared out, down to one page per part.
                parts = min(idle + 1, int(pages_left))
                if parts >= 2:
                    with self.cond:
                        self.left.pop(id(piece), None)
                    newer = [r for r in piece.held if self.reader.created(r) > oldest]
                    # Everything newer than the oldest second on this page is complete.
                    self._finish(oldest + 1, piece.hi, newer)
                    if piece.first or piece.lo <= 0:
                        # Nothing is known yet of how the rows spread back in time (since the
                        # account began, or new charges bunched at the end of a refresh): widths
                        # double going back from the newest, and the oldest part takes the rest.
                        # Eight parts reach 255x the first width; more would mostly be empty
                        # years, one wasted request each, while the parts with rows split again.
                        edges = _geometric_edges(
                            piece.lo, oldest + 1, MIN_PART_PAGES * seconds_per_page, min(parts, 8)
                        )
                    else:
                        # A part of a split, whose density was seen: equal widths, equal pages if
                        # the density holds, so the parts finish together and few end in a
                        # partial page.
                        parts = max(2, min(parts, int(pages_left // MIN_PART_PAGES)))
                        edges = _even_edges(piece.lo, oldest + 1, parts)
                    children = [_Slice(a, b) for a, b in itertools.pairwise(edges)]
                    with self.cond:
                        self.queue.extend(children)
                        self.cond.notify_all()
                    return
            piece.cursor = self.reader.ident(data[-1])

    def _finish(self, lo: int, hi: int, records: list[Any]) -> None:
        self.fetcher.stats.add(rows=len(records))
        self.on_finished(lo, hi, records)


def _even_edges(lo: int, hi: int, parts: int) -> list[int]:
    """Edges cutting ``[lo, hi)`` into ``parts`` ranges of (near) equal width.

    Examples
    --------
    >>> _even_edges(0, 10, 3)
    [0, 3, 6, 10]
    """
    parts = max(1, min(parts, hi - lo))
    return sorted({lo + (hi - lo) * i // parts for i in range(parts + 1)})


def _geometric_edges(lo: int, hi: int, first: float, parts: int) -> list[int]:
    """Edges cutting ``[lo, hi)`` into at most ``parts`` ranges that double in width going back.

    The newest part is ``first`` seconds wide (about two pages at the density just seen). Data is
    usually densest near the newest objects, and an account's early years are often empty, so
    doubling widths put most slices where the rows are while a few wide ones sweep the rest;
    the last part always reaches ``lo``.

    Examples
    --------
    >>> _geometric_edges(0, 100, 10, 4)
    [0, 30, 70, 90, 100]
    >>> _geometric_edges(95, 100, 10, 4)
    [95, 100]
    """
    edges = [hi]
    width = max(1.0, first)
    while len(edges) < parts and edges[-1] - lo > width:
        edges.append(edges[-1] - int(width))
        width *= 2
    edges.append(lo)
    return sorted(set(edges))


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
