"""History benchmark: pulling charges at Stripe's rate ceiling, framing cost, memory, refresh cost.

``python -m benchmarks history [--quick]`` seeds sandboxes with 10,000, 50,000 and 200,000
charges (quick: 5,000), serves each from its own process with 300 ms added to every request and
25 requests/s per endpoint (Stripe's test-mode limits), and prints:

- for each, a cold-cache ``billing_kit.history.charges_frame`` in one process: rows/s, the share
  of the 2,500 rows/s ceiling (25 requests/s x 100 rows) and the requests (per 10,000 rows);
- rows/s of the naive notebook loop (official ``stripe`` list auto-paging into
  ``pd.json_normalize``; a capped sample, since it needs ~150 s for 50,000 rows);
- CPU seconds to decode and frame 100,000 charges from raw pages, in a fresh process and in
  the benchmark's own (after the pulls), against ``json.loads`` + ``pd.json_normalize`` on the
  same pages;
- peak memory of a 1,000,000-charge frame (quick: 100,000), built in a child process from pages
  of real sandbox charges;
- requests and seconds of an incremental refresh after 1,000 new charges (quick: 100) and 100
  refunds (quick: 10) on charges older than 30 days, and whether every refund shows.

Nothing asserts a time; the issue's targets are printed next to the figures.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import stripe

import billing_kit
from billing_kit import history
from billing_kit.history._join import frame_from_pages
from billing_kit.sandbox import seed

# Built at run time so no committed line looks like a real key.
KEY = "sk_test_" + "hist" * 5
CEILING = 25 * 100  # rows/s: Stripe's per-endpoint limit x the largest page
LATENCY_MS = 300
RATE = 25


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    db: Path, port: int, *, latency_ms: float = 0, rate_limit: float | None = None
) -> Iterator[str]:
    """Run ``billing-kit sandbox serve`` in its own process (as Stripe is remote: no shared GIL).

    The port stays the same across restarts: the cache is kept per base URL.
    """
    command = [
        sys.executable,
        "-m",
        "billing_kit.cli",
        "sandbox",
        "serve",
        "--db",
        str(db),
        "--port",
        str(port),
        "--latency-ms",
        str(latency_ms),
    ]
    if rate_limit:
        command += ["--rate-limit", str(rate_limit)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/v1/_sandbox/health", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"sandbox did not start: {process.stderr.read()!r}"
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def naive_loop(url: str, cap: int) -> tuple[int, float]:
    """The usual notebook route: auto-paging StripeObjects, then ``pd.json_normalize``."""
    client = stripe.StripeClient(KEY, base_addresses={"api": url})
    started = time.perf_counter()
    rows = []
    page = client.v1.charges.list({"limit": 100, "expand": ["data.balance_transaction"]})
    for charge in page.auto_paging_iter():
        rows.append(charge.to_dict())
        if len(rows) >= cap:
            break
    frame = pd.json_normalize(rows)
    return len(frame), time.perf_counter() - started


def raw_pages(url: str, count: int) -> list[bytes]:
    """``count`` raw 100-charge list pages, as Stripe sends them (balance transaction expanded)."""
    pages = []
    after = ""
    while len(pages) < count:
        query = "limit=100&expand[]=data.balance_transaction" + (
            f"&starting_after={after}" if after else ""
        )
        request = urllib.request.Request(
            f"{url}/v1/charges?{query}", headers={"Authorization": f"Bearer {KEY}"}
        )
        with urllib.request.urlopen(request) as response:
            body = response.read()
        pages.append(body)
        data = json.loads(body)["data"]
        after = data[-1]["id"]
    return pages


def _best_of(runs: int, work: Callable[[], object]) -> float:
    """Least CPU seconds of ``runs`` runs (the machine is shared: the least is the least noisy)."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        result = work()
        best = min(best, time.process_time() - started)
        del result
    return best


