"""Guard for the HTTP adapter: random requests never get a 5xx or a non-JSON answer.

Hypothesis makes requests from every route of the table (and paths it does not serve) with
random methods, headers, query strings and form bodies: deep brackets, huge numbers, bad UTF-8,
long values, ids that exist and ids that do not. Every answer must be JSON: a Stripe error
(https://docs.stripe.com/api/errors: ``{"error": {"type": ..., "message": ...}}``) or an object with
``object``; no status >= 500 unless a fault was injected. Afterwards the same server still creates
and lists a charge. Derandomized with a fixed example count, so CI sees the same requests each run.

Most requests go through the ASGI app in process (httpx's ASGITransport) for speed; a smaller set
goes through a real socket to uvicorn, and a last part runs with injected faults (where the only
5xx allowed is the injected 500 ``api_error``, or a dropped connection).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing_kit.sandbox import Core, SandboxServer, start
from billing_kit.sandbox._app import build_app
from billing_kit.sandbox._faults import Faults, Knobs
from billing_kit.sandbox._routes import ROUTES
from tests.support import TEST_KEY

AUTH = f"Bearer {TEST_KEY}"
ERROR_TYPES = {"api_error", "card_error", "idempotency_error", "invalid_request_error"}

# -- the request strategy ------------------------------------------------------------------------

_NAMES = [
    "amount", "currency", "source", "customer", "payment_method", "capture", "confirm",
    "description", "metadata", "expand", "limit", "starting_after", "ending_before", "created",
    "query", "page", "email", "name", "charge", "payment_intent", "reason", "status", "type",
    "types", "now", "advance", "outcome", "amount_to_capture", "payment_method_types", "card",
    "balance", "payout", "evidence", "off_session", "setup_future_usage", "receipt_email",
    "statement_descriptor", "shipping", "address", "invoice_settings", "cancellation_reason",
]  # fmt: skip
_SUBKEYS = [
    "gte",
    "gt",
    "lte",
    "lt",
    "0",
    "1",
    "",
    "order_id",
    "number",
    "exp_month",
    "x",
    "9" * 25,
]
_WORDS = [
    "tok_visa", "tok_chargeDeclined", "pm_card_visa", "pm_card_chargeDeclined", "usd", "jpy",
    "kwd", "isk", "true", "false", "customer", "data.customer", "charge.customer",
    "amount>999 AND metadata['order_id']:'6735'", 'email:"a@b.c"', "status:'succeeded'",
    "created>0", "-1", "0", "1e999", "nan", "Infinity", "1.5", "0x10", "١٢٣", "\x00", "\u202e",
    "🙂", "%", "%FF", "a&b=c", "[", "]", "[]", "'", '"',
]  # fmt: skip
# Where 32- and 64-bit integers end (SQLite's INTEGER is 64-bit), and just past that.
_EDGES = st.sampled_from([2**63, 2**63 - 1, 2**64, 10**20 - 1, 2**31, 2**32, 2**53 + 1, 10**19])
_HUGE = st.one_of(
    _EDGES.map(str),
    _EDGES.flatmap(lambda n: st.sampled_from([str(-n), str(n + 1), str(-n - 1)])),
    st.integers(min_value=2**31, max_value=2**70).map(str),
    st.integers(min_value=1, max_value=400).map(lambda n: "9" * n),
    st.integers(min_value=1, max_value=400).map(lambda n: "-" + "9" * n),
)
_TEXT = st.text(max_size=40)
_LONG = st.integers(min_value=1, max_value=6_000).map(lambda n: "x" * n)
_VALUE = st.one_of(
    _HUGE, st.sampled_from(_WORDS), _TEXT, _LONG, st.integers(-5, 100_000).map(str),
    st.just(""), st.integers(0, 50).map(lambda pick: _any_id(pick)),
)  # fmt: skip


@st.composite
def _key(draw: st.DrawFn) -> str:
    name = draw(st.one_of(st.sampled_from(_NAMES), st.sampled_from(_NAMES), _TEXT.filter(bool)))
    # Mostly flat or one level (what endpoints read), sometimes far deeper than any accepts.
    depth = draw(st.sampled_from([0, 0, 0, 0, 1, 1, 1, 2, 3, 9, 12]))
    segments = draw(st.lists(st.one_of(st.sampled_from(_SUBKEYS), _TEXT), min_size=depth,
                             max_size=depth))  # fmt: skip
    key = name + "".join(f"[{s}]" for s in segments)
    if draw(st.integers(0, 9)) == 9:  # unbalanced or stray brackets
        key = draw(st.sampled_from(["[", "]", "[[", "]]", "[]]"])).join([key, ""])
    return key


@st.composite
def _form(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(_key(), _VALUE), max_size=4))
    encoded = "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs).encode()
    if draw(st.integers(0, 5)) == 5:  # raw bytes: bad UTF-8, bare %, stray separators
        junk = draw(st.sampled_from([b"\xff\xfe", b"%FF%FE", b"%", b"%zz", b"&&==", b"=", b"\x00"]))
        at = draw(st.integers(0, len(encoded)))
        encoded = encoded[:at] + junk + encoded[at:]
    return encoded


def _path_for(template: str, ids: list[str]) -> str:
    for value in ids:
        template = template.replace("{id}", value, 1)
    return template


@st.composite
def _path(draw: st.DrawFn) -> tuple[str, str]:
    """Return ``(method, path)``: mostly a served route, sometimes another method or path."""
    route = draw(st.sampled_from(ROUTES))
    ids = draw(st.lists(st.one_of(st.integers(0, 50).map(_any_id), _TEXT.filter(bool),
                                  st.sampled_from(_WORDS)), min_size=2, max_size=2))  # fmt: skip
    path = _path_for(route.template, [quote(i, safe="") for i in ids])
    method = route.method
    choice = draw(st.integers(0, 9))
    if choice == 8:
        path = "/" + quote(draw(_TEXT), safe="/")
    elif choice == 9:
        path += "/"
    return method, path


_METHODS = ["FOO", "TRACE", "PROPFIND", "OPTIONS", "PUT", "PATCH", "DELETE", "HEAD", "GET", "POST"]

#: Well-formed requests per endpoint; the fuzzer sends them with one or two values or keys made
#: hostile, so the checks behind the first parameter check get reached too. ``{cus}`` etc. are
#: filled with ids of objects that exist (seeded, then every object a request created).
_BASE: list[tuple[str, str, dict[str, str]]] = [
    ("POST", "/v1/customers", {"email": "a@b.c", "description": "d", "metadata[k]": "v"}),
    ("POST", "/v1/customers/{cus}", {"description": "x", "metadata[k]": "v", "balance": "5"}),
    ("GET", "/v1/customers", {"limit": "3", "email": "a@b.c", "created[gte]": "0"}),
    ("GET", "/v1/customers/search", {"query": "email:'a@b.c'", "limit": "10"}),
    ("POST", "/v1/customers/{cus}/sources", {"source": "tok_visa"}),
    ("GET", "/v1/customers/{cus}/payment_methods", {"type": "card", "limit": "2"}),
    ("POST", "/v1/charges", {"amount": "1000", "currency": "usd", "source": "tok_visa",
                             "capture": "false", "metadata[order_id]": "6735"}),
    ("GET", "/v1/charges", {"limit": "5", "created[gte]": "0", "starting_after": "{ch}"}),
    ("GET", "/v1/charges", {"customer": "{cus}", "ending_before": "{ch}",
                            "expand[0]": "data.customer"}),
    ("GET", "/v1/charges/search", {"query": "amount>999 AND metadata['order_id']:'6735'",
                                   "limit": "10"}),
    ("GET", "/v1/charges/{ch}", {"expand[0]": "customer", "expand[1]": "balance_transaction"}),
    ("POST", "/v1/charges/{ch}", {"description": "x", "metadata[a]": "b"}),
    ("POST", "/v1/charges/{ch}/capture", {"amount": "500"}),
    ("POST", "/v1/refunds", {"charge": "{ch}", "amount": "100", "reason": "duplicate"}),
    ("GET", "/v1/refunds", {"charge": "{ch}", "limit": "3"}),
    ("POST", "/v1/payment_intents", {"amount": "1500", "currency": "usd",
                                     "payment_method": "pm_card_visa",
                                     "payment_method_types[0]": "card", "confirm": "true",
                                     "capture_method": "manual"}),
    ("POST", "/v1/payment_intents/{pi}", {"description": "x", "metadata[k]": "v"}),
    ("POST", "/v1/payment_intents/{pi}/confirm", {"payment_method": "pm_card_visa"}),
    ("POST", "/v1/payment_intents/{pi}/capture", {"amount_to_capture": "100"}),
    ("POST", "/v1/payment_intents/{pi}/cancel", {"cancellation_reason": "abandoned"}),
    ("GET", "/v1/payment_intents", {"customer": "{cus}", "limit": "4",
                                    "created[lte]": "9999999999"}),
    ("GET", "/v1/payment_intents/search", {"query": "status:'requires_action'", "page": "x"}),
    ("POST", "/v1/_sandbox/payment_intents/{pi}/authenticate", {"outcome": "succeed"}),
    ("POST", "/v1/payment_methods", {"type": "card", "card[token]": "tok_visa"}),
    ("POST", "/v1/payment_methods/{pm}/attach", {"customer": "{cus}"}),
    ("POST", "/v1/payment_methods/{pm}/detach", {}),
    ("GET", "/v1/payment_methods", {"customer": "{cus}", "type": "card"}),
    ("POST", "/v1/tokens", {"card[number]": "4242424242424242", "card[exp_month]": "12",
                            "card[exp_year]": "2030", "card[cvc]": "123"}),
    ("POST", "/v1/payouts", {"amount": "100", "currency": "usd"}),
    ("GET", "/v1/balance_transactions", {"limit": "10", "type": "charge", "source": "{ch}"}),
    ("GET", "/v1/balance/history", {"payout": "{po}", "available_on[gte]": "0"}),
    ("GET", "/v1/events", {"type": "charge.*", "limit": "10", "created[gt]": "0"}),
    ("GET", "/v1/disputes", {"charge": "{ch}", "payment_intent": "{pi}"}),
    ("POST", "/v1/_sandbox/clock", {"advance": "60"}),
    ("POST", "/v1/_sandbox/clock", {"now": "1767225600"}),
    ("POST", "/v1/_sandbox/payouts/sweep", {}),
]  # fmt: skip
_POOL: dict[str, list[str]] = {}  # prefix -> ids of objects that exist


def _any_id(pick: int) -> str:
    ids = [i for kind in sorted(_POOL) for i in _POOL[kind]] or ["cus_missing"]
    return ids[pick % len(ids)]


def _remember(body: object) -> None:
    """Add the id of an object a request returned to the pool."""
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        prefix = body["id"].split("_")[0]
        if prefix in ("cus", "ch", "pi", "pm", "po") and body["id"] not in _POOL.get(prefix, []):
            _POOL.setdefault(prefix, []).append(body["id"])


_PLACEHOLDER = re.compile(r"\{(cus|ch|pi|pm|po)\}")


def _fill(text: str, pick: int) -> str:
    def one(found: re.Match[str]) -> str:
        ids = _POOL.get(found.group(1)) or [f"{found.group(1)}_missing"]
        return ids[pick % len(ids)]

    return _PLACEHOLDER.sub(one, text)


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """Return ``(method, path, form)`` of a well-formed request with hostile edits."""
    method, template, base = draw(st.sampled_from(_BASE))
    pick = draw(st.integers(0, 50))
    params = {k: _fill(v, pick) for k, v in base.items()}
    for _ in range(draw(st.integers(0, 2))):
        edit = draw(st.integers(0, 4)) - 1
        numeric = sorted(k for k, v in params.items() if re.search(r"\d", v))
        if edit <= 0 and numeric:  # a number out of every range, also inside a search query
            key = draw(st.sampled_from(numeric))
            params[key] = re.sub(r"-?\d+", draw(_HUGE), params[key], count=1)
        elif edit < 2 and params:  # a hostile value for an expected key
            params[draw(st.sampled_from(sorted(params)))] = draw(_VALUE)
        elif edit == 2 and params:  # the key nested deeper, or with stray brackets
            key = draw(st.sampled_from(sorted(params)))
            params[key + draw(st.sampled_from(["[x]", "[0]", "[]", "[", "[[a]]", "[a]" * 10]))] = (
                params.pop(key)
            )
        else:
            params[draw(_key())] = draw(_VALUE)
    form = "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in params.items())
    return method, _fill(template, pick), form.encode()


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """One random request: method, path, query string, headers and body."""
    if draw(st.integers(0, 2)) < 2:
        method, path, form = draw(_mutated())
        query, body = (form, b"") if method == "GET" else (b"", form)
    else:
        method, path = draw(_path())
        query = draw(st.one_of(st.just(b""), _form()))
        body = draw(_form()) if method not in ("GET", "HEAD") else b""
    headers: dict[str, str] = {}
    if draw(st.integers(0, 9)) == 9:  # a method the route does not take, or none serves
        method = draw(st.sampled_from(_METHODS))
    auth = AUTH
    if draw(st.integers(0, 9)) == 9:
        auth = draw(st.sampled_from(["", "Bearer sk_live_x", "Basic !!", "Bearer", "Bearer x"]))
    if auth:
        headers["authorization"] = auth
    if draw(st.booleans()):
        headers["idempotency-key"] = draw(st.one_of(_TEXT, _LONG).map(_latin1))
    if draw(st.integers(0, 4)) == 4:
        headers["content-type"] = draw(st.sampled_from(
            ["application/json", "text/plain", "multipart/form-data",
             "application/x-www-form-urlencoded; charset=latin-1"]
        ))  # fmt: skip
    if draw(st.integers(0, 4)) == 4:
        headers["stripe-version"] = _latin1(draw(_TEXT))
    if draw(st.integers(0, 6)) == 6:
        headers[draw(st.sampled_from(["x-junk", "stripe-account", "host"]))] = _latin1(draw(_TEXT))
    return {"method": method, "path": path, "query": query, "headers": headers, "body": body}


def _latin1(text: str) -> str:
    # Header values travel as latin-1 without control characters (RFC 9110, field values).
    return "".join(c for c in text if 32 <= ord(c) < 256 and c != "\x7f").strip()


class InProcess:
    """A synchronous client that drives the ASGI app on its own event loop (no socket)."""

    def __init__(self, core: Core) -> None:
        self.loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=build_app(core, Faults(Knobs())))
        self.client = httpx.AsyncClient(transport=transport, base_url="http://sandbox")

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, url, **options))

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> httpx.Response:
        return self.request("POST", url, **options)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


Client = httpx.Client | InProcess


# -- the checks ----------------------------------------------------------------------------------


def check_answer(
    request: dict[str, Any], status: int, headers: httpx.Headers, content: bytes
) -> None:
    """Assert one answer is a Stripe-shaped JSON error or object, never a 5xx."""
    shown = (
        f"{request['method']} {request['path']}?{request['query']!r} -> {status} {content[:300]!r}"
    )
    assert status < 500, shown
    assert headers.get("content-type") == "application/json", shown
    if request["method"] == "HEAD":
        return
    body = json.loads(content)
    assert isinstance(body, dict), shown
    if status >= 400:
        assert set(body) == {"error"}, shown
        error = body["error"]
        assert error["type"] in ERROR_TYPES and isinstance(error["message"], str), shown
        assert error["message"], shown
    else:
        assert status == 200 and isinstance(body.get("object"), str), shown
        _remember(body)


def still_serves(http: Client) -> None:
    """A normal charge create, retrieve and list work after the fuzzing."""
    auth = {"Authorization": AUTH}
    made = http.post("/v1/charges", headers=auth,
                     data={"amount": "1234", "currency": "usd", "source": "tok_visa"})  # fmt: skip
    assert made.status_code == 200, made.text
    charge = made.json()
    assert charge["status"] == "succeeded" and charge["amount"] == 1234
    got = http.get(f"/v1/charges/{charge['id']}", headers=auth)
    assert got.status_code == 200 and got.json() == charge
    listed = http.get("/v1/charges", headers=auth, params={"limit": "100"})
    assert listed.status_code == 200
    assert charge["id"] in [c["id"] for c in listed.json()["data"]]


def _seed(http: Client) -> None:
    """Make a few real objects whose ids the fuzzer then uses."""
    auth = {"Authorization": AUTH}
    customer = http.post("/v1/customers", headers=auth, data={"email": "fuzz@example.com"}).json()
    charge = http.post("/v1/charges", headers=auth,
                       data={"amount": "2000", "currency": "usd", "source": "tok_visa",
                             "capture": "false"}).json()  # fmt: skip
    intent = http.post("/v1/payment_intents", headers=auth,
                       data={"amount": "1500", "currency": "usd",
                             "payment_method": "pm_card_threeDSecure2Required",
                             "payment_method_types[0]": "card",
                             "confirm": "true"}).json()  # fmt: skip
    pm = http.post("/v1/payment_methods", headers=auth, data={"type": "card",
                   "card[token]": "tok_visa"}).json()  # fmt: skip
    _POOL.clear()
    for made in (customer, charge, intent, pm):
        _remember(made)
    assert sorted(_POOL) == ["ch", "cus", "pi", "pm"], _POOL


def _send(http: Client, request: dict[str, Any]) -> httpx.Response:
    url = request["path"]
    if request["query"]:
        # A URL carries printable ASCII only: other bytes go percent-encoded (same bytes decoded).
        url += "?" + quote_from_bytes(request["query"], safe="=&[]%+'\"!$()*,;:@/?")
    headers = {k: v.encode("latin-1") for k, v in request["headers"].items()}
    return http.request(request["method"], url, headers=headers, content=request["body"])


def _known(method: str, path: str, query: bytes = b"", body: bytes = b"") -> dict[str, Any]:
    return {"method": method, "path": path, "query": query, "body": body,
            "headers": {"authorization": AUTH}}  # fmt: skip


def _with_known_cases(test: Any) -> Any:
    """Run the requests that broke the adapter before issue 9 first, then the random ones."""
    for request in [
        _known("POST", "/v1/_sandbox/clock", body=b"now=99999999999999999999"),  # item 16
        _known("POST", "/v1/_sandbox/clock", body=b"advance=9223372036854775807"),  # item 16
        _known("FOO", "/v1/customers"),  # item 17: was Starlette's plain-text 405
        _known("TRACE", "/v1/charges"),
        _known("POST", "/v1/customers", body=b"0=a"),  # top-level digits read as an array
        _known("GET", "/v1/charges", query=b"expand[%C2%B3]=customer"),  # "3" in superscript
    ]:
        test = example(request)(test)
    return test


# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture
def in_process() -> Iterator[InProcess]:
    core = Core()
    http = InProcess(core)
    try:
        _seed(http)
        yield http
    finally:
        http.close()
        core.close()


def test_fuzz_asgi_adapter(in_process: InProcess) -> None:
    @settings(max_examples=600, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(requests())
    @_with_known_cases
    def one(request: dict[str, Any]) -> None:
        reply = _send(in_process, request)
        check_answer(request, reply.status_code, reply.headers, reply.content)

    one()
    still_serves(in_process)


@pytest.fixture
def real() -> Iterator[tuple[SandboxServer, httpx.Client]]:
    with start() as server, httpx.Client(base_url=server.url, timeout=30) as http:
        _seed(http)
        yield server, http


def test_fuzz_real_socket(real: tuple[SandboxServer, httpx.Client]) -> None:
    server, http = real

    @settings(max_examples=200, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(requests())
    def one(request: dict[str, Any]) -> None:
        reply = _send(http, request)
        check_answer(request, reply.status_code, reply.headers, reply.content)

    one()
    still_serves(http)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url)


def test_fuzz_with_injected_faults(real: tuple[SandboxServer, httpx.Client]) -> None:
    """With faults on, a 5xx is only the injected 500 ``api_error`` (or a dropped connection)."""
    server, http = real
    server.configure(fault_rate=0.3, fault_seed=7)
    seen = {"fault": 0, "dropped": 0}

    @settings(max_examples=80, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(requests())
    def one(request: dict[str, Any]) -> None:
        try:
            reply = _send(http, request)
        except httpx.TransportError:  # the reset and drop faults close the connection
            seen["dropped"] += 1
            return
        if reply.status_code == 500 and request["method"] != "HEAD":
            assert reply.json()["error"]["type"] == "api_error", reply.text
            seen["fault"] += 1
            return
        check_answer(request, reply.status_code, reply.headers, reply.content)

    one()
    assert seen["fault"] > 0 and seen["dropped"] > 0, seen
    server.configure(fault_rate=0.0)
    still_serves(http)
