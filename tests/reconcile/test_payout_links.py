"""The payout links cache: completed payouts are listed once, everything else every time, and the
reports from a warm cache equal those from an empty home.

Requests are counted as they leave the client (a recorder around its HTTP client's ``request``,
which passes every call on unchanged), so a listing made any other way would be counted too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import billing_kit
from billing_kit.reconcile import gather
from billing_kit.reconcile._inputs import History
from billing_kit.reconcile._links import LINKS_FILE, payout_links
from billing_kit.reconcile._month_end import month_figures
from billing_kit.sandbox.seed import seed
from tests.support import TEST_KEY

UNTIL = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
END = int(UNTIL.timestamp())
# Past the last payout's arrival: every automatic payout of the history is in the frames.
LATER = END + 30 * 86_400


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from billing_kit.sandbox import start

    folder = tmp_path_factory.mktemp("links")
    seed(folder / "history.db", charges=500, days=40, seed=17, until=UNTIL)
    running = start(db=folder / "history.db")
    try:
        yield running
    finally:
        running.stop()


def _connect(server: Any, home: Path) -> billing_kit.Client:
    # Short backoff: the retries are what is tested, not the waiting.
    return billing_kit.connect(
        TEST_KEY, api_base=server.url, home=home, max_retries=6, backoff=0.01, max_backoff=0.05
    )


def _record(client: billing_kit.Client, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The payout of every ``balance_transactions?payout=`` request the client sends from now
    (history reads leave through ``client.reads``, one ``_send`` per HTTP request)."""
    listed: list[str] = []
    reads: Any = client.reads
    send = reads._send

    def request(target: str) -> Any:
        parts = urlsplit(target)
        if parts.path == "/v1/balance_transactions":
            listed.extend(parse_qs(parts.query).get("payout", []))
        return send(target)

    monkeypatch.setattr(reads, "_send", request)
    return listed


def _automatic(history: History, status: str | None = None) -> set[str]:
    payouts = history.payouts[history.payouts["automatic"].fillna(False)]
    if status is not None:
        payouts = payouts[payouts["reconciliation_status"] == status]
    return set(payouts["id"])


def _sorted(links: pd.DataFrame) -> pd.DataFrame:
    return links.sort_values(list(links.columns)).reset_index(drop=True)


