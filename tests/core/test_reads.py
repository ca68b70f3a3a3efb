"""The history read path (``client.reads``) sends what stripe-python sends and fails as it fails.

Each comparison runs both clients against the same server: stripe-python through a
``StripeClient`` (the reference), billing_kit through :class:`billing_kit._reads.Reads`.
"""

from __future__ import annotations

import gzip
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from billing_kit import Client
from billing_kit._reads import Reads, encode_query, pinned_api_version
from billing_kit._stripe_errors import map_stripe_error
from tests.support import TEST_KEY

#: The parameters the history loaders send (``history._loaders`` and ``history._fetch``).
LOADER_PARAMS: list[tuple[str, dict[str, Any]]] = [
    (
        "/v1/charges",
        {
            "expand": ["data.balance_transaction"],
            "limit": 100,
            "created": {"gte": 1_700_000_000, "lt": 1_700_086_400},
            "starting_after": "ch_3Abc_def",
        },
    ),
    ("/v1/charges", {"customer": "cus_ABC123", "expand": ["data.balance_transaction"]}),
    (
        "/v1/balance_transactions",
        {
            "type": "payment_refund",
            "created": {"gte": 1_700_000_000},
            "expand": ["data.source.charge"],
            "limit": 100,
        },
    ),
    (
        "/v1/events",
        {
            "types": ["charge.captured", "charge.refund.updated", "charge.dispute.closed"],
            "created": {"gte": 1_700_000_000},
            "limit": 100,
        },
    ),
    ("/v1/charges/ch_3Abc", {"expand": ["balance_transaction"]}),
    ("/v1/refunds", {"limit": 100}),
]


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers ``/v1/status/<code>[/<variant>]`` with that status and a Stripe-shaped error, and
    anything else with an empty list; records each request's path and headers."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []
    ports: ClassVar[list[int]] = []

    def do_GET(self) -> None:  # the name http.server calls
        type(self).seen.append((self.path, dict(self.headers)))
        type(self).ports.append(self.client_address[1])
        parts = self.path.split("?")[0].strip("/").split("/")
        status, body = 200, {"object": "list", "data": [], "has_more": False}
        if parts[:2] == ["v1", "status"]:
            status = int(parts[2])
            variant = parts[3] if len(parts) > 3 else ""
            error = {
                "type": "invalid_request_error",
                "message": f"status {status}",
                "code": "resource_missing" if status == 404 else f"code_{status}",
                "param": "id",
            }
            if variant == "idempotency":
                error["type"] = "idempotency_error"
            if variant == "rate_limit":
                error["code"] = "rate_limit"
            body = {"error": error}
        raw = json.dumps(body).encode()
        if parts[-1] == "garbage":
            status, raw = int(parts[2]), b"<html>proxy error</html>"
        zipped = parts[-1] == "gzip" and "gzip" in self.headers.get("Accept-Encoding", "")
        if zipped:
            raw = gzip.compress(raw)
        self.send_response(status)
        if zipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Type", "application/json")
        self.send_header("Request-Id", "req_canned")
        self.send_header("Stripe-Should-Retry", "false" if status == 409 else "true")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[str]:
    _Canned.seen, _Canned.ports = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _both(base: str) -> tuple[stripe.StripeClient, Reads]:
    reference = stripe.StripeClient(TEST_KEY, base_addresses={"api": base}, max_network_retries=0)
    return reference, Reads(base, TEST_KEY, timeout=10, stripe_client=lambda: reference)


@pytest.mark.parametrize(("path", "params"), LOADER_PARAMS)
def test_the_loaders_requests_are_sent_as_stripe_python_sends_them(
    canned: str, path: str, params: dict[str, Any]
) -> None:
    reference, reads = _both(canned)
    reference.raw_request("get", path, **params)
    reads.get(path, params)
    reads.close()
    (theirs, their_headers), (ours, our_headers) = _Canned.seen
    assert ours == theirs
    for name in ("Authorization", "Stripe-Version"):
        assert our_headers[name] == their_headers[name]
    assert "Stripe-Account" not in their_headers and "Stripe-Account" not in our_headers
    assert our_headers["User-Agent"].startswith("billing_kit/")


def test_connections_are_kept_alive_and_gzip_bodies_unpacked(canned: str) -> None:
    reference, reads = _both(canned)
    theirs = reference.raw_request("get", "/v1/list/gzip", limit=3).body
    _Canned.ports.clear()
    bodies = [reads.get("/v1/list/gzip", {"limit": 3}) for _ in range(3)]
    reads.close()
    assert all(json.loads(body) == json.loads(theirs) for body in bodies)
    assert len(set(_Canned.ports)) == 1  # one connection for the three requests


def test_the_api_version_is_the_one_stripe_python_pins() -> None:
    from stripe._api_version import _ApiVersion

    assert pinned_api_version() == _ApiVersion.CURRENT


scalars = st.one_of(st.text(max_size=8), st.integers(-(10**12), 10**12), st.booleans(), st.none())
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3),
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=4))
def test_any_query_is_encoded_as_stripe_python_encodes_it(params: dict[str, Any]) -> None:
    from urllib.parse import urlencode

    from stripe._encode import _api_encode

    # The encoding stripe-python's requestor applies to GET parameters, as urllib3 sends it
    # (brackets percent-encoded; the loaders' requests above are compared on the wire).
    expected = urlencode(list(_api_encode(params)))
    assert encode_query(params) == expected


