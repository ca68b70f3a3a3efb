"""Several processes (here: threads with their own connections) opening one fresh SQLite file:
the client's ledger and the sandbox's store both switch it to WAL (``billing_kit._sqlite``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from billing_kit._ledger import Ledger
from billing_kit.sandbox._store import Store

OPENERS: dict[str, Callable[[Path], None]] = {
    "ledger": lambda path: Ledger(path, namespace="ns", mode="test").close(),
    "sandbox store": lambda path: Store(path).close(),
}


@pytest.mark.parametrize("name", OPENERS)
def test_two_openers_of_a_fresh_file_both_succeed(name: str, tmp_path: Path) -> None:
    # Converting a fresh file to WAL from two connections at once makes SQLite refuse one at once
    # ("database is locked", without waiting out the busy timeout); opening must wait and retry.
    # The race is narrow, so it is run many times (about 1 in 15 rounds hit it before the fix).
    opener = OPENERS[name]
    failures: list[BaseException] = []
    for round_ in range(120):
        path = tmp_path / f"fresh-{round_}" / "state.sqlite3"
        start = threading.Barrier(2)

        def open_file(target: Path = path, barrier: threading.Barrier = start) -> None:
            barrier.wait()
            try:
                opener(target)
            except BaseException as exc:  # collected: a thread's exception is lost otherwise
                failures.append(exc)

        threads = [threading.Thread(target=open_file) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert failures == []