def frame_cost(pages: list[bytes], charges: int) -> float:
    """Least CPU seconds (best of 3) of ``frame_from_pages`` on ``charges`` charges from raw
    pages (repeated), no metadata kept."""
    repeat = [pages[i % len(pages)] for i in range(charges // 100)]
    frame = frame_from_pages("charges", repeat, keep_metadata=False)
    assert len(frame) == charges
    del frame
    return _best_of(3, lambda: frame_from_pages("charges", repeat, keep_metadata=False))


def decode_cost(pages: list[bytes], charges: int) -> dict[str, float]:
    """CPU seconds to decode and frame ``charges`` charges from raw pages, by route:

    - ``frame``: ``frame_from_pages``, one joined frame (msgspec records -> Arrow columns);
    - ``with_metadata``: the same keeping each row's metadata (what a live pull frames);
    - ``indented``: the same pages indented by two spaces, as Stripe's API sends them (about 1.5x
      the bytes of the sandbox's compact JSON);
    - ``baseline``: ``json.loads`` + ``pd.json_normalize`` (once).
    """
    repeat = [pages[i % len(pages)] for i in range(charges // 100)]
    indented = [msgspec.json.format(page, indent=2) for page in pages]
    spaced = [indented[i % len(pages)] for i in range(charges // 100)]
    costs = {
        "frame": frame_cost(pages, charges),
        "indented": _best_of(3, lambda: frame_from_pages("charges", spaced, keep_metadata=False)),
        "with_metadata": _best_of(3, lambda: frame_from_pages("charges", repeat)),
    }
    started = time.process_time()
    records = [r for page in repeat for r in json.loads(page)["data"]]
    pd.json_normalize(records)
    costs["baseline"] = time.process_time() - started
    return costs


def _page_files(pages: list[bytes], folder: Path) -> list[str]:
    files = []
    for i, page in enumerate(pages):
        path = folder / f"page-{i}.json"
        path.write_bytes(page)
        files.append(str(path))
    return files


#: :func:`frame_cost` in a fresh process. In the benchmark's own process the pulls before it
#: leave Python's small-object heap fragmented (pools part used all over it), the records of a
#: chunk are made scattered across it, and every pass over them misses the CPU's caches: the
#: figure there depends on what ran before (it is printed as well).
FRAME_SCRIPT = textwrap.dedent(
    """
    import sys
    from benchmarks.bench_history import frame_cost

    pages = [open(p, "rb").read() for p in sys.argv[2:]]
    print(frame_cost(pages, int(sys.argv[1])))
    """
)


def fresh_frame_cost(pages: list[bytes], charges: int, folder: Path) -> float:
    """:func:`frame_cost` measured in a fresh process (see :data:`FRAME_SCRIPT`)."""
    out = subprocess.run(
        [sys.executable, "-c", FRAME_SCRIPT, str(charges), *_page_files(pages, folder)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    return float(out)


MEMORY_SCRIPT = textwrap.dedent(
    """
    import gc, sys, threading, time
    from billing_kit.history._join import frame_from_pages

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    pages = [open(p, "rb").read() for p in sys.argv[2:]]
    n = int(sys.argv[1])
    # Warm up: the first frame imports and initialises what any frame needs once (about
    # 8 MB); the figure is what the 1M-charge frame itself costs on top.
    frame_from_pages("charges", [pages[i % len(pages)] for i in range(30)], keep_metadata=False)
    gc.collect()
    base = peak = rss()
    done = False

    def sample():
        global peak
        while not done:
            peak = max(peak, rss())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    frame = frame_from_pages("charges", (pages[i % len(pages)] for i in range(n // 100)),
                             keep_metadata=False)
    done = True
    sampler.join()
    peak = max(peak, rss())
    print(len(frame), frame.memory_usage(deep=True).sum(), peak - base)
    """
)


def peak_memory(pages: list[bytes], charges: int, folder: Path) -> tuple[int, int, int]:
    """Rows, frame bytes and peak RSS growth (bytes) of framing ``charges`` in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(charges), *_page_files(pages, folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), int(out[1]), int(out[2])


def make_changes(client: Any, frame: pd.DataFrame, new: int, refunds: int) -> list[str]:
    """Create ``new`` charges and refund ``refunds`` charges older than 30 days (in threads)."""
    cutoff = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=30)
    old = (
        frame[
            (frame["status"] == "succeeded")
            & ~frame["refunded"]
            & ~frame["disputed"]
            & (frame["created"] < cutoff)
            & (frame["amount_refunded_minor"] == 0)
        ]["id"]
        .head(refunds)
        .tolist()
    )
    customer = client.find_or_create_customer("bench@example.com")
    jobs: list[Any] = [("charge", i) for i in range(new)] + [("refund", c) for c in old]
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not jobs:
                    return
                what, arg = jobs.pop()
            if what == "charge":
                client.stripe.v1.payment_intents.create(
                    {
                        "amount": 1000 + arg,
                        "currency": "usd",
                        "customer": customer.id,
                        "payment_method": "pm_card_visa",
                        "confirm": True,
                        "payment_method_types": ["card"],
                    }
                )
            else:
                client.stripe.v1.refunds.create({"charge": arg})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return old


#: Pull sizes and the share of the ceiling each should reach (issue 14), cold cache.
PULL_TARGETS = {10_000: 85, 50_000: 92, 200_000: 95}


def timed_pull(db: Path, port: int, home: Path) -> tuple[pd.DataFrame, float]:
    """A cold-cache ``charges_frame`` of everything in ``db``, served at Stripe's latency and
    rate; the frame and its wall seconds."""
    with serve(db, port, latency_ms=LATENCY_MS, rate_limit=RATE) as url:
        client = billing_kit.connect(KEY, api_base=url, home=home)
        # Imported before the clock starts: a notebook imports once, then pulls (start-up is
        # ``python -m benchmarks cli``'s figure).
        charges_frame = history.charges_frame
        started = time.perf_counter()
        frame = charges_frame(client, progress=False)
        seconds = time.perf_counter() - started
        client.close()
    return frame, seconds


def run(quick: bool) -> None:
    """Print the history figures (see the module docstring)."""
    charges = 5_000 if quick else 50_000
    sizes = (5_000,) if quick else tuple(PULL_TARGETS)
    naive_cap = 1_000 if quick else 5_000
    framed = 20_000 if quick else 100_000
    big = 100_000 if quick else 1_000_000
    new, refunds = (100, 10) if quick else (1_000, 100)
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        port = _free_port()
        dbs = {}
        for size in sorted({*sizes, charges}):
            dbs[size] = folder / f"sandbox-{size}.db"
            seed(dbs[size], charges=size, days=90, seed=11)
        db = dbs[charges]
        print(f"seeded {', '.join(f'{n:,}' for n in dbs)} charges over 90 days")
        with serve(db, port) as url:
            pages = raw_pages(url, 10)
        print(
            f"sandbox: {LATENCY_MS} ms per request, {RATE} requests/s per endpoint; "
            f"ceiling {CEILING:,} rows/s; cold cache, one process"
        )
        frame = pd.DataFrame()
        for size in sizes:
            pulled, seconds = timed_pull(dbs[size], port, folder / f"home-{size}")
            pull = pulled.attrs["pull"]
            rate = len(pulled) / seconds
            target = PULL_TARGETS.get(size)
            print(
                f"pull {len(pulled):,} charges: {seconds:.1f} s = {rate:,.0f} rows/s = "
                f"{100 * rate / CEILING:.0f}% of the ceiling"
                + (f" (target >= {target}%)" if target else "")
                + f"; {pull['requests']} requests = "
                f"{pull['requests'] * 10_000 / len(pulled):.0f} per 10,000 rows (target <= 105), "
                f"{pull['rate_limited']} rate-limited"
            )
            if size == charges:
                frame = pulled
            del pulled
        if not len(frame):
            frame, _ = timed_pull(db, port, folder / f"home-{charges}")
        with serve(db, port, latency_ms=LATENCY_MS, rate_limit=RATE) as url:
            rows, seconds = naive_loop(url, naive_cap)
        print(
            f"naive loop (stripe auto-paging + json_normalize): {rows:,} rows in "
            f"{seconds:.1f} s = {rows / seconds:,.0f} rows/s"
        )
        costs = decode_cost(pages, framed)
        ours = fresh_frame_cost(pages, framed, folder)
        print(
            f"decode+frame {framed:,} charges into one frame: {ours:.2f} s CPU = "
            f"{framed / ours:,.0f} charges/s per core in a fresh process (target >= 60,000; "
            f"best of 3); in this process, after the pulls, {framed / costs['frame']:,.0f}/s; "
            f"keeping metadata (the live-pull route) {framed / costs['with_metadata']:,.0f}/s; "
            f"indented JSON as Stripe sends it {framed / costs['indented']:,.0f}/s; "
            f"json.loads + json_normalize {costs['baseline']:.2f} s "
            f"({costs['baseline'] / ours:.1f}x slower)"
        )
        rows, frame_bytes, peak = peak_memory(pages, big, folder)
        print(
            f"{rows:,}-charge frame: {frame_bytes / 1e6:,.0f} MB in memory, peak RSS growth "
            f"{peak / 1e6:,.0f} MB while building (target <= 350 MB)"
        )
        home = folder / f"home-{charges}"
        with serve(db, port) as url:
            client = billing_kit.connect(KEY, api_base=url, home=home)
            refunded = make_changes(client, frame, new, refunds)
            client.close()
        with serve(db, port, latency_ms=LATENCY_MS, rate_limit=RATE) as url:
            client = billing_kit.connect(KEY, api_base=url, home=home)
            started = time.perf_counter()
            after = history.charges_frame(client, progress=False)
            seconds = time.perf_counter() - started
            client.close()
        rows_after = after.set_index("id")
        shown = int(rows_after.loc[refunded, "amount_refunded_minor"].gt(0).sum())
        print(
            f"incremental refresh after {new:,} new charges and {len(refunded)} refunds on "
            f"charges older than 30 days: {after.attrs['pull']['requests']} requests "
            f"(target <= 25), {seconds:.1f} s; refunds shown {shown}/{len(refunded)}; "
            f"rows {len(after):,} (unique ids: {after['id'].is_unique})"
        )
    os.environ.pop("BILLING_KIT_BENCH", None)
