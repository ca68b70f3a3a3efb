"""``billing-kit sandbox ...``: ``serve`` and ``trigger`` here, ``seed`` from :mod:`.seed`,
``status``/``stop``/``reset`` from :mod:`._lifecycle`, ``bank-statement`` from
:mod:`._bank_statement`."""

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
from billing_kit.sandbox._lifecycle import idle_minutes, watch_idle
from billing_kit.sandbox._lifecycle import register as register_lifecycle
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
    serve.add_argument(
        "--idle-minutes", type=float, default=0.0,
        help="stop after this long without a request (default 0: never)",
    )  # fmt: skip
    serve.add_argument("--state-file", default=None, help=argparse.SUPPRESS)
    serve.add_argument(
        "--forward-to", default=None, metavar="URL",
        help="POST every new event, signed, to this webhook endpoint (like `stripe listen`)",
    )  # fmt: skip
    serve.add_argument(
        "--webhook-secret", default=None, metavar="WHSEC",
        help="endpoint secret to sign with (default: the sandbox's whsec_sandbox)",
    )  # fmt: skip
    serve.set_defaults(func=serve_command)
    register_seed(commands)
    register_bank_statement(commands)
    register_lifecycle(commands)
    register_trigger(commands)


def serve_command(args: argparse.Namespace) -> int:
    """Run ``sandbox serve`` in the foreground; return the exit status."""
    from billing_kit.sandbox._app import Gauge
    from billing_kit.sandbox._core import Core
    from billing_kit.sandbox._faults import Faults, Knobs
    from billing_kit.sandbox._server import bind, url_of, uvicorn_server

    try:
        knobs = Knobs(args.latency_ms, args.rate_limit, args.fault_rate, args.fault_seed)
        idle = idle_minutes(args.idle_minutes)
        sock = bind(args.host, args.port)
    except (ValueError, OSError) as exc:
        print(f"billing-kit sandbox serve: {exc}", file=sys.stderr)
        return 2
    db = args.db or str(default_db())
    core = Core(db)
    url = url_of(sock)
    forwarder = None
    if args.webhook_secret is not None and args.forward_to is None:
        core.close()
        sock.close()
        print("billing-kit sandbox serve: --webhook-secret signs deliveries to --forward-to URL; "
              "pass both", file=sys.stderr)  # fmt: skip
        return 2
    if args.forward_to is not None:
        from billing_kit.sandbox._webhooks import SANDBOX_WEBHOOK_SECRET, Forwarder

        try:
            forwarder = Forwarder(
                core.store, args.forward_to, args.webhook_secret or SANDBOX_WEBHOOK_SECRET,
                on_attempt=_print_attempt,
            )  # fmt: skip
        except ValueError as exc:
            core.close()
            sock.close()
            print(f"billing-kit sandbox serve: {exc}", file=sys.stderr)
            return 2
    if args.state_file:
        state = Path(args.state_file)
        tmp = state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "db": db}))
        tmp.replace(state)
    print(url, flush=True)
    gauge = Gauge()
    server = uvicorn_server(core, Faults(knobs), gauge)
    watch_idle(server, gauge, idle)
    if args.state_file:
        _watch_state(server, Path(args.state_file))
    if forwarder is not None:
        print(f"forwarding events to {forwarder.url}", flush=True)
        forwarder.start()
    try:
        server.run(sockets=[sock])  # uvicorn stops cleanly on SIGINT and SIGTERM
    finally:
        if forwarder is not None:
            forwarder.stop()
        core.close()
    return 0


def _print_attempt(attempt: Any) -> None:
    """Print one delivery the way ``stripe listen`` does: ``<-- [200] charge.succeeded [evt_]``."""
    answer = attempt.status if attempt.status is not None else attempt.error
    print(f"<-- [{answer}] {attempt.event_type} [{attempt.event_id}]", flush=True)


def register_trigger(commands: Any) -> None:
    """Add ``sandbox trigger EVENT_TYPE``."""
    from billing_kit.sandbox._triggers import FIXTURES

    trigger = commands.add_parser(
        "trigger",
        help="create the objects that emit an event (like `stripe trigger`)",
        description="Make the API calls that emit EVENT_TYPE on a running sandbox. Supported: "
        + ", ".join(sorted(FIXTURES)),
    )
    trigger.add_argument("event_type", metavar="EVENT_TYPE")
    trigger.add_argument(
        "--api-base", default=None, metavar="URL",
        help="the sandbox (default: $STRIPE_API_BASE, else the shared one of $BILLING_KIT_HOME)",
    )  # fmt: skip
    trigger.set_defaults(func=trigger_command)


def trigger_command(args: argparse.Namespace) -> int:
    """Run ``sandbox trigger``; print the new event ids; return the exit status."""
    import stripe

    from billing_kit._config import SANDBOX_KEY
    from billing_kit.sandbox._lifecycle import healthy
    from billing_kit.sandbox._server import ensure_shared
    from billing_kit.sandbox._triggers import FIXTURES, trigger

    name = "billing-kit sandbox trigger"
    if args.event_type not in FIXTURES:
        print(f"{name}: unsupported event type {args.event_type!r}; supported: "
              f"{', '.join(sorted(FIXTURES))}", file=sys.stderr)  # fmt: skip
        return 2
    url = args.api_base or os.environ.get("STRIPE_API_BASE")
    if url is None:
        url = ensure_shared(default_db().parent)
    url = url.rstrip("/")
    if not healthy(url):
        print(f"{name}: no sandbox answers at {url!r}; start one with `billing-kit sandbox serve`",
              file=sys.stderr)  # fmt: skip
        return 2
    client = stripe.StripeClient(SANDBOX_KEY, base_addresses={"api": url})
    for event_id in trigger(client, args.event_type):
        print(f"{args.event_type} {event_id}", flush=True)
    print("Trigger succeeded!", flush=True)
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
