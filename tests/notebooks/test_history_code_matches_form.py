"""Notebook 02 shows its figures twice, in the form (HistoryBrowser) and in code: they agree."""

from __future__ import annotations

import datetime as dt
import sys
import time
import types
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import stripe

import billing_kit
from billing_kit.widgets import HistoryBrowser
from billing_kit.widgets.figures import headline
from tests.history.test_history_model import World
from tests.notebooks.build_notebooks import HISTORY
from tests.support import TEST_KEY

DAYS = 30


def _code_cell() -> str:
    """The notebook's code half: the cell that pulls ``charges`` with ``charges_frame``."""
    cells = [c[1] for c in HISTORY if c[0] == "code" and "client.charges_frame(" in c[1]]
    assert len(cells) == 1
    return cells[0]


def _clock_module(world: World) -> types.ModuleType:
    """``datetime`` whose ``datetime.now()`` reads the test's frozen clock, as the cell's import."""

    class FrozenDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Any:
            return dt.datetime.fromtimestamp(world.now, tz)

    module = types.ModuleType("datetime")
    module.__dict__.update(vars(dt))
    module.datetime = FrozenDatetime  # type: ignore[attr-defined]
    return module


def test_the_code_half_and_the_form_show_the_same_figures(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = time.time()
    today = dt.datetime.fromtimestamp(real, dt.UTC).date()
    # The first day of the form's range, half past midnight: inside the form's window all day.
    first_day = dt.datetime.combine(today - dt.timedelta(days=DAYS), dt.time(0, 30), dt.UTC)
    world = World(first_day.timestamp())
    monkeypatch.setattr(time, "time", world.time)
    made: list[str] = []
    with billing_kit.connect(TEST_KEY, api_base=sandbox.url, home=tmp_path / "home") as client:
        charges = client.stripe.v1.charges
        made.append(charges.create({"amount": 1200, "currency": "usd", "source": "tok_visa"}).id)
        try:
            charges.create({"amount": 900, "currency": "usd", "source": "tok_chargeDeclined"})
        except stripe.CardError as declined:
            assert declined.error is not None and declined.error.charge
            made.append(str(declined.error.charge))
        world.now = float(int(real)) + 0.25  # today, a quarter into the current second
        made.append(charges.create({"amount": 700, "currency": "eur", "source": "tok_amex"}).id)
        refunded = charges.create({"amount": 5000, "currency": "usd", "source": "tok_visa"})
        client.stripe.v1.refunds.create({"charge": refunded.id, "amount": 1250})
        made.append(refunded.id)
        # Made in the second the notebook's cell runs in: "up to now" includes it.
        made.append(charges.create({"amount": 333, "currency": "usd", "source": "tok_visa"}).id)

        browser = HistoryBrowser(client, days=DAYS, export_dir=tmp_path / "exports")
        browser.load()
        namespace: dict[str, Any] = {"client": client, "days": DAYS}
        exec(_code_cell(), namespace)  # once as it is: every module it needs is imported now
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, "datetime", _clock_module(world))
            exec(_code_cell(), namespace)
        code: pd.DataFrame = namespace["charges"]

    assert sorted(code["id"]) == sorted(browser.frame["id"]) == sorted(made)
    pd.testing.assert_frame_equal(headline(code), browser.figures())
    assert len(browser.figures()) == 2  # usd and eur
