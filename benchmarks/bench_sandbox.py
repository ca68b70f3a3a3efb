"""Sandbox benchmark: seed time, list-page and create latency, side by side with localstripe.

``python -m benchmarks sandbox [--quick]`` prints, with 1,000,000 charges stored (quick: 20,000):

- the time ``billing_kit.sandbox.seed`` takes to write them;
- p50/p95 of a 100-row ``GET /v1/charges`` page with a ``created`` range, through the official
  ``stripe`` library (as objects, and with ``raw_request``: parsed JSON, no objects), over
  plain HTTP (the server alone; how billing_kit's history loaders read pages) and through the
  core (no socket), plus what the library spends decoding a page into objects;
- p50 of a charge create through the ``stripe`` library;
- the same create/list figures for localstripe at the largest size it reaches in ~60 s, and ratios.

localstripe pins old dependencies, so it lives in its own virtual environment, ``.venv-localstripe``
at the repository root, which this module creates on first use (``pip install localstripe==...``).
``BILLING_KIT_LOCALSTRIPE=/path/to/localstripe`` points it at an existing executable instead.
Nothing here asserts a time: the figures are printed next to the issue's targets.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import stripe

ROOT = Path(__file__).resolve().parent.parent
LOCALSTRIPE_VERSION = "1.15.10"
LOCALSTRIPE_VENV = ROOT / ".venv-localstripe"
# localstripe always pickles its whole store to this fixed path (it has no option to move it).
LOCALSTRIPE_STORE = Path("/tmp/localstripe.pickle")

TARGET_SEED_S = 60.0
TARGET_LIST_P50_MS = 5.0
TARGET_CREATE_P50_MS = 5.0

# Built at run time so no committed line looks like a real key.
KEY = "sk_test_" + "bench" * 5


@dataclass
class Figures:
    """Latency samples (seconds) for one server, plus the store size they were taken at.

    ``listing``/``create`` go through the official library; ``listing_raw`` through its
    ``raw_request`` (parsed JSON, no objects); ``listing_http`` is the same page over a plain
    kept-alive HTTP connection (the server's share; how billing_kit's history loaders read pages);
    ``listing_core``/``create_core``
    call the core with no socket; ``decode`` is the library turning a page into objects, no HTTP.
    """

    name: str
    stored_charges: int = 0
    seed_seconds: float = float("nan")
    create: list[float] = field(default_factory=list)
    create_core: list[float] = field(default_factory=list)
    listing: list[float] = field(default_factory=list)
    listing_http: list[float] = field(default_factory=list)
    listing_raw: list[float] = field(default_factory=list)
    listing_core: list[float] = field(default_factory=list)
    decode: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def percentile(samples: list[float], q: float) -> float:
    """Return the ``q`` quantile (0-1) of ``samples`` by nearest rank, in milliseconds."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index] * 1000.0


def stripe_client(base: str) -> stripe.StripeClient:
    """Return the official client pointed at ``base``; no retries, so a timing is one try."""
    return stripe.StripeClient(KEY, base_addresses={"api": base}, max_network_retries=0)


def timed(call: Callable[..., object], /, *args: Any, **kwargs: Any) -> float:
    """Run ``call(*args, **kwargs)`` once and return how long it took, in seconds."""
    started = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - started


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen[Any], name: str) -> None:
    """Wait until something accepts connections on ``port``; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode!r}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen on port {port!r} within {timeout} s")


def stop(process: subprocess.Popen[Any], *, grace: float = 10.0) -> None:
    """Stop ``process``: SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- localstripe -------------------------------------------------------------------------------


