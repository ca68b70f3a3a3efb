"""``billing-kit charge-batch``: exit 0 when every row is final, 2 for a bad file, 1 if unknown."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from billing_kit import Client
from billing_kit._batch_cli import execute
from billing_kit.cli import main

from .conftest import TEST_KEY, all_charges


def _csv(path: Path, customer: str, amounts: list[str]) -> Path:
    pd.DataFrame(
        {
            "customer": [customer] * len(amounts),
            "amount": amounts,
            "currency": ["usd"] * len(amounts),
            "payment_method": ["pm_card_visa"] * (len(amounts) - 1) + ["pm_card_chargeDeclined"],
            "description": [f"cli {i}" for i in range(len(amounts))],
        }
    ).to_csv(path, index=False)
    return path


@pytest.fixture
def env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", sandbox.url)
    return sandbox


def test_charges_the_file_writes_results_and_exits_0(
    env: Any, client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = client.find_or_create_customer("cli@example.com").id
    sheet = _csv(tmp_path / "in.csv", customer, ["10", "11", "12"])
    out = tmp_path / "out.xlsx"
    assert main(["charge-batch", str(sheet), "--out", str(out), "--quiet"]) == 0
    results = pd.read_excel(out, sheet_name="results", dtype=str)
    assert list(results["status"]) == ["succeeded", "succeeded", "declined"]
    assert "succeeded" in capsys.readouterr().out
    # Again: nothing is charged, and the output says how to charge again on purpose.
    assert main(["charge-batch", str(sheet), "--quiet"]) == 0
    assert "new batch_id" in capsys.readouterr().out
    assert len(all_charges(client)) == 3


def test_an_invalid_file_exits_2_and_sends_nothing(
    env: Any, client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = _csv(tmp_path / "in.csv", "cus_abc", ["10", "1.001", "12"])
    assert main(["charge-batch", str(sheet), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "row 3, column 'amount'" in err and "nothing was sent" in err
    assert main(["charge-batch", str(sheet), "--dry-run"]) == 2
    assert main(["charge-batch", str(sheet), "--out", str(tmp_path / "x.parquet")]) == 2
    assert main(["charge-batch", str(tmp_path / "missing.csv")]) == 2
    assert main(["charge-batch", str(sheet), "--concurrency", "0"]) == 2
    assert all_charges(client) == [] and client.ledger.rows() == []


def test_dry_run_prints_the_preview_and_exits_0(
    env: Any, client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = client.find_or_create_customer("dry@example.com").id
    sheet = _csv(tmp_path / "in.csv", customer, ["10", "11.50"])
    assert main(["charge-batch", str(sheet), "--dry-run"]) == 0
    assert "2 to charge (2 × USD = $21.50)" in capsys.readouterr().out
    assert all_charges(client) == []


def _args(sheet: Path, **options: Any) -> argparse.Namespace:
    base = {
        "file": str(sheet),
        "out": None,
        "dry_run": False,
        "yes": False,
        "batch_id": None,
        "skip_invalid": False,
        "concurrency": None,
        "quiet": True,
    }
    return argparse.Namespace(**{**base, **options})


def test_rows_with_an_unknown_outcome_exit_1_and_are_named(
    sandbox: Any, connect_to: Callable[..., Client], tmp_path: Path, capsys: Any
) -> None:
    client = connect_to(max_retries=1)
    customer = client.find_or_create_customer("down@example.com").id
    sheet = _csv(tmp_path / "in.csv", customer, ["10", "11"])
    sandbox.configure(fault_rate=1.0, fault_kinds=("error",))
    assert execute(client, _args(sheet)) == 1
    assert "rows 2, 3" in capsys.readouterr().err
    sandbox.configure(fault_rate=0.0)
    assert execute(client, _args(sheet)) == 0  # the same command again finishes them
    assert len(all_charges(client)) == 2


def test_live_mode_asks_for_the_total(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = client.find_or_create_customer("live@example.com").id
    sheet = _csv(tmp_path / "in.csv", customer, ["10", "1,000.25"])
    client.mode = "live"  # the sandbox stands in for Stripe; only the prompt depends on the mode
    asked: list[str] = []

    def typed(answer: str) -> Callable[[str], str]:
        def ask(prompt: str) -> str:
            asked.append(prompt)
            return answer

        return ask

    assert execute(client, _args(sheet), ask=typed("$1,000.25")) == 1
    assert "$1,010.25" in asked[0]
    assert all_charges(client) == []
    assert execute(client, _args(sheet), ask=typed(" $1,010.25 ")) == 0
    assert len(all_charges(client)) == 2
    asked.clear()
    sheet2 = _csv(tmp_path / "in2.csv", customer, ["7", "8"])
    assert execute(client, _args(sheet2, yes=True), ask=typed("")) == 0
    assert asked == []  # --yes: no question
