"""The shared sandbox's life: a history on first start, status/stop/reset, stopping when idle and
coming back transparently for a client that still holds its URL."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import billing_kit
from billing_kit.cli import main
from billing_kit.sandbox import _lifecycle, ensure_shared

pytestmark = pytest.mark.slow


@pytest.fixture
def home() -> Iterator[Path]:
    """The per-test state folder (tests/conftest.py sets BILLING_KIT_HOME); its server stops."""
    folder = Path(os.environ["BILLING_KIT_HOME"])
    try:
        yield folder
    finally:
        _lifecycle.stop(folder)


def _pid(home: Path) -> int:
    return int(json.loads((home / "sandbox.json").read_text())["pid"])


def _wait_until_gone(pid: int, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} still runs after {limit} s")


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


def test_first_start_holds_a_history_worth_analysing(home: Path) -> None:
    url = ensure_shared(home)
    db = home / "sandbox.db"
    assert _rows(db, "SELECT count(*) FROM charges") == [(_lifecycle.FIRST_START_CHARGES,)]
    currencies = {row[0] for row in _rows(db, "SELECT DISTINCT currency FROM charges")}
    assert {"usd", "eur", "gbp", "jpy"} <= currencies
    statuses = dict(_rows(db, "SELECT status, count(*) FROM charges GROUP BY status"))
    assert statuses["failed"] > 50 and statuses["succeeded"] > 2000
    days = _rows(db, "SELECT (max(created) - min(created)) / 86400 FROM charges")[0][0]
    assert isinstance(days, int) and 85 <= days <= 90
    # Automatic payouts arrive on business days: about 64 in 90 days.
    for table, least in (("refunds", 50), ("disputes", 3), ("payouts", 60)):
        assert _rows(db, f"SELECT count(*) FROM {table}")[0][0] >= least, table
    # The same history on every machine that day: the seeder is deterministic.
    first_id = _rows(db, "SELECT id FROM charges ORDER BY seq LIMIT 1")[0][0]
    assert isinstance(first_id, str) and first_id.startswith("ch_")
    # A restart keeps what is there: nothing is seeded twice.
    _lifecycle.stop(home)
    assert ensure_shared(home) == url
    assert _rows(db, "SELECT count(*) FROM charges") == [(_lifecycle.FIRST_START_CHARGES,)]


def test_status_stop_and_reset_from_the_command_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "status"]) == _lifecycle.NOT_RUNNING
    assert "not running" in capsys.readouterr().out
    with billing_kit.connect() as client:  # no key: starts the shared sandbox of BILLING_KIT_HOME
        client.charge("cli@example.com", "5.00", "usd", payment_method="pm_card_visa")
        client.charges_frame(progress=False)  # fills the history cache
    assert (home / "cache" / "sandbox-shared").exists()
    pid = _pid(home)
    assert main(["sandbox", "status", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert f"running at {client.api_base} (pid {pid})" in out
    assert f"{_lifecycle.FIRST_START_CHARGES + 1:,} charges" in out
    assert main(["sandbox", "stop"]) == 0
    assert "stopped" in capsys.readouterr().out
    _wait_until_gone(pid)
    assert main(["sandbox", "stop"]) == 0 and "no sandbox running" in capsys.readouterr().out

    assert main(["sandbox", "reset", "--charges", "-3"]) == 2
    assert "charges must be an integer >= 0, got -3" in capsys.readouterr().err
    assert _rows(home / "sandbox.db", "SELECT count(*) FROM charges")[0][0] == 3001  # untouched

    assert main(["sandbox", "reset", "--charges", "400"]) == 0
    assert "400 charges" in capsys.readouterr().out
    assert not (home / "cache" / "sandbox-shared").exists()  # it described the old database
    assert _rows(home / "sandbox.db", "SELECT count(*) FROM charges") == [(400,)]

    assert main(["sandbox", "reset", "--empty"]) == 0
    with billing_kit.connect() as client:  # an empty database is kept, not seeded again
        assert client.recent_charges() == []


def test_idle_sandbox_stops_and_comes_back_for_the_same_client(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_lifecycle.IDLE_ENV, "0.02")  # 1.2 s without a request
    with billing_kit.connect() as client:
        first = client.charge("idle@example.com", "7.00", "usd", payment_method="pm_card_visa")
        pid = _pid(home)
        _wait_until_gone(pid)  # stopped by itself, nobody signalled it
        assert "no request for 0.02 min: stopping" in (home / "sandbox.log").read_text()
        assert not _lifecycle.status(home).running
        # The notebook's client still holds the old URL: its next request restarts the server.
        again = client.get_charge(first.id)
        assert again.id == first.id and again.status == "succeeded"
        assert _pid(home) != pid and _lifecycle.status(home).url == client.api_base


def test_idle_time_comes_from_option_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _lifecycle.idle_minutes() == _lifecycle.DEFAULT_IDLE_MINUTES == 30
    monkeypatch.setenv(_lifecycle.IDLE_ENV, "5")
    assert _lifecycle.idle_minutes() == 5 and _lifecycle.idle_minutes(0) == 0
    monkeypatch.setenv(_lifecycle.IDLE_ENV, "soon")
    with pytest.raises(ValueError, match=r"\$BILLING_KIT_SANDBOX_IDLE_MINUTES .* got 'soon'"):
        _lifecycle.idle_minutes()
    with pytest.raises(ValueError, match=r"idle_minutes must be .* got -1"):
        _lifecycle.idle_minutes(-1)
    # connect() reports it as a configuration problem, naming the variable; nothing starts.
    with pytest.raises(billing_kit.ConfigurationError, match=r"IDLE_MINUTES .* got 'soon'"):
        billing_kit.connect()
    assert not (Path(os.environ["BILLING_KIT_HOME"]) / "sandbox.json").exists()
