"""Fixtures for driving the forms headless against a fresh in-memory sandbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import billing_kit


@pytest.fixture
def client(sandbox: Any) -> billing_kit.Client:
    """A sandbox-mode client on the test's own sandbox (no key: the sandbox key is used)."""
    return billing_kit.connect(api_base=sandbox.url, max_retries=0)


@pytest.fixture(autouse=True)
def _no_swallowed_callback_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail a test when ipywidgets swallowed an exception raised in a callback.

    Outside a kernel ipywidgets only logs "Exception in callback"; every form handler is supposed to
    catch its errors and show them in the form, so such a record means an unwrapped handler.
    """
    caplog.set_level(logging.WARNING)
    yield
    swallowed = [
        r.getMessage() for r in caplog.records if "Exception in callback" in r.getMessage()
    ]
    assert not swallowed, swallowed


@pytest.fixture
def stripe_charges(client: billing_kit.Client) -> Callable[[], list[Any]]:
    """A function returning every charge the sandbox holds, read back through the stripe library."""

    def read() -> list[Any]:
        return list(client.stripe.v1.charges.list(params={"limit": 100}).auto_paging_iter())

    return read
