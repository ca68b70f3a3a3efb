"""The history cache and the shared sandbox lock through filelock, so they also lock on Windows
(where ``import fcntl`` fails: the cache used to skip locking silently there)."""

from __future__ import annotations

import sys
from pathlib import Path

import filelock
import pytest

from billing_kit.history._cache import HistoryCache
from billing_kit.sandbox import _lifecycle


@pytest.fixture
def no_fcntl(monkeypatch: pytest.MonkeyPatch) -> None:
    # As on Windows: `import fcntl` raises ImportError.
    monkeypatch.setitem(sys.modules, "fcntl", None)


def _held(path: Path) -> bool:
    """Whether another holder has the lock file ``path`` (tried without waiting)."""
    try:
        with filelock.FileLock(path, timeout=0):
            return False
    except filelock.Timeout:
        return True


@pytest.mark.usefixtures("no_fcntl")
def test_the_cache_lock_is_held_where_fcntl_cannot_be_imported(tmp_path: Path) -> None:
    cache = HistoryCache(tmp_path / "cache", "charges")
    with cache.locked():
        assert _held(tmp_path / "cache" / "charges.lock")
    assert not _held(tmp_path / "cache" / "charges.lock")


@pytest.mark.usefixtures("no_fcntl")
def test_the_sandbox_lock_is_held_where_fcntl_cannot_be_imported(tmp_path: Path) -> None:
    with _lifecycle.locked(tmp_path / "home"):
        assert _held(tmp_path / "home" / "sandbox.lock")
    assert not _held(tmp_path / "home" / "sandbox.lock")
