"""Signed webhook delivery: what ``stripe listen --forward-to`` does for real Stripe.

A :class:`Forwarder` is a worker thread beside the server. It reads new rows of the ``events``
table (the pure core writes them in the same transaction as the change they describe and knows
nothing of HTTP) and POSTs each event to one URL the way Stripe delivers to an endpoint
(https://docs.stripe.com/webhooks):

- the body is the event's JSON, unchanged between attempts (the event id is stable);
- a ``Stripe-Signature: t=<unix time>,v1=<hex>`` header, where ``v1`` is the HMAC-SHA256 of
  ``"<t>.<body>"`` keyed with the endpoint secret (https://docs.stripe.com/webhooks/signature),
  signed afresh at each attempt so a retry is not refused as stale;
- any non-2xx answer, refused connection or timeout is retried with exponential backoff until the
  endpoint answers 2xx, so every event arrives at least once and possibly more than once or out of
  order, which a receiver must handle (https://docs.stripe.com/webhooks#handle-duplicate-events).

Only events created after the forwarder starts are sent, as with ``stripe listen``. Undelivered
events are kept in memory: stopping the sandbox drops their remaining retries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from billing_kit.sandbox._store import Store

#: The sandbox's default endpoint secret. Like the sandbox API key it guards nothing (the sandbox
#: holds no real money), so it may be shown and committed; a receiver for real Stripe must use the
#: secret Stripe shows for its endpoint.
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox"

_SECRET_SHAPE = re.compile(r"^whsec_[A-Za-z0-9_]+$")


def check_secret(secret: object) -> str:
    """Return ``secret`` if it is shaped like an endpoint secret, else raise ``ValueError``.

    The message never repeats the value: it may be a real secret pasted in the wrong place.
    """
    if not isinstance(secret, str) or not _SECRET_SHAPE.match(secret):
        raise ValueError(
            "webhook_secret must look like 'whsec_' followed by letters, digits or '_' "
            f"(got a {type(secret).__name__} of length {len(str(secret))}); "
            f"omit it to use {SANDBOX_WEBHOOK_SECRET!r}"
        )
    return secret


def check_url(url: object) -> str:
    """Return ``url`` if it is an http(s) URL, else raise ``ValueError`` naming it."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(
            f"forward_to {url!r} is not an http(s) URL; pass e.g. 'http://127.0.0.1:4242/webhook'"
        )
    return url


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """Return the ``Stripe-Signature`` header value for ``payload`` sent at ``timestamp``.

    Examples
    --------
    >>> sign(b'{"id": "evt_1"}', "whsec_test", 1700000000)[:13]
    't=1700000000,'
    """
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class Attempt:
    """One delivery attempt: ``status`` is the HTTP status, or None with ``error`` set."""

    event_id: str
    event_type: str
    number: int
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Pending:
    event_id: str
    event_type: str
    body: bytes
    attempts: int = 0
    due: float = 0.0


class Forwarder:
    """Deliver every new event of ``store`` to ``url``, signed with ``secret``.

    Parameters
    ----------
    store
        The sandbox database whose ``events`` table is read.
    url
        The receiving endpoint, e.g. ``http://127.0.0.1:4242/webhook``.
    secret
        The endpoint secret (``whsec_...``).
    timeout
        Seconds to wait for an answer before counting the attempt as failed.
    backoff, max_backoff
        The first retry waits ``backoff`` seconds, each next one twice as long, at most
        ``max_backoff``.
    on_attempt
        Called after each attempt (the CLI prints them as ``stripe listen`` does).
    """

    def __init__(
        self,
        store: Store,
        url: str,
        secret: str = SANDBOX_WEBHOOK_SECRET,
        *,
        timeout: float = 10.0,
        backoff: float = 0.5,
        max_backoff: float = 60.0,
        poll: float = 0.05,
        on_attempt: Callable[[Attempt], None] | None = None,
    ) -> None:
        self.url = check_url(url)
        self._secret = check_secret(secret)
        self.store = store
        self.timeout = timeout
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.poll = poll
        self.on_attempt = on_attempt
        self.attempts: list[Attempt] = []
        self._pending: list[_Pending] = []
        self._stop = threading.Event()
        with store.read() as conn:
            row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()
        self._cursor = int(row[0])
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)

    @property
    def secret(self) -> str:
        """The endpoint secret the receiver verifies with."""
        return self._secret

    @property
    def pending(self) -> int:
        """Events not yet acknowledged with a 2xx."""
        return len(self._pending)

    def delivered(self) -> list[str]:
        """Ids of the events acknowledged so far, in the order they were acknowledged."""
        return [a.event_id for a in list(self.attempts) if a.ok]

    def start(self) -> Forwarder:
        """Start the worker thread; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop delivering (idempotent); an attempt in flight finishes first."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=self.timeout + 5)

    def __repr__(self) -> str:  # the secret stays out of reprs
        return f"<Forwarder to {self.url} pending={self.pending}>"

    # -- the worker ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._read_new()
            now = time.monotonic()
            for item in [p for p in self._pending if p.due <= now]:
                if self._stop.is_set():
                    return
                self._deliver(item)
            self._stop.wait(self.poll)

    def _read_new(self) -> None:
        with self.store.read() as conn:
            rows = conn.execute(
                "SELECT seq, id, type, body FROM events WHERE seq > ? ORDER BY seq LIMIT 500",
                (self._cursor,),
            ).fetchall()
        for seq, event_id, event_type, body in rows:
            self._pending.append(_Pending(event_id, event_type, bytes(body)))
            self._cursor = int(seq)

    def _deliver(self, item: _Pending) -> None:
        item.attempts += 1
        request = urllib.request.Request(
            self.url,
            data=item.body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(item.body, self._secret, int(time.time())),
            },
        )
        status: int | None
        error: str | None = None
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                status = int(reply.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
            exc.close()
        except (OSError, ValueError) as exc:  # refused, reset, timed out
            status, error = None, f"{type(exc).__name__}: {exc}"
        attempt = Attempt(item.event_id, item.event_type, item.attempts, status, error)
        self.attempts.append(attempt)
        if attempt.ok:
            self._pending.remove(item)
        else:
            wait = min(self.backoff * 2 ** (item.attempts - 1), self.max_backoff)
            item.due = time.monotonic() + wait
        if self.on_attempt is not None:
            self.on_attempt(attempt)
