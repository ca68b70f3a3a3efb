"""Run the sandbox: in a background thread (:func:`start`) or as a shared detached process
(:func:`ensure_shared`) that several notebooks reuse.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from billing_kit.sandbox._app import Gauge, build_app
from billing_kit.sandbox._core import Core
from billing_kit.sandbox._faults import Faults, Knobs
from billing_kit.sandbox._webhooks import SANDBOX_WEBHOOK_SECRET, Forwarder

_UNSET: object = object()
_STARTUP_TIMEOUT = 20.0


def bind(host: str, port: int) -> socket.socket:
    """Return a listening socket on ``host:port`` (``port=0`` picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it Nagle's algorithm meets delayed ACKs and every response waits ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another port or use port=0"
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """Return ``http://host:port`` for a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _Server(uvicorn.Server):
    """uvicorn's server, minus re-raising SIGINT/SIGTERM after a graceful stop.

    uvicorn re-raises the signal once shut down, which turns Ctrl-C into a KeyboardInterrupt
    traceback and SIGTERM into exit status -15; ``sandbox serve`` should simply exit 0.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C stops without waiting for connections
        else:
            self.should_exit = True


def uvicorn_server(core: Core, faults: Faults, gauge: Gauge | None = None) -> uvicorn.Server:
    """Return a uvicorn server for the sandbox app (quiet, no lifespan, many connections)."""
    config = uvicorn.Config(
        build_app(core, faults, gauge),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        backlog=2048,
    )
    return _Server(config)


class SandboxServer:
    """A sandbox running in a background thread of this process.

    Attributes
    ----------
    url
        ``http://127.0.0.1:PORT`` (no trailing slash): pass it as the stripe library's API base.
    core
        The pure :class:`~billing_kit.sandbox._core.Core`; inspect state through ``core.store``.
    gauge
        Requests served and the peak number in flight (``gauge.peak``).
    webhooks
        The :class:`~billing_kit.sandbox._webhooks.Forwarder` delivering signed events when
        started with ``forward_to``, else None.
    """

    webhooks: Forwarder | None = None

    def __init__(self, core: Core, faults: Faults, sock: socket.socket) -> None:
        self.core = core
        self.faults = faults
        self.url = url_of(sock)
        self.gauge = Gauge()
        self._server = uvicorn_server(core, faults, self.gauge)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="billing-kit-sandbox",
            daemon=True,
        )  # fmt: skip
        self._sock = sock
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox did not start on {self.url}")
            time.sleep(0.005)

    def configure(
        self,
        *,
        latency_ms: float | object = _UNSET,
        rate_limit: float | object | None = _UNSET,
        fault_rate: float | object = _UNSET,
        fault_seed: int | object | None = _UNSET,
        fault_kinds: tuple[str, ...] | object = _UNSET,
    ) -> None:
        """Change knobs while running; omitted knobs keep their value.

        ``fault_kinds`` picks which faults ``fault_rate`` injects (default ``("error", "reset",
        "drop")``; ``"saved_error"`` adds a 500 saved under the idempotency key, see ``_faults``).

        Examples
        --------
        >>> with start() as server:
        ...     server.configure(latency_ms=50, rate_limit=25)
        ...     server.faults.knobs.latency_ms
        50
        """
        given = {
            "latency_ms": latency_ms,
            "rate_limit": rate_limit,
            "fault_rate": fault_rate,
            "fault_seed": fault_seed,
            "fault_kinds": fault_kinds,
        }
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not _UNSET}
        self.faults.configure(dataclasses.replace(self.faults.knobs, **changes))

    def stop(self) -> None:
        """Stop serving and close the database (idempotent)."""
        if self.webhooks is not None:
            self.webhooks.stop()
        self._server.should_exit = True
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self._sock.close()
        self.core.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SandboxServer {self.url} db={self.core.store.path!r}>"