def test_a_warm_gather_lists_only_payouts_not_completed(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _connect(server, tmp_path / "home") as client:
        listed = _record(client, monkeypatch)
        cold = gather(client, LATER)
        completed = _automatic(cold, "completed")
        pending = _automatic(cold) - completed
        # The seeded history has both kinds, or this test would prove nothing.
        assert completed and pending
        assert set(listed) == _automatic(cold)
        listed.clear()
        warm = gather(client, LATER)
    assert set(listed) == pending
    assert (warm.links_pull.cached, warm.links_pull.listed) == (len(completed), len(pending))
    pd.testing.assert_frame_equal(warm.links, cold.links)


def test_an_in_progress_payout_is_listed_until_it_completes_then_cached(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _connect(server, tmp_path / "home") as client:
        payouts = client.payouts_frame(until=LATER, progress=False)
        later = payouts.copy()
        in_progress = payouts["reconciliation_status"] == "in_progress"
        chosen = str(payouts["id"][in_progress].iloc[0])
        listed = _record(client, monkeypatch)
        first, _ = payout_links(client, payouts)
        again, _ = payout_links(client, payouts)
        assert listed.count(chosen) == 2  # never cached while in progress
        # What a later pull of the payouts shows once Stripe has completed the payout (the
        # seeded sandbox does not move a payout on; its list of transactions is already final).
        later.loc[payouts["id"] == chosen, "reconciliation_status"] = "completed"
        completed, pull = payout_links(client, later)
        assert listed.count(chosen) == 3 and pull.listed == in_progress.sum()
        cached, pull = payout_links(client, later)
    assert listed.count(chosen) == 3
    assert pull.listed == in_progress.sum() - 1
    for links in (again, completed, cached):
        pd.testing.assert_frame_equal(links, first)


def test_an_unreadable_cache_file_is_ignored_and_rebuilt(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _connect(server, tmp_path / "home") as client:
        first = gather(client, LATER)
        path = tmp_path / "home" / "cache" / client.cache_namespace / LINKS_FILE
        whole = path.read_bytes()
        path.write_bytes(whole[: len(whole) // 2])  # as if cut short (never by our writes)
        listed = _record(client, monkeypatch)
        rebuilt = gather(client, LATER)
        assert set(listed) == _automatic(first)
        assert path.read_bytes() != whole[: len(whole) // 2]
        listed.clear()
        warm = gather(client, LATER)
    assert set(listed) == _automatic(first) - _automatic(first, "completed")
    pd.testing.assert_frame_equal(rebuilt.links, first.links)
    pd.testing.assert_frame_equal(warm.links, first.links)


def test_faults_and_429s_while_listing_are_retried(server: Any, tmp_path: Path) -> None:
    with _connect(server, tmp_path / "clean") as client:
        clean = gather(client, LATER)
    with _connect(server, tmp_path / "faulty") as client:
        # The frames first, so that only the listings meet the faults.
        for frame in ("balance_transactions", "charges", "refunds", "disputes"):
            getattr(client, f"{frame}_frame")(until=LATER + 7 * 86_400, progress=False)
        try:
            server.configure(fault_rate=0.3, fault_seed=7, fault_kinds=("error",))
            faulty = gather(client, LATER)
        finally:
            server.configure(fault_rate=0.0)
    with _connect(server, tmp_path / "limited") as client:
        # 8 requests/s at the server, the client paced for 25/s: the listings meet 429s.
        server.configure(rate_limit=8)
        try:
            limited = payout_links(client, clean.payouts)
        finally:
            server.configure(rate_limit=None)
    assert faulty.links_pull.retries > 0
    assert limited[1].rate_limited > 0 and limited[1].listed == len(_automatic(clean))
    for links in (faulty.links, limited[0]):
        pd.testing.assert_frame_equal(_sorted(links), _sorted(clean.links))


@pytest.fixture(scope="module")
def warm_and_fresh(server: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[History, ...]:
    home = tmp_path_factory.mktemp("warm")
    with _connect(server, home) as client:
        gather(client, LATER)
        warm = gather(client, LATER)
    with _connect(server, tmp_path_factory.mktemp("fresh")) as client:
        fresh = gather(client, LATER)
    assert warm.links_pull.cached > 0 and fresh.links_pull.cached == 0
    return warm, fresh


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    month=st.sampled_from(["2026-09", "2026-10", "2026-11"]),
    tz=st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]),
)
def test_reports_from_the_warm_cache_equal_those_from_an_empty_home(
    warm_and_fresh: tuple[History, ...], month: str, tz: str
) -> None:
    warm, fresh = warm_and_fresh
    start = pd.Timestamp(f"{month}-01", tz=tz)
    lo, hi = int(start.timestamp()), int((start + pd.DateOffset(months=1)).timestamp())
    ours, theirs = month_figures(warm, lo, hi, tz), month_figures(fresh, lo, hi, tz)
    assert ours.keys() == theirs.keys()
    for name, frame in ours.items():
        pd.testing.assert_frame_equal(frame, theirs[name], obj=name)
    assert len(ours["payout_items"]) > 0 or month == "2026-11"


def test_two_clients_gathering_at_once_list_each_completed_payout_once(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    with _connect(server, home) as one, _connect(server, home) as two:
        listed = [_record(one, monkeypatch), _record(two, monkeypatch)]
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda c: gather(c, LATER), (one, two)))
    completed = _automatic(results[0], "completed")
    pending = _automatic(results[0]) - completed
    # The second to take the lock finds the first's lists: each completed payout listed once.
    assert sorted(listed[0] + listed[1]) == sorted([*completed, *pending, *pending])
    pd.testing.assert_frame_equal(results[0].links, results[1].links)
