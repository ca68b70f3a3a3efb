"""Fixtures shared by the whole suite (Flask-tutorial style: small, function-scoped)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.guard import session_guard
from tests.support import TEST_KEY, require_tool

# session_guard (autouse, session scope): the run fails if a test leaves a process running or
# writes to the real ~/.billing_kit (HOME points at a temporary folder for the whole session).
__all__ = ["TEST_KEY", "require_tool", "session_guard"]

# Hypothesis keeps no example database (tests write nothing outside their temporary folders) and
# sets no per-example deadline (sandbox round trips vary on a loaded 2-core machine). In CI the
# search is derandomized: a fixed seed, so a red run can be re-run to the same failure.
settings.register_profile("billing_kit", database=None, deadline=None)
settings.register_profile("ci", parent=settings.get_profile("billing_kit"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "billing_kit")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test inherits a developer's key, base URL or state folder."""
    for name in list(os.environ):
        if name.startswith("STRIPE_") or (
            name.startswith("BILLING_KIT_") and name != "BILLING_KIT_REQUIRE_ALL"
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BILLING_KIT_HOME", str(tmp_path / "bk-home"))
    monkeypatch.setenv("TQDM_DISABLE", "1")


@pytest.fixture
def sandbox() -> Iterator[object]:
    """A fresh in-memory sandbox on a free loopback port, stopped after the test."""
    from billing_kit.sandbox import start

    server = start(db=":memory:")
    try:
        yield server
    finally:
        server.stop()
