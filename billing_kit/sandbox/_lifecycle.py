"""The life of the shared sandbox of a state folder: seeded on first start, stopped when idle, and
``billing-kit sandbox status | stop | reset``.

:func:`~billing_kit.sandbox.ensure_shared` starts one detached server per state folder. This
module decides what its database holds on first start (a realistic history, see :mod:`.seed`),
when it stops by itself (after ``BILLING_KIT_SANDBOX_IDLE_MINUTES`` without a request, 30 by
default; the next ``connect()`` starts it again on the same port) and how a user sees, stops or
resets it from a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_IDLE_MINUTES",
    "FIRST_START_CHARGES",
    "IDLE_ENV",
    "SharedStatus",
    "free_port_of",
    "healthy",
    "idle_minutes",
    "locked",
    "prepare_database",
    "register",
    "reset",
    "status",
    "stop",
    "watch_idle",
]

IDLE_ENV = "BILLING_KIT_SANDBOX_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30.0
#: Charges in the history a new shared sandbox starts with (90 days, a second or two to write).
FIRST_START_CHARGES = 3000
#: Exit status of ``sandbox status`` when no server runs (as LSB init scripts use for "stopped").
NOT_RUNNING = 3


def default_home() -> Path:
    """Return the state folder: ``$BILLING_KIT_HOME``, else ``~/.billing_kit``."""
    return Path(os.environ.get("BILLING_KIT_HOME") or Path.home() / ".billing_kit").expanduser()


def idle_minutes(value: float | None = None) -> float:
    """Return the idle time after which a shared sandbox stops (0 = never).

    ``value`` when given, else ``$BILLING_KIT_SANDBOX_IDLE_MINUTES``, else 30.

    Raises
    ------
    ValueError
        The value is not a number ≥ 0 (the message names where it came from).
    """
    source = "idle_minutes"
    if value is None:
        raw = os.environ.get(IDLE_ENV, "").strip()
        if not raw:
            return DEFAULT_IDLE_MINUTES
        source = f"${IDLE_ENV}"
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
    if not value >= 0:  # also refuses NaN
        shown = os.environ.get(IDLE_ENV) if source.startswith("$") else value
        raise ValueError(
            f"{source} must be a number of minutes ≥ 0 (0 = never stop), got {shown!r}"
        )
    return float(value)


def watch_idle(server: Any, gauge: Any, minutes: float, *, every: float = 5.0) -> None:
    """Ask ``server`` to exit once ``gauge`` has seen no request for ``minutes`` (0 = never).

    Every request counts, the health check too, so a ``connect()`` keeps the server up; a
    request still in flight also keeps it up. The poll runs in a daemon thread.
    """
    if minutes <= 0:
        return
    limit = minutes * 60

    def watch() -> None:
        seen, quiet_since = gauge.served, time.monotonic()
        while not server.should_exit:
            time.sleep(min(every, limit / 4))
            now = time.monotonic()
            if gauge.served != seen or gauge.current:
                seen, quiet_since = gauge.served, now
            elif now - quiet_since >= limit:
                print(f"no request for {minutes:g} min: stopping (connect() restarts it)",
                      flush=True)  # fmt: skip
                server.should_exit = True

    threading.Thread(target=watch, name="sandbox-idle-watch", daemon=True).start()


def healthy(url: str, timeout: float = 3.0) -> bool:
    """Return whether a sandbox answers its health check at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/v1/_sandbox/health", timeout=timeout) as reply:
            return bool(json.loads(reply.read()).get("ok"))
    except (OSError, ValueError):
        return False


def free_port_of(state_file: Path) -> int:
    """Return the port the shared server last used if it is free now, else 0 (any free port).

    Restarting on the same port lets a client that still holds the old URL (a notebook left
    open while the server stopped for idleness) carry on.
    """
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        port = urlsplit(str(json.loads(state_file.read_text())["url"])).port or 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", port))
        return port
    return 0


@contextlib.contextmanager
def locked(home: Path) -> Iterator[None]:
    """Hold the state folder's lock (the one ``ensure_shared`` takes) for the block."""
    import filelock  # flock on POSIX, msvcrt locking on Windows

    home.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(home / "sandbox.lock"):
        yield


def prepare_database(db: Path, *, charges: int = FIRST_START_CHARGES) -> None:
    """Give a new shared sandbox its history: seed ``db`` when the file does not exist yet.

    An existing file (even an empty database made by ``sandbox reset --empty``) is left alone,
    so only the very first start, or a reset, writes a history.
    """
    if db.exists():
        return
    from billing_kit.sandbox.seed import seed

    seed(db, charges=charges)


