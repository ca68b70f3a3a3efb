"""Core client benchmark: what exactly-once costs, and what the fault run looks like.

``python -m benchmarks core [--quick]`` prints, against an in-process sandbox:

- charge latency through ``Client.charge`` (ledger row first, pacer, retry loop, typed result)
  next to a bare ``stripe.StripeClient`` PaymentIntent create with the same parameters — the ratio
  is the toolkit's overhead on top of the request itself;
- the same charge back to back at the default pacing (``rate_limit`` 25/s in test and sandbox),
  which is what a notebook gets unless it raises ``rate_limit``;
- one ledger reserve → attempt → finish cycle next to a bare SQLite insert on the same kind of file;
- ``parse_amount`` next to ``Decimal(text)``;
- a run of charges under ``fault_rate=0.2`` (500s, resets, commit-then-drop): attempts, retries,
  replays, and whether every charge is in the sandbox exactly once.

Nothing here asserts a time.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import billing_kit
from billing_kit import Ledger, parse_amount

KEY = "sk_test_" + "bench" * 5  # built at run time: no committed line looks like a real key


def _per_call(samples: int, call: Callable[[int], object]) -> float:
    """Median seconds per call over ``samples`` calls."""
    times = []
    for index in range(samples):
        started = time.perf_counter()
        call(index)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _ratio(label: str, ours: float, baseline: float, unit: str = "ms") -> None:
    scale = 1000.0 if unit == "ms" else 1_000_000.0
    print(
        f"{label:<34} {ours * scale:9.3f} {unit}   baseline {baseline * scale:9.3f} {unit}   "
        f"ratio {ours / baseline:5.2f}x",
        flush=True,
    )


def _bench_charges(samples: int, home: Path) -> None:
    from billing_kit.sandbox import start

    with start() as server:
        client = billing_kit.connect(KEY, api_base=server.url, home=home, rate_limit=10_000)
        customer = client.find_or_create_customer("bench@example.com")
        params = {
            "amount": 1000,
            "currency": "usd",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "payment_method_types": ["card"],
            "expand": ["latest_charge"],
        }
        raw = client.stripe.v1.payment_intents
        raw_times: list[float] = []
        our_times: list[float] = []
        # Interleaved, so both see the same server state (store size, warm caches, load).
        for index in range(samples):
            started = time.perf_counter()
            raw.create(params)  # type: ignore[arg-type]
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            client.charge(
                customer, 10, "usd", payment_method="pm_card_visa", description=f"b{index}"
            )
            our_times.append(time.perf_counter() - started)
        _ratio(
            "charge (PaymentIntent, confirmed)",
            statistics.median(our_times),
            statistics.median(raw_times),
        )
        client.close()


def _bench_paced(samples: int, home: Path) -> None:
    """Charges back to back with the default pacing (25 requests/s in test mode and sandbox)."""
    from billing_kit.sandbox import start

    with start() as server:
        client = billing_kit.connect(KEY, api_base=server.url, home=home / "paced")
        customer = client.find_or_create_customer("paced@example.com")
        started = time.perf_counter()
        per_charge = _per_call(
            samples,
            lambda i: client.charge(
                customer, 10, "usd", payment_method="pm_card_visa", description=f"p{i}"
            ),
        )
        elapsed = time.perf_counter() - started
        print(
            f"charge at the default rate_limit={client.rate_limit:g}/s: {per_charge * 1000:.1f} ms "
            f"median, {samples / elapsed:.1f} charges/s",
            flush=True,
        )
        client.close()


def _bench_ledger(samples: int, home: Path) -> None:
    ledger = Ledger(home / "bench-ledger.sqlite3", namespace="bench", mode="test")
    window = timedelta(minutes=10)

    def cycle(index: int) -> None:
        key = ledger.reserve(
            "charge", f"i{index}", guard=f"g{index}", params={"amount": index}, window=window
        ).key
        assert key is not None
        ledger.note_attempt(key)
        ledger.finish(key, "succeeded", status="succeeded", charge_id=f"ch_{index}")

    db = sqlite3.connect(home / "bare.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
    baseline = _per_call(samples, lambda i: db.execute("INSERT INTO t VALUES (?, ?)", (i, "x")))
    ours = _per_call(samples, cycle)
    _ratio("ledger reserve+attempt+finish", ours, baseline)
    db.close()
    ledger.close()


def _bench_money(samples: int) -> None:
    baseline = _per_call(samples, lambda i: Decimal("1234.50"))
    ours = _per_call(samples, lambda i: parse_amount("1,234.50", "usd"))
    _ratio("parse_amount('1,234.50', 'usd')", ours, baseline, unit="us")


def _bench_faults(count: int, home: Path) -> None:
    from billing_kit.sandbox import start

    with start(fault_rate=0.0) as server:
        client = billing_kit.connect(
            KEY, api_base=server.url, home=home / "faults", rate_limit=10_000, backoff=0.005,
            max_backoff=0.05, max_retries=8,
        )  # fmt: skip
        customer = client.find_or_create_customer("faults@example.com")
        server.configure(fault_rate=0.2, fault_seed=7)
        started = time.perf_counter()
        for index in range(count):
            client.charge(
                customer, 10, "usd", payment_method="pm_card_visa", description=f"f{index}"
            )
        elapsed = time.perf_counter() - started
        server.configure(fault_rate=0.0)
        in_sandbox = len(list(client.stripe.v1.charges.list({"limit": 100}).auto_paging_iter()))
        rows = [row for row in client.ledger.rows() if row.kind == "charge"]
        stats = client.stats
        print(
            f"fault run (20%): {count} charges in {elapsed:.1f} s; {stats.attempts} attempts, "
            f"{stats.retries} retries, {stats.replays} replays; in sandbox {in_sandbox}, ledger "
            f"rows {len(rows)}, duplicates {in_sandbox - count}",
            flush=True,
        )
        client.close()


def run(quick: bool) -> None:
    """Print the figures (see the module docstring)."""
    samples = 30 if quick else 200
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        os.environ.setdefault("TQDM_DISABLE", "1")
        _bench_charges(samples, home)
        _bench_paced(samples, home)
        _bench_ledger(samples * 5, home)
        _bench_money(samples * 50)
        _bench_faults(50 if quick else 200, home)