def _fields(exc: stripe.StripeError) -> dict[str, Any]:
    return {
        "class": type(exc),
        "http_status": exc.http_status,
        "json_body": exc.json_body,
        "http_body": exc.http_body,
        "code": exc.code,
        "param": getattr(exc, "param", None),
        "request_id": exc.request_id,
        "headers": {k.lower(): v for k, v in exc.headers.items() if k.lower() != "date"},
        "user_message": exc.user_message,
        "message": str(exc),
        "mapped": type(map_stripe_error(exc)),
    }


@pytest.mark.parametrize(
    "path",
    [
        "/v1/status/400",
        "/v1/status/400/idempotency",
        "/v1/status/400/rate_limit",
        "/v1/status/401",
        "/v1/status/402",
        "/v1/status/403",
        "/v1/status/404",
        "/v1/status/409",
        "/v1/status/429",
        "/v1/status/500",
        "/v1/status/503",
        "/v1/status/502/garbage",
        "/v1/status/200/garbage",
    ],
)
def test_each_error_answer_raises_what_stripe_python_raises(canned: str, path: str) -> None:
    reference, reads = _both(canned)
    with pytest.raises(stripe.StripeError) as theirs:
        reference.raw_request("get", path, limit=1)
    with pytest.raises(stripe.StripeError) as ours:
        reads.get(path, {"limit": 1})
    reads.close()
    assert _fields(ours.value) == _fields(theirs.value)


def test_sandbox_errors_match_stripe_python(client: Client, sandbox: Any) -> None:
    # Errors the sandbox itself produces: a missing object, a bad parameter, a refused key.
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (TEST_KEY, "/v1/charges/ch_missing", {}),
        (TEST_KEY, "/v1/charges", {"limit": 1000}),
        (TEST_KEY, "/v1/charges", {"created": {"gte": "yesterday"}}),
        ("pk_test_" + "wrong" * 5, "/v1/charges", {"limit": 1}),  # not a secret key
    ]
    for key, path, params in cases:
        reference = stripe.StripeClient(
            key, base_addresses={"api": sandbox.url}, max_network_retries=0
        )
        reads = Reads(sandbox.url, key, timeout=10, stripe_client=lambda made=reference: made)
        with pytest.raises(stripe.StripeError) as theirs:
            reference.raw_request("get", path, **params)
        with pytest.raises(stripe.StripeError) as ours:
            reads.get(path, params)
        reads.close()
        mine, reference_fields = _fields(ours.value), _fields(theirs.value)
        # The request ids differ (two requests); everything else is the same.
        for fields in (mine, reference_fields):
            request_id = fields["headers"].pop("request-id")
            assert fields.pop("request_id") == request_id
            fields["message"] = fields["message"].replace(request_id, "req_")
            body = fields["json_body"]["error"]
            body.pop("request_log_url", None)
            fields["http_body"] = None
        assert mine == reference_fields, path


def test_a_refused_connection_is_a_retryable_connection_error_naming_the_host() -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        reference, reads = _both(f"http://127.0.0.1:{port}")
        with pytest.raises(stripe.APIConnectionError) as theirs:
            reference.raw_request("get", "/v1/charges", limit=1)
        with pytest.raises(stripe.APIConnectionError) as ours:
            reads.get("/v1/charges", {"limit": 1})
    assert ours.value.should_retry is theirs.value.should_retry is True
    assert str(map_stripe_error(ours.value)) == str(map_stripe_error(theirs.value))


def test_the_key_is_never_shown(canned: str, caplog: pytest.LogCaptureFixture) -> None:
    reference, reads = _both(canned)
    caplog.set_level(logging.DEBUG)
    shown: list[str] = [repr(reads)]
    for path in ("/v1/status/401", "/v1/status/500", "/v1/status/200/garbage"):
        with pytest.raises(stripe.StripeError) as caught:
            reads.get(path, {"limit": 1})
        mapped = map_stripe_error(caught.value)
        shown += [str(caught.value), repr(caught.value), str(mapped), repr(mapped)]
    reads.close()
    with pytest.raises(stripe.APIConnectionError) as refused:
        Reads("http://127.0.0.1:9", TEST_KEY, timeout=5, stripe_client=lambda: reference).get(
            "/v1/charges"
        )
    shown += [str(refused.value), repr(refused.value), caplog.text]
    assert all(TEST_KEY not in text and TEST_KEY[8:] not in text for text in shown)


def test_a_pull_reads_without_stripe_python_and_writes_still_use_it(client: Client) -> None:
    # The client builds stripe-python only when something needs it.
    assert client._stripe is None
    frame = client.charges_frame(progress=False)
    assert client._stripe is None and frame.attrs["pull"]["requests"] >= 1
    charge = client.charge("reads@example.com", 5, "usd", payment_method="pm_card_visa")
    assert client._stripe is not None
    assert charge.id in set(client.charges_frame(progress=False)["id"])
