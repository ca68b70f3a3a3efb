"""The HTTP adapter: an ASGI app (Starlette's request and response types) that hands each
request to the core.

Everything Stripe-specific lives in the core; this module only reads the request, applies the knobs
(:mod:`._faults`), waits out simulated latency with ``asyncio.sleep`` (so concurrent requests
overlap, as at Stripe) and runs the blocking SQLite work in Starlette's thread pool to keep the loop
free. Every answer is Stripe's JSON (https://docs.stripe.com/api/errors), whatever the method, path
or body; ``tests/sandbox/test_http_fuzz.py`` checks that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response as HTTPResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billing_kit.sandbox._core import Core, Pending, Response
from billing_kit.sandbox._errors import StripeError, api_error
from billing_kit.sandbox._faults import Faults
from billing_kit.sandbox._forms import MAX_BODY_BYTES
from billing_kit.sandbox._ids import request_id
from billing_kit.sandbox._reporting import RAW_BODY, RAW_MEDIA_TYPE
from billing_kit.sandbox._routes import match

log = logging.getLogger("billing_kit.sandbox")
#: How much of an oversized body is read and discarded before answering 413 (see _read_body).
DISCARD_BYTES = 64 * MAX_BODY_BYTES
_ABORT = "billing_kit.abort"
#: Seconds since an arbitrary point; the latency knob counts from a request's arrival.
clock = time.monotonic
#: How simulated latency is waited out (concurrent requests overlap).
wait = asyncio.sleep


def _json(response: Response) -> HTTPResponse:
    raw = response.body.get(RAW_BODY) if response.status == 200 else None
    if isinstance(raw, str):
        # A file's contents (GET /v1/files/{id}/contents), not a JSON object.
        media = str(response.body.get(RAW_MEDIA_TYPE, "application/octet-stream"))
        return HTTPResponse(raw.encode(), status_code=200, headers=response.headers,
                            media_type=media)  # fmt: skip
    return HTTPResponse(
        msgspec.json.encode(response.body),
        status_code=response.status,
        headers=response.headers,
        media_type="application/json",
    )


def _error(error: StripeError) -> HTTPResponse:
    headers = {"Request-Id": request_id(), **error.headers}
    return _json(Response(error.status, error.body(), headers))


async def _read_body(request: Request) -> bytes:
    """Return the body, or raise 413 once it is known to be over :data:`MAX_BODY_BYTES`.

    An oversized body is still read (and thrown away) up to :data:`DISCARD_BYTES`: a client that is
    still sending when the server stops reading and closes sees a connection reset instead of the
    413. Past that bound the answer asks to close the connection.
    """
    declared = request.headers.get("content-length", "")
    too_big = declared.isdigit() and (len(declared) > 15 or int(declared) > MAX_BODY_BYTES)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        too_big = too_big or size > MAX_BODY_BYTES
        if not too_big:
            chunks.append(chunk)
        elif size > DISCARD_BYTES:
            raise _too_big(f"over {size} bytes", headers={"Connection": "close"})
    if too_big:
        raise _too_big(f"{declared if declared.isdigit() else size} bytes")
    return b"".join(chunks)


def _too_big(shown: str, *, headers: dict[str, str] | None = None) -> StripeError:
    return StripeError(
        413, "invalid_request_error",
        f"The request body is {shown}; the sandbox accepts at most {MAX_BODY_BYTES} bytes. Send "
        "fewer or shorter parameters.",
        headers=headers,
    )  # fmt: skip


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
        except Exception:  # a sandbox bug must still answer like Stripe, never a plain-text 500
            log.exception("sandbox error on %s %s", request.method, request.scope["path"])
            return _error(api_error())
        finally:
            gauge.leave()

    async def serve(request: Request) -> HTTPResponse:
        arrived = clock()
        method = request.method
        path: str = request.scope["path"]  # not request.url: that parses the Host header
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
                await wait(faults.latency)
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
            await wait(latency)
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
            if isinstance(started, Pending) and not started.route.writes:
                # A read changes nothing, so it runs at once and its answer waits out the rest
                # of the latency: the sandbox's own work is part of the simulated latency, not
                # added to it. Otherwise reads arriving together would wake together and queue
                # for the one process's CPU (ten 100-row pages: up to 0.2 s more for the last).
                started = await run_in_threadpool(started.finish)
            await wait(max(0.0, latency - (clock() - arrived)))
            if isinstance(started, Pending):
                response = await run_in_threadpool(started.finish)
            else:
                response = started
        if fault == "drop":
            request.scope[_ABORT]["abort"] = True
        return _json(response)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # No Starlette router: every method and path reaches the core, which answers an unknown
        # one with Stripe's 404 "Unrecognized request URL" JSON (the router's 405 is plain text).
        if scope["type"] == "http":
            response = await endpoint(Request(scope, receive))
            await response(scope, receive, send)

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
