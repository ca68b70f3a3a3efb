"""The official Node `stripe` package talks to the sandbox too (only the host changes).

The package is installed from the npm registry into a cache folder the first time (about 10 s);
CI has node and npm, so there a missing tool fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from billing_kit.sandbox import start
from tests.support import require_tool

ROOT = Path(__file__).resolve().parents[2]
SMOKE = Path(__file__).parent / "node" / "smoke.js"
STRIPE_NODE = "stripe@23.1.0"  # the version smoke.js was written against
CACHE = ROOT / ".cache" / "node-stripe"


def _install_stripe_node() -> Path:
    modules = CACHE / "node_modules"
    if not (modules / "stripe" / "package.json").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        npm = shutil.which("npm")
        assert npm is not None
        subprocess.run(
            [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(CACHE),
             STRIPE_NODE],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    return modules


def test_official_node_library_against_the_sandbox() -> None:
    require_tool("node", "the Node smoke test of the sandbox")
    require_tool("npm", "installs the official Node stripe package")
    modules = _install_stripe_node()
    with start(db=":memory:") as server:
        result = subprocess.run(
            ["node", str(SMOKE), server.url],
            env={**os.environ, "NODE_PATH": str(modules)},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    checks = [line for line in result.stdout.splitlines() if line.startswith("ok - ")]
    assert len(checks) == 8, result.stdout
