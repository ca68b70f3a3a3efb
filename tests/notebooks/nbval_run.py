"""Run a folder of notebooks under nbval in a child pytest, as a clean kernel would see them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat

from tests.support import stop_shared_sandbox


def run_nbval(work: Path, home: Path, *, cell_timeout: int) -> subprocess.CompletedProcess[str]:
    """Run every notebook in ``work`` under ``nbval-lax`` with ``home`` as the state folder.

    The child inherits no ``STRIPE_*``/``BILLING_KIT_*`` variable, and the shared sandbox the
    notebooks start is stopped afterwards. Asserts that the run passed and that every code cell
    was checked; returns the finished process for further checks.
    """
    (work / "pytest.ini").write_text("[pytest]\naddopts =\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "BILLING_KIT_"))}
    env.update(BILLING_KIT_HOME=str(home), TQDM_DISABLE="1")
    command = [
        sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
        f"--nbval-cell-timeout={cell_timeout}", "-p", "no:cacheprovider", "-q",
        "-c", str(work / "pytest.ini"), str(work),
    ]  # fmt: skip
    try:
        run = subprocess.run(
            command, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    finally:
        stop_shared_sandbox(home)
    report = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, report
    cells = sum(
        1
        for path in work.glob("*.ipynb")
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
    )
    assert f"{cells} passed" in run.stdout, report
    return run
