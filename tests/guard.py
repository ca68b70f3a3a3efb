"""A session-level guard: a test run leaves no process behind and never touches the real home.

For the whole session ``HOME`` points at a folder under pytest's base temporary folder, so
anything that falls back to ``~/.billing_kit`` (a missing BILLING_KIT_HOME) lands there and is
caught. At the end, the guard fails the run if

* that ``~/.billing_kit`` exists (a test wrote to the user's state folder), or
* a sandbox server whose command line names this session's temporary folders is still running
  (a detached shared sandbox a test did not stop), or
* a child process of this pytest is still running.

Leftover processes are stopped before the failure is reported, so even a red run leaves none.
``tests/conftest.py`` imports the fixture; ``pytest -p tests.guard`` loads it into any run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["leftover_processes", "session_guard"]


def _processes() -> Iterator[tuple[int, int, str]]:
    """Yield (pid, parent pid, command line) of every live, non-zombie process (Linux /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            # /proc/PID/stat: "pid (name) state ppid ..."; the name may hold spaces, so split
            # after its closing parenthesis.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                continue
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            yield int(entry.name), int(fields[1]), command.strip()


# Python's own helpers: started once per process by multiprocessing, they exit with it.
_PYTHON_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


def leftover_processes(folder: Path, parent: int | None = None) -> dict[int, str]:
    """Return sandbox servers naming ``folder`` in their command line, and ``parent``'s children."""
    found: dict[int, str] = {}
    for pid, ppid, command in _processes():
        if pid == os.getpid() or any(helper in command for helper in _PYTHON_HELPERS):
            continue
        if ("billing_kit.sandbox" in command and str(folder) in command) or ppid == parent:
            found[pid] = command
    return found


def _stop(pids: Iterator[int] | list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in pids:
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)


@pytest.fixture(scope="session", autouse=True)
def session_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point HOME at a temporary folder; fail the run if a process or ``~/.billing_kit`` is left."""
    base = tmp_path_factory.getbasetemp()
    home = base / "session-home"
    home.mkdir(exist_ok=True)
    real_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        yield
    finally:
        if real_home is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = real_home
    problems = []
    if (home / ".billing_kit").exists():
        problems.append(
            f"a test wrote to the user's state folder ~/.billing_kit ({home / '.billing_kit'}); "
            "give it a BILLING_KIT_HOME or home= under its tmp_path"
        )
    left = leftover_processes(base, os.getpid())
    if left:
        _stop(list(left))
        shown = "\n  ".join(f"{pid}: {command[:200]}" for pid, command in sorted(left.items()))
        problems.append(
            f"the tests left {len(left)} process(es) running (now stopped):\n  {shown}\n"
            "stop each shared sandbox a test starts (tests.support.stop_shared_sandbox)"
        )
    if problems:
        pytest.fail("session guard: " + "\n".join(problems), pytrace=False)
