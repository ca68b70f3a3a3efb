"""The history loaders: cache, pull what is missing, follow the change feeds, return the typed
frame.

One call of :func:`load` does, in order:

1. check every option (nothing is sent for a call that cannot work);
2. work out which created-ranges the cache lacks (it never counts as covered the last five minutes
   before a call, whose objects a list may not show yet, nor anything after), and resume an
   interrupted pull;
3. pull those ranges in parallel slices, journalling finished slices as they complete;
4. for charges, follow the change feeds so late refunds, disputes and captures of old charges show:
   balance transactions of type refund/adjustment created since the last sync name their charges
   (this works at any age), and events of the last 30 days name captured, refunded, disputed or
   updated charges; only charges not already fresh are fetched again, by id;
5. merge by id (newest wins), save the cache atomically, and return the filtered frame.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from billing_kit._validation import check_flag
from billing_kit.history import _structs
from billing_kit.history._cache import (
    CacheState,
    HistoryCache,
    PullJournal,
    Range,
    clip,
    merge,
    subtract,
    upsert,
)
from billing_kit.history._fetch import (
    DICT_PAGES,
    PAGE_SIZE,
    Fetcher,
    FetchStats,
    PageReader,
    Record,
)
from billing_kit.history._options import (
    DateLike,
    InvalidOption,
    check_customer,
    check_metadata,
    check_rate_limit,
    check_status,
    check_timezone,
    check_window,
)
from billing_kit.history._progress import Progress, ProgressArg
from billing_kit.history._schema import ObjectKind

if TYPE_CHECKING:
    import pandas as pd

    from billing_kit._client import Client

# pandas and pyarrow (with the framing modules) are imported once the first answers are in: a
# pull with a cold cache sends its first request without them (about half a second of CPU).

#: Re-read this much before the previous pull's end: Stripe lists are eventually consistent.
OVERLAP_SECONDS = 300
#: Stripe keeps events for 30 days; ask for a little less so the oldest page never 404s.
EVENTS_HORIZON = 30 * 86400 - 3600
#: No limit on coverage from the rows themselves.
_NO_LIMIT = 2**62
#: Flush finished slices to the journal at least this often (rows), so an interrupted pull resumes.
JOURNAL_ROWS = 5000
#: Seconds the import of the framing modules waits for a pull's first request to go out.
WARM_UP_WAIT = 30.0
#: Rows framed at a time while a pull runs: the CPU is idle between answers, and what is framed
#: by the last answer is all that is left to frame after it.
FRAME_ROWS = 1000


@dataclass(frozen=True)
class Endpoint:
    """How one object kind is listed, expanded and kept fresh."""

    path: str
    expand: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


ENDPOINTS: dict[ObjectKind, Endpoint] = {
    "charges": Endpoint(
        "/v1/charges",
        ("balance_transaction",),
        (
            "charge.captured",
            "charge.expired",
            "charge.succeeded",
            "charge.failed",
            "charge.refunded",
            "charge.updated",
            "charge.refund.updated",
            "charge.dispute.created",
            "charge.dispute.updated",
            "charge.dispute.closed",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.funds_reinstated",
        ),
    ),
    "refunds": Endpoint(
        "/v1/refunds", (), ("refund.updated", "refund.failed", "charge.refund.updated")
    ),
    "balance_transactions": Endpoint("/v1/balance_transactions"),
    "payouts": Endpoint(
        "/v1/payouts",
        (),
        (
            "payout.updated",
            "payout.paid",
            "payout.failed",
            "payout.canceled",
            "payout.reconciliation_completed",
        ),
    ),
    "disputes": Endpoint(
        "/v1/disputes",
        (),
        (
            "charge.dispute.updated",
            "charge.dispute.closed",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.funds_reinstated",
        ),
    ),
    "customers": Endpoint("/v1/customers", (), ("customer.updated", "customer.deleted")),
}
#: Balance transaction types that mean money moved on an existing charge.
CHANGE_FEED_TYPES = ("refund", "payment_refund", "adjustment")


def page_reader(kind: ObjectKind, stats: FetchStats) -> PageReader:
    """Pages of ``kind`` decoded by msgspec into records holding the declared fields and raw
    metadata only; a page that does not fit the declared shape is parsed into dicts instead and
    counted in ``stats.dict_pages``."""
    decode, _ = _structs.decoder(kind, metadata=True)

    def read(body: str | bytes) -> tuple[list[Any], bool]:
        try:
            page = decode.decode(body)
            if page.object in ("list", "search_result"):
                return page.data, page.has_more
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
        stats.add(dict_pages=1)
        return DICT_PAGES.read(body)

    return PageReader(read, _created, _ident)


def _created(record: Any) -> int:
    return int(record["created"] if type(record) is dict else record.created)


def _ident(record: Any) -> str:
    return str(record["id"] if type(record) is dict else record.id)


def _expand(names: Sequence[str], *, listing: bool) -> dict[str, Any]:
    if not names:
        return {}
    return {"expand": [f"data.{n}" if listing else n for n in names]}


def load(
    client: Client,
    kind: ObjectKind,
    since: DateLike = None,
    until: DateLike = None,
    *,
    customer: Any = None,
    status: str | Sequence[str] | None = None,
    tz: str | None = None,
    metadata: Any = None,
    progress: ProgressArg = True,
    refresh: bool = True,
    rate_limit: float | None = None,
) -> pd.DataFrame:
    """Return the frame of ``kind`` created in ``[since, until)``; see :func:`charges_frame`."""
    tz = check_timezone(tz)
    window = check_window(since, until, tz=tz)
    statuses = check_status(kind, status)
    customer_id = check_customer(customer)
    keys = check_metadata(metadata)
    refresh = check_flag("refresh", refresh, error=InvalidOption)
    rate_limit = check_rate_limit(rate_limit)
    # "Up to now" keeps every second up to and including the one the call starts in: everything
    # that exists when the call starts, and nothing dated after the client's clock.
    now = int(time.time())
    lo = window.since or 0
    hi = window.until if window.until is not None else now + 1
    home = client.home
    namespace = client.cache_namespace
    fetcher = Fetcher(client, rate_limit=rate_limit)
    reporter = Progress(progress, kind, fetcher.stats)
    try:
        cache = HistoryCache(home / "cache" / namespace, kind)
        with cache.locked():
            frame = _Sync(cache, kind, fetcher, reporter).run(
                (lo, hi), now, refresh=refresh, customer=customer_id
            )
    finally:
        reporter.close()
    import pandas as pd

    from billing_kit.history._frames import finish_frame
    from billing_kit.history._join import trim_categories

    # The cache holds every row pulled so far: keep the window's, as a fresh pull would.
    created = frame["created"]
    keep = (created < pd.Timestamp(hi, unit="s", tz="UTC")).to_numpy(copy=True)
    if window.since is not None:
        keep &= (created >= pd.Timestamp(window.since, unit="s", tz="UTC")).to_numpy()
    if customer_id is not None:
        keep &= (frame["customer"] == customer_id).fillna(False).to_numpy(dtype=bool)
    if statuses is not None:
        keep &= frame["status"].isin(statuses).to_numpy()
    frame = trim_categories(kind, frame[keep])
    out = finish_frame(frame.reset_index(drop=True), kind, tz=tz, metadata=keys)
    stats = fetcher.stats
    out.attrs["pull"] = {
        "requests": stats.requests,
        "pages": stats.pages,
        "rows": stats.rows,
        "retries": stats.retries,
        "rate_limited": stats.rate_limited,
        "dict_pages": stats.dict_pages,
        "seconds": round(time.monotonic() - stats.started, 3),
    }
    return out


class _Sync:
    """One cache update for one kind (steps 2-5 of the module docstring)."""

    def __init__(
        self, cache: HistoryCache, kind: ObjectKind, fetcher: Fetcher, progress: Progress
    ) -> None:
        self.cache = cache
        self.kind = kind
        self.endpoint = ENDPOINTS[kind]
        self.fetcher = fetcher
        self.progress = progress

    def run(self, window: Range, now: int, *, refresh: bool, customer: str | None) -> pd.DataFrame:
        """Bring the cache up to date for ``window`` (Unix seconds, half-open) and return all of
        its rows (the caller filters).

        A range is marked covered only up to ``now`` minus the list consistency margin: a list
        may not show yet what was created in its last moments, and the window's end may lie in
        the future. Everything after that is read again by every call, so a new object always
        shows (https://docs.stripe.com/api/pagination: lists are newest first, by ``created``).
        """
        state = self.cache.load_state()
        covered = merge(state.covered)
        if refresh and covered and self._feed_lost(state, now):
            # Changes older than the events kept may be missing from the cached rows.
            covered = []
        settled = now - OVERLAP_SECONDS
        needed = subtract(merge([window]), covered)
        if customer is not None and needed and state.pull is None:
            # Not all of the window is cached: a filtered pull of the missing ranges is far
            # cheaper than the whole account; the rest of the window comes from the cache.
            base = self.cache.load_frame()
            news = self._changes(state, now, base, set()) if refresh and covered else []
            direct = self._direct(needed, customer)
            return upsert(self.kind, [base, *news, direct], consume=True)
        # The cached frame is read (and pandas imported) after the pull when there is none: the
        # lock is held, so it is the same frame either way.
        held = self.cache.load_frame() if self.cache.frame_path.exists() else None
        journal = state.pull
        plan = merge([*(journal.plan if journal else []), *needed])
        parts: list[pd.DataFrame] = []
        if plan:
            journal = state.pull = journal or PullJournal(settled=settled)
            journal.plan = plan
            self.cache.save_state(state)
            unjournalled = self._pull(state, few=self._short(held, journal.remaining()))
            parts = [*self.cache.load_parts(journal), *unjournalled]
        base = held if held is not None else self.cache.load_frame()
        changed: list[pd.DataFrame] = []
        if refresh and covered:
            fresh_ids = {i for p in parts for i in p["id"]}
            changed = self._changes(state, now, base, fresh_ids)
        # The base, the parts and the changes are consumed: one frame's worth of memory.
        merged = upsert(self.kind, [base, *parts, *changed], consume=True)
        limit = min(settled, journal.settled if journal else settled, self._unsettled(merged))
        state.covered = clip(merge([*covered, *plan]), limit)
        state.pull = None
        if refresh or state.bt_cursor is None:
            state.bt_cursor = now
            state.events_cursor = now
        self.cache.save_frame(merged)
        self.cache.save_state(state)
        self.cache.clear_parts()
        return merged

    def _feed_lost(self, state: CacheState, now: int) -> bool:
        """Whether the events since the last sync are partly gone (Stripe keeps 30 days,
        https://docs.stripe.com/api/events), so changes to cached rows may have been missed."""
        if not self.endpoint.events or state.events_cursor is None:
            return False
        return state.events_cursor - OVERLAP_SECONDS < now - EVENTS_HORIZON

    def _unsettled(self, frame: pd.DataFrame) -> int:
        """The oldest ``created`` whose rows may still change without an event to say so.

        A balance transaction's ``status`` turns from ``pending`` to ``available`` on
        ``available_on`` without any event (https://docs.stripe.com/api/balance_transactions/
        object), so a range holding a pending one is read again until it is available.
        """
        if self.kind != "balance_transactions" or not len(frame):
            return _NO_LIMIT
        pending = frame["created"][frame["status"] == "pending"]
        if not len(pending):
            return _NO_LIMIT
        return int(pending.min().value // 10**9)

    def _direct(self, ranges: list[tuple[int, int]], customer: str) -> pd.DataFrame:
        warm_up(self.fetcher.reads.sent)
        records: list[Any] = []
        lock = threading.Lock()

        def keep(lo: int, hi: int, rows: list[Any]) -> None:
            with lock:
                records.extend(rows)
            self.progress.advance(hi - lo)

        self.progress.plan(sum(hi - lo for lo, hi in ranges))
        params = {"customer": customer, **_expand(self.endpoint.expand, listing=True)}
        self.fetcher.pull_range(
            self.endpoint.path,
            params,
            ranges,
            keep,
            reader=page_reader(self.kind, self.fetcher.stats),
        )
        from billing_kit.history._join import frame_records

        return upsert(self.kind, [frame_records(self.kind, records)])

    def _short(
        self, base: pd.DataFrame | None, ranges: list[tuple[int, int]]
    ) -> list[tuple[int, int]]:
        """Ranges the cache's own density says hold a few pages at most (a typical refresh);
        none without a cached frame (``None``)."""
        if base is None or len(base) < 2:
            return []
        # The span of the rows themselves: the covered ranges may reach back to 1970.
        created = base["created"]
        seconds = max(1.0, (created.max() - created.min()).total_seconds())
        rows_per_second = len(base) / seconds
        return [(lo, hi) for lo, hi in ranges if rows_per_second * (hi - lo) < 4 * PAGE_SIZE]

    def _pull(self, state: CacheState, *, few: list[tuple[int, int]]) -> list[pd.DataFrame]:
        """Pull the journal's remaining ranges, flushing finished slices to part files; return
        the frames of the rows not journalled yet, for the merge that follows.

        Those last rows are not written as a part first: the merge saves them with the frame
        right away, and if it never does (a crash in between), their slices are not journalled
        as finished and are simply pulled again.
        """
        assert state.pull is not None
        remaining = state.pull.remaining()
        self.progress.plan(sum(hi - lo for lo, hi in remaining))
        # Rows of finished slices wait in ``rows`` until a batch is framed; framed batches wait
        # in ``framed`` until a part is written. Each keeps the slices its rows complete: a slice
        # is journalled only with its rows.
        rows: list[Any] = []
        spans: list[tuple[int, int]] = []
        framed: list[pd.DataFrame] = []
        framed_spans: list[tuple[int, int]] = []
        lock = threading.Lock()
        writing = threading.Lock()

        def frame_and_write(batch: list[Any], done: list[tuple[int, int]], *, last: bool) -> None:
            # Imported here, once answers are in: not before the first request.
            from billing_kit.history._join import concat_frames, frame_records

            # Outside the lock: the other workers keep pulling while one frames or writes.
            frame = frame_records(self.kind, batch) if batch else None
            with lock:
                if frame is not None:
                    framed.append(frame)
                framed_spans.extend(done)
                held = sum(len(f) for f in framed)
                if not (last or held >= JOURNAL_ROWS) or not framed_spans:
                    return
                part = (list(framed), list(framed_spans))
                framed.clear()
                framed_spans.clear()
            with writing:
                self.cache.add_part(state, part[1], concat_frames(self.kind, part[0]))

        def take() -> tuple[list[Any], list[tuple[int, int]]]:
            taken = (list(rows), list(spans))
            rows.clear()
            spans.clear()
            return taken

        def finished(lo: int, hi: int, records: list[Any]) -> None:
            with lock:
                rows.extend(records)
                spans.append((lo, hi))
                batch = take() if len(rows) >= FRAME_ROWS else None
            if batch is not None:
                frame_and_write(*batch, last=False)
            self.progress.advance(hi - lo)

        params = _expand(self.endpoint.expand, listing=True)
        warm_up(self.fetcher.reads.sent)
        try:
            self.fetcher.pull_range(
                self.endpoint.path,
                params,
                remaining,
                finished,
                few=few,
                reader=page_reader(self.kind, self.fetcher.stats),
            )
        except BaseException:
            # Interrupted or failed: what finished is journalled, so the next call resumes there.
            with lock:
                batch = take()
            frame_and_write(*batch, last=True)
            raise
        # Every worker has stopped: nothing else touches these lists now.
        from billing_kit.history._join import frame_records

        if rows:
            framed.append(frame_records(self.kind, rows))
        return framed

    def _changes(
        self, state: CacheState, now: int, base: pd.DataFrame, fresh: set[str]
    ) -> list[pd.DataFrame]:
        """Objects changed since the last sync (step 4 of the module docstring)."""
        from billing_kit.history._frames import build_frame

        horizon = now - EVENTS_HORIZON
        since_events = max((state.events_cursor or horizon) - OVERLAP_SECONDS, horizon)
        if self.kind != "charges":
            if not self.endpoint.events:
                return []
            latest: dict[str, Record] = {}
            for event in self._events(since_events):
                obj = event["data"]["object"]
                if self.kind == "customers" and event["type"] == "customer.deleted":
                    obj = {**obj, "deleted": True}
                latest.setdefault(str(obj["id"]), obj)  # newest event first
            return [build_frame(self.kind, list(latest.values()))] if latest else []
        charges: dict[str, Record] = {}
        ids: set[str] = set()
        since_bt = (state.bt_cursor or now) - OVERLAP_SECONDS
        for kind in CHANGE_FEED_TYPES:
            params = {"type": kind, "created": {"gte": since_bt}, "expand": ["data.source.charge"]}
            for page in self.fetcher.list_pages("/v1/balance_transactions", params):
                for txn in page:
                    source = txn.get("source")
                    if isinstance(source, dict):
                        charge = source.get("charge")
                        if isinstance(charge, dict):
                            charges[str(charge["id"])] = charge
                        elif isinstance(charge, str):
                            ids.add(charge)
                        elif str(source.get("id", "")).startswith("ch_"):
                            ids.add(str(source["id"]))
        for event in self._events(since_events):
            obj = event["data"]["object"]
            charge_id = obj["id"] if obj.get("object") == "charge" else obj.get("charge")
            if isinstance(charge_id, dict):
                charge_id = charge_id.get("id")
            if isinstance(charge_id, str):
                ids.add(charge_id)
        ids -= fresh
        ids -= set(charges)
        charges = {k: v for k, v in charges.items() if k not in fresh}
        frames = []
        if charges:
            frames.append(
                self._with_fees(build_frame("charges", list(charges.values())), base, ids)
            )
        if ids:
            refetched = self.fetcher.retrieve_many(
                "/v1/charges", sorted(ids), _expand(self.endpoint.expand, listing=False)
            )
            frames.append(build_frame("charges", refetched))
        return frames

    def _with_fees(
        self, frame: pd.DataFrame, base: pd.DataFrame, refetch: set[str]
    ) -> pd.DataFrame:
        """Fill fee and net of re-read charges from their unchanged balance transaction.

        A refund or dispute leaves the charge's own balance transaction as it was, so the cached
        fee and net still hold; charges whose transaction is new or unknown go to ``refetch``.
        """
        import pandas as pd

        money = ["fee_minor", "fee", "net_minor", "net"]
        known: dict[str, Any] = {
            str(i): row for i, row in zip(base["id"], base.itertuples(index=False), strict=True)
        }
        missing = frame["fee_minor"].isna() & frame["balance_transaction"].notna()
        currencies = list(frame["settlement_currency"].astype(object))
        for row in frame.index[missing]:
            charge_id = str(frame.at[row, "id"])
            cached = known.get(charge_id)
            # A charge cached before its capture has no balance transaction yet: fetch it again.
            txn = None if cached is None else cached.balance_transaction
            if cached is None or pd.isna(txn) or txn != frame.at[row, "balance_transaction"]:
                refetch.add(charge_id)
                continue
            currencies[row] = cached.settlement_currency
            for name in money:
                frame.at[row, name] = getattr(cached, name)
        order = sorted({str(c) for c in currencies if isinstance(c, str)})
        frame["settlement_currency"] = pd.Categorical(currencies, categories=order)
        return frame[~frame["id"].isin(refetch)]

    def _events(self, since: int) -> list[Record]:
        params = {"types": list(self.endpoint.events), "created": {"gte": since}}
        events: list[Record] = []
        for page in self.fetcher.list_pages("/v1/events", params):
            events.extend(page)
        # Event ids are not ordered; the newest event about an object must come first.
        events.sort(key=lambda e: int(e["created"]), reverse=True)
        return events


#: What frames the answers and saves the cache, first imported by a pull (~0.5 s of CPU in all).
FRAMING_MODULES = (
    "billing_kit.history._join",
    "pyarrow.parquet",
    "pyarrow.pandas_compat",
    "pandas.core.arrays.arrow.extension_types",
)


def warm_up(sent: threading.Event) -> None:
    """Import the framing modules (pandas, pyarrow, parquet) in the background once the first
    request is out: CPU spent while its answer is awaited, instead of when the first rows are
    framed (where it held up the workers handling the first wave's answers) and when the cache
    is written. Nothing is imported before the first request leaves (``billing-kit pull``
    starts in less CPU)."""
    missing = [name for name in FRAMING_MODULES if name not in sys.modules]
    if not missing:
        return

    def run() -> None:
        if sent.wait(WARM_UP_WAIT):
            for name in missing:
                importlib.import_module(name)

    threading.Thread(target=run, name="billing_kit history warm-up", daemon=True).start()
