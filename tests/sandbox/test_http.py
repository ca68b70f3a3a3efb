"""The HTTP adapter's edges: the sandbox clock's range, unknown methods and oversized bodies.

Every answer is Stripe's JSON error shape (https://docs.stripe.com/api/errors), never Starlette's or
uvicorn's plain text, and a refused request changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from billing_kit.sandbox import Core, SandboxServer
from billing_kit.sandbox._app import DISCARD_BYTES, build_app
from billing_kit.sandbox._context import LATEST
from billing_kit.sandbox._faults import Faults, Knobs
from billing_kit.sandbox._forms import MAX_BODY_BYTES
from billing_kit.sandbox._routes import ROUTES
from tests.support import TEST_KEY

from .conftest import count, make_client

AUTH = {"Authorization": f"Bearer {TEST_KEY}"}


def stripe_error(reply: httpx.Response, status: int) -> dict[str, Any]:
    """Return ``error`` of a Stripe-shaped JSON error reply, checking status and content type."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    return error


# -- item 16: the sandbox clock ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "param"),
    [
        ({"now": "99999999999999999999"}, "now"),
        ({"now": str(2**63)}, "now"),
        ({"now": str(LATEST + 1)}, "now"),
        ({"advance": "99999999999999999999"}, "advance"),
        ({"advance": str(LATEST)}, "advance"),
    ],
)
def test_clock_out_of_range_is_refused_and_changes_nothing(
    server: SandboxServer, form: dict[str, str], param: str
) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        before = http.get("/v1/_sandbox/clock").json()["now"]
        error = stripe_error(http.post("/v1/_sandbox/clock", data=form), 400)
        assert error["param"] == param and error["code"] == "parameter_invalid_integer"
        assert form[param] in error["message"]
        if int(form[param]) < 2**63:  # past 64 bits it is no integer at all, before any range
            assert str(LATEST) in error["message"]
        assert http.get("/v1/_sandbox/clock").json()["now"] - before in (0, 1)
        # The clock was not moved, so writes still work.
        made = http.post("/v1/customers", data={"email": "after@example.com"})
        assert made.status_code == 200 and made.json()["created"] - before in (0, 1)


def test_clock_may_reach_its_last_second(tmp_path: Any) -> None:
    core = Core()
    auth = {"authorization": f"Bearer {TEST_KEY}"}
    moved = core.handle("POST", "/v1/_sandbox/clock", body=f"now={LATEST}".encode(), headers=auth)
    assert moved.status == 200 and moved.body["now"] in (LATEST, LATEST + 1)
    made = core.handle("POST", "/v1/charges", body=b"amount=500&currency=usd&source=tok_visa",
                       headers=auth)  # fmt: skip
    assert made.status == 200 and made.body["created"] >= LATEST
    listed = core.handle("GET", "/v1/charges", query=f"created[gte]={LATEST}", headers=auth)
    assert [c["id"] for c in listed.body["data"]] == [made.body["id"]]
    past = core.handle("POST", "/v1/_sandbox/clock", body=b"advance=100", headers=auth)
    assert past.status == 400 and past.body["error"]["param"] == "advance"
    core.close()


_SANDBOX_ROUTES = [r for r in ROUTES if r.template.startswith("/v1/_sandbox/")]
_HOSTILE = [
    b"now=99999999999999999999", b"advance=-1", b"advance=1e9", b"now=" + b"9" * 400,
    b"advance=18446744073709551616", b"outcome=" + b"x" * 6000, b"outcome[a][b][c]=1",
    b"now=%FF", b"\xff\xfe", b"a" * 50 + b"[" * 50, b"now=1&now=2", b"0=1",
]  # fmt: skip


@pytest.mark.parametrize("route", _SANDBOX_ROUTES, ids=lambda r: f"{r.method} {r.template}")
def test_no_sandbox_route_breaks_the_server(server: SandboxServer, route: Any) -> None:
    path = route.template.replace("{id}", "pi_missing")
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        for body in _HOSTILE:
            if route.method == "GET":
                reply = http.get(path + "?" + body.decode("latin-1").replace("\xff", "%FF"))
            else:
                reply = http.post(path, content=body)
            assert reply.status_code < 500 and reply.headers["content-type"] == "application/json"
            assert set(reply.json()) == {"error"} or reply.json()["object"].startswith(
                ("sandbox_", "list")
            )
        made = http.post("/v1/charges", data={"amount": "500", "currency": "usd",
                                              "source": "tok_visa"})  # fmt: skip
        assert made.status_code == 200 and made.json()["status"] == "succeeded"


