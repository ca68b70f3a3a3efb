"""Bad input is refused before any request; ``billing-kit pull`` writes every format."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

import billing_kit
from billing_kit import history
from billing_kit.cli import main
from billing_kit.history import InvalidOption
from tests.support import TEST_KEY


class _Listener:
    """A loopback port that counts the connections made to it (any request would make one)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[_Listener]:
    counting = _Listener()
    try:
        yield counting
    finally:
        counting.close()


BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("charges", {"since": "2024-13-45"}, "since='2024-13-45' is not a date"),
    ("charges", {"until": "yesterday-ish"}, "until='yesterday-ish' is not a date"),
    ("charges", {"since": "2024-03-01", "until": "2024-02-01"}, "swap them"),
    ("charges", {"status": "paid"}, "use one or more of succeeded, pending, failed"),
    ("refunds", {"status": ["succeeded", "done"]}, "unknown value(s) ['done']"),
    ("charges", {"tz": "Mars/Olympus"}, "tz='Mars/Olympus' is not a known time zone"),
    ("charges", {"customer": "ana@example.com"}, "customer='ana@example.com'"),
    ("charges", {"metadata": 5}, "metadata=5 is not a list of key names"),
    ("balance_transactions", {"status": "paid"}, "use one or more of pending, available"),
]


@pytest.mark.parametrize(("kind", "options", "message"), BAD_CALLS)
def test_bad_input_is_refused_before_any_request(
    listener: _Listener, kind: str, options: dict[str, Any], message: str
) -> None:
    with billing_kit.connect(TEST_KEY, api_base=listener.url) as client:
        function = getattr(history, f"{kind}_frame")
        with pytest.raises(InvalidOption) as raised:
            function(client, progress=False, **options)
        assert message in str(raised.value)
        assert not (client.home / "cache").exists()
    assert listener.connections == 0


@pytest.fixture
def env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", sandbox.url)
    with billing_kit.connect() as client:
        kim = client.find_or_create_customer("kim@example.com")
        charges = [
            client.charge(kim, amount, currency, payment_method="pm_card_visa")
            for amount, currency in [("10.00", "usd"), ("700", "jpy"), ("2.500", "kwd")]
        ]
        yield [c.id for c in charges]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".xlsx"])
def test_pull_writes_each_format(env: Any, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"charges{suffix}"
    assert main(["pull", "charges", "--out", str(out), "--quiet", "--metadata", "x"]) == 0
    if suffix == ".parquet":
        frame = pd.read_parquet(out, dtype_backend="pyarrow")
        assert str(frame["amount"].dtype) == "decimal128(18, 3)[pyarrow]"
        assert sorted(frame["amount"]) == [Decimal("2.5"), Decimal("10"), Decimal("700")]
        assert str(frame["created"].dtype) == "timestamp[ns, tz=UTC][pyarrow]"
    elif suffix == ".csv":
        frame = pd.read_csv(out, dtype=str)
        assert sorted(frame["amount"]) == ["10.000", "2.500", "700.000"]
    else:
        sheet = openpyxl.load_workbook(out).active
        assert sheet is not None
        rows = list(sheet.values)
        frame = pd.DataFrame(rows[1:], columns=rows[0])
    assert sorted(frame["id"]) == sorted(env)
    assert "metadata.x" in frame.columns


def test_pull_other_kinds_with_window(env: Any, tmp_path: Path) -> None:
    out = tmp_path / "refunds.csv"
    assert main(["pull", "refunds", "--since", "2020-01-01", "--out", str(out), "--quiet"]) == 0
    assert pd.read_csv(out).empty
    out = tmp_path / "balance.parquet"
    assert main(["pull", "balance_transactions", "--out", str(out), "--quiet"]) == 0
    assert len(pd.read_parquet(out)) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "31/02/2024"], "--since"),
        (["--since", "2024-02-01", "--until", "2024-01-01"], "swap them"),
        (["--status", "paid"], "status=['paid']"),
        (["--tz", "Nowhere/Land"], "tz='Nowhere/Land'"),
    ],
)
def test_pull_bad_options_fail_before_any_request(
    listener: _Listener,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", listener.url)
    out = tmp_path / "charges.parquet"
    assert main(["pull", "charges", "--out", str(out), "--quiet", *args]) == 2
    error = capsys.readouterr().err
    assert "error:" in error
    assert message.replace("--since", "since=") in error or message in error
    assert listener.connections == 0 and not out.exists()


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("charges.json", "unknown suffix '.json'; end the name in .parquet, .csv, .xlsx"),
        ("missing/dir/charges.csv", "does not exist; create it first"),
        (".", "unknown suffix"),
    ],
)
def test_pull_bad_output_fails_before_any_request(
    listener: _Listener,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    out: str,
    message: str,
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", listener.url)
    monkeypatch.chdir(tmp_path)
    assert main(["pull", "charges", "--out", out, "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "--out" in error and message in error
    assert listener.connections == 0


def test_pull_unwritable_folder(
    listener: _Listener,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # /proc refuses new files even to root, so this holds however the tests are run.
    monkeypatch.setenv("STRIPE_API_KEY", TEST_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", listener.url)
    assert main(["pull", "charges", "--out", "/proc/charges.csv", "--quiet"]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert listener.connections == 0
