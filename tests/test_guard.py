"""The session guard (tests/guard.py) fails a run that leaves a process or writes ~/.billing_kit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.guard import leftover_processes

ROOT = Path(__file__).resolve().parents[1]

LEAKY = """
from pathlib import Path

from billing_kit.sandbox import ensure_shared


def test_leaves_the_shared_sandbox_running(tmp_path):
    ensure_shared(tmp_path / "home")


def test_writes_to_the_home_folder():
    (Path.home() / ".billing_kit").mkdir()
"""


@pytest.mark.slow
def test_a_leaky_run_fails_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts =\n")
    inner = tmp_path / "inner"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "BILLING_KIT_"))}
    env["PYTHONPATH"] = str(ROOT)
    command = [
        sys.executable, "-m", "pytest", "-p", "tests.guard", "-p", "no:cacheprovider", "-q",
        "-c", str(tmp_path / "pytest.ini"), f"--basetemp={inner}", str(tmp_path / "test_leaky.py"),
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    report = run.stdout[-4000:] + run.stderr[-2000:]
    # Both tests pass on their own; the guard fails the run at the end of the session.
    assert "2 passed, 1 error" in run.stdout, report
    assert run.returncode == 1, report
    assert "a test wrote to the user's state folder ~/.billing_kit" in run.stdout, report
    assert "the tests left 1 process(es) running (now stopped)" in run.stdout, report
    assert "billing_kit.sandbox serve" in run.stdout, report
    assert not leftover_processes(inner)  # and it did stop it
    assert not (Path(os.environ["HOME"]) / ".billing_kit").exists()  # ours was not touched