def localstripe_executable() -> Path:
    """Return localstripe's executable, creating ``.venv-localstripe`` on first use."""
    override = os.environ.get("BILLING_KIT_LOCALSTRIPE")
    if override:
        return Path(override)
    executable = LOCALSTRIPE_VENV / "bin" / "localstripe"
    if executable.exists():
        return executable
    print(f"creating {LOCALSTRIPE_VENV} with localstripe=={LOCALSTRIPE_VERSION} ...", flush=True)
    # A venv of its own: localstripe pins an aiohttp line that must not meet the project's .venv.
    venv.create(LOCALSTRIPE_VENV, with_pip=True, clear=True)
    subprocess.run(
        [
            str(LOCALSTRIPE_VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"localstripe=={LOCALSTRIPE_VERSION}",
        ],
        check=True,
    )
    return executable


@contextmanager
def localstripe_server() -> Iterator[str]:
    """Run localstripe from an empty store on a free port; yield its base URL."""
    executable = localstripe_executable()
    port = free_port()
    # Its store path is fixed: keep whatever a developer's own localstripe left there.
    backup = LOCALSTRIPE_STORE.with_name(LOCALSTRIPE_STORE.name + ".before-bench")
    if LOCALSTRIPE_STORE.exists():
        LOCALSTRIPE_STORE.replace(backup)
    # localstripe binds every interface (it has no --host option); we only ever talk to loopback.
    process = subprocess.Popen(
        [str(executable), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30.0, process=process, name="localstripe")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        LOCALSTRIPE_STORE.unlink(missing_ok=True)
        if backup.exists():
            backup.replace(LOCALSTRIPE_STORE)


def bench_localstripe(*, budget_s: float, list_requests: int) -> Figures:
    """Create charges in localstripe until ``budget_s`` runs out, then time 100-row list pages.

    Create latency is reported per 250-charge step so its growth with the store shows.
    """
    figures = Figures("localstripe")
    with localstripe_server() as base:
        client = stripe_client(base)
        params: dict[str, object] = {"amount": 2000, "currency": "usd", "source": "pm_card_visa"}
        started = time.perf_counter()
        first_created = int(time.time()) - 1
        step: list[float] = []
        last_step: list[float] = []
        while time.perf_counter() - started < budget_s:
            step.append(timed(client.v1.charges.create, params=params))
            figures.stored_charges += 1
            if len(step) == 250:
                figures.notes.append(
                    f"charges {figures.stored_charges - 249:>5}-{figures.stored_charges:<5}"
                    f" {len(step) / sum(step):6.0f}/s  p50 {percentile(step, 0.5):6.2f} ms"
                    f"  (store file {LOCALSTRIPE_STORE.stat().st_size / 1e6:5.1f} MB)"
                )
                last_step, step = step, []
        # The last full step is the one comparable to our creates at a large store.
        figures.create = last_step or step
        # localstripe accepts `created` with exactly one of gt/gte/lt/lte, so the page is the
        # newest 100 of everything created after the start: a full scan of its store either way.
        list_params: dict[str, object] = {"limit": 100, "created": {"gt": first_created}}
        conn = http.client.HTTPConnection(base.removeprefix("http://"))
        fetch = raw_get(conn, f"/v1/charges?limit=100&created[gt]={first_created}")
        for _ in range(list_requests):
            figures.listing.append(timed(client.v1.charges.list, params=list_params))
            figures.listing_raw.append(
                timed(client.raw_request, "get", "/v1/charges", **list_params)
            )
            figures.listing_http.append(timed(fetch))
        conn.close()
    return figures


# --- billing_kit -------------------------------------------------------------------------------


@contextmanager
def sandbox_process(db: Path) -> Iterator[str]:
    """Serve ``db`` with ``billing-kit sandbox serve`` in its own process; yield its base URL.

    A process of its own, like localstripe and like the shared sandbox notebooks use, so the
    client's work and the server's do not share one interpreter lock.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "billing_kit.sandbox", "serve", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"billing-kit sandbox serve printed {url!r} instead of its URL")
        wait_for_port(int(url.rsplit(":", 1)[1]), timeout=30.0, process=process, name="sandbox")
        yield url
    finally:
        stop(process)


def raw_get(conn: http.client.HTTPConnection, path: str) -> Callable[[], object]:
    """Return a call that GETs ``path`` over a kept-alive connection and reads the whole body."""
    headers = {"Authorization": f"Bearer {KEY}"}

    def call() -> object:
        conn.request("GET", path, headers=headers)
        reply = conn.getresponse()
        body = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"GET {path} answered {reply.status}: {body[:200]!r}")
        return body

    return call


def list_windows(start: int, end: int, count: int, *, seed: int = 1) -> list[tuple[int, int]]:
    """Return ``count`` two-day ``created`` windows spread over ``[start, end)``."""
    rng = random.Random(seed)
    span = 2 * 86_400
    return [(lo, lo + span) for lo in (rng.randrange(start, end - span) for _ in range(count))]


def bench_billing_kit(charges: int, *, list_requests: int, creates: int, workdir: Path) -> Figures:
    """Seed ``charges`` charges, then time list pages and creates (library, plain HTTP, core)."""
    from billing_kit.sandbox._core import Core
    from billing_kit.sandbox.seed import seed

    db = workdir / "bench.db"
    summary = seed(db, charges=charges, seed=42)
    ours = Figures("billing_kit", stored_charges=charges, seed_seconds=summary.seconds)
    ours.notes.append(f"{summary} (file {db.stat().st_size / 1e9:.2f} GB)")
    windows = list_windows(int(summary.start.timestamp()), int(summary.end.timestamp()),
                           list_requests)  # fmt: skip
    with sandbox_process(db) as base:
        client = stripe_client(base)
        conn = http.client.HTTPConnection(base.removeprefix("http://"))
        for lo, hi in windows[:5]:  # warm up: the first pages touch cold parts of a large file
            client.v1.charges.list(params={"limit": 100, "created": {"gte": lo, "lt": hi}})
        for lo, hi in windows:
            params: dict[str, object] = {"limit": 100, "created": {"gte": lo, "lt": hi}}
            ours.listing.append(timed(client.v1.charges.list, params=params))
            ours.listing_raw.append(timed(client.raw_request, "get", "/v1/charges", **params))
            fetch = raw_get(conn, f"/v1/charges?limit=100&created[gte]={lo}&created[lt]={hi}")
            ours.listing_http.append(timed(fetch))
            page = fetch()
            ours.decode.append(timed(decode_page, client, page))
            if len(decode_page(client, page)["data"]) != 100:
                raise RuntimeError(f"window {lo}-{hi} did not fill a 100-row page")
        create: dict[str, object] = {"amount": 2000, "currency": "usd", "source": "tok_visa"}
        for _ in range(creates):
            ours.create.append(timed(client.v1.charges.create, params=create))
        conn.close()
    # The core alone, in this process: what the HTTP layers add is the difference.
    core = Core(db)
    try:
        auth = {"authorization": f"Bearer {KEY}"}
        for lo, hi in windows:
            query = f"limit=100&created[gte]={lo}&created[lt]={hi}".encode()
            ours.listing_core.append(
                timed(core.handle, "GET", "/v1/charges", query=query, headers=auth)
            )
        body = b"amount=2000&currency=usd&source=tok_visa"
        for n in range(creates):
            headers = {**auth, "idempotency-key": f"bench-core-{n}"}
            ours.create_core.append(
                timed(core.handle, "POST", "/v1/charges", body=body, headers=headers)
            )
    finally:
        core.close()
    return ours


def decode_page(client: stripe.StripeClient, body: object) -> Any:
    """Decode a raw list page the way the library does after a request (JSON, then objects)."""
    assert isinstance(body, bytes)
    return client.deserialize(json.loads(body), api_mode="V1")


# --- report ------------------------------------------------------------------------------------


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "NOT met"


def report(ours: Figures, theirs: Figures | None) -> None:
    """Print the figures, the issue's targets and the ratios to localstripe."""
    charges = ours.stored_charges
    print("\n".join(ours.notes))
    seed_target = TARGET_SEED_S * charges / 1_000_000
    print(
        f"seed {charges:,} charges: {ours.seed_seconds:.1f} s (target {seed_target:.1f} s,"
        f" i.e. 60 s per 1M: {verdict(ours.seed_seconds, seed_target)})"
    )
    empty = Figures("none")
    other = theirs or empty
    table = [
        ("list 100 rows, stripe library", ours.listing, other.listing),
        ("list 100 rows, raw_request (JSON)", ours.listing_raw, other.listing_raw),
        ("list 100 rows, plain HTTP", ours.listing_http, other.listing_http),
        ("list 100 rows, core (no socket)", ours.listing_core, empty.listing),
        ("  library decode of a page only", ours.decode, empty.listing),
        ("charge create, stripe library", ours.create, other.create),
        ("charge create, core (no socket)", ours.create_core, empty.listing),
    ]
    their_size = f"localstripe {theirs.stored_charges:,}" if theirs else "localstripe"
    print(
        f"{'':34} {'billing_kit ' + format(charges, ','):>26} {their_size:>26}  ratio\n"
        f"{'':34} {'p50 ms':>12} {'p95 ms':>13} {'p50 ms':>12} {'p95 ms':>13}"
    )
    for label, mine, baseline in table:
        line = f"{label:<34} {percentile(mine, 0.5):12.2f} {percentile(mine, 0.95):13.2f}"
        if baseline:
            line += f" {percentile(baseline, 0.5):12.2f} {percentile(baseline, 0.95):13.2f}"
            line += f"  {percentile(baseline, 0.5) / percentile(mine, 0.5):5.1f}x"
        print(line)
    for label, samples, target in (
        ("list p50 over HTTP (the server)", ours.listing_http, TARGET_LIST_P50_MS),
        ("list p50 through the library's raw_request", ours.listing_raw, TARGET_LIST_P50_MS),
        ("list p50 through the library's objects", ours.listing, TARGET_LIST_P50_MS),
        ("create p50 through the stripe library", ours.create, TARGET_CREATE_P50_MS),
    ):
        value = percentile(samples, 0.5)
        print(f"target: {label} {value:.2f} ms <= {target} ms: {verdict(value, target)}")
    print(
        f"(the library alone needs {percentile(ours.decode, 0.5):.1f} ms to decode a 100-charge"
        " page, against any server; ratio = localstripe / billing_kit, localstripe holding"
        f" {theirs.stored_charges if theirs else 0:,} charges against our {charges:,})"
    )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"load average now {load} on {os.cpu_count()} CPUs: other work on the machine inflates"
          " every latency above")  # fmt: skip
    if theirs is not None:
        print("localstripe create rate as its store grows:")
        print("\n".join(theirs.notes))


def run(quick: bool) -> None:
    """Print the sandbox figures (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as tmp:
        ours = bench_billing_kit(
            20_000 if quick else 1_000_000,
            list_requests=50 if quick else 200,
            creates=50 if quick else 200,
            workdir=Path(tmp),
        )
    theirs: Figures | None
    try:
        theirs = bench_localstripe(
            budget_s=15.0 if quick else 60.0, list_requests=10 if quick else 30
        )
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"localstripe could not run ({exc}); no side-by-side figures")
        theirs = None
    report(ours, theirs)
