"""connect() with no key: the shared sandbox under the state folder, one per folder, seen by all."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import billing_kit
from billing_kit import Client

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
    state = home / "sandbox.json"
    if state.exists():
        # The detached server this test started: stop it by its recorded pid.
        pid = int(json.loads(state.read_text())["pid"])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                # Our child (Popen in ensure_shared): reap it, or it lingers as a zombie.
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    break
            except ChildProcessError:
                break
            time.sleep(0.05)


def test_no_key_starts_and_shares_the_sandbox(shared_home: Path) -> None:
    with billing_kit.connect(backoff=0.01) as first, billing_kit.connect(backoff=0.01) as second:
        assert first.mode == second.mode == "sandbox"
        assert first.api_base == second.api_base and first.api_base.startswith("http://127.0.0.1:")
        assert first.masked_key == "sk_test_sandbox" and "mode='sandbox'" in repr(first)
        assert first.home == shared_home and (shared_home / "sandbox.db").exists()
        assert first.cache_namespace == "sandbox-shared"
        charge = first.charge("shared@example.com", 5, "usd", payment_method="pm_card_visa")
        # A charge made in one notebook shows in another's history, and in its duplicate guard.
        assert [c.id for c in second.recent_charges()] == [charge.id]
        with pytest.raises(billing_kit.DuplicateCharge):
            second.charge("shared@example.com", 5, "usd", payment_method="pm_card_visa")


def test_history_delegation(client: Client) -> None:
    charge = client.charge("hist@example.com", 7, "usd", payment_method="pm_card_visa")
    frame = client.charges_frame(progress=False)
    assert charge.id in set(frame["id"])
