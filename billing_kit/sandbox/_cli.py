"""``billing-kit sandbox ...``: ``serve`` here, ``seed`` from :mod:`.seed`, ``bank-statement``
from :mod:`._bank_statement`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from billing_kit.sandbox._bank_statement import register as register_bank_statement
from billing_kit.sandbox.seed import register as register_seed

DEFAULT_PORT = 12111


def default_db() -> Path:
    """Return the default database: ``$BILLING_KIT_HOME/sandbox.db`` (``~/.billing_kit``)."""
    home = os.environ.get("BILLING_KIT_HOME") or Path.home() / ".billing_kit"
    return Path(home) / "sandbox.db"


def register(subparsers: Any) -> None:
    """Add ``sandbox`` and its subcommands to the ``billing-kit`` parser."""
    sandbox = subparsers.add_parser(
        "sandbox",
        help="the local Stripe-compatible sandbox",
        description="The local Stripe-compatible sandbox (see docs/sandbox.md).",
    )
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve the sandbox until Ctrl-C",
        description="Serve the sandbox; prints its base URL, then serves until SIGINT/SIGTERM.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface (default: loopback only)")
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port, 0 = any free (default {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--db", default=None,
        help="SQLite file (default: $BILLING_KIT_HOME/sandbox.db); ':memory:' keeps nothing",
    )  # fmt: skip
    serve.add_argument("--latency-ms", type=float, default=0.0, help="added to every API request")
    serve.add_argument("--rate-limit", type=float, default=None, help="requests/s per endpoint")
    serve.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that fail")
    serve.add_argument("--fault-seed", type=int, default=None, help="makes faults repeatable")
    serve.add_argument("--state-file", default=None, help=argparse.SUPPRESS)
    serve.set_defaults(func=serve_command)
    register_seed(commands)
    register_bank_statement(commands)


def serve_command(args: argparse.Namespace) -> int:
    """Run ``sandbox serve`` in the foreground; return the exit status."""
    from billing_kit.sandbox._core import Core
    from billing_kit.sandbox._faults import Faults, Knobs
    from billing_kit.sandbox._server import bind, url_of, uvicorn_server

    try:
        knobs = Knobs(args.latency_ms, args.rate_limit, args.fault_rate, args.fault_seed)
        sock = bind(args.host, args.port)
    except (ValueError, OSError) as exc:
        print(f"billing-kit sandbox serve: {exc}", file=sys.stderr)
        return 2
    db = args.db or str(default_db())
    core = Core(db)
    url = url_of(sock)
    if args.state_file:
        state = Path(args.state_file)
        tmp = state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "db": db}))
        tmp.replace(state)
    print(url, flush=True)
    server = uvicorn_server(core, Faults(knobs))
    if args.state_file:
        _watch_state(server, Path(args.state_file))
    try:
        server.run(sockets=[sock])  # uvicorn stops cleanly on SIGINT and SIGTERM
    finally:
        core.close()
    return 0


def _watch_state(server: Any, state: Path, every: float = 2.0) -> None:
    """Stop a shared server once its state file is gone or names another server.

    That happens when its state folder is deleted (a test's temporary home) or when
    ``ensure_shared`` replaced it after a failed health check, so no detached server outlives its
    use.
    """

    def watch() -> None:
        while not server.should_exit:
            time.sleep(every)
            try:
                owner = json.loads(state.read_text()).get("pid")
            except (OSError, ValueError):
                owner = None
            if owner != os.getpid():
                server.should_exit = True

    threading.Thread(target=watch, name="sandbox-state-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """``python -m billing_kit.sandbox ...`` (what :func:`ensure_shared` runs)."""
    parser = argparse.ArgumentParser(prog="python -m billing_kit.sandbox")
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    args = parser.parse_args(["sandbox", *(argv if argv is not None else sys.argv[1:])])
    status: int = args.func(args)
    return status