def start(
    *,
    db: str | Path = ":memory:",
    host: str = "127.0.0.1",
    port: int = 0,
    latency_ms: float = 0,
    rate_limit: float | None = None,
    fault_rate: float = 0.0,
    fault_seed: int | None = None,
    forward_to: str | None = None,
    webhook_secret: str = SANDBOX_WEBHOOK_SECRET,
) -> SandboxServer:
    """Start a sandbox in a background thread and return its handle once it accepts requests.

    Parameters
    ----------
    db
        SQLite file that keeps state across restarts, or ``":memory:"`` (the default) for none.
    host, port
        Where to listen; ``port=0`` picks a free port (see ``SandboxServer.url``).
    latency_ms, rate_limit, fault_rate, fault_seed
        Realism knobs; see :meth:`SandboxServer.configure` and ``docs/sandbox.md``.
    forward_to, webhook_secret
        POST every new event to this URL, signed with this endpoint secret, as Stripe does
        (``SandboxServer.webhooks``; see ``docs/sandbox.md``, "Webhooks").

    Raises
    ------
    OSError
        The port is taken.
    ValueError
        A knob is out of range, or ``forward_to``/``webhook_secret`` is malformed.

    Examples
    --------
    >>> import stripe
    >>> with start() as server:
    ...     client = stripe.StripeClient("sk_test_sandbox", base_addresses={"api": server.url})
    ...     client.v1.customers.create({"email": "ada@example.com"}).email
    'ada@example.com'
    """
    faults = Faults(Knobs(latency_ms, rate_limit, fault_rate, fault_seed))
    sock = bind(host, port)
    core = Core(db)
    try:
        webhooks = None if forward_to is None else Forwarder(core.store, forward_to, webhook_secret)
        server = SandboxServer(core, faults, sock)
        server.webhooks = None if webhooks is None else webhooks.start()
        return server
    except BaseException:
        core.close()
        sock.close()
        raise


# -- the shared, detached sandbox ---------------------------------------------------------------


# Runs in a short-lived middle process: it starts the server in a new session and exits, so the
# server is reparented to init and this process holds no child it would have to reap.
_LAUNCHER = (
    "import subprocess, sys\n"
    "log = open(sys.argv[1], 'ab')\n"
    "subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log, stderr=log,"
    " start_new_session=True, close_fds=True)\n"
)


def _spawn_detached(command: list[str], log: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(log), *command],
        check=True, stdin=subprocess.DEVNULL, close_fds=True, env={**os.environ}, timeout=30,
    )  # fmt: skip


def ensure_shared(home: Path, *, idle_minutes: float | None = None) -> str:
    """Return the URL of the shared sandbox for state folder ``home``, starting it if needed.

    The server runs as a detached process (it outlives the notebook that started it) on a free
    loopback port, with its database at ``home/"sandbox.db"``. A file lock makes concurrent callers
    (several kernels starting at once) agree on one server; ``home/"sandbox.json"`` records its URL
    and ``home/"sandbox.log"`` its output.

    On first start the database gets a realistic 90-day history (see ``_lifecycle``). The server
    stops by itself after ``idle_minutes`` without a request (default
    ``$BILLING_KIT_SANDBOX_IDLE_MINUTES``, else 30; 0 = never); the next call starts it again,
    on its previous port when that is free, so clients holding the old URL keep working.

    Raises
    ------
    RuntimeError
        The server did not become healthy within 20 s (see ``sandbox.log``).
    ValueError
        ``idle_minutes`` (or ``$BILLING_KIT_SANDBOX_IDLE_MINUTES``) is not a number ≥ 0.
    """
    from billing_kit.sandbox import _lifecycle

    minutes = _lifecycle.idle_minutes(idle_minutes)
    home = Path(home).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    state_file = home / "sandbox.json"
    with _lifecycle.locked(home):
        with contextlib.suppress(OSError, ValueError):
            url = str(json.loads(state_file.read_text())["url"])
            if _lifecycle.healthy(url):
                return url
        port = _lifecycle.free_port_of(state_file)
        state_file.unlink(missing_ok=True)
        _lifecycle.prepare_database(home / "sandbox.db")
        _spawn_detached(
            [sys.executable, "-m", "billing_kit.sandbox", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--db", str(home / "sandbox.db"),
             "--state-file", str(state_file), "--idle-minutes", str(minutes)],
            home / "sandbox.log",
        )  # fmt: skip
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError, KeyError):
                url = str(json.loads(state_file.read_text())["url"])
                if _lifecycle.healthy(url):
                    return url
            time.sleep(0.05)
        raise RuntimeError(
            f"the shared sandbox did not start within {_STARTUP_TIMEOUT:.0f} s; see "
            f"{home / 'sandbox.log'} and try `billing-kit sandbox serve --db "
            f"{home / 'sandbox.db'}` to see the error"
        )
