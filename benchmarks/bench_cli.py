"""Command-line start-up: CPU seconds before ``billing-kit`` does its work.

``python -m benchmarks cli`` runs, each several times in a fresh interpreter, and prints the median
CPU time (user + system, from the child's resource usage) next to a bare ``python -c pass``
measured in the same run:

- ``billing-kit --help``;
- ``billing-kit pull charges`` up to its first request: an audit hook (PEP 578) ends the process
  the moment the first socket connects, so what is measured is everything before the request
  (interpreter, imports, option checks, connect); it also lists which of the heavy libraries were
  imported by then.

Each command runs once unmeasured first, with bytecode caching on (in a temporary
``PYTHONPYCACHEPREFIX``): an installed package has its ``.pyc`` files, and compiling the modules
again in every run (``PYTHONDONTWRITEBYTECODE=1``, common in containers) would add ~0.1 s that
no user pays.

Nothing here asserts a time. Start-up is a fixed cost, so the load of the machine shows directly:
compare the ratios, not the seconds, between runs.
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

KEY = "sk_test_" + "bench" * 5  # built at run time: no committed line looks like a real key
HEAVY = ("stripe", "pandas", "pyarrow", "numpy", "openpyxl", "requests", "tqdm")

HELP = "import sys; from billing_kit.cli import main; sys.exit(main(['--help']))"

PULL = textwrap.dedent(
    """
    import os, sys

    def first_request(event, args):
        if event == "socket.connect":
            heavy = [name for name in {heavy!r} if name in sys.modules]
            print("imported:", " ".join(heavy) or "none", flush=True)
            os._exit(0)

    sys.addaudithook(first_request)
    from billing_kit.cli import main
    sys.exit(main(["pull", "charges", "--out", {out!r}, "--quiet"]))
    """
)


def _cpu(argv: list[str], *, env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Run ``argv``; return the CPU seconds it used and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used, done.stdout + done.stderr


def _median_cpu(argv: list[str], runs: int, *, env: dict[str, str], cwd: Path) -> tuple[float, str]:
    _cpu(argv, env=env, cwd=cwd)  # writes the bytecode the measured runs read
    results = [_cpu(argv, env=env, cwd=cwd) for _ in range(runs)]
    return statistics.median(cpu for cpu, _ in results), results[-1][1]


def run(*, quick: bool = False) -> None:
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
        folder = Path(tmp)
        probe.bind(("127.0.0.1", 0))  # a port nobody listens on: the request is never answered
        env = dict(
            os.environ,
            STRIPE_API_KEY=KEY,
            STRIPE_API_BASE=f"http://127.0.0.1:{probe.getsockname()[1]}",
            BILLING_KIT_HOME=str(folder / "home"),
            PYTHONPYCACHEPREFIX=str(folder / "pycache"),
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        python = [sys.executable]
        baseline, _ = _median_cpu([*python, "-c", "pass"], runs, env=env, cwd=folder)
        print(f"python -c pass (baseline)           {baseline:6.3f} s CPU")
        help_cpu, _ = _median_cpu([*python, "-c", HELP], runs, env=env, cwd=folder)
        print(
            f"billing-kit --help                   {help_cpu:6.3f} s CPU   "
            f"{help_cpu / baseline:5.1f}x baseline   (target <= 0.3 s)"
        )
        script = PULL.format(heavy=HEAVY, out=str(folder / "charges.parquet"))
        pull_cpu, output = _median_cpu([*python, "-c", script], runs, env=env, cwd=folder)
        imported = next((line for line in output.splitlines() if line.startswith("imported:")), "")
        print(
            f"billing-kit pull, to first request   {pull_cpu:6.3f} s CPU   "
            f"{pull_cpu / baseline:5.1f}x baseline   (target <= 0.3 s; {imported or output[-200:]})"
        )
        stripe_cpu, _ = _median_cpu([*python, "-c", "import stripe"], runs, env=env, cwd=folder)
        print(
            f"import stripe alone (for reference)  {stripe_cpu:6.3f} s CPU   "
            f"{stripe_cpu / baseline:5.1f}x baseline"
        )
