"""Slices, the cache and the change feeds, against a sandbox seeded with 90 days of history."""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import billing_kit
from billing_kit import history
from billing_kit.history import ProgressUpdate
from billing_kit.history._fetch import DICT_PAGES, Fetcher, PageReader
from billing_kit.sandbox import seed, start
from tests.support import TEST_KEY

SEEDED = 3000


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Any]:
    """A sandbox serving a database seeded with 3,000 charges over the last 90 days."""
    db = tmp_path / "seeded.db"
    seed(db, charges=SEEDED, seed=7)
    with start(db=db) as server:
        yield server


def _connect(server: Any, home: Path) -> Any:
    return billing_kit.connect(TEST_KEY, api_base=server.url, home=home)


def test_slices_are_disjoint_cover_the_range_and_never_repeat_an_id(
    seeded: Any, tmp_path: Path
) -> None:
    with _connect(seeded, tmp_path / "home") as client:
        fetcher = Fetcher(client, workers=8)
        finished: list[tuple[int, int, list[dict[str, Any]]]] = []
        lock = threading.Lock()

        def keep(lo: int, hi: int, rows: list[dict[str, Any]]) -> None:
            with lock:
                finished.append((lo, hi, rows))

        top = 2_000_000_000
        fetcher.pull_range("/v1/charges", {}, [(0, top)], keep)
    spans = sorted((lo, hi) for lo, hi, _ in finished)
    assert spans[0][0] == 0 and spans[-1][1] == top
    for (_, hi), (lo, _) in itertools.pairwise(spans):
        assert hi == lo  # half-open slices meet exactly: no gap, no overlap
    ids = [r["id"] for _, _, rows in finished for r in rows]
    assert len(ids) == len(set(ids)) == SEEDED
    for lo, hi, rows in finished:
        assert all(lo <= r["created"] < hi for r in rows)
    assert len(spans) > 4  # the pull really was split


def test_a_split_pull_reads_every_row_once_and_hands_rows_on_page_by_page(
    seeded: Any, tmp_path: Path
) -> None:
    """Slices keep their cursor when split, so no page re-reads a row another page reading in
    the same direction brought (only a slice's two fronts, where they meet, may both read a
    few); and rows are handed on page by page (the progress bar counts them from the first
    answer), not only when a slice ends."""
    read: dict[str, list[str]] = {"down": [], "up": []}
    calls: list[int] = []
    lock = threading.Lock()
    direction = threading.local()

    def counting(body: str | bytes) -> tuple[list[Any], bool]:
        data, has_more = DICT_PAGES.read(body)
        with lock:
            read[direction.value].extend(r["id"] for r in data)
        return data, has_more

    reader = PageReader(counting, DICT_PAGES.created, DICT_PAGES.ident)
    with _connect(seeded, tmp_path / "home") as client:
        fetcher = Fetcher(client, workers=8)
        get_raw = fetcher.get_raw

        def tagged(path: str, params: Any = None, **options: Any) -> str | bytes:
            direction.value = "up" if "ending_before" in (params or {}) else "down"
            return get_raw(path, params, **options)

        fetcher.get_raw = tagged  # type: ignore[method-assign]
        finished: list[str] = []

        def keep(lo: int, hi: int, rows: list[dict[str, Any]]) -> None:
            with lock:
                calls.append(len(rows))
                finished.extend(r["id"] for r in rows)

        fetcher.pull_range("/v1/charges", {}, [(0, 2_000_000_000)], keep, reader=reader)
    assert sorted(finished) == sorted(set(finished)) and len(finished) == SEEDED
    for ids in read.values():
        assert len(ids) == len(set(ids))  # not one row fetched twice in one direction
    assert set(read["down"]) | set(read["up"]) == set(finished)
    assert len(calls) >= fetcher.stats.pages - 1  # about one hand-on per page


def test_same_second_charges_are_neither_lost_nor_doubled(sandbox: Any) -> None:
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url) as client:
        made: list[str] = []
        lock = threading.Lock()

        def make(n: int) -> None:
            for i in range(n):
                charge = client.stripe.v1.charges.create(
                    {"amount": 100 + i, "currency": "usd", "source": "tok_visa"}
                )
                with lock:
                    made.append(charge.id)

        makers = [threading.Thread(target=make, args=(40,)) for _ in range(4)]
        for maker in makers:
            maker.start()
        for maker in makers:
            maker.join()
        frame = history.charges_frame(client, progress=False)
    per_second = frame["created"].value_counts()
    # Several pages, and seconds holding many charges: page and slice edges fall inside seconds.
    assert len(made) == 160 and per_second.max() >= 5
    assert sorted(frame["id"]) == sorted(made)
    assert frame["id"].is_unique