# -- item 17: unknown HTTP methods ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["FOO", "TRACE", "PROPFIND", "LINK", "OPTIONS", "PATCH"])
def test_unknown_methods_get_stripe_json(server: SandboxServer, method: str) -> None:
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        error = stripe_error(http.request(method, "/v1/customers"), 404)
        assert f"Unrecognized request URL ({method}: /v1/customers)" in error["message"]
        assert http.get("/v1/customers").status_code == 200


def test_head_answers_without_a_body(server: SandboxServer) -> None:
    reply = httpx.head(f"{server.url}/v1/customers", headers=AUTH)
    assert reply.status_code == 404 and reply.content == b""
    assert reply.headers["content-type"] == "application/json"


# -- item 18: oversized bodies -------------------------------------------------------------------


def _drive(chunks: Iterator[bytes], headers: dict[str, str]) -> tuple[list[Any], int]:
    """Send one POST /v1/customers through the ASGI app; return the messages sent and the body
    bytes the app read.
    """
    app = build_app(Core(), Faults(Knobs()))
    read = 0
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/customers", "raw_path": b"/v1/customers",
        "query_string": b"", "root_path": "", "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    return sent, read


def test_oversized_body_is_read_before_the_413() -> None:
    size = 3 * MAX_BODY_BYTES
    chunk = b"a" * 65_536
    chunks = iter([chunk] * (size // len(chunk)))
    headers = {"authorization": f"Bearer {TEST_KEY}", "content-length": str(size)}
    sent, read = _drive(chunks, headers)
    # The whole body was consumed, so the server can answer a client that is still sending.
    assert read == size // len(chunk) * len(chunk)
    assert sent[0]["status"] == 413
    error = json.loads(sent[1]["body"])["error"]
    assert error["type"] == "invalid_request_error" and str(size) in error["message"]
    assert (b"connection", b"close") not in sent[0]["headers"]


def test_endless_body_is_read_up_to_a_bound_then_closed() -> None:
    chunk = b"a" * MAX_BODY_BYTES

    def endless() -> Iterator[bytes]:
        while True:
            yield chunk

    sent, read = _drive(endless(), {"authorization": f"Bearer {TEST_KEY}"})
    assert DISCARD_BYTES < read <= DISCARD_BYTES + len(chunk)
    assert sent[0]["status"] == 413 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("chunked", [False, True])
def test_real_client_sending_a_large_body_reads_the_413(
    server: SandboxServer, chunked: bool
) -> None:
    body = b"email=a%40b.c&description=" + b"x" * (5 * MAX_BODY_BYTES)
    pieces = (body[i : i + 65_536] for i in range(0, len(body), 65_536))
    before = count(server, "customers")
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        reply = http.post("/v1/customers", content=pieces if chunked else body)
        error = stripe_error(reply, 413)
        assert str(MAX_BODY_BYTES) in error["message"]
        # The same connection still serves the next request.
        assert http.post("/v1/customers", data={"email": "next@example.com"}).status_code == 200
    assert count(server, "customers") == before + 1


def test_stripe_library_gets_the_413(server: SandboxServer) -> None:
    client = make_client(server.url)
    before = count(server, "customers")
    with pytest.raises(stripe.StripeError) as caught:
        client.v1.customers.create({"description": "x" * (2 * MAX_BODY_BYTES)})
    assert caught.value.http_status == 413
    assert caught.value.error is not None and caught.value.error.type == "invalid_request_error"
    assert count(server, "customers") == before


# -- a fault in the adapter ----------------------------------------------------------------------


def test_a_fault_outside_the_core_answers_stripe_json(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = server.core.handle
    calls = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("injected")
        return real(*args, **kwargs)

    monkeypatch.setattr(server.core, "handle", broken)
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        reply = http.get("/v1/balance")
        assert reply.status_code == 500 and reply.headers["content-type"] == "application/json"
        assert reply.json()["error"]["type"] == "api_error"
        assert "injected" not in reply.text  # no internals leak
        assert http.get("/v1/balance").status_code == 200
