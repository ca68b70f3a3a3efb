"""The sandbox core: ``(method, path, query, body, headers) -> Response``, with no HTTP in it.

Order of checks, as at Stripe: route, API key (401, never saved), body parsing and the idempotency
reservation, then the endpoint in one transaction that also stores the idempotency outcome. Rate
limits and faults sit in front of the core (:mod:`._faults`), so they are never saved either.

Split into :meth:`Core.begin` and :meth:`Pending.finish` so an adapter can wait (simulated latency)
between reserving an idempotency key and executing: a second request with the same key meanwhile
gets 409, as at Stripe.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from billing_kit.sandbox import _forms, _idempotency, _params, _routes
from billing_kit.sandbox._context import Clock, Ctx
from billing_kit.sandbox._errors import StripeError, api_error, invalid
from billing_kit.sandbox._expand import expand
from billing_kit.sandbox._ids import request_id
from billing_kit.sandbox._shapes import API_VERSION
from billing_kit.sandbox._store import Store

log = logging.getLogger("billing_kit.sandbox")

_KEY = re.compile(r"^(sk|rk)_(test|live)_[0-9A-Za-z_]+$")
_NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details. The sandbox accepts any sk_test_... "
    "or rk_test_... key."
)


@dataclass
class Response:
    """What the adapter sends: status, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def mask(key: str) -> str:
    """Return a key as Stripe prints it in errors: ``sk_test_****1234``."""
    prefix = "_".join(key.split("_")[:2]) + "_" if key.count("_") >= 2 else ""
    return f"{prefix}****{key[-4:]}" if len(key) > 4 else "****"


def authenticate(headers: Mapping[str, str]) -> str:
    """Return the API key from ``Authorization``; raise Stripe's 401 otherwise."""
    value = headers.get("authorization", "").strip()
    key = ""
    if value.lower().startswith("bearer "):
        key = value[7:].strip()
    elif value.lower().startswith("basic "):
        import base64
        import binascii

        try:
            key = base64.b64decode(value[6:].strip()).decode("utf-8").split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise StripeError(401, "invalid_request_error", _NO_KEY)
    found = _KEY.match(key)
    if found is None:
        raise StripeError(
            401,
            "invalid_request_error",
            f"Invalid API Key provided: {mask(key)}. The sandbox accepts secret or restricted "
            "test keys (sk_test_... or rk_test_...).",
        )
    if found.group(2) == "live":
        raise StripeError(
            401,
            "invalid_request_error",
            f"The billing_kit sandbox is test-only and refused the live key {mask(key)}. Use a "
            "test key such as sk_test_sandbox; never send live keys to a local server.",
        )
    return key


