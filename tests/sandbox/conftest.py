"""Fixtures for the sandbox conformance suite: one server per module, clients from the real library.

Tests that change knobs (latency, faults, rate limits) use ``fresh`` servers of their own so the
shared one stays plain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stripe

from billing_kit.sandbox import SandboxServer, start
from tests.support import TEST_KEY


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """An in-memory sandbox shared by the tests of one module."""
    with start() as running:
        yield running


def make_client(url: str, *, key: str = TEST_KEY, retries: int = 0) -> stripe.StripeClient:
    """A StripeClient on ``url`` (only the API base differs from production use)."""
    return stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=retries)


@pytest.fixture(scope="module")
def client(server: SandboxServer) -> stripe.StripeClient:
    """The official client pointed at the module's sandbox."""
    return make_client(server.url)


@pytest.fixture
def fresh() -> Iterator[Callable[..., SandboxServer]]:
    """A factory of extra sandboxes (``start`` options), all stopped after the test."""
    made: list[SandboxServer] = []

    def make(**options: Any) -> SandboxServer:
        running = start(**options)
        made.append(running)
        return running

    yield make
    for running in made:
        running.stop()


def count(server: SandboxServer, table: str) -> int:
    """Rows in a sandbox table, read through the core (no HTTP)."""
    with server.core.store.read() as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


@pytest.fixture(scope="module")
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    """Raw HTTP to the module's sandbox, for requests the official library would not send."""
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    with httpx.Client(base_url=server.url, headers=headers) as raw:
        yield raw


def card_charge(client: stripe.StripeClient, **extra: Any) -> Any:
    """A $20.00 card charge (``tok_visa``) with ``extra`` create params."""
    return client.v1.charges.create(
        {"amount": 2000, "currency": "usd", "source": "tok_visa", **extra}
    )
