"""Rate limits and faults: the pull slows down or retries, and still returns every row once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import billing_kit
from billing_kit import history
from billing_kit.sandbox import seed, start
from tests.support import TEST_KEY


@pytest.fixture
def seeded_db(tmp_path: Path) -> Path:
    db = tmp_path / "seeded.db"
    seed(db, charges=600, seed=3)
    return db


def _connect(server: Any, home: Path) -> Any:
    # Short backoff: the retries are what is tested, not the waiting. Ten retries: with 30% of
    # requests failing, one GET of a pull's ~20 fails eleven times running once in ~25,000 pulls
    # (seven times, with six retries, once in ~250).
    return billing_kit.connect(
        TEST_KEY, api_base=server.url, home=home, max_retries=10, backoff=0.01, max_backoff=0.05
    )


def _pull(server: Any, home: Path, **options: Any) -> Any:
    with _connect(server, home) as client:
        return history.charges_frame(client, progress=False, **options)


def test_429s_are_honoured_and_no_row_is_lost(seeded_db: Path, tmp_path: Path) -> None:
    # The server allows 4 requests/s; the client is told 50/s, so it meets 429s and must back off.
    with start(db=seeded_db, rate_limit=4) as server:
        frame = _pull(server, tmp_path / "home", rate_limit=50)
    assert frame.attrs["pull"]["rate_limited"] > 0
    assert len(frame) == 600 and frame["id"].is_unique


def test_faults_are_retried_and_no_row_is_lost(seeded_db: Path, tmp_path: Path) -> None:
    with start(db=seeded_db, fault_rate=0.3, fault_seed=5) as server:
        frame = _pull(server, tmp_path / "home")
    assert frame.attrs["pull"]["retries"] > 0
    assert len(frame) == 600 and frame["id"].is_unique


def test_persistent_failure_raises_and_keeps_the_cache(seeded_db: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with start(db=seeded_db) as server:
        first = _pull(server, home)
        with _connect(server, home) as client:
            cached = home / "cache" / client.cache_namespace / "charges.parquet"
            before = cached.read_bytes()
            server.configure(fault_rate=1.0, fault_seed=1)
            with pytest.raises(billing_kit.StripeRequestError):
                history.charges_frame(client, progress=False)
            assert cached.read_bytes() == before
            server.configure(fault_rate=0.0)
            again = history.charges_frame(client, progress=False)
    assert again["id"].tolist() == first["id"].tolist()
