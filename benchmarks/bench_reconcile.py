"""Reconcile benchmark: 1,000,000 orders against 1,000,000 charges (quick: 100,000 each).

``python -m benchmarks reconcile [--quick]`` builds a charges frame with the history schema's
dtypes (metadata ``order_id`` on every charge but a few) and an order list as it comes out of a
CSV file (every cell text), with every match class planted, then runs in a child process each:

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
    counts = {{"present": int(both.sum()), "different": int(different.sum()),
               "absent": int((~both).sum())}}
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    """
)

_REPORT = textwrap.dedent(
    """
    import json, resource
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rss_mb": resource.getrusage(
        resource.RUSAGE_SELF).ru_maxrss / 1024, "counts": counts}))
    """
)


def _child(n: int, body: str) -> dict[str, Any]:
    """Build the data and run ``body`` in a fresh interpreter; return its figures."""
    script = _BUILD.format(n=n) + body.format() + _REPORT
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run(quick: bool) -> None:
    """Print the figures (see the module docstring)."""
    n = N_QUICK if quick else N_FULL
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
