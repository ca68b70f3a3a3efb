"""The HTTP adapter: a Starlette app that hands each request to the core.

Everything Stripe-specific lives in the core; this module only reads the request, applies the knobs
(:mod:`._faults`), waits out simulated latency with ``asyncio.sleep`` (so concurrent requests
overlap, as at Stripe) and runs the blocking SQLite work in Starlette's thread pool to keep the loop
free.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billing_kit.sandbox._core import Core, Pending, Response
from billing_kit.sandbox._errors import StripeError
from billing_kit.sandbox._faults import Faults
from billing_kit.sandbox._forms import MAX_BODY_BYTES
from billing_kit.sandbox._ids import request_id
from billing_kit.sandbox._routes import match

log = logging.getLogger("billing_kit.sandbox")
_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]
_ABORT = "billing_kit.abort"


def _json(response: Response) -> HTTPResponse:
    return HTTPResponse(
        orjson.dumps(response.body),
        status_code=response.status,
        headers=response.headers,
        media_type="application/json",
    )


def _error(error: StripeError) -> HTTPResponse:
    headers = {"Request-Id": request_id(), **error.headers}
    return _json(Response(error.status, error.body(), headers))


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise StripeError(
            413, "invalid_request_error",
            f"The request body is {declared} bytes; the sandbox accepts at most {MAX_BODY_BYTES}.",
        )  # fmt: skip
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise StripeError(
                413, "invalid_request_error",
                f"The request body is over {MAX_BODY_BYTES} bytes; send fewer parameters.",
            )  # fmt: skip
        chunks.append(chunk)
    return b"".join(chunks)


class Gauge:
    """Counts API requests in flight (the event loop is single-threaded, so no lock is needed)."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self.served = 0

    def enter(self) -> None:
        self.current += 1
        self.served += 1
        self.peak = max(self.peak, self.current)

    def leave(self) -> None:
        self.current -= 1


def build_app(core: Core, faults: Faults, gauge: Gauge | None = None) -> ASGIApp:
    """Return the ASGI app serving ``core`` with ``faults`` applied (``gauge`` counts requests)."""
    gauge = gauge or Gauge()

    async def endpoint(request: Request) -> HTTPResponse:
        assert gauge is not None
        gauge.enter()
        try:
            return await serve(request)
        finally:
            gauge.leave()

    async def serve(request: Request) -> HTTPResponse:
        method = request.method
        path = request.url.path
        try:
            body = await _read_body(request)
        except StripeError as exc:
            return _error(exc)
        except ClientDisconnect:
            return HTTPResponse(status_code=499)
        found = match(method, path.rstrip("/") or "/")
        # Knobs apply to API routes only: the health check must stay fast and reliable.
        knobbed = found is not None and found[0].auth
        fault = None
        if found is not None and knobbed:
            limited = faults.check_rate(f"{method} {found[0].template}")
            if limited is not None:
                return _error(limited)
            fault = faults.draw()
            keyed = method == "POST" and "idempotency-key" in request.headers
            if fault == "saved_error" and not keyed:
                fault = "error"  # nothing to save the error under
            if fault == "error":
                await asyncio.sleep(faults.latency)
                return _error(faults.error())
            if fault == "reset":
                request.scope[_ABORT]["abort"] = True
                return HTTPResponse(status_code=599)
        headers = {k: v for k, v in request.headers.items()}
        query: bytes = request.scope.get("query_string", b"")
        latency = faults.latency if knobbed else 0.0
        if fault == "saved_error":
            began = await run_in_threadpool(
                core.begin, method, path, query=query, body=body, headers=headers
            )
            await asyncio.sleep(latency)
            if isinstance(began, Pending):
                began = await run_in_threadpool(began.save_error, faults.error())
            return _json(began)  # a replay or a refusal of an earlier request stays as it was
        if not latency:
            # One hop to the thread pool: reserve the key and run the endpoint back to back.
            response = await run_in_threadpool(
                core.handle, method, path, query=query, body=body, headers=headers
            )
        else:
            # Reserve the idempotency key first, so a duplicate arriving during the simulated
            # latency sees the request in flight (409), as at Stripe.
            started = await run_in_threadpool(
                core.begin, method, path, query=query, body=body, headers=headers
            )
            await asyncio.sleep(latency)
            if isinstance(started, Pending):
                response = await run_in_threadpool(started.finish)
            else:
                response = started
        if fault == "drop":
            request.scope[_ABORT]["abort"] = True
        return _json(response)

    app = Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])
    return _Abortable(app)


class _Abortable:
    """Outermost ASGI layer: drops the TCP connection instead of answering when asked to.

    The endpoint sets ``scope["billing_kit.abort"]["abort"]``; the response it then returns is
    swallowed and the transport aborted, so the client sees a connection error (requests raises
    ``ConnectionError``, which stripe-python retries). The transport is reached through uvicorn's
    bound ``send``; without it the response is sent normally.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = {"abort": False}
        scope[_ABORT] = state

        async def guarded(message: Message) -> None:
            if not state["abort"]:
                await send(message)
                return
            if message["type"] == "http.response.start" and not await _drop(send):
                state["abort"] = False  # no transport to drop: answer after all
                await send(message)

        await self.app(scope, receive, guarded)


async def _drop(send: Send) -> bool:
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        log.warning("cannot drop the connection (no transport on this server); answering instead")
        return False
    transport.abort()
    # Let the loop deliver connection_lost so the server knows not to send a 500 of its own.
    for _ in range(20):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
    return True
