"""Fixtures for the core tests: a client pointed at the sandbox with small, test-speed backoff."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import billing_kit
from billing_kit import Client
from tests.support import TEST_KEY

# Retries wait milliseconds, not seconds, and the pacer never throttles unless a test asks.
FAST: dict[str, Any] = {"backoff": 0.005, "max_backoff": 0.02, "rate_limit": 10_000}


@pytest.fixture
def connect_to(sandbox: Any) -> Iterator[Callable[..., Client]]:
    """Return a factory of clients on the test sandbox; every client is closed afterwards."""
    made: list[Client] = []

    def make(**options: Any) -> Client:
        client = billing_kit.connect(TEST_KEY, api_base=sandbox.url, **{**FAST, **options})
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(connect_to: Callable[..., Client]) -> Client:
    """A client on a fresh sandbox."""
    return connect_to()


def all_charges(client: Client) -> list[Any]:
    """Every charge in the sandbox, through the official library (no internals)."""
    return list(client.stripe.v1.charges.list({"limit": 100}).auto_paging_iter())


def all_customers(client: Client) -> list[Any]:
    return list(client.stripe.v1.customers.list({"limit": 100}).auto_paging_iter())


def all_payment_intents(client: Client) -> list[Any]:
    return list(client.stripe.v1.payment_intents.list({"limit": 100}).auto_paging_iter())
