"""Regressions of issue 9 (history): each pull through the cache equals a fresh pull.

The wall clock is frozen and moved by the tests (``time.time`` is patched for the client and the
in-process sandbox alike), so "a minute later" or "eight days later" happen at once and exactly.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import billing_kit
from billing_kit import history
from billing_kit.history._options import check_window
from tests.history.test_history_model import World
from tests.support import TEST_KEY

DAY = 86400
_FRESH = itertools.count()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    """A frozen wall clock a quarter past a whole second, moved by the test."""
    frozen = World(time.time())
    monkeypatch.setattr(time, "time", frozen.time)
    return frozen


@pytest.fixture
def client(sandbox: Any, world: World, tmp_path: Path) -> Iterator[Any]:
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url, home=tmp_path / "home") as made:
        yield made


def _fresh(
    client: Any, tmp_path: Path, pull: Callable[..., pd.DataFrame], **options: Any
) -> pd.DataFrame:
    """The same pull into an empty cache folder."""
    home = tmp_path / f"fresh-{next(_FRESH)}"
    with billing_kit.connect(TEST_KEY, api_base=client.api_base, home=home) as other:
        frame = pull(other, progress=False, **options)
    frame.attrs = {}
    return frame


def _same(cached: pd.DataFrame, fresh: pd.DataFrame) -> None:
    cached.attrs = {}
    pd.testing.assert_frame_equal(cached, fresh)


def _charge(client: Any, **params: Any) -> Any:
    return client.stripe.v1.charges.create(
        {"amount": 1500, "currency": "usd", "source": "tok_visa", **params}
    )


def test_a_charge_made_after_a_pull_shows_in_every_later_pull(
    client: Any, world: World, tmp_path: Path
) -> None:
    tomorrow = (
        dt.datetime.fromtimestamp(world.now, dt.UTC).date() + dt.timedelta(days=1)
    ).isoformat()
    _charge(client)
    history.charges_frame(client, until=tomorrow, progress=False)  # the default window of a report
    world.now += 60
    new = _charge(client)
    for options in (
        {"until": tomorrow},
        {},
        {"until": tomorrow, "refresh": False},
        {"refresh": False},
    ):
        frame = history.charges_frame(client, progress=False, **options)
        assert new.id in set(frame["id"]), options
        _same(frame, _fresh(client, tmp_path, history.charges_frame, **options))
    # What the cache counts as covered ends before the last call minus the consistency margin.
    state = json.loads(
        (client.home / "cache" / client.cache_namespace / "charges.state.json").read_bytes()
    )
    ends = [hi for _, hi in state["covered"]]
    assert max(ends) <= int(world.now) - 300


def test_until_now_keeps_the_charges_of_the_current_second(client: Any, world: World) -> None:
    made = _charge(client)
    now = dt.datetime.fromtimestamp(world.now, dt.UTC)  # what datetime.now(UTC) gives
    assert now.microsecond and made.created == int(world.now)
    frame = history.charges_frame(client, until=now, progress=False)
    assert frame["id"].tolist() == [made.id]
    # An instant inside a second keeps that second: created is whole seconds.
    assert check_window(None, "2024-01-01T00:00:00.25Z").until == 1704067201
    assert check_window("2024-01-01T00:00:00.25Z", None).since == 1704067200


def test_a_customers_charges_come_whole_when_part_of_the_window_is_cached(
    client: Any, world: World, tmp_path: Path
) -> None:
    ada = client.stripe.v1.customers.create({"email": "ada@example.com"})
    made = [_charge(client, customer=ada.id, amount=100 + i).id for i in range(3)]
    world.now += 3600
    history.charges_frame(client, progress=False)  # the older charges are cached and settled
    world.now += 3600
    made += [_charge(client, customer=ada.id, amount=200 + i).id for i in range(2)]
    _charge(client)  # someone else's
    mine = history.charges_frame(client, customer=ada.id, progress=False)
    assert sorted(mine["id"]) == sorted(made)
    _same(mine, _fresh(client, tmp_path, history.charges_frame, customer=ada.id))


def test_a_cached_frame_lists_only_the_categories_of_its_rows(
    client: Any, world: World, tmp_path: Path
) -> None:
    _charge(client, source="tok_mastercard", currency="eur")
    world.now += 3600
    _charge(client)
    history.charges_frame(client, progress=False)
    since = int(world.now) - 1800
    cached = history.charges_frame(client, since=since, progress=False)
    assert list(cached["brand"].cat.categories) == ["visa"]
    assert list(cached["currency"].cat.categories) == ["usd"]
    assert (cached["brand"].value_counts() > 0).all()  # no phantom mastercard row
    _same(cached, _fresh(client, tmp_path, history.charges_frame, since=since))
    failed = history.charges_frame(client, status="failed", progress=False)
    assert list(failed["brand"].cat.categories) == []
    _same(failed, _fresh(client, tmp_path, history.charges_frame, status="failed"))


@pytest.mark.parametrize("refresh", [True, False])
def test_up_to_now_stops_at_the_clients_clock_from_the_cache_too(
    client: Any, world: World, tmp_path: Path, refresh: bool
) -> None:
    today = _charge(client)
    client.stripe.raw_request("post", "/v1/_sandbox/clock", advance=DAY)  # the server runs ahead
    ahead = _charge(client)
    later = history.charges_frame(client, until=world.now + 2 * DAY, progress=False)
    assert set(later["id"]) == {today.id, ahead.id}
    cached = history.charges_frame(client, refresh=refresh, progress=False)
    assert cached["id"].tolist() == [today.id]
    _same(cached, _fresh(client, tmp_path, history.charges_frame))


def test_balance_transactions_turn_available_in_the_cache_as_in_a_fresh_pull(
    client: Any, world: World, tmp_path: Path
) -> None:
    _charge(client)
    world.now += 3600
    first = history.balance_transactions_frame(client, progress=False)
    assert first["status"].tolist() == ["pending"]
    world.now += 8 * DAY  # the funds become available; no event says so
    again = history.balance_transactions_frame(client, progress=False)
    assert again["status"].tolist() == ["available"]
    _same(again, _fresh(client, tmp_path, history.balance_transactions_frame))


def test_a_change_older_than_the_events_kept_is_not_missed(
    client: Any, world: World, tmp_path: Path
) -> None:
    made = _charge(client, description="first")
    world.now += 3600
    history.charges_frame(client, progress=False)
    world.now += DAY
    client.stripe.v1.charges.update(made.id, {"description": "second"})
    world.now += 31 * DAY  # the charge.updated event is gone by the next pull
    frame = history.charges_frame(client, progress=False)
    assert frame["description"].tolist() == ["second"]
    _same(frame, _fresh(client, tmp_path, history.charges_frame))