class Core:
    """The pure sandbox: state, rules and idempotency behind one ``handle`` call.

    Parameters
    ----------
    db
        SQLite file, or ``":memory:"``.

    Examples
    --------
    >>> core = Core(":memory:")
    >>> auth = {"authorization": "Bearer sk_test_sandbox"}
    >>> core.handle("POST", "/v1/customers", body=b"email=a%40b.c", headers=auth).status
    200
    >>> core.handle("GET", "/v1/charges/ch_nope", headers=auth).body["error"]["code"]
    'resource_missing'
    """

    def __init__(self, db: str | Path = ":memory:") -> None:
        self.store = Store(db)
        # Keys outlive a restart, but not forever: drop the ones past Stripe's 24 h floor.
        _idempotency.prune(self.store)
        self.clock = Clock()
        #: Derived figures that only grow (e.g. balance totals), shared by this core's reads.
        self.cache: dict[str, Any] = {}

    def close(self) -> None:
        """Close the database connections."""
        self.store.close()

    def handle(
        self,
        method: str,
        path: str,
        *,
        query: bytes | str = b"",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Serve one request from start to finish."""
        started = self.begin(method, path, query=query, body=body, headers=headers or {})
        return started if isinstance(started, Response) else started.finish()

    def begin(
        self,
        method: str,
        path: str,
        *,
        query: bytes | str = b"",
        body: bytes = b"",
        headers: Mapping[str, str],
    ) -> Response | Pending:
        """Check the request and reserve its idempotency key; return a Response when done early."""
        rid = request_id()
        headers = {k.lower(): v for k, v in headers.items()}
        base = {"Request-Id": rid, "Stripe-Version": headers.get("stripe-version", API_VERSION)}
        key = headers.get("idempotency-key") if method == "POST" else None
        if key is not None:
            base["Idempotency-Key"] = key
        try:
            found = _routes.match(method, path.rstrip("/") or "/")
            if found is None:
                raise invalid(
                    f"Unrecognized request URL ({method}: {path}). The sandbox serves Stripe's v1 "
                    "API for customers, payment methods, charges, payment intents, refunds, "
                    "balance, payouts, disputes and events; see docs/sandbox.md.",
                    status=404,
                )
            route, ids = found
            if route.auth:
                authenticate(headers)
            params = _forms.decode(query, what="query string") if query else {}
            if method == "POST":
                content_type = headers.get("content-type", "")
                if "json" in content_type:
                    raise invalid(
                        "Invalid request: Stripe's v1 API (and the sandbox) expects "
                        f"application/x-www-form-urlencoded bodies, not {content_type!r}."
                    )
                params.update(_forms.decode(body))
            paths = _params.expand(params)
            if key is not None:
                digest = _idempotency.fingerprint(params)
                replay = _idempotency.begin(self.store, key, method, path, digest, rid)
                if replay is not None:
                    headers_out = {**base, "Idempotent-Replayed": "true",
                                   "Original-Request": replay.original_request}  # fmt: skip
                    return Response(replay.status, replay.body, headers_out)
                base["Original-Request"] = rid
        except StripeError as exc:
            return Response(exc.status, exc.body(rid, self.clock.now()), {**base, **exc.headers})
        return Pending(self, route, ids, params, paths, key, rid, base)


@dataclass
class Pending:
    """A checked request whose endpoint has not run yet."""

    core: Core
    route: _routes.Route
    ids: tuple[str, ...]
    params: dict[str, Any]
    expand: list[str]
    key: str | None
    request_id: str
    headers: dict[str, str]

    def finish(self) -> Response:
        """Run the endpoint, store its effects and (for keyed POSTs) its outcome atomically."""
        try:
            if self.route.writes:
                status, body = self._run_write()
            else:
                status, body = self._run_read()
        except StripeError as exc:
            self.abandon()
            return Response(
                exc.status,
                exc.body(self.request_id, self.core.clock.now()),
                {**self.headers, **exc.headers},
            )
        except Exception:  # a sandbox bug must still look like Stripe, never a traceback
            log.exception("sandbox error on %s %s", self.route.method, self.route.template)
            self.abandon()
            error = api_error()
            return Response(
                error.status, error.body(self.request_id, self.core.clock.now()), self.headers
            )
        return Response(status, body, self.headers)

    def save_error(self, error: StripeError) -> Response:
        """Store ``error`` as this request's outcome without running it (an injected fault).

        Stripe saves a 500 under the idempotency key once execution has begun and replays it for
        every later request with that key; this reproduces that, with nothing else saved.
        """
        body = error.body()
        if self.key is not None:
            with self.core.store.write() as conn:
                _idempotency.complete(conn, self.key, error.status, body)
        return Response(error.status, body, {**self.headers, **error.headers})

    def abandon(self) -> None:
        """Release the idempotency reservation: nothing was saved (or the client never heard)."""
        if self.key is not None:
            _idempotency.release(self.core.store, self.key)

    def _ctx(self, conn: Any, *, readonly: bool) -> Ctx:
        # Only reads see the shared cache: a write transaction may still roll back.
        cache = self.core.cache if readonly else None
        return Ctx(
            conn, self.core.clock.now(), self.request_id, self.key, self.core.clock, readonly,
            cache,
        )  # fmt: skip

    def _call(self, ctx: Ctx) -> dict[str, Any]:
        body = self.route.handler(ctx, *self.ids, self.params)
        return expand(ctx, body, self.expand)

    def _run_read(self) -> tuple[int, dict[str, Any]]:
        with self.core.store.read() as conn:
            return 200, self._call(self._ctx(conn, readonly=True))

    def _run_write(self) -> tuple[int, dict[str, Any]]:
        with self.core.store.write() as conn:
            ctx = self._ctx(conn, readonly=False)
            try:
                status, body = 200, self._call(ctx)
            except StripeError as exc:
                if not exc.saved:
                    raise
                status, body = exc.status, exc.body(self.request_id, ctx.now)
                self.headers.update(exc.headers)
            if self.key is not None:
                _idempotency.complete(conn, self.key, status, body)
        return status, body
