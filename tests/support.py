"""Constants and helpers shared by the test modules (``from tests.support import ...``)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import billing_kit

# Built at run time so no committed line looks like a real key.
TEST_KEY = "sk_test_" + "bk" * 12


def require_tool(path: str, why: str) -> None:
    """Skip when a tool is missing, except in CI, where a missing tool is a failure."""
    if shutil.which(path) or Path(path).exists():
        return
    message = f"{path} is missing ({why})"
    if os.environ.get("BILLING_KIT_REQUIRE_ALL"):
        pytest.fail(message + "; CI must install it (see Makefile system-deps)")
    pytest.skip(message)


def stop_shared_sandbox(home: Path) -> None:
    """Stop the detached sandbox that kernels started for ``home``, by the pid it recorded."""
    state = home / "sandbox.json"
    if not state.exists():
        return
    pid = int(json.loads(state.read_text())["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises ProcessLookupError once it is gone
            time.sleep(0.05)


#: 2026-11-02 10:00 UTC, a Monday: the first day of the month-end tests' charges.
NOVEMBER_MONDAY = 1_793_577_600 + 10 * 3600


@contextlib.contextmanager
def month_sandbox(
    folder: Path, charges: list[tuple[int, str, str, str]]
) -> Iterator[tuple[Any, Path]]:
    """A sandbox in ``folder`` with ``charges`` made in November 2026 and paid out, its clock 18
    days on (every payout arrived); yield it and its database, and stop it after.

    Each charge is ``(day, order_id, amount, currency)``: made on ``NOVEMBER_MONDAY + day`` for
    ``<order_id>@example.com`` with ``metadata.order_id``; each day's charges are then swept into
    one payout.
    ``BILLING_KIT_HOME`` points into ``folder`` while the charges are made.
    """
    from billing_kit.sandbox import start

    db = folder / "sandbox.sqlite3"
    running = start(db=db)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("BILLING_KIT_HOME", str(folder / "bk-home"))
            with billing_kit.connect(TEST_KEY, api_base=running.url) as client:
                for day in sorted({day for day, *_ in charges}):
                    now = NOVEMBER_MONDAY + day * 86_400
                    client.stripe.raw_request("post", "/v1/_sandbox/clock", now=now)
                    for _, order, amount, currency in (c for c in charges if c[0] == day):
                        client.charge(f"{order}@example.com", amount, currency,
                                      payment_method="pm_card_bypassPending",
                                      metadata={"order_id": order})  # fmt: skip
                    client.stripe.raw_request("post", "/v1/_sandbox/payouts/sweep")
                later = NOVEMBER_MONDAY + 18 * 86_400
                client.stripe.raw_request("post", "/v1/_sandbox/clock", now=later)
        yield running, db
    finally:
        running.stop()
