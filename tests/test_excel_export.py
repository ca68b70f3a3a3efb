"""Excel exports survive text Excel cannot store (issue 9, item 11): CLI and widget paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import billing_kit
from billing_kit.cli import main
from billing_kit.widgets.export import export_excel
from tests.support import TEST_KEY

NASTY = "Invoice\x00 7\x1b[31m\x0bend\ttab"
SHOWN = "Invoice\\x00 7\\x1b[31m\\x0bend\ttab"


def test_cli_pull_to_xlsx_escapes_control_characters(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", sandbox.url)
    with billing_kit.connect() as client:
        made = client.charge(
            "x@example.com", 5, "usd", payment_method="pm_card_visa", description=NASTY,
            metadata={"note": "a\x01b"},
        )  # fmt: skip
    out = tmp_path / "q1 [draft].xlsx"  # brackets are forbidden in sheet titles too
    assert main(["pull", "charges", "--out", str(out), "--quiet", "--metadata", "note"]) == 0
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    rows = list(sheet.values)
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    assert frame["id"].tolist() == [made.id]
    assert frame["description"].tolist() == [SHOWN]
    assert frame["metadata.note"].tolist() == ["a\\x01b"]


def test_widget_export_escapes_control_characters(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": ["ch_1", "ch_2"],
            "description": pd.Series([NASTY, None], dtype="string"),
            "brand": pd.Categorical(["vi\x02sa", "amex"]),
            "note\x03": ["x\x04", 5],
        }
    )
    path = export_excel(frame, tmp_path / "charges.xlsx", sheet="charges:all")
    sheet = openpyxl.load_workbook(path)["charges_all"]
    rows = list(sheet.values)
    assert rows[0] == ("id", "description", "brand", "note\\x03")
    assert rows[1] == ("ch_1", SHOWN, "vi\\x02sa", "x\\x04")
    assert rows[2] == ("ch_2", None, "amex", 5)
