"""Constants and helpers shared by the test modules (``from tests.support import ...``)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from pathlib import Path

import pytest

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
