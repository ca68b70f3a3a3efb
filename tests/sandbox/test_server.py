"""The HTTP side: faults, rate limits, latency under concurrency, restarts, CLI, shared server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from billing_kit.sandbox import Core, SandboxServer, ensure_shared, start
from billing_kit.sandbox._faults import Faults, Knobs
from tests.support import TEST_KEY

from .conftest import count, make_client

CHARGE = {"amount": 1500, "currency": "usd", "source": "tok_visa"}


def seed_for(pattern: list[str | None], rate: float = 0.5) -> int:
    """The first fault seed whose draws start with ``pattern`` (uses the sandbox's own
    generator).
    """
    for seed in range(10_000):
        faults = Faults(Knobs(fault_rate=rate, fault_seed=seed))
        if [faults.draw() for _ in pattern] == pattern:
            return seed
    raise AssertionError(f"no seed gives {pattern!r}")


def test_fault_500_is_not_saved(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(fault_rate=0.5, fault_seed=seed_for(["error", None]))
    client = make_client(server.url)
    with pytest.raises(stripe.APIError) as caught:
        client.v1.charges.create(CHARGE, {"idempotency_key": "f500"})
    assert caught.value.http_status == 500 and caught.value.error.type == "api_error"
    assert count(server, "charges") == 0
    assert client.v1.charges.create(CHARGE, {"idempotency_key": "f500"}).status == "succeeded"


def test_fault_reset_before_effect(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(fault_rate=0.5, fault_seed=seed_for(["reset", None]))
    client = make_client(server.url)
    with pytest.raises(stripe.APIConnectionError) as caught:
        client.v1.charges.create(CHARGE, {"idempotency_key": "reset"})
    assert caught.value.should_retry
    assert count(server, "charges") == 0
    again = client.v1.charges.create(CHARGE, {"idempotency_key": "reset"})
    assert "Idempotent-Replayed" not in again.last_response.headers
    assert count(server, "charges") == 1


def test_fault_commit_then_drop(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(fault_rate=0.5, fault_seed=seed_for(["drop", None]))
    client = make_client(server.url)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.charges.create(CHARGE, {"idempotency_key": "drop"})
    assert count(server, "charges") == 1  # the write happened although the client never heard
    again = client.v1.charges.create(CHARGE, {"idempotency_key": "drop"})
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert count(server, "charges") == 1


def test_library_retries_make_drops_harmless(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(fault_rate=0.5, fault_seed=seed_for(["drop", "reset", None]))
    created = make_client(server.url, retries=3).v1.charges.create(CHARGE)
    assert created.status == "succeeded" and count(server, "charges") == 1


def test_faults_are_deterministic_and_reconfigurable(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh()
    server.configure(fault_rate=0.3, fault_seed=7)
    first = [server.faults.draw() for _ in range(50)]
    server.configure(fault_seed=8)
    server.configure(fault_seed=7)
    assert [server.faults.draw() for _ in range(50)] == first
    assert {None, "error", "reset", "drop"} == set(first)
    server.configure(fault_rate=0.0)
    assert make_client(server.url).v1.balance.retrieve().object == "balance"


@pytest.mark.parametrize(
    "knobs", [{"latency_ms": -1}, {"rate_limit": 0}, {"fault_rate": 1.5}, {"fault_rate": -0.1}]
)
def test_bad_knobs_are_refused(knobs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        start(**knobs)


def test_rate_limit_per_endpoint(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(rate_limit=0.01)  # one request, then one per 100 s
    client = make_client(server.url)
    client.v1.customers.list()
    with pytest.raises(stripe.RateLimitError) as caught:
        client.v1.customers.list()
    error = caught.value
    assert error.http_status == 429 and error.error.code == "rate_limit"
    assert error.error.type == "invalid_request_error"
    assert error.headers["Stripe-Rate-Limited-Reason"] == "endpoint-rate"
    assert "Request rate limit exceeded" in error.user_message
    # Another endpoint has its own budget; retrieving differs from listing.
    assert client.v1.balance.retrieve().object == "balance"
    client.v1.customers.create({})
    with pytest.raises(stripe.RateLimitError):
        client.v1.customers.create({})
    assert count(server, "customers") == 1


def test_latency_overlaps_for_100_requests(fresh: Callable[..., SandboxServer]) -> None:
    server = fresh(latency_ms=2500)

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=150, max_keepalive_connections=150)
        headers = {"Authorization": f"Bearer {TEST_KEY}"}
        async with httpx.AsyncClient(
            base_url=server.url, limits=limits, headers=headers, timeout=60
        ) as http:
            replies = await asyncio.gather(*(http.get("/v1/balance") for _ in range(100)))
        return [r.status_code for r in replies]

    assert asyncio.run(burst()) == [200] * 100
    assert server.gauge.peak >= 100  # all 100 were waiting out their latency at the same time


def test_state_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with start(db=db) as server:
        customer = make_client(server.url).v1.customers.create({"email": "keep@example.com"})
        port = int(server.url.rsplit(":", 1)[1])
        assert port > 0
    with start(db=db) as server:
        client = make_client(server.url)
        assert client.v1.customers.retrieve(customer.id).email == "keep@example.com"
        assert [c.id for c in client.v1.customers.list({"email": "keep@example.com"}).data] == [
            customer.id
        ]


def test_memory_keeps_nothing() -> None:
    with start() as server:
        customer = make_client(server.url).v1.customers.create({})
    with start() as server, pytest.raises(stripe.InvalidRequestError):
        make_client(server.url).v1.customers.retrieve(customer.id)


def test_health_needs_no_key(server: SandboxServer) -> None:
    reply = httpx.get(f"{server.url}/v1/_sandbox/health")
    assert reply.status_code == 200 and reply.json()["ok"] is True


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "billing_kit.sandbox", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_cli_serve_prints_url_and_stops_on_signal(stop: signal.Signals) -> None:
    process = _serve("--port", "0", "--db", ":memory:", "--latency-ms", "1")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        assert make_client(url).v1.customers.create({}).id.startswith("cus_")
        process.send_signal(stop)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
    finally:
        process.kill()
        process.communicate()


def test_cli_serve_reports_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        process = _serve("--port", str(taken.getsockname()[1]), "--db", ":memory:")
        _, err = process.communicate(timeout=30)
    assert process.returncode == 2 and "cannot listen" in err


def test_ensure_shared_starts_one_server(tmp_path: Path) -> None:
    home = tmp_path / "home"
    urls: list[str] = []
    threads = [threading.Thread(target=lambda: urls.append(ensure_shared(home))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = json.loads((home / "sandbox.json").read_text())
    try:
        assert len(set(urls)) == 1 and urls[0] == state["url"]
        assert state["db"] == str(home / "sandbox.db")
        client = make_client(urls[0])
        customer = client.v1.customers.create({"email": "shared@example.com"})
        assert ensure_shared(home) == urls[0]  # reused, not restarted
        os.kill(state["pid"], signal.SIGTERM)
        _wait_gone(state["pid"])
        restarted = ensure_shared(home)  # the dead server is replaced; the data is on disk
        new_state = json.loads((home / "sandbox.json").read_text())
        assert (
            make_client(restarted).v1.customers.retrieve(customer.id).email == "shared@example.com"
        )
    finally:
        for pid in {state["pid"], json.loads((home / "sandbox.json").read_text())["pid"]}:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            _wait_gone(pid)
    assert new_state["pid"] != state["pid"]


def _wait_gone(pid: int) -> None:
    for _ in range(400):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        threading.Event().wait(0.05)


def test_shared_server_stops_when_its_home_goes(tmp_path: Path) -> None:
    home = tmp_path / "gone"
    ensure_shared(home)
    pid = json.loads((home / "sandbox.json").read_text())["pid"]
    try:
        (home / "sandbox.json").unlink()  # as when a temporary state folder is deleted
        _wait_gone(pid)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def test_two_processes_write_one_file(tmp_path: Path) -> None:
    home = tmp_path / "two-processes"
    home.mkdir()
    Core(home / "sandbox.db").close()  # an empty database: ensure_shared seeds only a new one
    shared = ensure_shared(home)  # a detached process on home/sandbox.db
    pid = json.loads((home / "sandbox.json").read_text())["pid"]
    try:
        with start(db=home / "sandbox.db") as local:  # this process, same file
            made: list[str] = []

            def create(url: str, tag: str) -> None:
                client = make_client(url, retries=5)  # a key in flight elsewhere answers 409
                for n in range(25):
                    charge = client.v1.charges.create(
                        CHARGE, {"idempotency_key": f"{tag}-{n % 20}"}
                    )
                    made.append(charge.id)

            jobs = [(shared, "a"), (local.url, "a"), (local.url, "b")]
            threads = [threading.Thread(target=create, args=job) for job in jobs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            # Keys are shared across processes: tag "a" made 20 charges, tag "b" another 20.
            assert len(set(made)) == 40 and len(made) == 75
            assert count(local, "charges") == 40
            listed = make_client(shared).v1.charges.list({"limit": 100})
            assert {c.id for c in listed.data} == set(made)
    finally:
        os.kill(pid, signal.SIGTERM)
        _wait_gone(pid)


def test_a_reads_own_work_is_part_of_its_latency_and_a_write_runs_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With ``latency_ms``, an answer takes the latency, however long the sandbox itself worked on
    it: a read runs when it arrives and waits out only the rest, so reads arriving together do
    not queue for the one process's CPU after their wait. A write still runs after the wait, so
    a duplicate arriving meanwhile finds its key in flight."""
    from billing_kit.sandbox import _app
    from billing_kit.sandbox._core import Pending

    now = [100.0]
    events: list[tuple[str, float]] = []
    finish = Pending.finish

    def working(pending: Pending) -> Any:
        events.append((f"run {pending.route.method}", now[0]))
        now[0] += 0.2  # the endpoint's own work takes 0.2 s
        return finish(pending)

    async def sleep(seconds: float) -> None:
        events.append(("wait", seconds))
        now[0] += seconds

    monkeypatch.setattr(_app, "clock", lambda: now[0])
    monkeypatch.setattr(_app, "wait", sleep)
    monkeypatch.setattr(Pending, "finish", working)
    app = _app.build_app(Core(), Faults(Knobs(latency_ms=300)))

    async def send() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {TEST_KEY}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox", headers=headers
        ) as http:
            read = await http.get("/v1/customers")
            started = now[0]
            write = await http.post("/v1/customers", data={"email": "w@example.com"})
            events.append(("write answered after", round(now[0] - started, 3)))
        return [read.status_code, write.status_code]

    assert asyncio.run(send()) == [200, 200]
    assert events == [
        ("run GET", 100.0),
        ("wait", pytest.approx(0.1)),  # 0.3 s in all, the 0.2 s of work included
        ("wait", pytest.approx(0.3)),
        ("run POST", pytest.approx(100.6)),
        ("write answered after", 0.5),
    ]