@dataclass(frozen=True)
class SharedStatus:
    """What ``sandbox status`` reports for a state folder.

    Attributes
    ----------
    home, db
        The state folder and its database file.
    running
        A server answers at ``url`` and its recorded process is alive.
    url, pid
        Where it serves (or last served) and its process id; ``None`` if it never started.
    charges
        Charges in the database (``None`` without a database).
    """

    home: Path
    db: Path
    running: bool
    url: str | None
    pid: int | None
    charges: int | None

    def __str__(self) -> str:
        held = "no database yet" if self.charges is None else f"{self.charges:,} charges"
        if self.running:
            return f"running at {self.url} (pid {self.pid}); {self.db}: {held}"
        last = f" (last at {self.url})" if self.url else ""
        return f"not running{last}; {self.db}: {held}; the next connect() starts it"


def _state(home: Path) -> dict[str, Any]:
    try:
        data = json.loads((home / "sandbox.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _alive(pid: int | None) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process reused the pid
        return False
    return True


def _count_charges(db: Path) -> int | None:
    if not db.exists():
        return None
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM charges").fetchone()[0])
        except sqlite3.OperationalError:  # a file with no schema yet
            return 0


def status(home: Path) -> SharedStatus:
    """Return whether the shared sandbox of ``home`` runs, where, and what it holds."""
    state = _state(home)
    url, pid = state.get("url"), state.get("pid")
    running = bool(url) and _alive(pid) and healthy(str(url))
    db = home / "sandbox.db"
    return SharedStatus(home, db, running, url, pid, _count_charges(db))


def stop(home: Path, *, timeout: float = 10.0) -> bool:
    """Stop the shared sandbox of ``home``; return whether one was running.

    The process is stopped only when it answers at its recorded address, so a recycled pid is
    never signalled. ``sandbox.json`` stays, so the next start reuses the same port.

    Raises
    ------
    RuntimeError
        The server did not exit within ``timeout`` seconds.
    """
    current = status(home)
    if not current.running or current.pid is None:
        return False
    os.kill(current.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(current.pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(current.pid, os.WNOHANG)  # reap it if this process started it
        if time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox (pid {current.pid}) did not stop within {timeout} s")
        time.sleep(0.05)
    return True


def reset(home: Path, *, charges: int = FIRST_START_CHARGES, empty: bool = False) -> str:
    """Start the shared sandbox of ``home`` over: stop it, then a new database and no cache.

    The new database holds a fresh history of ``charges`` charges, or nothing with
    ``empty=True``. The history cache of the shared sandbox goes too (it would describe the old
    database). The audit ledger stays: it records attempts that really happened. The next
    ``connect()`` starts the server again.

    Returns
    -------
    str
        One line saying what the database now holds.
    """
    from billing_kit.sandbox._core import Core
    from billing_kit.sandbox.seed import _check_count, seed

    if not empty:
        _check_count("charges", charges, minimum=0)  # before anything is deleted
    with locked(home):
        stop(home)
        db = home / "sandbox.db"
        for path in (db, db.with_name("sandbox.db-wal"), db.with_name("sandbox.db-shm")):
            path.unlink(missing_ok=True)
        _remove_tree(home / "cache" / "sandbox-shared")
        if empty:
            Core(db).close()  # the schema only: the next start finds a database and keeps it
            return f"reset {db}: empty"
        return f"reset {seed(db, charges=charges)}"


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def register(commands: Any) -> None:
    """Add ``status``, ``stop`` and ``reset`` to the ``billing-kit sandbox`` subcommands."""
    home_help = "state folder (default: $BILLING_KIT_HOME, else ~/.billing_kit)"
    for name, helptext, func in (
        ("status", "is the shared sandbox running, where, with how many charges", _status),
        ("stop", "stop the shared sandbox (the next connect() starts it again)", _stop),
        ("reset", "start the shared sandbox over with a new history", _reset),
    ):
        parser = commands.add_parser(name, help=helptext, description=f"{helptext.capitalize()}.")
        parser.add_argument("--home", default=None, help=home_help)
        parser.set_defaults(func=func)
        if name == "reset":
            parser.add_argument("--empty", action="store_true", help="no history at all")
            parser.add_argument(
                "--charges", type=int, default=FIRST_START_CHARGES,
                help=f"charges in the new 90-day history (default {FIRST_START_CHARGES})",
            )  # fmt: skip


def _home(args: argparse.Namespace) -> Path:
    return Path(args.home).expanduser() if args.home else default_home()


def _status(args: argparse.Namespace) -> int:
    current = status(_home(args))
    print(current)
    return 0 if current.running else NOT_RUNNING


def _stop(args: argparse.Namespace) -> int:
    home = _home(args)
    print(f"stopped the sandbox of {home}" if stop(home) else f"no sandbox running for {home}")
    return 0


def _reset(args: argparse.Namespace) -> int:
    try:
        print(reset(_home(args), charges=args.charges, empty=args.empty))
    except ValueError as exc:
        print(f"billing-kit sandbox reset: {exc}", file=sys.stderr)
        return 2
    return 0
