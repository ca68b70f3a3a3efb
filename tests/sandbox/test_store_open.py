"""Several processes (here: threads with their own connections) opening one fresh sandbox file."""

from __future__ import annotations

import threading
from pathlib import Path

from billing_kit.sandbox._store import Store


def test_stores_opening_a_fresh_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Converting a fresh file to WAL from two connections at once makes SQLite refuse one at once
    # ("database is locked", without waiting out the busy timeout); the store must retry. The race
    # is narrow, so it is run many times (about 1 in 15 rounds hit it before the fix).
    failures: list[BaseException] = []
    for round_ in range(120):
        path = tmp_path / f"fresh-{round_}" / "sandbox.db"
        start = threading.Barrier(2)

        def open_store(target: Path = path, barrier: threading.Barrier = start) -> None:
            barrier.wait()
            try:
                Store(target).close()
            except BaseException as exc:  # collected: a thread's exception is lost otherwise
                failures.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert failures == []
