"""The transactions each automatic payout settled: listed paced and retried, cached once final.

Balance transactions carry no payout field, so the transactions an automatic payout settled are
listed the way Stripe documents it, ``GET /v1/balance_transactions?payout=po_...``
(https://docs.stripe.com/payouts/reconciliation). That list can change until Stripe marks the
payout's ``reconciliation_status`` ``completed``
(https://docs.stripe.com/api/payouts/object#payout_object-reconciliation_status); from then on it
is final, so it is kept in ``payout_links.parquet`` next to the history cache of the same
account, mode and base URL, and never asked for again. Payouts in any other state
(``in_progress``, ``not_applicable``) are listed afresh on every call and never kept.

The file is replaced atomically under a file lock, like the history cache's own files; a file
that cannot be read as written (deleted, truncated, another layout) counts as empty and is
rebuilt by the next call.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from billing_kit.history._cache import cache_folder, locked, save_parquet
from billing_kit.history._fetch import PAGE_SIZE, Fetcher
from billing_kit.history._schema import STRING_DTYPE

if TYPE_CHECKING:
    from billing_kit._client import Client

__all__ = ["LINKS_FILE", "LinksPull", "links_frame", "payout_links"]

#: The cache file's name, in ``client.home / "cache" / client.cache_namespace``.
LINKS_FILE = "payout_links.parquet"
_PATH = "/v1/balance_transactions"
_COLUMNS = ("automatic_payout_id", "balance_transaction_id")
_SCHEMA = pa.schema([(name, pa.string()) for name in _COLUMNS])


@dataclass(frozen=True)
class LinksPull:
    """What listing the payout links cost: HTTP requests sent (retries included), of which
    retries after a fault and after a 429, payouts served from the cache, payouts listed."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    cached: int = 0
    listed: int = 0


def links_frame(pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """Return ``(balance_transaction_id, automatic_payout_id)`` pairs as a typed frame."""
    return pd.DataFrame(
        {
            "balance_transaction_id": pd.Series([t for t, _ in pairs], dtype=STRING_DTYPE),
            "automatic_payout_id": pd.Series([p for _, p in pairs], dtype=STRING_DTYPE),
        }
    )


def payout_links(client: Client, payouts: pd.DataFrame) -> tuple[pd.DataFrame, LinksPull]:
    """Every transaction each automatic payout in ``payouts`` settled (its own left out).

    Parameters
    ----------
    client
        The client whose cache folder holds the links of completed payouts.
    payouts
        A payouts history frame (``id``, ``automatic``, ``balance_transaction``,
        ``reconciliation_status``).

    Returns
    -------
    links, pull
        The :func:`links_frame` of all automatic payouts, in the order of ``payouts``, and what
        it cost.

    Raises
    ------
    billing_kit.StripeRequestError
        A listing failed once retries ran out; the completed payouts listed before it are kept.
    """
    automatic = payouts[payouts["automatic"].fillna(False).to_numpy(dtype=bool)]
    ids = [str(p) for p in automatic["id"]]
    own = {
        p: None if pd.isna(t) else str(t)
        for p, t in zip(ids, automatic["balance_transaction"].astype(object), strict=True)
    }
    final = set(automatic["id"][(automatic["reconciliation_status"] == "completed").fillna(False)])
    folder = cache_folder(client)
    fetcher = Fetcher(client)
    # Held while listing: a second kernel waits, then finds the links this one kept.
    with locked(folder, LINKS_FILE.removesuffix(".parquet")):
        kept = _load(folder / LINKS_FILE)
        known = final & set(pc.unique(kept.column("automatic_payout_id")).to_pylist())
        missing = [p for p in ids if p not in known]
        listed: dict[str, list[str]] = {}
        pool = ThreadPoolExecutor(max_workers=fetcher.workers)
        try:
            # Up to the fetcher's workers at once; its token buckets keep them within the rate.
            futures = [(p, pool.submit(_list, fetcher, p)) for p in missing]
            for payout_id, future in futures:
                listed[payout_id] = [t for t in future.result() if t != own[payout_id]]
        finally:
            # On a failure the listings not started are dropped; those done are still kept.
            pool.shutdown(wait=True, cancel_futures=True)
            done = {p: items for p, items in listed.items() if p in final}
            if done:
                save_parquet(folder / LINKS_FILE, pa.concat_tables([kept, _table(done)]))
    cached = kept.filter(
        pc.is_in(kept.column("automatic_payout_id"), pa.array(sorted(known), pa.string()))
    )
    links = pa.concat_tables([cached, _table(listed)])
    links = links.filter(pc.is_valid(links.column("balance_transaction_id")))
    # In the order of ``payouts``, each payout's transactions as listed (the sort is stable).
    rank = pc.index_in(links.column("automatic_payout_id"), pa.array(ids, pa.string()))
    links = links.take(pc.sort_indices(rank))
    frame = pd.DataFrame(
        {name: pd.Series(links.column(name), dtype=STRING_DTYPE) for name in _COLUMNS[::-1]}
    )
    stats = fetcher.stats
    pull = LinksPull(stats.requests, stats.retries, stats.rate_limited, len(known), len(missing))
    return frame, pull


def _list(fetcher: Fetcher, payout_id: str) -> list[str]:
    """Page through ``GET /v1/balance_transactions?payout=`` (paced, retried); return the ids."""
    found: list[str] = []
    query: dict[str, object] = {"payout": payout_id, "limit": PAGE_SIZE}
    while True:
        page = fetcher.get(_PATH, query, endpoint=_PATH)
        data = page.get("data") or []
        found.extend(str(txn["id"]) for txn in data)
        if not page.get("has_more") or not data:
            return found
        query["starting_after"] = found[-1]


def _load(path: Path) -> pa.Table:
    """The kept links, or none if the file is missing or unreadable.

    A payout that settled nothing but itself is kept as one row without a transaction.
    """
    try:
        table = pq.read_table(path, columns=list(_COLUMNS))
        types = [table.schema.field(c).type for c in _COLUMNS]
        if not all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in types):
            return _SCHEMA.empty_table()
        if table.column("automatic_payout_id").null_count:
            return _SCHEMA.empty_table()  # not a file this module wrote
        return table.cast(_SCHEMA)
    except (OSError, pa.ArrowException, KeyError, ValueError):
        return _SCHEMA.empty_table()


def _table(links: dict[str, list[str]]) -> pa.Table:
    """Links by payout as a table; a payout with none as one row without a transaction."""
    payout_ids: list[str] = []
    txn_ids: list[str | None] = []
    for payout_id, items in links.items():
        payout_ids.extend([payout_id] * max(1, len(items)))
        txn_ids.extend(items or [None])
    return pa.table(
        [pa.array(payout_ids, pa.string()), pa.array(txn_ids, pa.string())], schema=_SCHEMA
    )
