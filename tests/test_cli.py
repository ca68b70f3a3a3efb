"""The top-level command line: errors billing_kit raises are one clear line, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import stripe

from billing_kit._stripe_errors import map_stripe_error
from billing_kit.cli import main


def test_a_refused_live_key_is_one_masked_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    live = "sk_live_" + "Zq" * 12
    monkeypatch.setenv("STRIPE_API_KEY", live)
    status = main(["pull", "charges", "--out", str(tmp_path / "charges.csv"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("billing-kit pull: error: Refusing to use the live key sk_live_…ZqZq")
    assert live not in err and "Traceback" not in err


def test_an_unreachable_api_names_the_host_and_the_reason() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = stripe.StripeClient(
        "sk_test_" + "x" * 4, base_addresses={"api": f"http://127.0.0.1:{port}"},
        max_network_retries=0,
    )  # fmt: skip
    with pytest.raises(stripe.APIConnectionError) as caught:
        client.v1.charges.list()
    mapped = map_stripe_error(caught.value)
    assert str(mapped).startswith(
        f"Could not reach the Stripe API at 127.0.0.1:{port}: Connection refused. "
    )
    assert "support@stripe.com" not in str(mapped)


HEAVY = ("pandas", "pyarrow", "stripe", "numpy", "openpyxl")


QUIET_MAIN = (
    "import contextlib\nfrom billing_kit.cli import main\nwith contextlib.suppress(SystemExit):\n"
)


@pytest.mark.parametrize(
    "code",
    [
        "import billing_kit, billing_kit.history",
        QUIET_MAIN + "    main(['--help'])",
        QUIET_MAIN + "    main(['pul'])",  # a typo lists the commands, importing none of them
    ],
)
def test_import_and_help_do_not_import_the_heavy_libraries(code: str, tmp_path: Path) -> None:
    # Each costs a fraction of a second to import; `billing-kit --help` must not wait for them.
    probe = f"{code}\nimport sys\nprint(sorted(m for m in sys.modules if m in {HEAVY!r}))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert done.stdout.splitlines()[-1] == "[]", done.stdout


def test_the_chosen_command_is_registered_and_the_others_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from billing_kit.cli import COMMANDS

    with pytest.raises(SystemExit):
        main(["--help"])
    listing = capsys.readouterr().out
    assert all(name in listing for name in COMMANDS)
    with pytest.raises(SystemExit):
        main(["pull", "--help"])
    assert "--out OUT" in capsys.readouterr().out


#: Imported by the time ``billing-kit pull`` sends its first request (an audit hook, PEP 578,
#: ends the process at the first socket connect and prints what was imported).
FIRST_REQUEST = """
import os, sys

def first_request(event, args):
    if event == "socket.connect":
        print(sorted(m for m in sys.modules if m in {heavy!r}), flush=True)
        os._exit(0)

sys.addaudithook(first_request)
from billing_kit.cli import main
main({argv!r})
print("no request was sent", flush=True)
"""
FIRST_REQUEST_HEAVY = ("stripe", "requests", "pandas", "pyarrow", "numpy", "openpyxl")


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--since", "2024-01-01", "--until", "2024-02-01T12:30:00Z", "--tz", "Europe/Paris"],
        ["--status", "succeeded", "--metadata", "order_id"],
    ],
)
def test_pull_sends_its_first_request_before_importing_the_heavy_libraries(
    options: list[str], tmp_path: Path
) -> None:
    # A cold cache: the first request needs neither frames nor the parquet file.
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{probe.getsockname()[1]}"
        argv = ["pull", "charges", "--out", str(tmp_path / "charges.parquet"), "--quiet", *options]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "BILLING_KIT"))},
            "STRIPE_API_KEY": "sk_test_" + "startup" * 4,
            "STRIPE_API_BASE": base,
            "BILLING_KIT_HOME": str(tmp_path / "home"),
        }
        done = subprocess.run(
            [sys.executable, "-c", FIRST_REQUEST.format(heavy=FIRST_REQUEST_HEAVY, argv=argv)],
            capture_output=True, text=True, cwd=tmp_path, env=env, check=True, timeout=120,
        )  # fmt: skip
    assert done.stdout.splitlines()[-1] == "[]", done.stdout + done.stderr


WARM_UP = """
import sys, threading, time
from billing_kit.history._loaders import warm_up

framing = ("billing_kit.history._join", "pyarrow.parquet", "pandas")
sent = threading.Event()
warm_up(sent)
time.sleep(0.3)
print([m for m in framing if m in sys.modules], flush=True)
sent.set()
deadline = time.monotonic() + 60
while not all(m in sys.modules for m in framing) and time.monotonic() < deadline:
    time.sleep(0.02)
print([m for m in framing if m in sys.modules], flush=True)
"""


def test_the_framing_modules_are_imported_while_the_first_request_is_out() -> None:
    """Nothing heavy before the first request leaves; once it has, pandas and pyarrow are
    imported in the background, during the round trip, not when the first rows are framed."""
    done = subprocess.run(
        [sys.executable, "-c", WARM_UP], capture_output=True, text=True, check=True, timeout=120
    )
    before, after = done.stdout.splitlines()
    assert before == "[]", done.stderr
    assert after == "['billing_kit.history._join', 'pyarrow.parquet', 'pandas']", done.stderr
