"""connect() with no key: the shared sandbox under the state folder, one per folder, seen by all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import billing_kit
from billing_kit import Client
from tests.support import stop_shared_sandbox

pytestmark = [
    pytest.mark.slow,
    # ensure_shared() starts the detached server with Popen and lets the handle go (the server must
    # outlive the kernel); Popen.__del__ then warns that the process is still running. Intended.
    pytest.mark.filterwarnings("ignore:subprocess .* is still running:ResourceWarning"),
]


@pytest.fixture
def shared_home() -> Iterator[Path]:
    home = Path(os.environ["BILLING_KIT_HOME"])
    yield home
    stop_shared_sandbox(home)  # the detached server this test started, waited until gone


def test_no_key_starts_and_shares_the_sandbox(shared_home: Path) -> None:
    with billing_kit.connect(backoff=0.01) as first, billing_kit.connect(backoff=0.01) as second:
        assert first.mode == second.mode == "sandbox"
        assert first.api_base == second.api_base and first.api_base.startswith("http://127.0.0.1:")
        assert first.masked_key == "sk_test_sandbox" and "mode='sandbox'" in repr(first)
        assert first.home == shared_home and (shared_home / "sandbox.db").exists()
        assert first.cache_namespace == "sandbox-shared"
        charge = first.charge("shared@example.com", 5, "usd", payment_method="pm_card_visa")
        # A charge made in one notebook shows in another's history, and in its duplicate guard.
        # (The sandbox started with its seeded history, all of it older than this charge.)
        assert second.recent_charges()[0].id == charge.id
        with pytest.raises(billing_kit.DuplicateCharge):
            second.charge("shared@example.com", 5, "usd", payment_method="pm_card_visa")


def test_history_delegation(client: Client) -> None:
    charge = client.charge("hist@example.com", 7, "usd", payment_method="pm_card_visa")
    frame = client.charges_frame(progress=False)
    assert charge.id in set(frame["id"])


def test_a_pull_restarts_the_shared_sandbox_it_finds_stopped(shared_home: Path) -> None:
    # History reads go through client.reads, not stripe-python: they restart the sandbox too.
    with billing_kit.connect(backoff=0.01) as client:
        stop_shared_sandbox(shared_home)  # as when it stopped after its idle time
        frame = client.charges_frame(progress=False)
        assert len(frame) > 0 and frame.attrs["pull"]["retries"] == 0
        assert client._stripe is None  # nothing needed stripe-python
