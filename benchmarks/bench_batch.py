"""Batch benchmark: ``client.charge_batch`` next to a loop of ``client.charge`` over the same rows.

``python -m benchmarks batch [--quick]`` against an in-process sandbox with 300 ms of latency per
request and the client's default pacing (25 requests/s in test mode), rows of existing customers
with a default payment method (the common case: this month's invoices):

- the batch: charges/s, share of the rate limit, HTTP requests per row;
- the loop a notebook would write: ``for row in rows: client.charge(row.email, ...)``, one
  at a time (measured on a slice of the rows: at ~1 charge/s the whole sheet would take minutes).

What bounds the batch is the pacer: at most ``rate_limit`` requests per second, one request per
row, plus one customer list request per 100 customers. Nothing here asserts a time.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

import billing_kit

KEY = "sk_test_" + "bench" * 5  # built at run time: no committed line looks like a real key
LATENCY_MS = 300


def _customers(client: billing_kit.Client, count: int) -> list[str]:
    emails = [f"batch{i}@example.com" for i in range(count)]

    def make(email: str) -> None:
        client.attach_payment_method(client.find_or_create_customer(email), "pm_card_visa")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(make, emails))
    return emails


def run(*, quick: bool = False) -> None:
    """Print the batch and the loop side by side."""
    from billing_kit.sandbox import start

    rows, loop_rows = (100, 10) if quick else (1000, 30)
    with tempfile.TemporaryDirectory() as folder, start() as server:
        home = Path(folder)
        with billing_kit.connect(KEY, api_base=server.url, home=home, rate_limit=10_000) as setup:
            emails = _customers(setup, rows)
        sheet = pd.DataFrame(
            {
                "email": emails,
                "amount": [f"{10 + i % 90}.50" for i in range(rows)],
                "currency": ["usd"] * rows,
                "description": [f"Invoice {i}" for i in range(rows)],
            }
        )
        server.configure(latency_ms=LATENCY_MS)

        with billing_kit.connect(KEY, api_base=server.url, home=home) as client:
            started = time.perf_counter()
            result = client.charge_batch(sheet, progress=False)
            batch_time = time.perf_counter() - started
            batch_requests = client.stats.requests
            limit = client.rate_limit
        succeeded = int((result.frame["status"] == "succeeded").sum())

        loop = sheet.iloc[:loop_rows].assign(description=lambda f: "Loop " + f["description"])
        with billing_kit.connect(KEY, api_base=server.url, home=home) as client:
            started = time.perf_counter()
            for row in loop.itertuples():
                client.charge(row.email, row.amount, row.currency, description=row.description)
            loop_time = time.perf_counter() - started
            loop_requests = client.stats.requests

    batch_rate = succeeded / batch_time
    loop_rate = loop_rows / loop_time
    print(f"{rows} rows of existing customers, {LATENCY_MS} ms latency, rate limit {limit:g}/s")
    print(
        f"charge_batch        {rows:5d} rows {batch_time:7.1f} s  {batch_rate:6.2f} charges/s "
        f"({batch_rate / limit:4.0%} of the limit)  {batch_requests / rows:4.2f} requests/row"
    )
    print(
        f"loop client.charge  {loop_rows:5d} rows {loop_time:7.1f} s  {loop_rate:6.2f} charges/s "
        f"                    {loop_requests / loop_rows:4.2f} requests/row"
    )
    print(f"ratio: the batch charges {batch_rate / loop_rate:4.1f}x as many rows per second")
