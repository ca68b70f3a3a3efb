"""Sandbox benchmark: seed time, list-page and create latency, side by side with localstripe.

``python -m benchmarks sandbox [--quick]`` prints, with 1,000,000 charges stored (quick: 20,000):

- the time ``billing_kit.sandbox.seed`` takes to write them;
- p50/p95 of a 100-row ``GET /v1/charges`` page with a ``created`` range, through the official
  ``stripe`` library over HTTP, over plain HTTP (the server alone) and through the core (no socket);
- p50 of a charge create through the ``stripe`` library;
- the same create/list figures for localstripe at the largest size it reaches in ~60 s, and ratios.

localstripe pins old dependencies, so it lives in its own virtual environment, ``.venv-localstripe``
at the repository root, which this module creates on first use (``pip install localstripe==...``).
``BILLING_KIT_LOCALSTRIPE=/path/to/localstripe`` points it at an existing executable instead.
Nothing here asserts a time: the figures are printed next to the issue's targets.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import venv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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
    """Latency samples (seconds) for one server, plus the store size they were taken at."""

    name: str
    stored_charges: int = 0
    create: list[float] = field(default_factory=list)
    listing: list[float] = field(default_factory=list)
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


def timed(call: Callable[[], object]) -> float:
    """Run ``call`` once and return how long it took, in seconds."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen[bytes]) -> None:
    """Wait until something accepts connections on ``port``; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited with status {process.returncode!r}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"localstripe did not listen on port {port!r} within {timeout} s")


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
    # localstripe binds every interface (it has no --host option); we only ever talk to loopback.
    process = subprocess.Popen(
        [str(executable), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30.0, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
            step.append(timed(lambda: client.v1.charges.create(params=params)))  # type: ignore[arg-type]
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
        for _ in range(list_requests):
            figures.listing.append(
                timed(lambda: client.v1.charges.list(params=list_params))  # type: ignore[arg-type]
            )
    return figures


def run(quick: bool) -> None:
    """Print the sandbox figures (see the module docstring)."""
    theirs = bench_localstripe(budget_s=20.0 if quick else 60.0, list_requests=20 if quick else 50)
    print("\n".join(theirs.notes))
    print(
        f"localstripe at {theirs.stored_charges} charges: create p50"
        f" {percentile(theirs.create, 0.5):.2f} ms, list p50"
        f" {percentile(theirs.listing, 0.5):.2f} ms"
        f" p95 {percentile(theirs.listing, 0.95):.2f} ms"
    )
