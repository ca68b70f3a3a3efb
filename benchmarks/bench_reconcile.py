"""Reconcile benchmark: a month-end of 1,000,000 charges, and 1,000,000 orders against
1,000,000 charges (quick: 100,000 each).

**Month-end from a warm cache.** A warm cache is the history frames on disk as parquet, typed
by the history schema. The child builds a month of ``n`` charges that way directly (far cheaper
than seeding a sandbox with a million charges: 2 % refunded, 10 % settled in EUR, one automatic
payout per currency and day that ties), writes the frames (with the payout links) to a temporary
folder, then times reading them back plus :func:`billing_kit.reconcile._month_end.month_figures`
(every report frame of the month) and the tie-out checks. Not timed: the HTTP part of a warm pull
(the incremental refresh and the payout link listing, bounded by Stripe's rate limits) and
drawing and writing the files; see docs/reconcile.md, "Speed of the month-end". Target ≤ 30 s.

**Requests of a warm gather.** The HTTP part is counted instead: a sandbox is seeded with a
history (20,000 charges over 90 days; quick: 3,000 over 45), and
:func:`billing_kit.reconcile.gather` runs twice on one client. The lines show the requests of
each (history refresh and payout link listing apart) and their wall time: the second lists only
the payouts whose reconciliation is not completed yet; the others come from the payout links
cache.

**Orders against charges.** ``python -m benchmarks reconcile [--quick]`` builds a charges
frame with the history schema's dtypes (metadata ``order_id`` on every charge but a few) and an
order list as it comes out of a CSV file (every cell text), with every match class planted, then
runs in a child process each:

- ``billing_kit.reconcile`` from the text orders: exact amounts per currency, pairs on the
  metadata key, suggestions for keyless orders, classes, summary;
- a plain ``pd.merge`` baseline on the same data: an outer merge on the key (rows with a key
  only) and amounts compared as floats (what a notebook would do; it has no classes beyond
  present/absent/different, and no suggestions).

It prints wall and CPU seconds and peak memory (max RSS of the child) of both, the ratio of
wall times, and the issue's targets (≤ 20 s, ≤ 4 GB). CPU seconds tell more than wall seconds on
a shared machine. Nothing asserts a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

N_FULL = 1_000_000
N_QUICK = 100_000
KEY = "sk_test_" + "bench" * 5  # built at run time: no committed line looks like a real key

_BUILD = textwrap.dedent(
    """
    import numpy as np, pandas as pd, pyarrow as pa
    from billing_kit.history._schema import BOOL_DTYPE, STRING_DTYPE
    n = {n}
    rng = np.random.default_rng(7)
    minor = rng.integers(50, 100_000, n)
    currency = np.where(rng.random(n) < 0.9, "usd", "eur")
    created = pd.Timestamp("2026-11-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 30 * 86_400, n), unit="s")
    keys = np.char.add("O-", np.arange(n).astype(str))
    refunded = np.where(rng.random(n) < 0.02, minor, 0)
    status = np.where(rng.random(n) < 0.01, "failed", "succeeded")
    charge_keys = keys.astype(object)
    charge_keys[rng.random(n) < 0.01] = None  # charges made without the order id
    charges = pd.DataFrame({{
        "id": pd.array(np.char.add("ch_", np.arange(n).astype(str)), dtype=STRING_DTYPE),
        "created": created,
        "status": pd.Categorical(status, categories=["succeeded", "pending", "failed"]),
        "currency": pd.Categorical(currency),
        "amount_minor": pd.array(minor, dtype="int64[pyarrow]"),
        "amount_captured_minor": pd.array(np.where(status == "failed", 0, minor),
                                          dtype="int64[pyarrow]"),
        "amount_refunded_minor": pd.array(refunded, dtype="int64[pyarrow]"),
        "captured": pd.array(status != "failed", dtype=BOOL_DTYPE),
        "disputed": pd.array(rng.random(n) < 0.001, dtype=BOOL_DTYPE),
        "customer": pd.array(np.char.add("cus_", (np.arange(n) % 50_000).astype(str)),
                             dtype=STRING_DTYPE),
        "metadata.order_id": pd.array(charge_keys, dtype=STRING_DTYPE),
    }})
    customers = pd.DataFrame({{
        "id": pd.array(np.char.add("cus_", np.arange(50_000).astype(str)), dtype=STRING_DTYPE),
        "email": pd.array(np.char.add(np.arange(50_000).astype(str), "@example.com"),
                          dtype=STRING_DTYPE),
    }})
    order_minor = np.where(rng.random(n) < 0.01, minor + 100, minor)  # amount mismatches
    order_keys = keys.astype(object)
    keyless = rng.random(n) < 0.01
    order_keys[keyless] = None  # orders recorded without their id: suggestions
    whole, cents = np.divmod(order_minor, 100)
    amounts = np.char.add(np.char.add(whole.astype(str), "."),
                          np.char.zfill(cents.astype(str), 2))
    orders = pd.DataFrame({{
        "order_id": order_keys,
        "amount": amounts.astype(object),
        "currency": currency.astype(object),
        "date": pd.Series(created).dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "email": np.char.add((np.arange(n) % 50_000).astype(str), "@example.com").astype(object),
    }})
    drop = rng.random(n) < 0.01  # orders never recorded: missing in orders
    orders = orders[~drop].sample(frac=1, random_state=1).reset_index(drop=True)
    """
)

_OURS = textwrap.dedent(
    """
    import time
    from billing_kit.reconcile._orders import reconcile_orders
    started, cpu = time.perf_counter(), time.process_time()
    result = reconcile_orders(None, orders, date="date", email="email", charges=charges,
                              customers=customers)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    counts = result.counts()
    """
)

_BASELINE = textwrap.dedent(
    """
    import time
    started, cpu = time.perf_counter(), time.process_time()
    # Rows without a key are left out: pandas pairs missing keys with each other, which on
    # 10,000 keyless rows a side would make 100,000,000 pairs.
    merged = orders.dropna(subset=["order_id"]).merge(
        charges.dropna(subset=["metadata.order_id"]), left_on="order_id",
        right_on="metadata.order_id", how="outer", indicator=True)
    both = merged["_merge"] == "both"
    # The float comparison a notebook would make (not exact; shown for speed only).
    different = both & (merged["amount"].astype(float) * 100 != merged["amount_minor"]
                        .astype(float))
    counts = {"present": int(both.sum()), "different": int(different.sum()),
               "absent": int((~both).sum())}
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    """
)

# A month of ``n`` charges as the history cache holds it: the five frames with the history
# schema's dtypes (every schema column, the ones the reports do not read left missing), 2 % of the
# charges refunded, 10 % settled in EUR, and one automatic payout per currency and day settling
# the transactions that became available that day (two days after they were created), so every
# payout ties. Written to parquet in a temporary folder; the timed part reads it back.
_BUILD_MONTH = textwrap.dedent(
    """
    import os, tempfile
    import numpy as np, pandas as pd
    from billing_kit.history._schema import dtypes
    from billing_kit.reconcile._inputs import History, links_frame
    n = {n}
    rng = np.random.default_rng(11)
    start = pd.Timestamp("2026-11-01", tz="UTC")

    def typed(kind, columns, rows):
        frame = pd.DataFrame(index=range(rows))
        for name, dtype in dtypes(kind).items():
            if isinstance(dtype, pd.CategoricalDtype) and dtype.categories.empty:
                dtype = "category"  # open categories (currency, type): the values make them
            frame[name] = pd.Series(columns.get(name, [None] * rows), dtype=dtype)
        for name, values in columns.items():
            if name not in frame:
                frame[name] = values
        return frame

    def ids(prefix, count):
        return np.char.add(prefix, np.arange(count).astype(str))

    created = start + pd.to_timedelta(np.sort(rng.integers(0, 30 * 86_400, n)), unit="s")
    currency = np.where(rng.random(n) < 0.9, "usd", "eur")
    minor = rng.integers(50, 100_000, n)
    fee = minor * 29 // 1000 + 30
    charge_ids = ids("ch_", n)
    charges = typed("charges", {{
        "id": charge_ids, "created": created, "status": ["succeeded"] * n, "currency": currency,
        "amount_minor": minor, "amount_captured_minor": minor, "captured": [True] * n,
        "customer": np.char.add("cus_", (np.arange(n) % 50_000).astype(str)),
        "payment_intent": ids("pi_", n), "metadata.order_id": ids("O-", n)}}, n)
    refunded = np.flatnonzero(rng.random(n) < 0.02)
    r = len(refunded)
    refund_created = created[refunded] + pd.Timedelta(hours=5)
    refunds = typed("refunds", {{
        "id": ids("re_", r), "created": refund_created, "status": ["succeeded"] * r,
        "currency": currency[refunded], "amount_minor": minor[refunded],
        "charge": charge_ids[refunded]}}, r)
    m = n + r
    t_created = np.concatenate([created.to_numpy(), refund_created.to_numpy()])
    t_currency = np.concatenate([currency, currency[refunded]])
    t_amount = np.concatenate([minor, -minor[refunded]])
    t_fee = np.concatenate([fee, np.zeros(r, dtype=np.int64)])
    t_ids = ids("txn_", m)
    available = (pd.to_datetime(t_created, utc=True) + pd.Timedelta(days=2)).floor("D")
    # One automatic payout per currency and day: it settles what became available that day and
    # arrives the next day at 00:00 UTC.
    groups = pd.DataFrame({{"day": available, "currency": t_currency,
                            "net": t_amount - t_fee}}).groupby(["day", "currency"], sort=True)
    sums = groups["net"].sum().reset_index()
    p = len(sums)
    payout_ids = ids("po_", p)
    payout_txn_ids = ids("txn_po_", p)
    key = pd.MultiIndex.from_arrays([available, t_currency])
    position = pd.Series(np.arange(p), index=pd.MultiIndex.from_frame(sums[["day", "currency"]]))
    settled_by = payout_ids[position.reindex(key).to_numpy()]
    arrival = sums["day"] + pd.Timedelta(days=1)
    payouts = typed("payouts", {{
        "id": payout_ids, "created": sums["day"] + pd.Timedelta(hours=6), "arrival_date": arrival,
        "status": ["paid"] * p, "currency": sums["currency"], "amount_minor": sums["net"],
        "automatic": [True] * p, "reconciliation_status": ["completed"] * p,
        "balance_transaction": payout_txn_ids, "trace_id": ids("TRACE", p)}}, p)
    kinds = np.concatenate([np.full(n, "charge"), np.full(r, "refund"), np.full(p, "payout")])
    transactions = typed("balance_transactions", {{
        "id": np.concatenate([t_ids, payout_txn_ids]),
        "created": np.concatenate([t_created, (sums["day"] + pd.Timedelta(hours=6)).to_numpy()]),
        "available_on": np.concatenate([available.to_numpy(), arrival.to_numpy()]),
        "status": ["available"] * (m + p),
        "type": kinds, "reporting_category": kinds,
        "currency": np.concatenate([t_currency, sums["currency"].to_numpy()]),
        "amount_minor": np.concatenate([t_amount, -sums["net"].to_numpy()]),
        "fee_minor": np.concatenate([t_fee, np.zeros(p, dtype=np.int64)]),
        "net_minor": np.concatenate([t_amount - t_fee, -sums["net"].to_numpy()]),
        "source": np.concatenate([charge_ids, ids("re_", r), payout_ids])}}, m + p)
    disputes = typed("disputes", {{}}, 0)
    links = links_frame(list(zip(t_ids, settled_by)))
    folder = tempfile.mkdtemp(prefix="bench-month-end-")
    frames = {{"transactions": transactions, "payouts": payouts, "charges": charges,
               "refunds": refunds, "disputes": disputes, "links": links}}
    names = list(frames)
    for name, frame in frames.items():
        frame.to_parquet(os.path.join(folder, name + ".parquet"), index=False)
    del frames, transactions, payouts, charges, refunds, disputes, links
    """
)

_MONTH_END = textwrap.dedent(
    """
    import shutil, time
    from billing_kit.reconcile._month_end import (
        _payout_failures, _roll_forward_failures, month_figures)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        history = History(**{name: pd.read_parquet(os.path.join(folder, name + ".parquet"))
                             for name in names})
        read = time.perf_counter() - started
        lo = int(start.timestamp())
        hi = int(pd.Timestamp("2026-12-01", tz="UTC").timestamp())
        figures = month_figures(history, lo, hi, "UTC")
        failures = [*_roll_forward_failures(figures["roll_forward"]),
                    *_payout_failures(figures["payouts"])]
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        shutil.rmtree(folder)
    counts = {"transactions": len(history.transactions), "payouts": len(history.payouts),
              "payout_items": len(figures["payout_items"]),
              "ending_balance": len(figures["ending_balance"]), "failures": len(failures),
              "parquet_read_s": round(read, 2)}
    """
)

_REPORT = textwrap.dedent(
    """
    import json, resource
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024, "counts": counts}))
    """
)


def _child(n: int, body: str, build: str = _BUILD) -> dict[str, Any]:
    """Build the data and run ``body`` in a fresh interpreter; return its figures."""
    script = build.format(n=n) + body + _REPORT
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the benchmark child failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _gather_requests(quick: bool) -> None:
    """Print the requests of a cold and a warm ``gather`` on a seeded sandbox."""
    import datetime as dt
    import tempfile
    import time
    from pathlib import Path

    import billing_kit
    from billing_kit.reconcile import gather
    from billing_kit.sandbox import start
    from billing_kit.sandbox.seed import seed

    charges, days = (3_000, 45) if quick else (20_000, 90)
    until = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    end = int(until.timestamp()) + 30 * 86_400
    with tempfile.TemporaryDirectory() as folder:
        seed(Path(folder) / "history.db", charges=charges, days=days, seed=5, until=until)
        with (
            start(db=Path(folder) / "history.db") as server,
            billing_kit.connect(KEY, api_base=server.url, home=Path(folder) / "home") as client,
        ):
            print(f"requests of gather() on a seeded sandbox ({charges:,} charges, {days} days)")
            for name in ("first (empty home)", "second (warm)"):
                started = time.perf_counter()
                history = gather(client, end)
                seconds = time.perf_counter() - started
                frames = sum(
                    int(frame.attrs.get("pull", {}).get("requests", 0))
                    for frame in (history.transactions, history.payouts, history.charges,
                                  history.refunds, history.disputes)
                )  # fmt: skip
                pull = history.links_pull
                print(
                    f"  {name:19s} {frames:5d} history + {pull.requests:4d} payout-list "
                    f"requests ({pull.listed} payouts listed, {pull.cached} from the cache), "
                    f"{seconds:5.1f} s"
                )


def run(quick: bool) -> None:
    """Print the figures (see the module docstring)."""
    n = N_QUICK if quick else N_FULL
    _gather_requests(quick)
    month = _child(n, _MONTH_END, _BUILD_MONTH)
    print(f"month-end figures of a month of {n:,} charges, from a warm cache")
    print(
        f"  month_figures + tie-out        {month['seconds']:6.2f} s wall, {month['cpu']:6.2f} s "
        f"CPU, {month['rss_mb']:,.0f} MB   (parquet read {month['counts'].pop('parquet_read_s')}"
        " s of it; target at 1M: ≤ 30 s)"
    )
    print(f"  rows: {month['counts']}")
    ours = _child(n, _OURS)
    baseline = _child(n, _BASELINE)
    o_s, b_s = float(ours["seconds"]), float(baseline["seconds"])
    print(f"{n:,} orders vs {n:,} charges (memory: peak RSS of the child, data included)")
    for name, figures in (
        ("billing_kit reconcile_orders", ours),
        ("plain pd.merge baseline", baseline),
    ):
        print(
            f"  {name:29s} {figures['seconds']:6.2f} s wall, {figures['cpu']:6.2f} s CPU, "
            f"{figures['rss_mb']:,.0f} MB"
        )
    print(f"  ratio: {o_s / b_s:.1f}x the baseline's time   (targets at 1M: ≤ 20 s, ≤ 4 GB)")
    print(f"  classes: {ours['counts']}")
