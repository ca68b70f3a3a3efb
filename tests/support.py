"""Constants and helpers the test modules import (conftest.py files are not importable by name)."""

from __future__ import annotations

import os
import shutil
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