def test_late_refunds_on_old_charges_appear_after_incremental_refresh(
    seeded: Any, tmp_path: Path
) -> None:
    with _connect(seeded, tmp_path / "home") as client:
        first = history.charges_frame(client, progress=False)
        assert len(first) == SEEDED and first["id"].is_unique
        cutoff = first["created"].max() - pd.Timedelta(days=40)
        old = first[
            (first["status"] == "succeeded")
            & ~first["refunded"]
            & ~first["disputed"]
            & (first["created"] < cutoff)
            & (first["currency"] == "usd")
        ].head(4)
        assert len(old) == 4
        partial = old.iloc[0]
        client.refund(str(partial["id"]), "1.00")
        for charge_id in old["id"].iloc[1:]:
            client.refund(str(charge_id))
        hal = client.find_or_create_customer("hal@example.com")
        new = [
            client.charge(hal, f"{7 + i}.00", "usd", payment_method="pm_card_visa").id
            for i in range(3)
        ]

        second = history.charges_frame(client, progress=False)

    assert second.attrs["pull"]["requests"] <= 10
    assert len(second) == SEEDED + 3 and second["id"].is_unique
    assert set(new) <= set(second["id"])
    rows = second.set_index("id")
    assert rows.loc[partial["id"], "amount_refunded_minor"] == 100
    assert not rows.loc[partial["id"], "refunded"]
    for charge_id in old["id"].iloc[1:]:
        assert rows.loc[charge_id, "refunded"]
        assert rows.loc[charge_id, "amount_refunded"] == rows.loc[charge_id, "amount"]
        # The charge's own fee and net did not change with the refund; they are kept.
        assert rows.loc[charge_id, "fee_minor"] == first.set_index("id").loc[charge_id, "fee_minor"]


class _Stop(Exception):
    """Raised from a progress callback to stop a pull part-way, as a kernel interrupt would."""


def _stopper(after: int) -> Any:
    seen = 0

    def callback(update: ProgressUpdate) -> None:
        nonlocal seen
        seen += 1
        if seen > after and not update.done:
            raise _Stop

    return callback


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_interrupted_pull_resumes_from_finished_slices_and_leaves_cache_as_it_was(
    seeded: Any, tmp_path: Path
) -> None:
    with _connect(seeded, tmp_path / "clean") as client:
        clean = history.charges_frame(client, progress=False)
        full_requests = clean.attrs["pull"]["requests"]
    home = tmp_path / "home"
    with _connect(seeded, home) as client:
        cache = home / "cache" / client.cache_namespace
        with pytest.raises(_Stop):
            history.charges_frame(client, progress=_stopper(after=1), rate_limit=200)
        # Nothing was published: no frame file, only the journal of finished slices.
        assert not (cache / "charges.parquet").exists()
        journal = (cache / "charges.state.json").read_bytes()
        assert b'"finished":[[' in journal
        resumed = history.charges_frame(client, progress=False)
    assert resumed.attrs["pull"]["requests"] < full_requests
    pd.testing.assert_frame_equal(resumed, clean)


def test_failed_refresh_leaves_the_cached_frame_untouched(seeded: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _connect(seeded, home) as client:
        history.charges_frame(client, progress=False)
        frame_file = home / "cache" / client.cache_namespace / "charges.parquet"
        before = _digest(frame_file)
        ivy = client.find_or_create_customer("ivy@example.com")
        for i in range(2):
            client.charge(ivy, f"{3 + i}.00", "usd", payment_method="pm_card_visa")
        with pytest.raises(_Stop):
            history.charges_frame(client, progress=_stopper(after=0))
        assert _digest(frame_file) == before
        after = history.charges_frame(client, progress=False)
    assert len(after) == SEEDED + 2 and after["id"].is_unique


def test_deleting_the_cached_frame_pulls_everything_again(seeded: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with _connect(seeded, home) as client:
        history.charges_frame(client, progress=False)
        (home / "cache" / client.cache_namespace / "charges.parquet").unlink()
        again = history.charges_frame(client, progress=False, refresh=False)
    assert len(again) == SEEDED and again["id"].is_unique


def test_two_pulls_at_once_take_turns_on_the_cache(seeded: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    results: list[Any] = []
    errors: list[BaseException] = []

    def pull() -> None:
        try:
            with _connect(seeded, home) as client:
                results.append(history.charges_frame(client, progress=False))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pull) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    first, second = results
    assert len(first) == len(second) == SEEDED
    # Whichever went second found the cache filled and only refreshed it.
    assert min(r.attrs["pull"]["requests"] for r in results) < 10
